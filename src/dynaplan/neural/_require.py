"""One line, not a traceback, when the neural family is used without its extra."""

from __future__ import annotations

import importlib.util

INSTALL_HINT = "the neural family needs JAX and optax: pip install -e \".[deep]\" (or pip install 'dynaplan[deep]')"


class NeuralExtraMissing(ImportError):
    """JAX or optax is not installed; the message says how to install them."""


def require_jax() -> None:
    """Raise :class:`NeuralExtraMissing` unless ``jax`` and ``optax`` can be imported.

    Checked with ``importlib.util.find_spec`` so that nothing is imported here: the caller's own
    ``import jax`` follows.
    """
    missing = [name for name in ("jax", "optax") if importlib.util.find_spec(name) is None]
    if missing:
        raise NeuralExtraMissing(f"{' and '.join(missing)} not installed: {INSTALL_HINT}")
