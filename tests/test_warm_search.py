"""Search over a model through mctx, with subtree reuse: ground truth and recounts.

- a decision from a fresh tree is exactly ``mctx.muzero_policy`` (same key, same outputs);
- with an exact model of small deterministic MDPs, the root's most visited action agrees with
  finite-horizon backward induction more often as the budget rises, and always at the largest;
- after re-rooting and more simulations, every kept node's visit count and value equal a recount
  from the tree's primitive records (each simulation expands one node: a node's visits are the
  size of its subtree, its value the mean discounted return to each node below it plus that
  node's own evaluation).
"""


import numpy as np
import pytest

jax = pytest.importorskip("jax")
mctx = pytest.importorskip("mctx")
import jax.numpy as jnp  # noqa: E402

from dynaplan.neural.warm_search import muzero_decision, reroot, stochastic_decision  # noqa: E402

GAMMA = 0.9


def random_mdp(seed: int, n_states: int = 6, n_actions: int = 3) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.integers(0, n_states, (n_states, n_actions)), rng.normal(size=(n_states, n_actions)).astype(np.float32)


def tabular_fns(nxt: np.ndarray, rew: np.ndarray, value_seed: int | None = None):
    n_states, n_actions = rew.shape
    values = (np.zeros(n_states) if value_seed is None else np.random.default_rng(value_seed).normal(size=n_states))
    nxt_j, rew_j, val_j = jnp.asarray(nxt), jnp.asarray(rew), jnp.asarray(values, jnp.float32)

    def recurrent_fn(params, key, action, state):
        s2 = nxt_j[state, action]
        out = mctx.RecurrentFnOutput(reward=rew_j[state, action], discount=jnp.full(state.shape, GAMMA),
                                     prior_logits=jnp.zeros((state.shape[0], n_actions)), value=val_j[s2])
        return out, s2

    def root(state):
        return mctx.RootFnOutput(prior_logits=jnp.zeros((state.shape[0], n_actions)), value=val_j[state],
                                 embedding=state)

    return recurrent_fn, root


def backward_induction(nxt: np.ndarray, rew: np.ndarray, horizon: int) -> np.ndarray:
    v = np.zeros(rew.shape[0])
    for _ in range(horizon):
        q = rew + GAMMA * v[nxt]
        v = q.max(1)
    return q


def test_fresh_decision_is_mctx_muzero_policy() -> None:
    nxt, rew = random_mdp(0)
    recurrent_fn, root_fn = tabular_fns(nxt, rew, value_seed=1)
    root = root_fn(jnp.arange(4))
    key = jax.random.PRNGKey(7)
    ours = muzero_decision((), key, root, recurrent_fn, 20, max_depth=5)
    theirs = mctx.muzero_policy((), key, root, recurrent_fn, 20, max_depth=5)
    assert np.array_equal(ours.action, theirs.action)
    np.testing.assert_array_equal(ours.action_weights, theirs.action_weights)
    for field in ("node_visits", "node_values", "children_index", "children_values", "parents"):
        np.testing.assert_array_equal(getattr(ours.warm.tree, field), getattr(theirs.search_tree, field))


def test_root_action_agrees_with_backward_induction_as_budget_rises() -> None:
    horizon, mdps, n_states = 3, 12, 6
    tables = [random_mdp(100 + seed, n_states) for seed in range(mdps)]  # one table: MDP k's states k*6..k*6+5
    nxt = np.concatenate([t[0] + k * n_states for k, t in enumerate(tables)])
    rew = np.concatenate([t[1] for t in tables])
    q = backward_induction(nxt, rew, horizon)
    recurrent_fn, root_fn = tabular_fns(nxt, rew)
    states = jnp.arange(rew.shape[0])
    agree = {}
    for budget in (8, 64, 2048):
        out = muzero_decision((), jax.random.PRNGKey(budget), root_fn(states), recurrent_fn, budget,
                              max_depth=horizon, dirichlet_fraction=0.0)
        chosen = np.asarray(out.action_weights).argmax(1)
        agree[budget] = float(np.mean(q[np.arange(len(chosen)), chosen] >= q.max(1) - 1e-6))
    assert agree[8] < agree[64] < agree[2048] and agree[2048] == 1.0, agree


def recount(tree, b: int, n_used: int) -> tuple[np.ndarray, np.ndarray]:
    parents = np.asarray(tree.parents[b])
    raw = np.asarray(tree.raw_values[b])
    rewards, discounts = np.asarray(tree.children_rewards[b]), np.asarray(tree.children_discounts[b])
    from_parent = np.asarray(tree.action_from_parent[b])
    visits, values = np.zeros(n_used), np.zeros(n_used)
    for m in range(n_used):  # each node m is one simulation's leaf: walk up and credit every ancestor
        ret, node = raw[m], m
        while True:
            visits[node] += 1
            values[node] += ret
            parent = parents[node]
            if parent < 0:
                break
            ret = rewards[parent, from_parent[node]] + discounts[parent, from_parent[node]] * ret
            node = parent
    return visits, values / visits


def test_reused_subtree_statistics_equal_a_recount() -> None:
    nxt, rew = random_mdp(3, n_states=8)
    recurrent_fn, root_fn = tabular_fns(nxt, rew, value_seed=4)
    sims = 40
    first = muzero_decision((), jax.random.PRNGKey(0), root_fn(jnp.array([0, 5])), recurrent_fn, sims,
                            capacity=2 * sims + 1)
    action = first.action
    kept, reused = reroot(first.warm, action, keep_at_most=sims + 1)
    child = first.warm.tree.children_index[jnp.arange(2), 0, action]
    np.testing.assert_array_equal(reused, first.warm.tree.node_visits[jnp.arange(2), child])
    assert (np.asarray(reused) > 1).all()
    state = nxt[[0, 5], np.asarray(action)]
    second = muzero_decision((), jax.random.PRNGKey(1), root_fn(jnp.asarray(state)), recurrent_fn, sims, kept=kept)
    np.testing.assert_array_equal(second.reused, reused)
    for b in range(2):
        n_used = int(second.warm.n_used[b])
        assert n_used == int(reused[b]) + sims
        visits, values = recount(second.warm.tree, b, n_used)
        np.testing.assert_array_equal(np.asarray(second.warm.tree.node_visits[b, :n_used]), visits)
        np.testing.assert_allclose(np.asarray(second.warm.tree.node_values[b, :n_used]), values, rtol=1e-5, atol=1e-5)
        assert int(second.warm.tree.node_visits[b, 0]) == n_used  # the root has seen every simulation
        # the decision counts this search's simulations only: the nodes it expanded, by root action
        parents = np.asarray(second.warm.tree.parents[b])
        from_parent = np.asarray(second.warm.tree.action_from_parent[b])
        new = np.zeros(rew.shape[1])
        for m in range(int(reused[b]), n_used):
            while parents[m] != 0:
                m = parents[m]
            new[from_parent[m]] += 1
        np.testing.assert_allclose(np.asarray(second.action_weights[b]), new / sims)


def test_a_cut_subtree_carries_only_the_kept_simulations() -> None:
    nxt, rew = random_mdp(5, n_states=8)
    recurrent_fn, root_fn = tabular_fns(nxt, rew, value_seed=6)
    first = muzero_decision((), jax.random.PRNGKey(2), root_fn(jnp.array([1])), recurrent_fn, 40, capacity=81)
    action = jnp.asarray(np.asarray(first.warm.tree.children_visits[0, 0]).argmax())[None]
    kept, reused = reroot(first.warm, action, keep_at_most=5)
    assert int(kept.n_used[0]) == 5 and int(reused[0]) == 5  # the root's visits: the 5 kept simulations
    visits, values = recount(kept.tree, 0, 5)
    np.testing.assert_array_equal(np.asarray(kept.tree.node_visits[0, :5]), visits)
    np.testing.assert_allclose(np.asarray(kept.tree.node_values[0, :5]), values, rtol=1e-5, atol=1e-5)
    assert (np.asarray(kept.tree.children_index[0, :5]) < 5).all()  # no edge into a dropped node


def chance_mdp(seed: int, n_states: int = 5, n_actions: int = 3, n_outcomes: int = 2):
    """A small MDP with chance outcomes: after action a in state s, outcome c (probability
    p[s, a, c]) leads to state nxt[s, a, c] with reward rew[s, a, c]."""
    rng = np.random.default_rng(seed)
    nxt = rng.integers(0, n_states, (n_states, n_actions, n_outcomes))
    rew = rng.normal(size=(n_states, n_actions, n_outcomes)).astype(np.float32)
    p = rng.dirichlet(np.ones(n_outcomes), (n_states, n_actions)).astype(np.float32)
    return nxt, rew, p


def chance_fns(nxt: np.ndarray, rew: np.ndarray, p: np.ndarray, value_seed: int | None = None):
    n_states, n_actions, _ = rew.shape
    values = np.zeros(n_states) if value_seed is None else np.random.default_rng(value_seed).normal(size=n_states)
    nxt_j, rew_j, logp_j = jnp.asarray(nxt), jnp.asarray(rew), jnp.log(jnp.asarray(p))
    val_j = jnp.asarray(values, jnp.float32)
    after_j = (jnp.asarray(rew) * jnp.asarray(p)).sum(-1) + GAMMA * (jnp.asarray(p) * val_j[nxt_j]).sum(-1)

    def decision_fn(params, key, action, state):  # the afterstate (s, a), its chance logits and value
        out = mctx.DecisionRecurrentFnOutput(chance_logits=logp_j[state, action],
                                             afterstate_value=after_j[state, action])
        return out, state * n_actions + action

    def chance_fn(params, key, outcome, afterstate):
        s, a = afterstate // n_actions, afterstate % n_actions
        s2 = nxt_j[s, a, outcome]
        out = mctx.ChanceRecurrentFnOutput(action_logits=jnp.zeros((s.shape[0], n_actions)), value=val_j[s2],
                                           reward=rew_j[s, a, outcome], discount=jnp.full(s.shape, GAMMA))
        return out, s2

    def root(state):
        return mctx.RootFnOutput(prior_logits=jnp.zeros((state.shape[0], n_actions)), value=val_j[state],
                                 embedding=state)

    return decision_fn, chance_fn, root


def expectimax(nxt: np.ndarray, rew: np.ndarray, p: np.ndarray, horizon: int) -> np.ndarray:
    v = np.zeros(rew.shape[0])
    for _ in range(horizon):
        q = (p * (rew + GAMMA * v[nxt])).sum(-1)
        v = q.max(1)
    return q


def test_fresh_chance_decision_is_mctx_stochastic_muzero_policy() -> None:
    nxt, rew, p = chance_mdp(0)
    decision_fn, chance_fn, root_fn = chance_fns(nxt, rew, p, value_seed=1)
    root = root_fn(jnp.arange(4))
    key = jax.random.PRNGKey(3)
    ours = stochastic_decision((), key, root, decision_fn, chance_fn, 24, max_depth=6)
    theirs = mctx.stochastic_muzero_policy((), key, root, decision_fn, chance_fn, 24, max_depth=6)
    assert np.array_equal(ours.action, theirs.action)
    np.testing.assert_array_equal(ours.action_weights, theirs.action_weights)
    for field in ("node_visits", "node_values", "parents", "action_from_parent"):
        np.testing.assert_array_equal(getattr(ours.warm.tree, field), getattr(theirs.search_tree, field))


def test_chance_root_action_agrees_with_expectimax_as_budget_rises() -> None:
    horizon, mdps, n_states = 2, 12, 5
    tables = [chance_mdp(200 + seed, n_states) for seed in range(mdps)]
    nxt = np.concatenate([t[0] + k * n_states for k, t in enumerate(tables)])
    rew = np.concatenate([t[1] for t in tables])
    p = np.concatenate([t[2] for t in tables])
    q = expectimax(nxt, rew, p, horizon)
    decision_fn, chance_fn, root_fn = chance_fns(nxt, rew, p)
    states = jnp.arange(rew.shape[0])
    agree = {}
    for budget in (8, 64, 2048):
        out = stochastic_decision((), jax.random.PRNGKey(budget), root_fn(states), decision_fn, chance_fn, budget,
                                  max_depth=2 * horizon, dirichlet_fraction=0.0)
        chosen = np.asarray(out.action_weights).argmax(1)
        agree[budget] = float(np.mean(q[np.arange(len(chosen)), chosen] >= q.max(1) - 1e-6))
    assert agree[8] < agree[64] < agree[2048] and agree[2048] == 1.0, agree


def test_a_subtree_kept_across_a_chance_outcome_equals_a_recount() -> None:
    nxt, rew, p = chance_mdp(7, n_states=6)
    decision_fn, chance_fn, root_fn = chance_fns(nxt, rew, p, value_seed=8)
    sims, n_actions = 60, 3
    states = jnp.array([0, 4])
    first = stochastic_decision((), jax.random.PRNGKey(0), root_fn(states), decision_fn, chance_fn, sims,
                                capacity=2 * sims + 1)
    action = first.action
    chance_node, _ = reroot(first.warm, action, keep_at_most=sims + 1)  # the afterstate: a chance node
    outcome = jnp.asarray(np.asarray(chance_node.tree.children_visits[:, 0, n_actions:]).argmax(1))
    kept, reused = reroot(chance_node, n_actions + outcome, keep_at_most=sims + 1)
    assert (np.asarray(reused) > 1).all()
    assert np.asarray(kept.tree.embeddings.is_decision_node[:, 0]).all()
    reached = nxt[np.asarray(states), np.asarray(action), np.asarray(outcome)]
    np.testing.assert_array_equal(np.asarray(kept.tree.embeddings.state_embedding[:, 0]), reached)
    second = stochastic_decision((), jax.random.PRNGKey(1), root_fn(jnp.asarray(reached)), decision_fn, chance_fn,
                                 sims, kept=kept)
    np.testing.assert_array_equal(second.reused, reused)
    for b in range(2):
        n_used = int(second.warm.n_used[b])
        assert n_used == int(reused[b]) + sims
        visits, values = recount(second.warm.tree, b, n_used)
        np.testing.assert_array_equal(np.asarray(second.warm.tree.node_visits[b, :n_used]), visits)
        np.testing.assert_allclose(np.asarray(second.warm.tree.node_values[b, :n_used]), values, rtol=1e-5, atol=1e-5)
