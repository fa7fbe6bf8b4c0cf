"""Summaries and titles that describe the runs actually made.

* ``spec_changes`` / ``spec_title``: a reproduction run with other settings than its shipped
  spec (``--planning-steps 0,5,50,100``, ``--set agent=mcts``) is titled by what changed, not by
  the book figure the shipped spec reproduces. Sizes (runs, seeds, episodes) do not change what
  a figure shows, so they leave the title alone.
* ``grouped_summary``: a reproduction's own summary, once per combination of the keys the user
  made vary beyond its shipped spec (``--set alpha=0.1,0.2``) and that it does not group by
  itself, so that nothing is averaged over silently; the keys its shipped spec varies are the
  summary's own to compare (trajectory sampling puts ``method`` side by side in its columns).
* ``episodes_summary``: the statistics of an episodes table per group of every varied key: the
  run is the unit (each run's mean over its last K episodes, then the mean over runs with a 95%
  interval), K = at most 10 and never more episodes than ran.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence
from typing import Any

import pandas as pd

from dynaplan.experiments.spec import Spec, canonical_json
from dynaplan.stats import mean_interval, per_run

#: Keys that set how much is run, not what: they leave a reproduction's title as it is.
SIZE_KEYS = frozenset({"seeds", "root_seed", "batch", "episodes", "steps"})


def _values(spec: Spec, key: str) -> list[Any]:
    if key in spec.grid:
        return list(spec.grid[key])
    if key in spec.params:
        return [spec.params[key]]
    seen: list[Any] = []
    for c in spec.cells:
        if key in c and c[key] not in seen:
            seen.append(c[key])
    return seen


def _keys(spec: Spec) -> list[str]:
    keys = list(spec.params) + [k for k in spec.grid if k not in spec.params]
    for c in spec.cells:
        keys += [k for k in c if k not in keys]
    return keys


def spec_changes(spec: Spec, base: Spec) -> list[tuple[str, list[Any]]]:
    """``(key, values in spec)`` for every key whose values differ from ``base``'s (sizes aside)."""
    keys = _keys(base) + [k for k in _keys(spec) if k not in _keys(base)]
    out = []
    for key in keys:
        if key in SIZE_KEYS:
            continue
        now, before = _values(spec, key), _values(base, key)
        if canonical_json(now) != canonical_json(before):
            out.append((key, now))
    if spec.kind != base.kind:
        out.insert(0, ("kind", [spec.kind]))
    return out


def changes_text(changes: Sequence[tuple[str, list[Any]]]) -> str:
    """``planning_steps = 0, 5, 50, 100; agent = mcts``."""
    return "; ".join(f"{k} = {', '.join(map(str, v)) if v else '(unset)'}" for k, v in changes)


def spec_title(spec: Spec, base: Spec, title: str) -> str:
    """``title`` if ``spec`` runs what ``base`` does (up to sizes), else the spec's name and
    what changed: ``dyna-maze, changed: agent = mcts``."""
    changes = spec_changes(spec, base)
    if not changes:
        return spec.title or title
    return f"{spec.name}, changed: {changes_text(changes)}"


def call_summary(summary: Callable[..., pd.DataFrame], table: pd.DataFrame) -> pd.DataFrame:
    """``summary(table)``, passing ``last=`` no more episodes than the table has (for
    summaries that average the last episodes)."""
    if "last" in inspect.signature(summary).parameters and "episode" in table.columns and len(table):
        ran = int(table["episode"].max())
        default = inspect.signature(summary).parameters["last"].default
        if isinstance(default, int) and ran < default:
            return summary(table, last=ran)
    return summary(table)


def grouped_summary(summary: Callable[..., pd.DataFrame], table: pd.DataFrame, varying: Sequence[str],
                    own: Sequence[str] = ()) -> pd.DataFrame:
    """``summary`` of ``table``, once per combination of the ``varying`` keys it does not
    already group by (they come first in the result). ``own``: the keys the reproduction's
    shipped spec varies, which its summary compares itself (never split)."""
    whole = call_summary(summary, table)
    extra = [k for k in varying if k in table.columns and k not in whole.columns and k not in own
             and table[k].nunique() > 1]
    if not extra:
        return whole
    frames = []
    for key, part in table.groupby(extra, sort=True, dropna=False):  # a cell without a key still counts
        key = key if isinstance(key, tuple) else (key,)
        frame = call_summary(summary, part).copy()
        for i, (k, v) in enumerate(zip(extra, key)):
            frame.insert(i, k, [v] * len(frame))
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)


def episodes_summary(table: pd.DataFrame, by: Sequence[str], last: int = 10) -> pd.DataFrame:
    """Per group of ``by``: runs, episodes averaged (the last K of each run, K <= ``last`` and
    <= the episodes run), mean steps over runs with a 95% interval (1.96 standard errors over
    runs) and the mean return. Empty when no episode finished."""
    by = [k for k in by if k in table.columns]
    rows = []
    for key, part in (table.groupby(by, sort=True) if by else [((), table)]):
        key = key if isinstance(key, tuple) else (key,)
        k = int(min(last, part["episode"].max()))
        tail = part[part["episode"] > part.groupby("seed")["episode"].transform("max") - k]
        mean, half, n = mean_interval(per_run(tail, "steps")["steps"])
        row: dict[str, Any] = dict(zip(by, key))
        row["runs"] = n
        row["last episodes"] = k
        row["mean steps"] = mean
        row["95% +-"] = half
        if "return" in tail.columns:
            row["mean return"] = float(tail.groupby("seed")["return"].mean().mean())
        rows.append(row)
    return pd.DataFrame(rows)
