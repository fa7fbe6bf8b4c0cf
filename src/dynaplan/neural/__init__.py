"""The neural family's shared core: networks as pure functions, replay buffers, the JAX guard.

Everything under ``dynaplan.neural`` runs on JAX (CPU wheels by default; the same programs run on
a GPU when one is present) with optax for optimisation. ``import dynaplan`` never imports this
package, so the tabular and linear library stays fast to import without the ``deep`` extra;
importing ``dynaplan.neural`` without JAX raises :class:`NeuralExtraMissing`, one line that says
how to install it.
"""

from dynaplan.neural._require import INSTALL_HINT, NeuralExtraMissing, require_jax

require_jax()

from dynaplan.neural.nets import Dense, MLPParams, mlp_apply, mlp_init, n_params  # noqa: E402
from dynaplan.neural.replay import Replay, replay_add, replay_add_batch, replay_init, replay_sample  # noqa: E402

__all__ = [
    "INSTALL_HINT",
    "Dense",
    "MLPParams",
    "NeuralExtraMissing",
    "Replay",
    "mlp_apply",
    "mlp_init",
    "n_params",
    "replay_add",
    "replay_add_batch",
    "replay_init",
    "replay_sample",
    "require_jax",
]
