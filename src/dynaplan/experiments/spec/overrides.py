"""Overrides: ``--set key=value`` from the command line, applied to a ``Spec``."""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from dynaplan.experiments.spec.model import SETTABLE_TOP, Spec, SpecError


def parse_set(item: str) -> tuple[str, Any]:
    """``key=value`` from ``--set``: the value as TOML (``0.1``, ``[0, 5]``, ``"x"``), else
    comma-separated values as a list, else a bare string."""
    if "=" not in item:
        raise SpecError(f"--set {item}: expected key=value")
    key, text = (s.strip() for s in item.split("=", 1))
    if not key:
        raise SpecError(f"--set {item}: empty key")
    if not text:
        raise SpecError(f"--set {item}: empty value")
    if key in TEXT_KEYS:  # a title is text, commas and all
        return key, _unquoted(text)
    return key, parse_value(text)


#: Keys whose value is always text (never split at commas).
TEXT_KEYS = ("title", "name")


def _unquoted(text: str) -> str:
    value = parse_value(text)
    return value if isinstance(value, str) else text


def parse_value(text: str) -> Any:
    """A command-line value: TOML if it parses (``5``, ``0.1``, ``true``, ``[1, 2]``), a list for
    ``1,2,3`` (outside brackets and quotes), a string otherwise (kept whole)."""
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        pass
    if "," in text and not any(c in text for c in "[]{}\"'"):
        return [parse_value(t.strip()) for t in text.split(",") if t.strip()]
    return text


def apply_overrides(spec: Spec, sets: Mapping[str, Any]) -> Spec:
    """A copy of ``spec`` with keys changed; re-validate it with ``validate_spec``.

    Top-level keys: ``seeds``, ``root_seed``, ``batch``, ``title``. Any other key must be one
    the spec already has in ``params`` or ``grid`` (a list value makes it a grid axis, a scalar
    a fixed parameter; a key that holds a list in ``params`` stays there), or in every
    ``[[cells]]`` entry (then a scalar replaces it in each). A key made a grid axis joins the
    spec's ``columns`` if it lists them.
    """
    params = dict(spec.params)
    grid = {k: list(v) for k, v in spec.grid.items()}
    cells = [dict(c) for c in spec.cells]
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
                raise SpecError(f"{spec.source}: {raw_key}: set per [[cells]] entry; give one value, not a list")
            for c in cells:
                c[key] = value
        else:
            known = sorted({*SETTABLE_TOP, *params, *grid} | ({k for c in cells for k in c} if cells else set()))
            raise SpecError(f"{spec.source}: {raw_key}: unknown key; this spec has: {', '.join(known)}")
    columns = list(spec.columns)
    if columns:  # a key made a grid axis must be a column, or its cells could not be told apart
        for key in grid:
            if key not in columns:
                columns.insert(columns.index("seed") if "seed" in columns else len(columns), key)
    return replace(spec, params=params, grid=grid, cells=tuple(cells), columns=tuple(columns), **top)
