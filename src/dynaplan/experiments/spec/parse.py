"""Reading specs: TOML text (or a mapping) to a ``Spec``, checking structure and types only."""

from __future__ import annotations

import re
import tomllib
from dataclasses import replace
from importlib import resources
from pathlib import Path

from dynaplan.experiments.spec.model import Spec, SpecError, one_line
from dynaplan.experiments.spec.structure import spec_from_dict
from dynaplan.experiments.spec.validate import validate_spec


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
    except IsADirectoryError:
        raise SpecError(f"{path}: is a directory, not a spec file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SpecError(f"{path}: cannot read: {one_line(str(exc))}") from None
    return parse_spec(text, source=str(path), validate=validate)


def parse_spec(text: str, *, source: str = "<spec>", validate: bool = True) -> Spec:
    """A ``Spec`` from TOML text; ``validate`` also checks every cell with its kind."""
    data = loads_toml(text, source)
    spec = replace(spec_from_dict(data, source=source), lines=key_lines(text))
    if validate:
        validate_spec(spec)
    return spec


#: Deepest nesting of arrays and tables a spec or ``--set`` value may have (a spec needs 3).
MAX_DEPTH = 32


def nesting_depth(value: object) -> int:
    """How deep lists and dicts nest in ``value`` (0 for a scalar), without recursion."""
    deepest, stack = 0, [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            item = list(item.values())
        if isinstance(item, list):
            deepest = max(deepest, depth + 1)
            stack += [(x, depth + 1) for x in item if isinstance(x, (list, dict))]
    return deepest


def loads_toml(text: str, source: str) -> dict:  # type: ignore[type-arg]
    """TOML text as a dict; ``SpecError`` (one line) if it is not TOML or nests more than
    ``MAX_DEPTH`` deep (the parser recurses: 3,000 nested arrays ended in a ``RecursionError``)."""
    too_deep = SpecError(f"{source}: values nested more than {MAX_DEPTH} deep")
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise SpecError(f"{source}: not valid TOML: {one_line(str(exc))}") from None
    except RecursionError:
        raise too_deep from None
    if nesting_depth(data) > MAX_DEPTH:
        raise too_deep
    return data


_ARRAY_TABLE = re.compile(r"^\[\[\s*([A-Za-z0-9_.-]+)\s*\]\]")
_TABLE = re.compile(r"^\[\s*([A-Za-z0-9_.-]+)\s*\]")
_KEY = re.compile(r"""^([A-Za-z0-9_-]+|"[^"]*"|'[^']*')\s*=""")


def key_lines(text: str) -> dict[str, int]:
    """Where each key is set in a spec's TOML text, as ``Spec.where`` names it: ``name`` (top
    level), ``params.alpha``, ``grid.alpha``, ``cells[1].agent`` -> its 1-based line number.

    A line scan (TOML parsers do not report positions): table headers and ``key =`` at the
    start of a line; the lines inside a multi-line value are skipped as they do not start with
    ``key =`` (a multi-line string holding such a line could add a stray entry, used only to
    place a message).
    """
    out: dict[str, int] = {}
    table, n_cells = "", 0
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        match = _ARRAY_TABLE.match(line)
        if match:
            name = match.group(1)
            table = f"{name}[{n_cells}]" if name == "cells" else name
            n_cells += name == "cells"
            continue
        match = _TABLE.match(line)
        if match:
            table = match.group(1)
            continue
        match = _KEY.match(line)
        if match:
            key = match.group(1).strip("\"'")
            out.setdefault(f"{table}.{key}" if table else key, number)
    return out
