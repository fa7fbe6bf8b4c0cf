"""The learned-search agent: CartPole in JAX against Gymnasium, object API == batched runner,
bad input refused by name, and the search over the true model balancing the pole from the start."""


import gymnasium as gym
import numpy as np
import pytest

jax = pytest.importorskip("jax")
pytest.importorskip("mctx")
import jax.numpy as jnp  # noqa: E402

from dynaplan.agents.learned_search import LearnedSearch, check_params  # noqa: E402
from dynaplan.core.params import ParamError  # noqa: E402
from dynaplan.neural.cartpole import cartpole_step  # noqa: E402
from dynaplan.neural.learned_search import (  # noqa: E402
    WORLDS,
    LearnedSearchConfig,
    _recurrent_fn,
    _stats,
    init_state,
    run_steps,
)

TINY = dict(simulations=4, max_depth=4, hidden=16, warmup=24, batch=16, capacity=256, n_step=3)


def test_cartpole_in_jax_equals_gymnasium_to_float32() -> None:
    step = jax.jit(cartpole_step)
    env = gym.make("CartPole-v1")
    for seed in range(3):
        obs, _ = env.reset(seed=seed)
        actions = np.random.default_rng(seed).integers(0, 2, 300)
        for a in actions:
            nxt, reward, terminated, truncated, _ = env.step(int(a))
            ours, r, term = step(jnp.asarray(obs), int(a))
            np.testing.assert_allclose(np.asarray(ours), nxt, rtol=0, atol=1e-6)
            assert float(r) == reward and bool(term) == terminated
            obs = nxt
            if terminated or truncated:
                obs, _ = env.reset(seed=seed + 100)


def test_object_api_equals_batched_runner() -> None:
    reuse = True  # the superset: the search and the kept tree both carried across steps (kept at any model error)
    world = WORLDS["CartPole-v1"]()
    cfg = LearnedSearchConfig(reuse=reuse, reuse_tolerance=1e9, **TINY)
    state = jax.vmap(lambda k: init_state(k, world, cfg))(jax.random.PRNGKey(3)[None])
    _, rec = run_steps(state, world, cfg, 40)
    rec = jax.tree.map(lambda x: np.asarray(x[0]), rec)
    assert rec.ended.sum() >= 1  # the run crosses an episode boundary
    agent = LearnedSearch(gym.make("CartPole-v1"), seed=3, reuse=reuse, reuse_tolerance=1e9, **TINY)
    for t in range(40):
        assert agent.act(rec.obs[t]) == int(rec.action[t]), t
        agent.observe(rec.obs[t], int(rec.action[t]), float(rec.reward[t]), rec.next_obs[t], bool(rec.terminated[t]),
                      bool(rec.truncated[t]))
    assert agent.view().steps == 40 and agent.view().stored == 40
    assert rec.reused.max() > 0  # some search continued from a kept subtree


def test_bad_settings_and_input_are_refused_by_name() -> None:
    for key, value in [("simulations", 0), ("gamma", 1.5), ("model", "oracle"), ("reuse", "yes"), ("capacity", 2),
                       ("lr", float("nan")), ("policy", "alphazero")]:
        with pytest.raises(ParamError, match=key):
            check_params({key: value})
    with pytest.raises(ParamError, match="reuse keeps a search tree"):
        check_params(dict(search=False, reuse=True))
    with pytest.raises(ParamError, match="Gumbel MuZero's root schedule"):
        check_params(dict(policy="gumbel", reuse=True))
    with pytest.raises(ParamError, match="learned-search runs CartPole-v1"):
        LearnedSearch(gym.make("FrozenLake-v1"))
    with pytest.raises(ParamError, match="sims"):
        LearnedSearch(gym.make("CartPole-v1"), sims=3)
    agent = LearnedSearch(gym.make("CartPole-v1"), **TINY)
    obs = np.zeros(4, np.float32)
    with pytest.raises(ValueError, match="obs must be finite"):
        agent.act([0.0, np.nan, 0.0, 0.0])
    with pytest.raises(ValueError, match="obs must have shape"):
        agent.act([0.0, 0.0])
    for kwargs, key in [(dict(action=2), "action"), (dict(action=-1), "action"), (dict(reward=float("nan")), "reward"),
                        (dict(terminated="no"), "terminated")]:
        args = dict(obs=obs, action=0, reward=1.0, next_obs=obs, terminated=False, truncated=False) | kwargs
        with pytest.raises(ValueError, match=key):
            agent.observe(**args)


def test_true_model_search_step_matches_gymnasium_at_the_edge() -> None:
    """What the search sees over the true model, against Gymnasium's own step from the same
    states near the edges: the next observation, reward 1, and at a termination discount 0 and
    value 0 (nothing after the end counts); elsewhere discount gamma and the network's value."""
    world = WORLDS["CartPole-v1"]()
    cfg = LearnedSearchConfig(model="true")
    state = init_state(jax.random.PRNGKey(0), world, cfg)
    recurrent_fn = jax.jit(_recurrent_fn(world, cfg))
    params = (state.pred, state.dyn, _stats(state.buffer))
    starts = np.array([[0, 0, 0.2, 1.5], [0, 0, -0.2, -1.5], [2.39, 1.0, 0, 0], [-2.39, -1.0, 0, 0], [0, 0, 0.01, 0]],
                      np.float32)
    env = gym.make("CartPole-v1").unwrapped
    env.reset(seed=0)
    ended = 0
    for start in starts:
        for action in (0, 1):
            env.state, env.steps_beyond_terminated = start.astype(np.float64), None
            nxt, reward, terminated, _, _ = env.step(action)
            out, ours = recurrent_fn(params, None, jnp.array([action]), jnp.asarray(start)[None])
            np.testing.assert_allclose(np.asarray(ours[0]), nxt, atol=1e-6)
            assert float(out.reward[0]) == reward
            if terminated:
                ended += 1
                assert float(out.discount[0]) == 0.0 and float(out.value[0]) == 0.0
            else:
                assert float(out.discount[0]) == pytest.approx(cfg.gamma) and float(out.value[0]) != 0.0
    assert 0 < ended < 2 * len(starts)


def test_reuse_replays_the_kept_subtree_from_the_real_observation() -> None:
    from dynaplan.neural.learned_search import _checked_kept, _dynamics, _predict

    world = WORLDS["CartPole-v1"]()
    cfg = LearnedSearchConfig(reuse=True, reuse_tolerance=1e9, **TINY)
    state = jax.vmap(lambda k: init_state(k, world, cfg))(jax.random.PRNGKey(3)[None])
    state, _ = run_steps(state, world, cfg, 40)
    s = jax.tree.map(lambda x: x[0], state)
    s = s._replace(obs=s.kept.tree.embeddings[0, 0] + 1e-3)  # a real observation near the kept root's prediction
    stats = _stats(s.buffer)
    kept = _checked_kept(s, world, cfg, stats)
    n = int(kept.n_used[0])
    assert n > 2  # a kept tree with nodes below its root
    tree = jax.tree.map(lambda x: np.asarray(x[0]), kept.tree)
    np.testing.assert_array_equal(tree.embeddings[0], np.asarray(s.obs))  # the root is the real observation
    for i in range(1, n):  # every node is the current model's step from its parent, evaluated afresh
        p, a = int(tree.parents[i]), int(tree.action_from_parent[i])
        expected = _dynamics(s.dyn, stats, jnp.asarray(tree.embeddings[p])[None], jnp.asarray([a]), 2)[0]
        np.testing.assert_allclose(tree.embeddings[i], expected, rtol=1e-5, atol=1e-5)
        value = float(_predict(s.pred, expected, 2)[1])
        assert tree.raw_values[i] == pytest.approx(0.0 if tree.children_discounts[p, a] == 0 else value, abs=1e-4)
    assert tree.node_visits[0] == n  # the root's visits: the kept simulations


def test_the_reuse_spec_is_valid() -> None:
    from pathlib import Path

    from dynaplan.experiments.spec import load_spec

    spec = load_spec(Path(__file__).resolve().parents[1] / "examples" / "learned-search-reuse.toml")
    assert spec.kind == "learned-search" and spec.root_seed == 2026
