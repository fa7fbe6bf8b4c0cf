"""Validating a spec: structure and types (``parse``), its size, then every cell with its kind.

A kind's ``check(cell)`` raises an error carrying the failing key as ``exc.key`` (the agents'
and the kinds' parameter errors do); the message is then placed where that key is set in the
spec (``params.alpha``, ``grid.alpha``, ``cells[1].agent``). An error without a key is placed
at the cell (``cell 3 (agent='mcts', alpha=0.5)``): the message itself is never searched for
a key.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from dynaplan.experiments.spec.model import Spec, SpecError, canonical_json, one_line
from dynaplan.experiments.spec.structure import spec_from_dict

#: At most this many cells in one spec (each is checked before anything runs).
MAX_CELLS = 100_000


def validate_spec(spec: Spec) -> Spec:
    """Check the spec's types, its cell count, that its kind exists and that every cell passes
    the kind's ``check`` (``SpecError``, one line ``SOURCE: KEY: problem``)."""
    spec_from_dict(spec.to_dict(), source=spec.source)  # types, after any overrides
    n = spec.n_cells()
    if n > MAX_CELLS:
        sizes = " x ".join(f"{len(v)} {k}" for k, v in spec.grid.items())
        raise SpecError(f"{spec.source}: grid: {n:,} cells ({sizes}); at most {MAX_CELLS:,} cells per spec")
    from dynaplan.core.modules import import_modules
    from dynaplan.experiments.kinds import KINDS, check_cell_once, load_kinds

    if spec.module:
        try:
            import_modules(spec.module)
        except ImportError as exc:
            raise SpecError(f"{spec.source}: module: cannot import {spec.module!r}: {one_line(str(exc))}") from None
    if spec.kind not in KINDS:
        load_kinds()
    if spec.kind not in KINDS:
        raise SpecError(f"{spec.source}: kind: unknown kind {spec.kind!r}; choose from: {', '.join(sorted(KINDS))}")
    kind = KINDS[spec.kind]
    if kind.check is None:
        return spec
    seen: set[str] = set()
    for i, cell in enumerate(spec.expand()):
        ident = canonical_json(cell)
        if ident in seen:
            continue
        seen.add(ident)
        try:
            check_cell_once(kind, cell)  # remembered: the runner sends the result to the workers
        except (ValueError, TypeError, KeyError) as exc:
            raise SpecError(f"{spec.source}{located(spec, cell, i, exc)}") from None
    return spec


def error_key(exc: BaseException) -> str | None:
    """The key an error names: its ``key`` attribute (a ``KeyError``: its argument)."""
    key = getattr(exc, "key", None)
    if isinstance(key, str) and key:
        return key
    if isinstance(exc, KeyError) and exc.args and isinstance(exc.args[0], str):
        return exc.args[0]
    return None


def error_text(exc: BaseException) -> str:
    """The message of an error, whole, on one line (a ``KeyError`` without its quotes)."""
    text = getattr(exc, "message", None)
    if not isinstance(text, str):
        text = exc.args[0] if isinstance(exc, KeyError) and exc.args else str(exc)
    return one_line(str(text))


def located(spec: Spec, cell: Mapping[str, Any], index: int, exc: BaseException) -> str:
    """``:LINE: WHERE: message`` (``: WHERE: message`` when the line is not known: a spec not
    read from text, or a key set by an override) for an error raised checking cell ``index``
    of ``spec``; it follows the spec's ``source``."""
    msg = error_text(exc)
    key = error_key(exc)
    where = spec.where(key, index) if key else ""
    if key and where:
        if msg.startswith(f"{key}: "):  # "agent: unknown agent 'x'" -> "params.agent: unknown agent 'x'"
            msg = msg[len(key) + 2 :]
        line = spec.lines.get(where)
        return f"{f':{line}' if line else ''}: {where}: {msg}"
    varying = [k for k in spec.varying_keys() if k in cell]
    if varying:
        return f": cell {index} ({', '.join(f'{k}={cell[k]!r}' for k in varying)}): {msg}"
    return f": params: {msg}"
