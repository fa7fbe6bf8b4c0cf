"""The learned-search agent (``dynaplan.neural.learned_search``) in the one agent protocol:
``act`` searches, ``observe`` learns, on a Gymnasium env whose dynamics dynaplan steps in JAX.

This module imports no JAX: its parameters are checked without it (specs, ``dynaplan agents``),
and the networks and the search are imported when an agent is made or run. Without the ``deep``
extra that import says in one line how to install it.

``LearnedSearch(env, seed=s, **params)`` makes the same decisions as the batched runner
(``run_compiled``, and ``neural.learned_search.run_steps`` over many seeds) for seed ``s`` when it
is shown the same observations: both call the same jitted ``act_agent`` / ``observe_agent``.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache, partial
from typing import Any, ClassVar, NamedTuple

import gymnasium as gym
import numpy as np

from dynaplan.agents.neural_base import NeuralAgent
from dynaplan.core.params import ParamError, check_choice, check_flag, check_int_in, check_known, check_real_in

__all__ = ["DEFAULTS", "LearnedSearch", "LearnedSearchView", "check_params"]

WORLD_IDS = ("CartPole-v1",)
"""Envs whose dynamics dynaplan steps in JAX for this agent (``neural.learned_search.WORLDS``)."""

DEFAULTS: dict[str, Any] = dict(
    model="learned", search=True, policy="muzero", reuse=False, reuse_tolerance=0.5, revalue=True, simulations=32,
    max_depth=16, hidden=64, gamma=0.99, n_step=50, batch=128, updates=1, warmup=256, capacity=20_000, lr=1e-3,
    temperature=0.0, dirichlet_fraction=0.25, entropy=0.01,
)
"""The defaults (``neural.learned_search.LearnedSearchConfig``'s, for CartPole-v1 on a 2-core CPU)."""

_COUNTS = {"simulations": (1, 4096), "max_depth": (1, 4096), "hidden": (1, 4096), "n_step": (1, 1000),
           "batch": (1, 1 << 16), "updates": (0, 1000), "warmup": (1, 10**7), "capacity": (2, 10**7)}
_NUMBERS = {"gamma": (0.0, 1.0, True), "lr": (0.0, 1.0, True), "temperature": (0.0, 100.0, False),
            "dirichlet_fraction": (0.0, 1.0, False), "entropy": (0.0, 100.0, False),
            "reuse_tolerance": (0.0, 1e9, False)}


def check_params(params: Mapping[str, Any]) -> dict[str, Any]:
    """Validated settings with defaults filled in; ``ParamError(key, ...)`` for a bad or unknown one."""
    check_known(params, DEFAULTS, "learned-search")
    p: dict[str, Any] = {**DEFAULTS, **params}
    p["model"] = check_choice("model", p["model"], ("learned", "true"))
    p["search"], p["reuse"] = check_flag("search", p["search"]), check_flag("reuse", p["reuse"])
    p["policy"] = check_choice("policy", p["policy"], ("muzero", "gumbel"))
    p["revalue"] = check_flag("revalue", p["revalue"])
    if p["reuse"] and not p["search"]:
        raise ParamError("reuse", "reuse keeps a search tree: it needs search = true")
    if p["reuse"] and p["policy"] == "gumbel":
        raise ParamError("reuse", "reuse continues a kept tree: Gumbel MuZero's root schedule starts from zero visits "
                                  "(use policy = \"muzero\")")
    for key, (low, high) in _COUNTS.items():
        p[key] = check_int_in(key, p[key], low, high)
    for key, (lo, hi, open_low) in _NUMBERS.items():
        p[key] = check_real_in(key, p[key], lo, hi, low_open=open_low)
    if p["capacity"] <= p["n_step"]:
        raise ParamError("capacity", f"capacity must exceed n_step ({p['n_step']}), got {p['capacity']}")
    return p


class LearnedSearchView(NamedTuple):
    """What a viewer or a reproduction may read of the agent.

    steps: real steps observed; stored: transitions in the replay buffer; root_visits: visits at
    the root of the last search; reused_root_visits: those of them carried over from the search
    before (subtree reuse); root_policy: float32[A], the last search's visit distribution
    """

    steps: int
    stored: int
    root_visits: int
    reused_root_visits: int
    root_policy: np.ndarray


class LearnedSearch(NeuralAgent):
    """MuZero-style search over a learned model (or the true one), with optional subtree reuse, as
    an agent; see ``dynaplan.neural.learned_search``. ``problem_of`` and ``run_compiled`` are
    the neural family's (:class:`dynaplan.agents.neural_base.NeuralAgent`)."""

    name: ClassVar[str] = "learned-search"
    world_ids: ClassVar[tuple[str, ...]] = WORLD_IDS
    continuous: ClassVar[bool] = False
    example_env: ClassVar[str] = "CartPole-v1"
    example_params: ClassVar[Mapping[str, Any]] = dict(simulations=4, max_depth=4, hidden=16, warmup=24, batch=16,
                                                       capacity=256, n_step=3, reuse=True)

    def __init__(self, env: gym.Env[Any, Any], *, seed: int | None = None, **params: Any) -> None:
        self.params = self.check_params(params)
        self.seed = 0 if seed is None else int(seed)
        world_id = self.env_id(env)
        self._spaces(env)
        self.state, self._world, self._cfg = self.build_state(world_id, self.params, self.seed)
        self._jit_act, self._jit_observe = _jitted(world_id, self._cfg)

    @classmethod
    def check_params(cls, params: Mapping[str, Any]) -> dict[str, Any]:
        return check_params(params)

    @classmethod
    def build_state(cls, *sizes: Any) -> Any:
        """``(world_id, params, seed) -> (state, world, config)``: a fresh agent's pytree."""
        world_id, params, seed = sizes
        import jax

        from dynaplan.neural.learned_search import WORLDS, LearnedSearchConfig, init_state

        world = WORLDS[world_id]()
        cfg = LearnedSearchConfig(**params)
        return init_state(jax.random.PRNGKey(seed), world, cfg), world, cfg

    def _act(self, obs: Any) -> int:
        self.state, action = self._jit_act(self.state, obs)
        return int(action)

    def _observe(self, obs: Any, action: int, reward: float, next_obs: Any, terminated: bool, truncated: bool) -> None:
        import jax.numpy as jnp

        self.state = self._jit_observe(self.state, jnp.int32(action), jnp.float32(reward), next_obs,
                                       jnp.bool_(terminated), jnp.bool_(truncated))

    def view(self) -> LearnedSearchView:
        s = self.state
        return LearnedSearchView(int(s.steps), int(s.buffer.size), int(s.kept.tree.node_visits[0, 0]), int(s.reused),
                                 np.asarray(s.policy))


@lru_cache(maxsize=8)
def _jitted(world_id: str, cfg: Any) -> tuple[Any, Any]:
    """The object API's two jitted functions (the runner's ``act_agent`` / ``observe_agent``), one
    pair per world and configuration: agents made with the same settings share the compiled code."""
    import jax

    from dynaplan.neural.learned_search import WORLDS, act_agent, observe_agent

    world = WORLDS[world_id]()
    return (jax.jit(partial(act_agent, world=world, cfg=cfg)), jax.jit(partial(observe_agent, world=world, cfg=cfg)))
