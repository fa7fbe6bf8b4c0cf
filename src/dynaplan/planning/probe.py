"""An optional probe of which pairs a planner updated: compiled away when it is None.

A planner's ``observe`` kernel takes its state's ``probe`` field and hands it to
``probe_planned`` / ``probe_record`` / ``probe_direct`` after each update. Those are Numba
overloads resolved at compile time (the pattern of ``planning.dyna_q``'s max-Q counter): when
the field is ``None`` they compile to nothing, so the production kernel is the same machine code
as one without a probe (``benchmarks/probe.py`` measures it); when it is a ``PlanningProbe`` they
write into its fixed-capacity buffer.

``PlanningProbe`` records, since it was last taken (``probe_take``), the index ``s * A + a`` of
each planning update in order, at most ``capacity`` of them, and counts them all; it also counts
the maxima over a row of Q that Dyna-Q's updates took (direct and planning, sample models: one
per update whose transition does not end the episode), the currency prioritized sweeping is
compared in (section 8.4, Example 8.4). The explorer attaches one to draw each planning backup as
it happens; the prioritized-sweeping reproduction attaches one to count Dyna-Q's maxima. Memory is
bounded by the capacity whatever the number of updates.

Planners with a ``probe`` field: Dyna-Q (section 8.2), Q-planning on a learned model (8.1),
Dyna-Q+ in both bonus modes (8.3, Exercise 8.4), prioritized sweeping with a sample model (8.4).
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np
from numba import types
from numba.extending import overload

from dynaplan.models.sample import SampleModel

__all__ = ["PlanningProbe", "new_probe", "probe_direct", "probe_planned", "probe_record", "probe_take", "with_probe"]


class PlanningProbe(NamedTuple):
    """What a probe saw (kernel state).

    Attributes:
      pairs: int64[capacity], the first ``capacity`` planning updates since the last take (``s * A + a``)
      total: int64[1], planning updates made since the last take (may exceed ``capacity``)
      maxima: int64[1], maxima over a row of Q taken by Dyna-Q's updates since the probe was made
    """

    pairs: np.ndarray
    total: np.ndarray
    maxima: np.ndarray


def new_probe(capacity: int) -> PlanningProbe:
    """An empty probe that keeps at most ``capacity`` (>= 0) pairs between takes."""
    if int(capacity) < 0:
        raise ValueError(f"capacity must be >= 0, got {capacity!r}")
    i64 = np.int64
    return PlanningProbe(np.zeros(int(capacity), dtype=i64), np.zeros(1, dtype=i64), np.zeros(1, dtype=i64))


def with_probe(state: Any, capacity: int) -> Any:
    """``state`` with a fresh probe in its ``probe`` field (ValueError if the planner has none)."""
    if "probe" not in getattr(state, "_fields", ()):
        raise ValueError(f"{type(state).__name__} has no probe")
    return state._replace(probe=new_probe(capacity))


def probe_take(probe: PlanningProbe) -> tuple[list[int], int]:
    """The pairs recorded since the last take (at most ``capacity``, in order) and how many updates
    were made; the probe starts over (Python side, between compiled calls)."""
    total = int(probe.total[0])
    pairs = probe.pairs[: min(total, probe.pairs.shape[0])].tolist()
    probe.total[0] = 0
    return pairs, total


def _absent(probe: Any) -> bool:
    return isinstance(probe, (types.NoneType, types.Omitted))


def probe_record(probe: Any, pair: int) -> None:
    """Record one planning update of ``pair`` (nothing when ``probe`` is None)."""
    raise NotImplementedError("compiled code only")


@overload(probe_record)
def _probe_record_impl(probe, pair):  # type: ignore[no-untyped-def]
    if _absent(probe):
        return lambda probe, pair: None

    def record(probe, pair):  # type: ignore[no-untyped-def]
        i = probe.total[0]
        if i < probe.pairs.shape[0]:
            probe.pairs[i] = pair
        probe.total[0] = i + 1

    return record


def probe_planned(probe: Any, model: Any, s: int, a: int, n_actions: int) -> None:
    """Record a Q-planning update of ``(s, a)`` on ``model`` and, for a ``SampleModel``, the maximum
    its target took (none when the recorded transition ends the episode). Nothing when ``probe`` is None."""
    raise NotImplementedError("compiled code only")


@overload(probe_planned)
def _probe_planned_impl(probe, model, s, a, n_actions):  # type: ignore[no-untyped-def]
    if _absent(probe):
        return lambda probe, model, s, a, n_actions: None
    if getattr(model, "instance_class", None) is SampleModel:
        def planned_sample(probe, model, s, a, n_actions):  # type: ignore[no-untyped-def]
            probe_record(probe, s * n_actions + a)
            if not model.terminated[s, a]:
                probe.maxima[0] += 1

        return planned_sample

    def planned(probe, model, s, a, n_actions):  # type: ignore[no-untyped-def]
        probe_record(probe, s * n_actions + a)

    return planned


def probe_direct(probe: Any, terminated: bool) -> None:
    """Count the maximum a direct Q-learning update took (none at a terminal transition). Nothing
    when ``probe`` is None."""
    raise NotImplementedError("compiled code only")


@overload(probe_direct)
def _probe_direct_impl(probe, terminated):  # type: ignore[no-untyped-def]
    if _absent(probe):
        return lambda probe, terminated: None

    def direct(probe, terminated):  # type: ignore[no-untyped-def]
        if not terminated:
            probe.maxima[0] += 1

    return direct
