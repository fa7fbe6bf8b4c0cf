"""Search over a learned model (MuZero-style), the same search over the true model (AlphaZero-style),
and the model-free row, as one agent: decision-time planning whose results are distilled into a
policy and a value that the next search starts from (Sutton & Barto section 8.11's blend, at scale).

The model (a choice, stated): MuZero learns a latent model trained only through the search's
targets (Schrittwieser et al. 2020). Here the dynamics network predicts the next *observation*
(a state difference, as PETS does), trained by regression on real transitions, and the reward
and termination are the world's known functions of the observation (PETS's and mbrl-lib's
``termination_fns`` convention). On a small observation space this model is learned from a few
hundred transitions, its error can be measured against the true model, and the true model plugs
into the same search unchanged (``model="true"``), which separates model error from search.

Per real step (all one jitted program, ``vmap``-ped over seeds by the batched runner):

1. search from the prediction network's prior and value at the real observation: with
   ``policy="muzero"``, ``warm_search.muzero_decision`` (mctx's MuZero search with PUCT,
   Dirichlet noise at the root), continuing the subtree kept from the last step when ``reuse``
   is on; with ``policy="gumbel"``, ``mctx.gumbel_muzero_policy`` (Danihelka et al. 2022:
   sequential halving over the root's actions, always a fresh tree);
2. act: MuZero by this search's root visit counts (temperature ``temperature``; greedy at 0),
   Gumbel by its own rule (Gumbel noise + logits + transformed Q over the actions left);
3. store the transition and the search's policy target (MuZero: the visit distribution; Gumbel:
   the completed-Q improved policy);
4. ``updates`` gradient steps (optax Adam) on a uniform batch: the dynamics network on
   normalised state differences (mean squared error), the prediction network on the n-step return
   ``sum_k gamma^k r_{t+k} + gamma^n v(s_{t+n})`` (bootstrapped from the network, cut at episode
   ends, continued through truncations) and the cross-entropy to the stored visit distribution
   or improved policy (AlphaZero's loss, Silver et al. 2018, eq. 1).

``search=False`` is the model-free row at the same real steps: the same prediction network acting
by its own policy, trained by n-step advantage actor-critic (Mnih et al. 2016) with an entropy
bonus instead of the visit distribution.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import mctx
import optax

from dynaplan.neural.nets import mlp_apply, mlp_init
from dynaplan.neural.warm_search import WarmTree, fresh_tree, muzero_decision, reroot, revalue

__all__ = [
    "WORLDS", "LSState", "LearnedSearchConfig", "SearchWorld", "StepRecord", "act_agent", "init_state",
    "observe_agent", "run_steps", "step_agent",
]


class SearchWorld(NamedTuple):
    """What the agent knows of a world besides its transitions: sizes and the known functions.

    step: (obs float32[d], action int32[]) -> (next_obs, reward, terminated), the true model
    reward: (obs, action, next_obs) -> float32[]; terminated: next_obs -> bool[]
    reset: key -> obs; max_steps: the episode's step limit (a truncation)
    """

    obs_dim: int
    n_actions: int
    step: Callable[..., tuple[jax.Array, jax.Array, jax.Array]]
    reward: Callable[..., jax.Array]
    terminated: Callable[[jax.Array], jax.Array]
    reset: Callable[[jax.Array], jax.Array]
    max_steps: int


def _cartpole() -> SearchWorld:
    from dynaplan.neural import cartpole as cp

    return SearchWorld(cp.OBS_DIM, cp.N_ACTIONS, cp.cartpole_step, lambda o, a, n: jnp.float32(1.0),
                       cp.cartpole_terminated, cp.cartpole_reset, cp.MAX_STEPS)


WORLDS: dict[str, Callable[[], SearchWorld]] = {"CartPole-v1": functools.cache(_cartpole)}
"""The worlds by Gymnasium id (each made once: a world is a static argument of the jitted runner)."""


class LearnedSearchConfig(NamedTuple):
    """Hyperparameters (static: each distinct config compiles once; checked where they enter, by
    ``dynaplan.agents.learned_search.check_params``).

    The defaults were chosen for CartPole-v1 on a 2-core CPU: networks of two hidden layers of 64
    units, 32 simulations per decision (mctx's own CartPole-sized examples use 32-64), n = 50,
    gamma 0.99, batch 128, one update of each network per real step after 256 steps, acting
    greedily by visits (temperature 0: Dirichlet noise at the root explores). n = 50 and
    temperature 0 were tuned on seeds 1000-1004 (not reported): the runs that fail drift off the
    track at about 100 steps, a failure the value must see far ahead.

    ``policy="gumbel"`` is the search of the shipped reproduction's learned-model row: with two
    actions and 32 simulations it visits both root actions at every decision and its policy target
    moves toward the better action whatever the visit split, where MuZero's visit target can teach
    a confident prior back to itself. It always searches from a fresh tree (no ``reuse``).

    Reuse (``reuse``): the kept subtree is replayed from the real observation by the current model
    and networks (``revalue``) and kept only when the model's prediction of that observation was
    within ``reuse_tolerance`` (in units of the typical one-step change); see ``_checked_kept``.
    """

    model: str = "learned"  # "learned" | "true"
    search: bool = True
    policy: str = "muzero"  # "muzero" | "gumbel"
    reuse: bool = False
    reuse_tolerance: float = 0.5
    revalue: bool = True
    simulations: int = 32
    max_depth: int = 16
    hidden: int = 64
    gamma: float = 0.99
    n_step: int = 50
    batch: int = 128
    updates: int = 1
    warmup: int = 256
    capacity: int = 20_000
    lr: float = 1e-3
    temperature: float = 0.0
    dirichlet_fraction: float = 0.25
    entropy: float = 0.01


class Buffer(NamedTuple):
    """Real transitions in the order they happened (a ring of ``capacity``).

    obs, next_obs: float32[C, d]; action: int32[C]; reward: float32[C]; terminated, ended: bool[C]
    (ended: the episode ended here, by termination or truncation); policy: float32[C, A] (the
    search's visit distribution); size, ptr: int32[]
    """

    obs: jax.Array
    action: jax.Array
    reward: jax.Array
    next_obs: jax.Array
    terminated: jax.Array
    ended: jax.Array
    policy: jax.Array
    size: jax.Array
    ptr: jax.Array


class LSState(NamedTuple):
    """One seed's whole agent and its real episode in progress (a pytree: ``vmap`` over seeds)."""

    dyn: Any
    dyn_opt: Any
    pred: Any
    pred_opt: Any
    buffer: Buffer
    kept: WarmTree
    key: jax.Array
    env_key: jax.Array
    obs: jax.Array
    t: jax.Array
    episode_return: jax.Array
    steps: jax.Array
    policy: jax.Array
    reused: jax.Array


def _optimizer(cfg: LearnedSearchConfig) -> optax.GradientTransformation:
    return optax.chain(optax.clip_by_global_norm(10.0), optax.adam(cfg.lr))


def _predict(pred: Any, obs: jax.Array, n_actions: int) -> tuple[jax.Array, jax.Array]:
    out = mlp_apply(pred, obs)
    return out[..., :n_actions], out[..., n_actions]


def _stats(buffer: Buffer) -> tuple[jax.Array, jax.Array, jax.Array]:
    """Mean and scale of stored observations and of state differences (inputs are normalised by them)."""
    live = (jnp.arange(buffer.reward.shape[0]) < buffer.size)[:, None]
    n = jnp.maximum(buffer.size, 1)
    mean = jnp.sum(jnp.where(live, buffer.obs, 0), 0) / n
    std = jnp.sqrt(jnp.sum(jnp.where(live, (buffer.obs - mean) ** 2, 0), 0) / n) + 1e-3
    delta = buffer.next_obs - buffer.obs
    dstd = jnp.sqrt(jnp.sum(jnp.where(live, delta**2, 0), 0) / n) + 1e-6
    return mean, std, dstd


def _dynamics(dyn: Any, stats: tuple[jax.Array, ...], obs: jax.Array, action: jax.Array, n_actions: int) -> jax.Array:
    mean, std, dstd = stats
    x = jnp.concatenate([(obs - mean) / std, jax.nn.one_hot(action, n_actions)], -1)
    return obs + mlp_apply(dyn, x) * dstd


def _next_obs(world: SearchWorld, cfg: LearnedSearchConfig, dyn: Any, stats: tuple[jax.Array, ...], obs: jax.Array,
              action: jax.Array) -> jax.Array:
    """The model's next observations ``float32[N, d]`` from ``obs: float32[N, d]`` and ``action: int32[N]``."""
    if cfg.model == "true":
        return jax.vmap(world.step)(obs, action)[0]
    return _dynamics(dyn, stats, obs, action, world.n_actions)


def _recurrent_fn(world: SearchWorld, cfg: LearnedSearchConfig) -> mctx.RecurrentFn:
    def recurrent_fn(params: Any, key: jax.Array, action: jax.Array, obs: jax.Array):
        pred, dyn, stats = params
        nxt = _next_obs(world, cfg, dyn, stats, obs, action)
        reward = jax.vmap(world.reward)(obs, action, nxt)
        done = world.terminated(nxt)
        logits, value = _predict(pred, nxt, world.n_actions)
        out = mctx.RecurrentFnOutput(reward=reward, discount=jnp.where(done, 0.0, cfg.gamma).astype(jnp.float32),
                                     prior_logits=logits, value=jnp.where(done, 0.0, value))
        return out, nxt

    return recurrent_fn


def init_state(key: jax.Array, world: SearchWorld, cfg: LearnedSearchConfig) -> LSState:
    """A new agent (fresh networks, empty buffer) at the start of its first episode."""
    k_dyn, k_pred, env_key, key = jax.random.split(key, 4)
    env_key, k_reset = jax.random.split(env_key)
    d, a, h = world.obs_dim, world.n_actions, cfg.hidden
    dyn = mlp_init(k_dyn, (d + a, h, h, d))
    pred = mlp_init(k_pred, (d, h, h, a + 1))
    opt = _optimizer(cfg)
    c = cfg.capacity
    buffer = Buffer(jnp.zeros((c, d)), jnp.zeros(c, jnp.int32), jnp.zeros(c), jnp.zeros((c, d)), jnp.zeros(c, bool),
                    jnp.zeros(c, bool), jnp.zeros((c, a)), jnp.zeros((), jnp.int32), jnp.zeros((), jnp.int32))
    root = mctx.RootFnOutput(prior_logits=jnp.zeros((1, a)), value=jnp.zeros(1), embedding=jnp.zeros((1, d)))
    kept = fresh_tree(root, 2 * cfg.simulations + 1)._replace(n_used=jnp.zeros(1, jnp.int32))
    zero_i, zero_f = jnp.zeros((), jnp.int32), jnp.zeros((), jnp.float32)
    return LSState(dyn, opt.init(dyn), pred, opt.init(pred), buffer, kept, key, env_key, world.reset(k_reset),
                   zero_i, zero_f, zero_i, jnp.zeros(a), zero_i)


def _checked_kept(
    state: LSState, world: SearchWorld, cfg: LearnedSearchConfig, stats: tuple[jax.Array, ...]
) -> WarmTree:
    """The kept tree made fit for the real observation now reached, or dropped.

    The kept root is the model's prediction of this observation, and every kept node below it a
    prediction from an observation of an earlier step (open loop, so a learned model's errors
    compound along a trajectory). With ``revalue`` the kept tree is replayed from the real
    observation: every kept node's observation, the reward and termination of the edge into it,
    its prior and its value are recomputed by the current model and networks along the kept paths,
    and visits and values recounted (``warm_search.revalue``): the statistics are then exactly those
    a search that expanded the same nodes now would hold; what is reused is where the earlier
    simulations went. The tree is kept only when the model's prediction of the root was within
    ``reuse_tolerance`` of the real observation (the largest error over the coordinates, in units
    of their typical one-step change).
    """
    kept = state.kept
    tree = kept.tree
    error = jnp.max(jnp.abs(tree.embeddings[:, 0] - state.obs) / stats[2], -1)
    n_used = jnp.where(error <= cfg.reuse_tolerance, kept.n_used, 0)
    embeddings = tree.embeddings.at[:, 0].set(state.obs)
    if not cfg.revalue:
        return WarmTree(tree.replace(embeddings=embeddings), n_used)
    rows = jnp.arange(tree.parents.shape[0])[:, None]
    parents, actions = jnp.maximum(tree.parents, 0), jnp.maximum(tree.action_from_parent, 0)
    below = (tree.parents >= 0)[..., None]
    d = world.obs_dim

    def level(_: jax.Array, emb: jax.Array) -> jax.Array:  # one more level of the tree replayed per pass
        nxt = _next_obs(world, cfg, state.dyn, stats, emb[rows, parents].reshape(-1, d), actions.reshape(-1))
        return jnp.where(below, nxt.reshape(emb.shape), emb)

    embeddings = jax.lax.fori_loop(0, cfg.max_depth, level, embeddings)
    children = jnp.maximum(tree.children_index, 0)  # [B, C, A]
    n_actions = world.n_actions
    child_obs = embeddings[rows[..., None], children]  # [B, C, A, d]
    parent_obs = jnp.broadcast_to(embeddings[:, :, None], child_obs.shape)
    action_grid = jnp.broadcast_to(jnp.arange(n_actions), children.shape)
    flat = (parent_obs.reshape(-1, d), action_grid.reshape(-1), child_obs.reshape(-1, d))
    rewards = jax.vmap(world.reward)(*flat).reshape(children.shape)
    done = jax.vmap(world.terminated)(flat[2]).reshape(children.shape)
    terminal = (tree.parents >= 0) & jax.vmap(world.terminated)(embeddings.reshape(-1, d)).reshape(tree.parents.shape)
    logits, values = _predict(state.pred, embeddings, n_actions)
    tree = tree.replace(embeddings=embeddings, children_prior_logits=logits,
                        children_rewards=jnp.where(tree.children_index >= 0, rewards, 0.0),
                        children_discounts=jnp.where(tree.children_index >= 0, jnp.where(done, 0.0, cfg.gamma), 0.0))
    return revalue(WarmTree(tree, n_used), jnp.where(terminal, 0.0, values))


def _decide(state: LSState, world: SearchWorld, cfg: LearnedSearchConfig, key: jax.Array):
    """(action, visit distribution, kept trees, reused root visits) at the real observation."""
    logits, value = _predict(state.pred, state.obs[None], world.n_actions)
    if not cfg.search:
        action = jax.random.categorical(key, logits)
        return action[0], jax.nn.softmax(logits)[0], state.kept, jnp.zeros((), jnp.int32)
    root = mctx.RootFnOutput(prior_logits=logits, value=value, embedding=state.obs[None])
    params = (state.pred, state.dyn, _stats(state.buffer))
    if cfg.policy == "gumbel":  # always a fresh tree: sequential halving counts the root's visits from zero
        g = mctx.gumbel_muzero_policy(params, key, root, _recurrent_fn(world, cfg), cfg.simulations,
                                      max_depth=cfg.max_depth)
        return g.action[0], g.action_weights[0], state.kept, jnp.zeros((), jnp.int32)
    kept = _checked_kept(state, world, cfg, params[2]) if cfg.reuse else None
    out = muzero_decision(params, key, root, _recurrent_fn(world, cfg), cfg.simulations, kept=kept,
                          capacity=2 * cfg.simulations + 1, max_depth=cfg.max_depth,
                          dirichlet_fraction=cfg.dirichlet_fraction, temperature=cfg.temperature)
    return out.action[0], out.action_weights[0], out.warm, out.reused[0]


def _store(b: Buffer, obs, action, reward, next_obs, terminated, ended, policy) -> Buffer:
    i = b.ptr
    c = b.reward.shape[0]
    return Buffer(b.obs.at[i].set(obs), b.action.at[i].set(action), b.reward.at[i].set(reward),
                  b.next_obs.at[i].set(next_obs), b.terminated.at[i].set(terminated), b.ended.at[i].set(ended),
                  b.policy.at[i].set(policy), jnp.minimum(b.size + 1, c), (i + 1) % c)


def _n_step_targets(b: Buffer, pred: Any, idx: jax.Array, cfg: LearnedSearchConfig, n_actions: int) -> jax.Array:
    """The n-step return from each sampled index (chronological ring order), cut at terminations
    and bootstrapped from the network at truncations and after n steps (one network evaluation per
    sample, at the step it bootstraps from)."""
    c = b.reward.shape[0]
    g = jnp.zeros(idx.shape)
    alive = jnp.ones(idx.shape, bool)
    boot_at = idx
    boot_weight = jnp.zeros(idx.shape)
    for k in range(cfg.n_step):
        j = (idx + k) % c
        g = g + jnp.where(alive, cfg.gamma**k * b.reward[j], 0.0)
        boot = alive & (b.ended[j] | (k == cfg.n_step - 1)) & ~b.terminated[j]
        boot_at = jnp.where(boot, j, boot_at)
        boot_weight = jnp.where(boot, cfg.gamma ** (k + 1), boot_weight)
        alive = alive & ~b.ended[j]
    v_next = _predict(pred, b.next_obs[boot_at], n_actions)[1]
    return g + boot_weight * jax.lax.stop_gradient(v_next)


def _update(state: LSState, world: SearchWorld, cfg: LearnedSearchConfig, key: jax.Array) -> LSState:
    b = state.buffer
    c = b.reward.shape[0]
    usable = jnp.maximum(b.size - cfg.n_step, 1)  # the newest n steps wait for their n-step return
    oldest = jnp.where(b.size < c, 0, b.ptr)
    idx = (oldest + jax.random.randint(key, (cfg.batch,), 0, usable)) % c
    obs, action, policy = b.obs[idx], b.action[idx], b.policy[idx]
    targets = _n_step_targets(b, state.pred, idx, cfg, world.n_actions)
    stats = _stats(b)

    def dyn_loss(dyn: Any) -> jax.Array:
        err = (_dynamics(dyn, stats, obs, action, world.n_actions) - b.next_obs[idx]) / stats[2]
        return jnp.mean(err**2)

    def pred_loss(pred: Any) -> jax.Array:
        logits, value = _predict(pred, obs, world.n_actions)
        logp = jax.nn.log_softmax(logits)
        value_loss = 0.5 * jnp.mean((targets - value) ** 2) / 100.0
        if cfg.search:
            return value_loss - jnp.mean(jnp.sum(policy * logp, -1))
        advantage = jax.lax.stop_gradient(targets - value)
        chosen = jnp.take_along_axis(logp, action[:, None], 1)[:, 0]
        entropy = -jnp.mean(jnp.sum(jnp.exp(logp) * logp, -1))
        return value_loss - jnp.mean(chosen * advantage) / 10.0 - cfg.entropy * entropy

    opt = _optimizer(cfg)
    dyn, dyn_opt = state.dyn, state.dyn_opt
    if cfg.search and cfg.model == "learned":
        grads = jax.grad(dyn_loss)(dyn)
        upd, dyn_opt = opt.update(grads, dyn_opt, dyn)
        dyn = optax.apply_updates(dyn, upd)
    grads = jax.grad(pred_loss)(state.pred)
    upd, pred_opt = opt.update(grads, state.pred_opt, state.pred)
    return state._replace(dyn=dyn, dyn_opt=dyn_opt, pred=optax.apply_updates(state.pred, upd), pred_opt=pred_opt)


class StepRecord(NamedTuple):
    """What one real step reports: the transition, whether the episode ended here and its return
    (else nan), and the root visits reused from the last search."""

    obs: jax.Array
    action: jax.Array
    reward: jax.Array
    next_obs: jax.Array
    terminated: jax.Array
    truncated: jax.Array
    episode_return: jax.Array
    reused: jax.Array

    @property
    def ended(self) -> jax.Array:
        return self.terminated | self.truncated


def act_agent(
    state: LSState, obs: jax.Array, world: SearchWorld, cfg: LearnedSearchConfig
) -> tuple[LSState, jax.Array]:
    """Decide at the real observation ``obs``: the action, with the searched tree and the visit
    distribution kept in the state for :func:`observe_agent`."""
    key, k_search = jax.random.split(state.key)
    state = state._replace(obs=obs, key=key)
    action, policy, warm, reused = _decide(state, world, cfg, k_search)
    return state._replace(kept=warm, policy=policy, reused=reused), action


def observe_agent(state: LSState, action: jax.Array, reward: jax.Array, next_obs: jax.Array, terminated: jax.Array,
                  truncated: jax.Array, world: SearchWorld, cfg: LearnedSearchConfig) -> LSState:
    """Learn from the real step just taken: store it with the search's visit distribution, re-root
    the searched tree at the action taken (or drop it at an episode's end), update the networks."""
    key, k_update = jax.random.split(state.key)
    ended = terminated | truncated
    buffer = _store(state.buffer, state.obs, action, reward, next_obs, terminated, ended, state.policy)
    kept = state.kept
    if cfg.search and cfg.reuse:
        kept, _ = reroot(kept, action[None], keep_at_most=cfg.simulations + 1)
        kept = kept._replace(n_used=jnp.where(ended, 0, kept.n_used))
    state = state._replace(buffer=buffer, kept=kept, key=key, steps=state.steps + 1)
    return jax.lax.cond(buffer.size >= cfg.warmup, lambda s: _repeat_update(s, world, cfg, k_update), lambda s: s,
                        state)


def step_agent(state: LSState, world: SearchWorld, cfg: LearnedSearchConfig) -> tuple[LSState, StepRecord]:
    """One real step of one seed in the world stepped in JAX: act, step, observe, reset at the end."""
    env_key, k_reset = jax.random.split(state.env_key)
    obs = state.obs
    state, action = act_agent(state, obs, world, cfg)
    next_obs, reward, terminated = world.step(state.obs, action)
    t = state.t + 1
    truncated = ~terminated & (t >= world.max_steps)
    state = observe_agent(state, action, reward, next_obs, terminated, truncated, world, cfg)
    ended = terminated | truncated
    episode_return = state.episode_return + reward
    record = StepRecord(obs, action, reward, next_obs, terminated, truncated,
                        jnp.where(ended, episode_return, jnp.nan), state.reused)
    state = state._replace(env_key=env_key, obs=jnp.where(ended, world.reset(k_reset), next_obs),
                           t=jnp.where(ended, 0, t), episode_return=jnp.where(ended, 0.0, episode_return))
    return state, record


def _repeat_update(state: LSState, world: SearchWorld, cfg: LearnedSearchConfig, key: jax.Array) -> LSState:
    for k in jax.random.split(key, cfg.updates):
        state = _update(state, world, cfg, k)
    return state


@functools.partial(jax.jit, static_argnames=("world", "cfg", "n_steps"))
def run_steps(state: LSState, world: SearchWorld, cfg: LearnedSearchConfig, n_steps: int):
    """``n_steps`` real steps of a batch of seeds (``state`` batched on its leading axis), one program."""

    def one(s: LSState) -> tuple[LSState, StepRecord]:
        return jax.lax.scan(lambda c, _: step_agent(c, world, cfg), s, None, length=n_steps)

    return jax.vmap(one)(state)

