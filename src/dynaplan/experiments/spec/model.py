"""The ``Spec`` dataclass: what an experiment is, how it expands into cells, and its identity."""

from __future__ import annotations

import hashlib
import itertools
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

TOP_KEYS = ("name", "title", "kind", "module", "seeds", "root_seed", "batch", "columns", "params", "grid", "cells")
#: Keys ``--set`` may change at the top level (the others are fixed by the spec's identity).
SETTABLE_TOP = ("seeds", "root_seed", "batch", "title")
#: The integers a spec may hold: TOML's (64-bit signed), which is also what the kernels take.
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1


class SpecError(ValueError):
    """A bad spec: one line ``FILE: KEY: problem``."""


@dataclass(frozen=True)
class Spec:
    """An experiment: cells (env, agent, parameters) x seeds, run by one kind.

    Attributes:
      name: experiment name (output directory ``results/NAME`` by default)
      kind: registered kind running one cell for a batch of seeds
      seeds: runs per cell (>= 1)
      root_seed: root of ``run_seeds(root_seed, seeds)``
      params: keys fixed in every cell
      grid: key -> list of values, expanded as a cartesian product
      cells: explicit variants, each merged over ``params`` and crossed with ``grid``
      batch: seeds per task (0: automatic)
      columns: columns kept in the result table (empty: all)
      title: one line describing the experiment
      module: a module to import before looking up ``kind`` (user-defined kinds)
      source: where the spec came from, for messages (a file name)
      lines: where each key is set in the source text, for messages (``"params.alpha"`` -> 8,
        1-based; see ``parse.key_lines``); a key changed by ``with_overrides`` is left out
    """

    name: str
    kind: str
    seeds: int
    root_seed: int = 0
    params: Mapping[str, Any] = field(default_factory=dict)
    grid: Mapping[str, Sequence[Any]] = field(default_factory=dict)
    cells: Sequence[Mapping[str, Any]] = ()
    batch: int = 0
    columns: Sequence[str] = ()
    title: str = ""
    module: str = ""
    source: str = "<spec>"
    lines: Mapping[str, int] = field(default_factory=dict, compare=False, repr=False)

    # -- expansion ------------------------------------------------------------------------
    def n_cells(self) -> int:
        """How many cells ``expand`` gives, computed without expanding."""
        return max(1, len(self.cells)) * math.prod(len(v) for v in self.grid.values())

    def expand(self) -> list[dict[str, Any]]:
        """Every cell, in order: ``cells`` entries (outer) x grid combinations (inner)."""
        variants = list(self.cells) or [{}]
        keys = list(self.grid)
        combos = list(itertools.product(*(self.grid[k] for k in keys)))
        return [{**self.params, **v, **dict(zip(keys, combo))} for v in variants for combo in combos]

    def varying_keys(self) -> list[str]:
        """Keys whose value differs between cells (the columns a cell adds to its rows)."""
        keys: list[str] = []
        for v in self.cells:
            keys += [k for k in v if k not in keys]
        keys += [k for k in self.grid if k not in keys]
        return keys

    def where(self, key: str, cell_index: int = 0) -> str:
        """Where ``key`` is set for cell ``cell_index``: ``params.KEY``, ``grid.KEY``,
        ``cells[j].KEY`` (the entry that cell comes from), or ``""`` if the spec does not set it."""
        if key in self.grid:
            return f"grid.{key}"
        if self.cells:
            j = min(cell_index // max(1, self.n_cells() // len(self.cells)), len(self.cells) - 1)
            if key in self.cells[j]:
                return f"cells[{j}].{key}"
            if any(key in c for c in self.cells):
                return f"cells[{next(i for i, c in enumerate(self.cells) if key in c)}].{key}"
        if key in self.params:
            return f"params.{key}"
        return ""

    def run_seeds(self) -> list[int]:
        """The run seeds ``run_seeds(root_seed, seeds)`` shared by every cell."""
        from dynaplan.rng import run_seeds

        return [int(s) for s in run_seeds(self.root_seed, self.seeds)]

    def batch_size(self) -> int:
        """Seeds per task: ``batch`` if given, else ``min(10, seeds)`` (a Dyna maze run takes about
        as long as a Ray task's overhead, so tasks carry several runs)."""
        if self.batch > 0:
            return self.batch
        return max(1, min(10, self.seeds))

    # -- identity -------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """The spec as plain data (what ``to_toml`` writes; ``source`` left out)."""
        d: dict[str, Any] = {"name": self.name}
        if self.title:
            d["title"] = self.title
        d["kind"] = self.kind
        if self.module:
            d["module"] = self.module
        d["seeds"] = self.seeds
        d["root_seed"] = self.root_seed
        if self.batch:
            d["batch"] = self.batch
        if self.columns:
            d["columns"] = list(self.columns)
        d["params"] = dict(self.params)
        if self.grid:
            d["grid"] = {k: list(v) for k, v in self.grid.items()}
        if self.cells:
            d["cells"] = [dict(c) for c in self.cells]
        return d

    def identity(self) -> dict[str, Any]:
        """What determines the results: ``to_dict`` without the name, title and batch size."""
        d = self.to_dict()
        for k in ("name", "title", "batch"):
            d.pop(k, None)
        return d

    def config_hash(self) -> str:
        """sha256 of ``identity()``."""
        return hashlib.sha256(canonical_json(self.identity()).encode()).hexdigest()

    def difference(self, other: Spec) -> str:
        """The first key whose value differs between the two specs' identities, as
        ``KEY: A here, B there`` (``""`` when they describe the same experiment)."""
        a, b = _flatten(self.identity()), _flatten(other.identity())
        for key in [*a, *(k for k in b if k not in a)]:
            if canonical_json(a.get(key)) != canonical_json(b.get(key)):
                return f"{key}: {_shown(a.get(key))} here, {_shown(b.get(key))} there"
        return ""

    def to_toml(self) -> str:
        """The spec as TOML text that ``parse_spec`` reads back to an equal spec."""
        from dynaplan.experiments.spec.writer import dump_toml

        return dump_toml(self.to_dict())

    # -- overrides ------------------------------------------------------------------------
    def with_overrides(self, sets: Mapping[str, Any]) -> Spec:
        """A copy of ``spec`` with keys changed; re-validate it with ``validate_spec``.

        Top-level keys: ``seeds``, ``root_seed``, ``batch``, ``title``. Any other key must be one
        the spec already has in ``params`` or ``grid`` (a list value makes it a grid axis, a scalar
        a fixed parameter; a key that holds a list in ``params`` stays there), or in every
        ``[[cells]]`` entry (then a scalar replaces it in each). A key made a grid axis joins the
        spec's ``columns`` if it lists them.
        """
        params = dict(self.params)
        grid = {k: list(v) for k, v in self.grid.items()}
        cells = [dict(c) for c in self.cells]
        top: dict[str, Any] = {}
        for raw_key, value in sets.items():
            key = raw_key.removeprefix("params.").removeprefix("grid.")
            if key in SETTABLE_TOP:
                top[key] = value
            elif key in params:
                if isinstance(value, list) and not isinstance(params[key], list):
                    del params[key]
                    grid[key] = value
                else:
                    params[key] = value
            elif key in grid:
                if isinstance(value, list):
                    grid[key] = value
                else:
                    del grid[key]
                    params[key] = value
            elif cells and all(key in c for c in cells):
                if isinstance(value, list):
                    raise SpecError(f"{self.source}: {raw_key}: set per [[cells]] entry; give one value, not a list")
                for c in cells:
                    c[key] = value
            else:
                known = sorted({*SETTABLE_TOP, *params, *grid} | ({k for c in cells for k in c} if cells else set()))
                raise SpecError(f"{self.source}: {raw_key}: unknown key; this spec has: {', '.join(known)}")
        columns = list(self.columns)
        if columns:  # a key made a grid axis must be a column, or its cells could not be told apart
            for key in grid:
                if key not in columns:
                    columns.insert(columns.index("seed") if "seed" in columns else len(columns), key)
        changed = {k.removeprefix("params.").removeprefix("grid.") for k in sets}
        lines = {w: n for w, n in self.lines.items() if w.rsplit(".", 1)[-1] not in changed}
        return replace(self, params=params, grid=grid, cells=tuple(cells), columns=tuple(columns), lines=lines,
                       **top)


def _flatten(d: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """``{"params": {"alpha": 1}}`` -> ``{"params.alpha": 1}`` (one level of tables; lists of
    tables by index: ``cells[0].agent``)."""
    out: dict[str, Any] = {}
    for k, v in d.items():
        if isinstance(v, Mapping) and not prefix:
            out.update(_flatten(v, f"{k}."))
        elif isinstance(v, list) and v and all(isinstance(x, Mapping) for x in v) and not prefix:
            for i, x in enumerate(v):
                out.update(_flatten(x, f"{k}[{i}]."))
            out[f"{k}.count"] = len(v)
        else:
            out[f"{prefix}{k}"] = v
    return out


def _shown(value: Any) -> str:
    return "(absent)" if value is None else json.dumps(value)


def one_line(text: str) -> str:
    """``text`` with runs of whitespace (newlines included) collapsed to one space."""
    return " ".join(text.split())


def canonical_json(value: Any) -> str:
    """Deterministic JSON (sorted keys, no spaces) for hashing."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), allow_nan=False)
