"""The structure and types of a spec mapping (not the cells' meaning): ``spec_from_dict``."""

from __future__ import annotations

import datetime as _dt
import math
from collections.abc import Callable, Mapping
from typing import Any

from dynaplan.experiments.spec.model import INT64_MAX, INT64_MIN, TOP_KEYS, Spec, SpecError

Err = Callable[[str], SpecError]


def spec_from_dict(data: Mapping[str, Any], *, source: str = "<spec>") -> Spec:
    """Check the structure and types of a spec mapping (not the cells' meaning)."""

    def err(key: str) -> Err:
        return lambda msg: SpecError(f"{source}: {key}: {msg}")

    for key in data:
        if key not in TOP_KEYS:
            raise err(key)(f"unknown key; allowed: {', '.join(TOP_KEYS)}")
    for key in ("name", "kind", "seeds"):
        if key not in data:
            raise err(key)("missing (required)")
    name = data["name"]
    if not isinstance(name, str) or not name.strip():
        raise err("name")(f"must be a non-empty string, got {name!r}")
    if any(c in name for c in "/\\") or name.startswith("."):
        raise err("name")(f"must not contain path separators or start with '.', got {name!r}")
    kind = data["kind"]
    if not isinstance(kind, str) or not kind:
        raise err("kind")(f"must be a string naming a kind, got {kind!r}")
    for key in ("title", "module"):
        if key in data and not isinstance(data[key], str):
            raise err(key)(f"must be a string, got {data[key]!r}")
    seeds = check_int(data["seeds"], 1, err("seeds"))
    root_seed = check_int(data.get("root_seed", 0), 0, err("root_seed"))
    batch = check_int(data.get("batch", 0), 0, err("batch"))
    columns = data.get("columns", [])
    if not isinstance(columns, list) or not all(isinstance(c, str) and c for c in columns):
        raise err("columns")(f"must be a list of column names, got {columns!r}")
    if len(set(columns)) != len(columns):
        raise err("columns")("repeats a column")
    params = data.get("params", {})
    if not isinstance(params, dict):
        raise err("params")(f"must be a table, got {params!r}")
    for k, v in params.items():
        check_value(v, err(f"params.{k}"))
    grid = data.get("grid", {})
    if not isinstance(grid, dict):
        raise err("grid")(f"must be a table of lists, got {grid!r}")
    for k, v in grid.items():
        if not isinstance(v, list) or not v:
            raise err(f"grid.{k}")(f"must be a non-empty list of values, got {v!r}")
        for x in v:
            check_value(x, err(f"grid.{k}"))
        if k in params:
            raise err(f"grid.{k}")("also in [params]; a key may be in only one of params, grid, cells")
    cells = data.get("cells", [])
    if not isinstance(cells, list) or not all(isinstance(c, dict) for c in cells):
        raise err("cells")("must be an array of tables ([[cells]])")
    for i, c in enumerate(cells):
        for k, v in c.items():
            check_value(v, err(f"cells[{i}].{k}"))
            if k in params or k in grid:
                raise err(f"cells[{i}].{k}")("also in [params] or [grid]; a key may be in only one place")
    return Spec(
        name=name, kind=kind, seeds=seeds, root_seed=root_seed, params=dict(params),
        grid={k: list(v) for k, v in grid.items()}, cells=tuple(dict(c) for c in cells), batch=batch,
        columns=tuple(columns), title=str(data.get("title", "")), module=str(data.get("module", "")),
        source=source,
    )


def check_int(value: Any, low: int, err: Err) -> int:
    """``value`` as an int in ``[low, 2**63 - 1]`` (``err(message)`` raised otherwise)."""
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= INT64_MAX:
        raise err(f"must be an integer in [{low}, {INT64_MAX}], got {value!r}")
    return int(value)


def check_value(value: Any, err: Err, depth: int = 0) -> None:
    """A value a spec may hold: string, finite number, 64-bit integer, boolean, list or table."""
    if isinstance(value, _dt.date | _dt.time | _dt.datetime):
        raise err(f"dates and times are not allowed, got {value!r}")
    if not isinstance(value, str | int | float | list | tuple | dict):  # bool is an int
        raise err(f"must be a string, number, boolean, list or table, got {type(value).__name__} {value!r}")
    if isinstance(value, float) and not math.isfinite(value):
        raise err(f"must be finite, got {value!r}")
    if isinstance(value, int) and not INT64_MIN <= value <= INT64_MAX:
        raise err(f"integers must fit in 64 bits (at most {INT64_MAX}), got {value!r}")
    if depth > 8:
        raise err("nested too deeply")
    if isinstance(value, list | tuple):
        for x in value:
            check_value(x, err, depth + 1)
    elif isinstance(value, dict):
        for x in value.values():
            check_value(x, err, depth + 1)
