"""Subtree reuse on top of mctx: keep the chosen child's subtree and continue the search from it.

mctx (Danihelka et al.; google-deepmind/mctx) runs MuZero's and Gumbel MuZero's search as one
batched, jitted program, but always from a fresh tree: its maintainers decline reuse ("MuZero
does not continue the search from a subtree", mctx issue #51). The book's blend (Sutton & Barto
section 8.11: what decision-time planning computed for a state is kept for when the agent
returns) needs it, so this module is the smallest extension that gives it, and it sits exactly
here:

- the tree is mctx's own ``Tree`` record, allocated with room for ``capacity`` nodes instead of
  ``num_simulations + 1`` (``mctx._src.search.instantiate_tree_from_root``);
- the simulation loop is mctx's (``simulate``, ``expand``, ``backward`` from
  ``mctx._src.search``, called unchanged), except that a node first expanded on simulation ``i``
  gets index ``n_used + i`` instead of ``1 + i``, where ``n_used`` counts the nodes already in the
  tree;
- :func:`reroot` compacts the subtree under the root's child ``action`` into the front of the
  arrays (order kept, so a parent still precedes its children), at most ``keep_at_most`` nodes
  (the first in index order), with rewards, discounts, priors, evaluations and embeddings kept and
  visits and values recounted over the kept nodes: each node stands for the simulation that
  expanded it, so the statistics are exactly those of the kept simulations (without the cut, the
  same numbers mctx's backups gave; tested), and the visits carried to the next search never
  exceed the nodes kept;
- :func:`muzero_decision` is ``mctx.muzero_policy`` with the same random-key discipline (so a
  decision from a fresh tree equals ``mctx.muzero_policy`` exactly: tested), taking an optional
  kept tree. At a kept root the prior is refreshed from the current network (with Dirichlet
  noise, as at any root); visit counts and values carry over and guide the new simulations, but
  the action and the visit distribution returned count this search's simulations only: the
  carried visits were spent while the root was an interior node, without the root's noise, so
  acting on them (and training a policy on them) hands the decision back to the prior that
  placed them.

Gumbel MuZero's root selection (sequential halving) schedules the root's visits from zero, so a
warm root would break its policy-improvement argument (Danihelka et al. 2022, section 4): the
Gumbel policy here always searches from a fresh tree, and asking for reuse with it is refused.
"""

from __future__ import annotations

import functools
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import mctx
from mctx._src import action_selection, base, policies
from mctx._src.search import backward, expand, instantiate_tree_from_root, simulate

__all__ = ["WarmTree", "fresh_tree", "muzero_decision", "reroot", "revalue", "run_simulations", "stochastic_decision"]

ROOT = mctx.Tree.ROOT_INDEX
UNVISITED = mctx.Tree.UNVISITED
NO_PARENT = mctx.Tree.NO_PARENT


class WarmTree(NamedTuple):
    """A batch of search trees with room to grow.

    tree: mctx.Tree with [B, capacity, ...] node arrays
    n_used: int32[B] (nodes in use; the next expansion takes index n_used)
    """

    tree: mctx.Tree
    n_used: jax.Array


def fresh_tree(root: mctx.RootFnOutput, capacity: int, invalid_actions: jax.Array | None = None) -> WarmTree:
    """A tree holding only the root, with room for ``capacity`` nodes in all."""
    if invalid_actions is None:
        invalid_actions = jnp.zeros_like(root.prior_logits)
    tree = instantiate_tree_from_root(root, capacity - 1, root_invalid_actions=invalid_actions, extra_data=None)
    return WarmTree(tree, jnp.ones(root.value.shape, jnp.int32))


def run_simulations(
    params: Any,
    rng_key: jax.Array,
    warm: WarmTree,
    recurrent_fn: mctx.RecurrentFn,
    action_selection_fn: Any,
    num_simulations: int,
    max_depth: int,
) -> WarmTree:
    """``num_simulations`` more simulations (select, expand, back up), mctx's loop body verbatim
    but for where the new node goes. The caller guarantees ``n_used + num_simulations <= capacity``."""
    tree = warm.tree
    batch_range = jnp.arange(tree.node_visits.shape[0])

    def body(sim: jax.Array, state: tuple[jax.Array, mctx.Tree]) -> tuple[jax.Array, mctx.Tree]:
        key, tree = state
        key, simulate_key, expand_key = jax.random.split(key, 3)
        simulate_keys = jax.random.split(simulate_key, batch_range.shape[0])
        parent, action = simulate(simulate_keys, tree, action_selection_fn, max_depth)
        child = tree.children_index[batch_range, parent, action]
        child = jnp.where(child == UNVISITED, warm.n_used + sim, child)
        tree = expand(params, expand_key, tree, recurrent_fn, parent, action, child)
        return key, backward(tree, child)

    _, tree = jax.lax.fori_loop(0, num_simulations, body, (rng_key, tree))
    return WarmTree(tree, warm.n_used + num_simulations)


def _subtree_mask(parents: jax.Array, top: jax.Array) -> jax.Array:
    """bool[capacity]: the nodes at or below ``top`` (every parent index precedes its children)."""
    n = parents.shape[0]

    def body(i: jax.Array, mask: jax.Array) -> jax.Array:
        parent = parents[i]
        below = (parent != NO_PARENT) & mask[jnp.maximum(parent, 0)]
        return mask.at[i].set((i == top) | ((i > top) & below))

    return jax.lax.fori_loop(0, n, body, jnp.zeros(n, bool))


def _recount(parents: jax.Array, from_parent: jax.Array, rewards: jax.Array, discounts: jax.Array, raw: jax.Array,
             live: jax.Array) -> tuple[jax.Array, jax.Array]:
    """Visits and values of a compacted tree recounted from its nodes: each node stands for the
    one simulation that expanded it, so a node's visits are the number of nodes in its subtree and
    its value the mean, over them, of the discounted return from the node to each (rewards on the
    way, then that node's own evaluation). Children follow parents in index order, so one sweep
    from the last node back to the root adds each node's totals into its parent's."""
    count = live.astype(jnp.int32)
    total = jnp.where(live, raw, 0.0)

    def body(k: jax.Array, state: tuple[jax.Array, jax.Array]) -> tuple[jax.Array, jax.Array]:
        count, total = state
        i = parents.shape[0] - 1 - k
        p, a = parents[i], from_parent[i]
        up = live[i] & (p != NO_PARENT)
        p, a = jnp.maximum(p, 0), jnp.maximum(a, 0)
        count = count.at[p].add(jnp.where(up, count[i], 0))
        total = total.at[p].add(jnp.where(up, rewards[p, a] * count[i] + discounts[p, a] * total[i], 0.0))
        return count, total

    count, total = jax.lax.fori_loop(0, parents.shape[0], body, (count, total))
    return count, jnp.where(live, total / jnp.maximum(count, 1), 0.0)


def _reroot_one(tree: mctx.Tree, action: jax.Array, keep_at_most: int) -> tuple[mctx.Tree, jax.Array]:
    """One (unbatched) tree re-rooted at the root's child ``action``; at most ``keep_at_most``
    nodes are kept (the first in index order, which is closed under parents)."""
    capacity = tree.node_visits.shape[0]
    top = tree.children_index[ROOT, action]
    mask = jnp.where(top == UNVISITED, jnp.zeros(capacity, bool), _subtree_mask(tree.parents, top))
    mask = mask & (jnp.cumsum(mask) <= keep_at_most)
    n_kept = jnp.sum(mask).astype(jnp.int32)
    new_index = jnp.where(mask, jnp.cumsum(mask) - 1, UNVISITED).astype(jnp.int32)
    source = jnp.nonzero(mask, size=capacity, fill_value=0)[0]
    live = jnp.arange(capacity) < n_kept

    def take(x: jax.Array, empty: Any) -> jax.Array:
        kept = x[source]
        fill = jnp.full_like(kept, empty)
        return jnp.where(live.reshape((-1,) + (1,) * (kept.ndim - 1)), kept, fill)

    def remap(index: jax.Array) -> jax.Array:
        return jnp.where(index >= 0, new_index[jnp.maximum(index, 0)], index)

    parents = jnp.where(live, remap(take(tree.parents, NO_PARENT)), NO_PARENT).at[ROOT].set(NO_PARENT)
    from_parent = take(tree.action_from_parent, NO_PARENT).at[ROOT].set(NO_PARENT)
    children = jnp.where(live[:, None], remap(take(tree.children_index, UNVISITED)), UNVISITED)
    rewards, discounts = take(tree.children_rewards, 0), take(tree.children_discounts, 0)
    raw = take(tree.raw_values, 0)
    visits, values = _recount(parents, from_parent, rewards, discounts, raw, live)
    child_of = jnp.maximum(children, 0)
    has_child = children != UNVISITED
    rerooted = tree.replace(
        node_visits=visits,
        raw_values=raw,
        node_values=values,
        parents=parents,
        action_from_parent=from_parent,
        children_index=children,
        children_prior_logits=take(tree.children_prior_logits, 0),
        children_values=jnp.where(has_child, values[child_of], 0),
        children_visits=jnp.where(has_child, visits[child_of], 0),
        children_rewards=rewards,
        children_discounts=discounts,
        embeddings=jax.tree.map(lambda e: take(e, 0), tree.embeddings),
    )
    return rerooted, n_kept


def reroot(warm: WarmTree, action: jax.Array, keep_at_most: int) -> tuple[WarmTree, jax.Array]:
    """Each tree of the batch re-rooted at its root's child ``action: int32[B]``.

    Returns the new trees and the visit count each kept root brings (int32[B]; 0 where the child
    was never expanded, and then ``n_used`` is 0: the caller starts a fresh tree).
    """
    tree, n_kept = jax.vmap(_reroot_one, in_axes=(0, 0, None))(warm.tree, action, keep_at_most)
    reused = jnp.where(n_kept > 0, tree.node_visits[:, ROOT], 0)
    return WarmTree(tree, n_kept), reused


def _revalue_one(tree: mctx.Tree, n_used: jax.Array, raw: jax.Array) -> mctx.Tree:
    capacity = tree.node_visits.shape[0]
    live = jnp.arange(capacity) < n_used
    raw = jnp.where(live, raw, 0.0)
    visits, values = _recount(tree.parents, tree.action_from_parent, tree.children_rewards, tree.children_discounts,
                              raw, live)
    children = tree.children_index
    child_of = jnp.maximum(children, 0)
    has_child = children != UNVISITED
    return tree.replace(node_visits=visits, raw_values=raw, node_values=values,
                        children_values=jnp.where(has_child, values[child_of], 0),
                        children_visits=jnp.where(has_child, visits[child_of], 0))


def revalue(warm: WarmTree, raw_values: jax.Array) -> WarmTree:
    """Kept trees whose nodes are evaluated afresh: ``raw_values: float32[B, capacity]`` replaces
    each node's evaluation (entries past ``n_used`` are ignored), and every visit count and value
    is recounted from the nodes, as :func:`reroot` does. Used when the value network has moved
    since the kept simulations were run: the tree's shape and its rewards are kept, its values are
    those the current network gives along the same paths."""
    tree = jax.vmap(_revalue_one)(warm.tree, warm.n_used, raw_values)
    return WarmTree(tree, warm.n_used)


class Decision(NamedTuple):
    """One search's outcome.

    action: int32[B]; action_weights: float32[B, A] (the root's visit distribution);
    warm: the searched trees; reused: int32[B] (root visits carried over from the last search)
    """

    action: jax.Array
    action_weights: jax.Array
    warm: WarmTree
    reused: jax.Array


def _noisy_logits(key: jax.Array, logits: jax.Array, fraction: float, alpha: float) -> jax.Array:
    """Dirichlet noise mixed into the root prior (AlphaZero; mctx.muzero_policy's ``_add_dirichlet_noise``)."""
    batch, n_actions = logits.shape
    noise = jax.random.dirichlet(key, alpha=jnp.full([n_actions], alpha), shape=(batch,))
    probs = (1 - fraction) * jax.nn.softmax(logits) + fraction * noise
    return jnp.log(jnp.maximum(probs, jnp.finfo(probs.dtype).tiny))


def _continue_or_fresh(kept: WarmTree | None, fresh: WarmTree, logits: jax.Array) -> tuple[WarmTree, jax.Array]:
    """The tree a decision searches: per batch element, ``kept`` where it holds a root
    (``n_used > 0``; its root prior refreshed to ``logits``), else ``fresh``; and the root visits
    reused: int[batch], 0 where the tree is fresh."""
    if kept is None:
        warm = fresh
    else:
        use = kept.n_used > 0
        pick = functools.partial(jax.tree.map, lambda k, f: jnp.where(use.reshape((-1,) + (1,) * (k.ndim - 1)), k, f))
        tree = pick(kept.tree, fresh.tree)
        tree = tree.replace(children_prior_logits=tree.children_prior_logits.at[:, ROOT].set(logits))
        warm = WarmTree(tree, jnp.where(use, kept.n_used, 1))
    return warm, jnp.where(warm.n_used > 1, warm.tree.node_visits[:, ROOT], 0)


def muzero_decision(
    params: Any,
    rng_key: jax.Array,
    root: mctx.RootFnOutput,
    recurrent_fn: mctx.RecurrentFn,
    num_simulations: int,
    *,
    kept: WarmTree | None = None,
    capacity: int | None = None,
    max_depth: int | None = None,
    dirichlet_fraction: float = 0.25,
    dirichlet_alpha: float = 0.3,
    pb_c_init: float = 1.25,
    temperature: float = 1.0,
) -> Decision:
    """MuZero's search policy (mctx.muzero_policy), continuing ``kept`` trees where they hold a root.

    ``root`` is the network's output at the real state; where ``kept.n_used > 0`` the kept root is
    used (its prior refreshed from ``root``), elsewhere a fresh tree is started from ``root``.
    ``action_weights`` (and the action) are the root's visits by this search's
    ``num_simulations`` simulations (those carried in the kept tree are left out).
    """
    capacity = capacity or (kept.tree.node_visits.shape[1] if kept is not None else num_simulations + 1)
    key, noise_key, search_key = jax.random.split(rng_key, 3)
    logits = _noisy_logits(noise_key, root.prior_logits, dirichlet_fraction, dirichlet_alpha)
    warm, reused = _continue_or_fresh(kept, fresh_tree(root.replace(prior_logits=logits), capacity), logits)
    selection = functools.partial(
        action_selection.muzero_action_selection, pb_c_init=pb_c_init, qtransform=mctx.qtransform_by_parent_and_siblings
    )
    selection_fn = action_selection.switching_action_selection_wrapper(
        root_action_selection_fn=functools.partial(selection, depth=0), interior_action_selection_fn=selection
    )
    carried = warm.tree.children_visits[:, ROOT]
    warm = run_simulations(params, search_key, warm, recurrent_fn, selection_fn, num_simulations,
                           max_depth if max_depth is not None else num_simulations)
    visits = (warm.tree.children_visits[:, ROOT] - carried).astype(jnp.float32)  # this search's visits
    weights = visits / jnp.maximum(visits.sum(-1, keepdims=True), 1)
    scaled = jnp.log(jnp.maximum(weights, jnp.finfo(weights.dtype).tiny))
    scaled = (scaled - scaled.max(-1, keepdims=True)) / jnp.maximum(jnp.finfo(jnp.float32).tiny, temperature)
    action = jax.random.categorical(key, scaled)
    return Decision(action, weights, warm, reused)


def stochastic_decision(
    params: Any,
    rng_key: jax.Array,
    root: mctx.RootFnOutput,
    decision_recurrent_fn: base.DecisionRecurrentFn,
    chance_recurrent_fn: base.ChanceRecurrentFn,
    num_simulations: int,
    *,
    kept: WarmTree | None = None,
    capacity: int | None = None,
    max_depth: int | None = None,
    dirichlet_fraction: float = 0.25,
    dirichlet_alpha: float = 0.3,
    pb_c_init: float = 1.25,
    temperature: float = 1.0,
) -> Decision:
    """Stochastic MuZero's search policy (``mctx.stochastic_muzero_policy``, Antonoglou et al.
    2022: decision nodes and chance nodes alternate; a chance node's outcome is chosen by prior over
    visits), with the same random-key discipline, continuing ``kept`` trees where they hold a root.

    The tree is mctx's: ``A + C`` edges per node (actions, then chance outcomes), embeddings wrapped
    in ``mctx.StochasticRecurrentState``; mctx's own wrappers (``_make_stochastic_recurrent_fn``,
    ``_make_stochastic_action_selection_fn``, ``_mask_tree``) are called unchanged. After a real
    step the tree is kept by two re-rootings: at the action taken (a chance node), then at the
    edge ``A + outcome`` of the outcome observed (a decision node). ``action_weights`` are the
    root's visits over the ``A`` actions; ``warm`` holds the whole ``A + C`` tree.
    """
    num_actions = root.prior_logits.shape[-1]
    rng_key, noise_key, search_key = jax.random.split(rng_key, 3)
    noisy = policies._get_logits_from_probs(policies._add_dirichlet_noise(
        noise_key, jax.nn.softmax(root.prior_logits), dirichlet_fraction=dirichlet_fraction,
        dirichlet_alpha=dirichlet_alpha))
    batch = root.value.shape[0]
    dummy_output, dummy_afterstate = decision_recurrent_fn(params, rng_key, jnp.zeros([batch], jnp.int32),
                                                           root.embedding)
    num_chance = dummy_output.chance_logits.shape[-1]
    logits = jnp.concatenate([noisy, jnp.full([batch, num_chance], -jnp.inf)], -1)
    wrapped = root.replace(prior_logits=logits, embedding=base.StochasticRecurrentState(
        state_embedding=root.embedding, afterstate_embedding=dummy_afterstate,
        is_decision_node=jnp.ones([batch], bool)))
    capacity = capacity or (kept.tree.node_visits.shape[1] if kept is not None else num_simulations + 1)
    warm, reused = _continue_or_fresh(kept, fresh_tree(wrapped, capacity), logits)
    recurrent_fn = policies._make_stochastic_recurrent_fn(decision_recurrent_fn, chance_recurrent_fn, num_actions,
                                                          num_chance)
    decision_selection = functools.partial(action_selection.muzero_action_selection, pb_c_base=19652,
                                           pb_c_init=pb_c_init, qtransform=mctx.qtransform_by_parent_and_siblings)
    interior = policies._make_stochastic_action_selection_fn(decision_selection, num_actions)
    selection_fn = action_selection.switching_action_selection_wrapper(
        root_action_selection_fn=functools.partial(interior, depth=0), interior_action_selection_fn=interior)
    warm = run_simulations(params, search_key, warm, recurrent_fn, selection_fn, num_simulations,
                           max_depth if max_depth is not None else num_simulations)
    weights = policies._mask_tree(warm.tree, num_actions, "decision").summary().visit_probs
    action = jax.random.categorical(rng_key, policies._apply_temperature(policies._get_logits_from_probs(weights),
                                                                         temperature))
    return Decision(action, weights, warm, reused)
