"""Experiment specs: a sweep declared once, in TOML or as a ``Spec`` dataclass.

A spec says *what* to run; the runner (``experiments.runner``) decides where and in which
order. Example (``dynaplan reproduce --show dyna-maze`` prints the shipped one)::

    name = "dyna-maze"                 # the experiment's name (default output: results/NAME)
    title = "Figure 8.2 ..."           # optional, one line
    kind = "episodes"                  # a registered kind (experiments.kinds.register_kind)
    seeds = 30                         # runs per cell
    root_seed = 0                      # run i of every cell uses run_seeds(root_seed, seeds)[i]
    batch = 10                         # optional: seeds per task (default: automatic)
    columns = ["agent", "seed", ...]   # optional: the columns to keep in the result table
    module = "mypkg.kinds"             # optional: a module to import that registers `kind`

    [params]                           # fixed keys, in every cell
    env = "dynaplan/DynaMaze-v0"
    agent = "dyna-q"
    episodes = 50

    [grid]                             # lists, expanded as a cartesian product
    planning_steps = [0, 5, 50]

    [[cells]]                          # optional: explicit variants (each crossed with [grid])
    agent = "q-learning"
    [[cells]]
    agent = "dyna-q"

Cells are ``{**params, **cells[j], **grid_combination}`` for every ``cells`` entry ``j`` (one
empty entry when there is no ``[[cells]]``) and every combination of ``[grid]`` values, in
that order (the last grid key varies fastest). A key may be in only one of
``params``, ``grid`` and ``cells``. Every cell is run for every seed; a run is a pure function
of (cell, seed), so the tables do not depend on the backend, the number of workers or the
order of execution.

Rules for writers of kinds and reproductions (issues 4-7):

* The kind owns the meaning of the cell's keys. Give ``register_kind(name, check=fn)`` a
  ``check(cell)`` that raises ``ValueError`` whose message *starts with the key's name* for a
  bad or unknown key: ``load_spec`` turns it into ``FILE: grid.alpha: alpha must be ...``.
* A reproduction is a shipped spec ``experiments/specs/NAME.toml`` plus ``figure`` and
  ``summary`` functions (see ``experiments.reproductions``). Its *options* are simply the keys
  of its spec: ``dynaplan reproduce NAME --set key=value`` overrides any of them (a list value
  makes a key a grid axis, a scalar makes it fixed), ``--runs`` sets ``seeds``, ``--seed`` sets
  ``root_seed``, ``--episodes`` sets ``episodes``. Only keys the spec already has can be set,
  so a typo is an error, not a silently ignored option.

Validation: ``load_spec`` / ``parse_spec`` raise ``SpecError`` (a ``ValueError``) with one line
``FILE: KEY: problem`` for the first problem found (unknown key, wrong type, unknown kind,
agent or env, impossible value); the CLI prints it and exits with status 2.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import importlib
import itertools
import json
import math
import numbers
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from importlib import resources
from pathlib import Path
from typing import Any

TOP_KEYS = ("name", "title", "kind", "module", "seeds", "root_seed", "batch", "columns", "params", "grid", "cells")
#: Keys ``--set`` may change at the top level (the others are fixed by the spec's identity).
SETTABLE_TOP = ("seeds", "root_seed", "batch", "title")


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

    # -- expansion ------------------------------------------------------------------------
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

    def config_hash(self) -> str:
        """sha256 of what determines the results (not the name, title or batch size)."""
        d = self.to_dict()
        for k in ("name", "title", "batch"):
            d.pop(k, None)
        return hashlib.sha256(canonical_json(d).encode()).hexdigest()

    def to_toml(self) -> str:
        """The spec as TOML text that ``parse_spec`` reads back to an equal spec."""
        return dump_toml(self.to_dict())

    # -- overrides ------------------------------------------------------------------------
    def with_overrides(self, sets: Mapping[str, Any]) -> Spec:
        """A copy with keys changed (``--set key=value``); re-validate with ``validate_spec``.

        Top-level keys: ``seeds``, ``root_seed``, ``batch``, ``title``. Any other key must be
        one the spec already has in ``params`` or ``grid`` (a list value makes it a grid axis, a
        scalar a fixed parameter; a key that holds a list in ``params`` stays there), or in
        every ``[[cells]]`` entry (then a scalar replaces it in each).
        """
        spec = self
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
        spec = replace(spec, params=params, grid=grid, cells=tuple(cells), **top)
        return spec


# -- reading --------------------------------------------------------------------------------
def specs_dir() -> Path:
    """The directory of the specs shipped with the package (``experiments/specs``)."""
    return Path(str(resources.files("dynaplan.experiments") / "specs"))


def shipped_specs() -> dict[str, Path]:
    """Shipped spec name -> file."""
    return {p.stem: p for p in sorted(specs_dir().glob("*.toml"))}


def load_spec(path: Path | str, *, validate: bool = True) -> Spec:
    """Read and validate a spec file (``SpecError``: one line naming the file and key)."""
    path = Path(path)
    try:
        text = path.read_text()
    except FileNotFoundError:
        raise SpecError(f"{path}: no such spec file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SpecError(f"{path}: cannot read: {exc}") from None
    return parse_spec(text, source=str(path), validate=validate)


def parse_spec(text: str, *, source: str = "<spec>", validate: bool = True) -> Spec:
    """A ``Spec`` from TOML text; ``validate`` also checks every cell with its kind."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise SpecError(f"{source}: not valid TOML: {one_line(str(exc))}") from None
    spec = spec_from_dict(data, source=source)
    if validate:
        validate_spec(spec)
    return spec


def spec_from_dict(data: Mapping[str, Any], *, source: str = "<spec>") -> Spec:
    """Check the structure and types of a spec mapping (not the cells' meaning)."""
    where = source

    def err(key: str, msg: str) -> SpecError:
        return SpecError(f"{where}: {key}: {msg}")

    for key in data:
        if key not in TOP_KEYS:
            raise err(key, f"unknown key; allowed: {', '.join(TOP_KEYS)}")
    for key in ("name", "kind", "seeds"):
        if key not in data:
            raise err(key, "missing (required)")
    name = data["name"]
    if not isinstance(name, str) or not name.strip():
        raise err("name", f"must be a non-empty string, got {name!r}")
    if any(c in name for c in "/\\") or name.startswith("."):
        raise err("name", f"must not contain path separators or start with '.', got {name!r}")
    kind = data["kind"]
    if not isinstance(kind, str) or not kind:
        raise err("kind", f"must be a string naming a kind, got {kind!r}")
    for key in ("title", "module"):
        if key in data and not isinstance(data[key], str):
            raise err(key, f"must be a string, got {data[key]!r}")
    seeds = _int(data["seeds"], 1, lambda m: err("seeds", m))
    root_seed = _int(data.get("root_seed", 0), 0, lambda m: err("root_seed", m))
    batch = _int(data.get("batch", 0), 0, lambda m: err("batch", m))
    columns = data.get("columns", [])
    if not isinstance(columns, list) or not all(isinstance(c, str) and c for c in columns):
        raise err("columns", f"must be a list of column names, got {columns!r}")
    if len(set(columns)) != len(columns):
        raise err("columns", "repeats a column")
    params = data.get("params", {})
    if not isinstance(params, dict):
        raise err("params", f"must be a table, got {params!r}")
    for k, v in params.items():
        _check_value(v, lambda m, k=k: err(f"params.{k}", m))
    grid = data.get("grid", {})
    if not isinstance(grid, dict):
        raise err("grid", f"must be a table of lists, got {grid!r}")
    for k, v in grid.items():
        if not isinstance(v, list) or not v:
            raise err(f"grid.{k}", f"must be a non-empty list of values, got {v!r}")
        for x in v:
            _check_value(x, lambda m, k=k: err(f"grid.{k}", m))
        if k in params:
            raise err(f"grid.{k}", "also in [params]; a key may be in only one of params, grid, cells")
    cells = data.get("cells", [])
    if not isinstance(cells, list) or not all(isinstance(c, dict) for c in cells):
        raise err("cells", "must be an array of tables ([[cells]])")
    for i, c in enumerate(cells):
        for k, v in c.items():
            _check_value(v, lambda m, k=k, i=i: err(f"cells[{i}].{k}", m))
            if k in params or k in grid:
                raise err(f"cells[{i}].{k}", "also in [params] or [grid]; a key may be in only one place")
    return Spec(
        name=name, kind=kind, seeds=seeds, root_seed=root_seed, params=dict(params),
        grid={k: list(v) for k, v in grid.items()}, cells=tuple(dict(c) for c in cells), batch=batch,
        columns=tuple(columns), title=str(data.get("title", "")), module=str(data.get("module", "")),
        source=source,
    )


def validate_spec(spec: Spec) -> Spec:
    """Check the spec's kind exists and every cell passes the kind's ``check`` (``SpecError``)."""
    spec_from_dict(spec.to_dict(), source=spec.source)  # types, after any overrides
    from dynaplan.experiments.kinds import KINDS, load_kinds

    if spec.module:
        try:
            importlib.import_module(spec.module)
        except ImportError as exc:
            raise SpecError(f"{spec.source}: module: cannot import {spec.module!r}: {exc}") from None
    if spec.kind not in KINDS:
        load_kinds()
    if spec.kind not in KINDS:
        raise SpecError(f"{spec.source}: kind: unknown kind {spec.kind!r}; choose from: {', '.join(sorted(KINDS))}")
    check = KINDS[spec.kind].check
    if check is None:
        return spec
    seen: set[str] = set()
    for i, cell in enumerate(spec.expand()):
        key = canonical_json(cell)
        if key in seen:
            continue
        seen.add(key)
        try:
            check(cell)
        except (ValueError, TypeError, KeyError) as exc:
            msg = one_line(str(exc).strip("'\""))
            where = _locate(spec, cell, msg, i)
            key = where.rsplit(".", 1)[-1]
            if msg.startswith(f"{key}: "):  # "agent: unknown agent 'x'" -> "params.agent: unknown agent 'x'"
                msg = msg[len(key) + 2 :]
            raise SpecError(f"{spec.source}: {where}: {msg}") from None
    return spec


def _locate(spec: Spec, cell: Mapping[str, Any], msg: str, index: int) -> str:
    """Where in the spec the key a check message names is set (its first word, else any word)."""
    words = [w.strip("'\"`,.()[]") for w in msg.replace(":", " ").replace("=", " ").split()]
    for word in words[:1] + words[1:]:
        if word in spec.params:
            return f"params.{word}"
        if word in spec.grid:
            return f"grid.{word}"
        for j, c in enumerate(spec.cells):
            if word in c:
                return f"cells[{j}].{word}"
    varying = spec.varying_keys()
    if varying:
        return f"cell {index} ({', '.join(f'{k}={cell[k]!r}' for k in varying if k in cell)})"
    return "params"


def _int(value: Any, low: int, err: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise err(f"must be an integer >= {low}, got {value!r}")
    if value < low:
        raise err(f"must be an integer >= {low}, got {value!r}")
    return int(value)


def _check_value(value: Any, err: Any, depth: int = 0) -> None:
    if isinstance(value, _dt.date | _dt.time | _dt.datetime):
        raise err(f"dates and times are not allowed, got {value!r}")
    if not isinstance(value, str | int | float | list | tuple | dict):  # bool is an int
        raise err(f"must be a string, number, boolean, list or table, got {type(value).__name__} {value!r}")
    if isinstance(value, float) and not math.isfinite(value):
        raise err(f"must be finite, got {value!r}")
    if depth > 8:
        raise err("nested too deeply")
    if isinstance(value, list):
        for x in value:
            _check_value(x, err, depth + 1)
    elif isinstance(value, dict):
        for x in value.values():
            _check_value(x, err, depth + 1)


def one_line(text: str) -> str:
    """``text`` with runs of whitespace (newlines included) collapsed to one space."""
    return " ".join(text.split())


def canonical_json(value: Any) -> str:
    """Deterministic JSON (sorted keys, no spaces) for hashing."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), allow_nan=False)


# -- overrides from the command line ---------------------------------------------------------
def parse_set(item: str) -> tuple[str, Any]:
    """``key=value`` from ``--set``: the value as TOML (``0.1``, ``[0, 5]``, ``"x"``), else
    comma-separated values as a list, else a bare string."""
    if "=" not in item:
        raise SpecError(f"--set {item}: expected key=value")
    key, text = (s.strip() for s in item.split("=", 1))
    if not key:
        raise SpecError(f"--set {item}: empty key")
    return key, parse_value(text)


def parse_value(text: str) -> Any:
    """A command-line value: TOML if it parses (``5``, ``0.1``, ``true``, ``[1, 2]``), a list for
    ``1,2,3``, a string otherwise."""
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        pass
    if "," in text:
        return [parse_value(t.strip()) for t in text.split(",") if t.strip()]
    return text


# -- writing ------------------------------------------------------------------------------------
def _toml_key(key: str) -> str:
    if key and all(c.isalnum() or c in "-_" for c in key):
        return key
    return json.dumps(key)


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, numbers.Integral):
        return str(int(value))
    if isinstance(value, numbers.Real):
        return repr(float(value))
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{_toml_key(k)} = {_toml_value(v)}" for k, v in value.items()) + "}"
    raise TypeError(f"cannot write {value!r} as TOML")


def dump_toml(data: Mapping[str, Any]) -> str:
    """TOML for a spec-shaped mapping: scalars and lists at the top, tables, arrays of tables."""
    lines = [f"{_toml_key(k)} = {_toml_value(v)}" for k, v in data.items() if not isinstance(v, Mapping | list)
             or (isinstance(v, list) and not any(isinstance(x, Mapping) for x in v))]
    for k, v in data.items():
        if isinstance(v, Mapping):
            lines += ["", f"[{_toml_key(k)}]"] + [f"{_toml_key(a)} = {_toml_value(b)}" for a, b in v.items()]
        elif isinstance(v, list) and v and any(isinstance(x, Mapping) for x in v):
            for entry in v:
                lines += ["", f"[[{_toml_key(k)}]]"] + [f"{_toml_key(a)} = {_toml_value(b)}" for a, b in entry.items()]
    return "\n".join(lines) + "\n"
