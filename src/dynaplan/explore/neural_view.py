"""Neural planning made visible: PETS's decisions drawn over a 2-D state plane.

Model-predictive control on a learned ensemble (Chua et al. 2018, PETS, algorithm 1; Sutton &
Barto section 8.8, planning at decision time) on a world whose state is a point of a plane:
Pendulum-v1 (angle, angular velocity) or MountainCarContinuous-v0 (position, velocity). At each
real step the planner (``neural.mpc.plan_samples``: the decision ``neural.mpc.plan`` makes,
with what each of its iterations sampled) scores a population of action sequences by imagining
them in the ensemble; the view draws, over the plane:

* every sampled sequence's imagined trajectory (the mean over its particles), the elites (the
  top ``elites`` by the planner's own returns) highlighted, with the particles' spread (their
  standard deviation per step) as the width of a band;
* the plan executed (the refined mean, or iCEM's best sequence): imagined in the model and, with
  the same actions, in the true dynamics;
* the real trajectory of the episode so far;
* the model's error map: on a grid of the plane, the error of the ensemble's one-step
  prediction against the true dynamics (and the members' disagreement), recomputed after each
  fit, beside the stored transitions the ensemble was fitted on.

The agent is PETS's (``agents.pets``: its parameters by the same names, checked by
``check_pets_params``; its programs ``neural.pets``: ``agent_key``, ``carry_of``,
``ensemble_train``, the replay), sized small so that a decision takes milliseconds. Unlike the
agent, which refits after each episode, the view refits every ``fit_every`` stored
transitions, so the map fills in while an episode runs; it acts at random until
``random_steps`` transitions are stored (PETS's random first episode, shortened).

Everything is read from named records (``PlanResult``, ``PlanSamples``, ``Replay``,
``TrainReport``, ``EnsembleParams`` through ``ensemble_predict_all``); the page
(``explore/static/neural.html``, at ``/neural.html`` of ``dynaplan explore``) only draws the
frames. This module imports JAX: the server imports it on first use of ``/neural-api``.
"""

from __future__ import annotations

import functools
import reprlib
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from dynaplan.agents.pets import config_of
from dynaplan.agents.pets_params import check_pets_params
from dynaplan.core.params import ParamError
from dynaplan.neural.ensemble import (
    HOLDOUT_EVERY,
    Ensemble,
    EnsembleParams,
    TrainConfig,
    ensemble_predict_all,
    ensemble_train,
)
from dynaplan.neural.mpc import PlanResult, PlanSamples, plan_samples
from dynaplan.neural.pets import agent_key, carry_of, init_params, run_key, start_decision, train_key
from dynaplan.neural.propagation import TrueModel, sequence_rollouts
from dynaplan.neural.replay import replay_add, replay_init
from dynaplan.neural.worlds import WORLDS, JaxWorld, env_key, world_step

__all__ = [
    "MAX_STEPS",
    "PLANES",
    "VIEW_PARAMS",
    "ErrorMap",
    "NeuralSession",
    "Plane",
    "PlannedDecision",
    "error_map",
    "particle_spread",
]

MAX_STEPS = 200
"""Most real steps one message of the neural page may ask for."""

#: The view's PETS sizes: a small ensemble, few samples, a short horizon (a decision in ms).
VIEW_PARAMS: dict[str, Any] = dict(members=2, hidden_layers=2, hidden_width=32, planner="cem", horizon=15,
                                   population=32, iterations=3, elites=4, particles=4, capacity=2000)
#: The view's training sizes: short fits (each a few hundred gradient steps at most).
VIEW_TRAIN = TrainConfig(batch=32, lr=3e-3, eval_every=25, max_evals=12, patience=3)


@dataclass(frozen=True)
class Plane:
    """A world's state plane: axis names, bounds, and whether the first axis is an angle (wraps)."""

    names: tuple[str, str]
    low: tuple[float, float]
    high: tuple[float, float]
    angle: bool

    def of_obs(self, obs: np.ndarray) -> np.ndarray:
        """``obs[..., d]`` -> plane points ``[..., 2]`` (Pendulum: ``atan2(sin, cos)``, velocity)."""
        obs = np.asarray(obs, dtype=np.float64)
        if self.angle:
            return np.stack([np.arctan2(obs[..., 1], obs[..., 0]), obs[..., 2]], -1)
        return obs[..., :2].copy()

    def obs_of(self, xy: np.ndarray) -> np.ndarray:
        """Plane points ``[..., 2]`` -> observations ``float32[..., d]``."""
        xy = np.asarray(xy, dtype=np.float64)
        if self.angle:
            return np.stack([np.cos(xy[..., 0]), np.sin(xy[..., 0]), xy[..., 1]], -1).astype(np.float32)
        return xy.astype(np.float32)

    def grid(self, n: int) -> tuple[np.ndarray, np.ndarray]:
        """Cell centres of an ``n x n`` grid: ``xs[n]``, ``ys[n]``."""
        (x0, y0), (x1, y1) = self.low, self.high
        return x0 + (np.arange(n) + 0.5) * (x1 - x0) / n, y0 + (np.arange(n) + 0.5) * (y1 - y0) / n

    def scaled_difference(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """``(a - b) / range`` per axis of plane points ``[..., 2]`` (an angle's difference wrapped into [-pi, pi))."""
        d = np.asarray(a, np.float64) - np.asarray(b, np.float64)
        if self.angle:
            d[..., 0] = (d[..., 0] + np.pi) % (2 * np.pi) - np.pi
        return d / (np.asarray(self.high) - np.asarray(self.low))


PLANES: dict[str, Plane] = {
    "Pendulum-v1": Plane(("angle (rad, 0 = upright)", "angular velocity (rad/s)"), (-np.pi, -8.0), (np.pi, 8.0),
                         True),
    "MountainCarContinuous-v0": Plane(("position", "velocity"), (-1.2, -0.07), (0.6, 0.07), False),
}


def particle_spread(plane: Plane, states: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and standard deviation over particles of imagined observations ``states[..., K, T, d]``
    in the plane: ``(mean[..., T, 2], std[..., T, 2])``. An angle's mean is the circular mean
    (``atan2`` of the mean sine and cosine) and its deviations are wrapped, so a band across
    the upright position is not the whole circle."""
    xy = plane.of_obs(states)  # [..., K, T, 2]
    mean = xy.mean(axis=-3)
    if plane.angle:
        mean[..., 0] = np.arctan2(np.sin(xy[..., 0]).mean(-2), np.cos(xy[..., 0]).mean(-2))
        dev = xy - mean[..., None, :, :]
        dev[..., 0] = (dev[..., 0] + np.pi) % (2 * np.pi) - np.pi
        return mean, np.sqrt((dev**2).mean(axis=-3))
    return mean, xy.std(axis=-3)


class ErrorMap(NamedTuple):
    """The ensemble's one-step error over the state plane (``error_map``).

    xs: float[n] and ys: float[n], the grid's cell centres; error: float[n, n] (row = y), the root
    mean square over the ``actions`` and the two axes of the members' mean prediction's error
    against the true next state, each axis in units of its range; disagreement: float[n, n], the
    root mean square over actions and axes of the members' standard deviation, in the same units.
    """

    xs: np.ndarray
    ys: np.ndarray
    error: np.ndarray
    disagreement: np.ndarray


@functools.partial(jax.jit, static_argnums=(0, 1))
def _grid_predictions(ensemble: Ensemble, world: JaxWorld, params: EnsembleParams, obs: jax.Array,
                      action: jax.Array) -> tuple[jax.Array, jax.Array]:
    """Every member's mean next observation ``[E, N, d]`` and the true next observation ``[N, d]``."""
    mu, _ = ensemble_predict_all(ensemble, params, obs, action)
    return mu[..., : world.obs_dim], jax.vmap(world.obs_dynamics)(obs, action)


def error_map(ensemble: Ensemble, params: EnsembleParams, world: JaxWorld, plane: Plane, n: int = 24,
              actions: tuple[float, ...] | None = None) -> ErrorMap:
    """The :class:`ErrorMap` of ``params`` on an ``n x n`` grid, each cell's state under each of
    ``actions`` (default: the action box's low end, middle and high end)."""
    if actions is None:
        actions = (world.action_low, 0.5 * (world.action_low + world.action_high), world.action_high)
    xs, ys = plane.grid(n)
    xy = np.stack(np.meshgrid(xs, ys), -1).reshape(-1, 2)  # row-major: y outer, x inner
    cells = xy.shape[0]
    obs = np.repeat(plane.obs_of(xy), len(actions), axis=0)
    act = np.tile(np.asarray(actions, np.float32), cells)[:, None].repeat(world.act_dim, 1)
    members, true = _grid_predictions(ensemble, world, params, jnp.asarray(obs), jnp.asarray(act))
    members_xy = plane.of_obs(np.asarray(members))  # [E, N, 2]
    true_xy = plane.of_obs(np.asarray(true))
    mean_xy = plane.of_obs(np.asarray(members).mean(0))  # the members' mean prediction, as the expectation
    err = plane.scaled_difference(mean_xy, true_xy)  # [N, 2]
    dev = plane.scaled_difference(members_xy, mean_xy[None])  # [E, N, 2]
    error = np.sqrt((err**2).reshape(cells, -1).mean(1))
    disagreement = np.sqrt((dev**2).mean(0).reshape(cells, -1).mean(1))
    return ErrorMap(xs, ys, error.reshape(n, n), disagreement.reshape(n, n))


class PlannedDecision(NamedTuple):
    """One decision as the view shows it.

    obs: float32[d], where it was made; result: the planner's ``PlanResult``; samples: its
    ``PlanSamples``, one per iteration; imagined: float32[K, H + 1, d], the executed plan's
    particles in the model (``sequence_rollouts``); true: float32[H + 1, d], the same actions in
    the true dynamics (open loop).
    """

    obs: np.ndarray
    result: PlanResult
    samples: tuple[PlanSamples, ...]
    imagined: np.ndarray
    true: np.ndarray


@functools.lru_cache(maxsize=1)
def _programs() -> tuple[Any, Any, Any]:
    """Jitted: a real step of a world, a replay write, a uniform action."""
    def uniform(world: JaxWorld, key: jax.Array) -> jax.Array:
        return jax.random.uniform(key, (world.act_dim,), jnp.float32, world.action_low, world.action_high)

    return jax.jit(world_step, static_argnums=0), jax.jit(replay_add), jax.jit(uniform, static_argnums=0)


@functools.partial(jax.jit, static_argnums=(0, 1, 2, 3))
def _rollouts(model: Ensemble, world: JaxWorld, particles: int, propagation: str, params: Any, key: jax.Array,
              obs: jax.Array, plan: jax.Array) -> tuple[jax.Array, jax.Array]:
    """The executed plan ``plan[H, a]`` imagined in the model ``[K, H + 1, d]`` and in the world ``[1, H + 1, d]``."""
    _, imagined = sequence_rollouts(model, world, params, key, obs, plan[None], particles, propagation)
    _, true = sequence_rollouts(TrueModel(world), world, None, key, obs, plan[None])
    return imagined[0], true[0, 0]


def _count(msg: Mapping[str, Any], name: str, low: int, high: int, default: int) -> int:
    value = msg.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ValueError(f"{name} must be an integer in [{low}, {high}], got {reprlib.repr(value)}")
    return value


def _points(xy: Any) -> Any:
    """Numbers for JSON (nested lists of floats); a non-finite value (a diverged model's) as None."""
    x = np.asarray(xy, np.float64)
    if np.isfinite(x).all():
        return x.tolist()
    out = x.astype(object)
    out[~np.isfinite(x)] = None
    return out.tolist()


class NeuralSession:
    """The neural page's side: PETS on a 2-D world, one real step at a time (module docstring).

    Args:
      env_id: ``"Pendulum-v1"`` or ``"MountainCarContinuous-v0"``.
      seed: the run's seed (``neural.pets.run_key``): the ensemble's initialisation, the start
        states (``worlds.env_key``), the planner's keys (``agent_key``), the fits' (``train_key``).
      params: PETS parameters over ``VIEW_PARAMS`` (``model`` ``"pets"`` or ``"de"``).
      random_steps: act uniformly at random until this many transitions are stored.
      fit_every: refit the ensemble each time this many more transitions are stored.
      grid: cells per axis of the error map.

    Messages (JSON objects): ``{"type": "hello"}`` (the frame as it stands), ``{"type": "step",
    "count": k}`` (k real steps, 1..``MAX_STEPS``; the frame after the last), ``{"type": "fit"}``
    (refit now), ``{"type": "reset", "seed": s, "world": env_id}``. A malformed message gets
    ``{"type": "error", "message": ...}`` (one line) and changes nothing.
    """

    def __init__(self, env_id: str = "Pendulum-v1", seed: int = 0, params: Mapping[str, Any] | None = None,
                 random_steps: int = 50, fit_every: int = 50, grid: int = 24, train: TrainConfig = VIEW_TRAIN) -> None:
        if env_id not in PLANES:
            raise ValueError(f"world must be one of {', '.join(PLANES)}, got {reprlib.repr(env_id)}")
        try:
            self.params = check_pets_params({**VIEW_PARAMS, **(params or {})})
        except ParamError as exc:
            raise ValueError(str(exc)) from None
        if self.params["model"] not in ("pets", "de"):
            raise ValueError(f"model must be 'pets' or 'de' (a learned ensemble), got {self.params['model']!r}")
        if self.params["terminal_value"]:
            raise ValueError("terminal_value must be false here: the view draws the planner without a learned value")
        if random_steps < HOLDOUT_EVERY + 1 or fit_every < 1 or not 2 <= grid <= 64:
            raise ValueError(f"random_steps must be >= {HOLDOUT_EVERY + 1}, fit_every >= 1 and grid in [2, 64]")
        self.random_steps, self.fit_every, self.grid, self.train = int(random_steps), int(fit_every), int(grid), train
        self._configure(env_id)
        self._new(seed)

    def _configure(self, env_id: str) -> None:
        self.env_id, self.world, self.plane = env_id, WORLDS[env_id], PLANES[env_id]
        self.cfg = replace(config_of(self.world, self.params), train=self.train)

    def _new(self, seed: int) -> None:
        cfg = self.cfg
        assert cfg.ensemble is not None
        self.seed = int(seed)
        self.key = run_key(self.seed)
        self.model_params: EnsembleParams = init_params(cfg, self.key)
        self.data = replay_init(cfg.capacity, self.world.obs_dim, self.world.act_dim)
        self.episode, self.t, self.steps, self.fits = 0, 0, 0, 0
        self.returns: list[float] = []
        self.episode_return = 0.0
        self.holdout_mse = float("nan")
        self.state = self.world.reset(env_key(self.seed, 0))
        self.real = [np.asarray(self.world.observe(self.state))]
        self.carry = start_decision(cfg)
        self.decision: PlannedDecision | None = None
        self.map = error_map(cfg.ensemble, self.model_params, self.world, self.plane, self.grid)

    @property
    def stored(self) -> int:
        return int(self.data.size)

    @property
    def planning(self) -> bool:
        """Whether the next step plans (a fitted model and ``random_steps`` stored) or acts at random."""
        return self.fits > 0 and self.stored >= self.random_steps

    def fit(self) -> None:
        """Refit the ensemble on every stored transition (``ensemble_train``, warm-started) and redraw the map."""
        cfg = self.cfg
        assert cfg.ensemble is not None
        if self.stored < HOLDOUT_EVERY + 1:
            raise ValueError(f"a fit needs at least {HOLDOUT_EVERY + 1} stored transitions, have {self.stored}")
        self.model_params, report = ensemble_train(cfg.ensemble, self.model_params, train_key(self.key, self.fits),
                                                   self.data, cfg.train)
        self.fits += 1
        self.holdout_mse = float(np.mean(np.asarray(report.holdout_mse)))
        self.map = error_map(cfg.ensemble, self.model_params, self.world, self.plane, self.grid)

    def real_step(self) -> None:
        """One decision (planned, or at random) and one real step; stores it, refits on schedule."""
        cfg, world = self.cfg, self.world
        assert cfg.ensemble is not None
        step, add, uniform = _programs()
        obs = world.observe(self.state)
        key = agent_key(self.key, self.episode, self.t)
        if self.planning:
            elites = self.carry.elites if cfg.planner.method == "icem" and self.carry.elites.shape[0] else None
            res, samples = plan_samples(cfg.planner, cfg.ensemble, world, self.model_params, key, obs,
                                        self.carry.mean, elites)
            self.carry = carry_of(cfg, res)
            imagined, true = _rollouts(cfg.ensemble, world, cfg.planner.particles, cfg.planner.propagation,
                                       self.model_params, jax.random.fold_in(key, 1), obs, res.mean)
            self.decision = PlannedDecision(np.asarray(obs), res, samples, np.asarray(imagined), np.asarray(true))
            action = res.action
        else:
            action = uniform(world, key)
            self.decision = None
        self.state, next_obs, reward, terminated = step(world, self.state, action)
        self.data = add(self.data, obs, action, reward, next_obs, terminated)
        self.t += 1
        self.steps += 1
        self.episode_return += float(reward)
        self.real.append(np.asarray(next_obs))
        if self.stored >= self.random_steps and self.stored % self.fit_every == 0:
            self.fit()
        if bool(terminated) or self.t >= world.max_steps:
            self.returns.append(self.episode_return)
            self.episode, self.t, self.episode_return = self.episode + 1, 0, 0.0
            self.state = world.reset(env_key(self.seed, self.episode))
            self.real = [np.asarray(world.observe(self.state))]
            self.carry = start_decision(cfg)

    def frame(self) -> dict[str, Any]:
        """The state plane as it stands: the map, the data, the real trajectory, the last decision."""
        plane, cfg, m = self.plane, self.cfg, self.map
        size = self.stored
        d = self.decision
        decision = None
        if d is not None:
            iterations = []
            for s in d.samples:
                mean, spread = particle_spread(plane, np.asarray(s.states))
                iterations.append({"trajectories": _points(mean), "spread": _points(spread),
                                   "returns": _points(s.returns),
                                   "elites": np.asarray(s.elites).tolist()})
            mean, spread = particle_spread(plane, d.imagined)
            decision = {"start": _points(plane.of_obs(d.obs)), "action": np.asarray(d.result.action).tolist(),
                        "value": _points(d.result.value), "iterations": iterations,
                        "planned": _points(mean), "planned_spread": _points(spread),
                        "planned_true": _points(plane.of_obs(d.true))}
        p = cfg.planner
        return {
            "type": "neural", "world": self.env_id, "axes": [list(plane.names), list(plane.low), list(plane.high)],
            "angle": plane.angle, "seed": self.seed, "episode": self.episode, "t": self.t, "steps": self.steps,
            "stored": size, "fits": self.fits, "holdout_mse": _points(self.holdout_mse),
            "planning": self.planning, "random_steps": self.random_steps, "fit_every": self.fit_every,
            "returns": _points(self.returns),
            "planner": {"method": p.method, "horizon": p.horizon, "population": p.population,
                        "iterations": p.iterations, "elites": p.elites, "particles": p.particles,
                        "propagation": p.propagation, "members": self.params["members"], "model": self.params["model"]},
            "real": _points(plane.of_obs(np.asarray(self.real))),
            "data": _points(plane.of_obs(np.asarray(self.data.obs[:size]))),
            "map": {"xs": m.xs.tolist(), "ys": m.ys.tolist(), "error": _points(m.error),
                    "disagreement": _points(m.disagreement)},
            "decision": decision,
        }

    def handle(self, msg: Any) -> dict[str, Any]:
        """The reply to one decoded message."""
        try:
            if not isinstance(msg, dict):
                raise ValueError(f"a message must be a JSON object, got {type(msg).__name__}")
            kind = msg.get("type")
            if kind == "step":
                for _ in range(_count(msg, "count", 1, MAX_STEPS, 1)):
                    self.real_step()
            elif kind == "fit":
                self.fit()
            elif kind == "reset":
                seed = _count(msg, "seed", 0, 2**31 - 1, self.seed)
                env_id = msg.get("world", self.env_id)
                if env_id not in PLANES:
                    raise ValueError(f"world must be one of {', '.join(PLANES)}, got {reprlib.repr(env_id)}")
                if env_id != self.env_id:
                    self._configure(env_id)
                self._new(seed)
            elif kind != "hello":
                raise ValueError(f"unknown message type {reprlib.repr(kind)} (hello, step, fit, reset)")
        except ValueError as exc:
            return {"type": "error", "message": str(exc)}
        return self.frame()
