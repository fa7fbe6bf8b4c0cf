"""Writing specs: a spec-shaped mapping as TOML text that ``parse_spec`` reads back equal."""

from __future__ import annotations

import json
import numbers
from collections.abc import Mapping
from typing import Any


def _toml_key(key: str) -> str:
    if key and all(c.isascii() and (c.isalnum() or c in "-_") for c in key):
        return key
    return _toml_string(key)


def _toml_string(text: str) -> str:
    """A TOML basic string: JSON's escapes, plus DEL (which TOML, unlike JSON, must escape)."""
    return json.dumps(text, ensure_ascii=False).replace("\x7f", "\\u007f")


def toml_value(value: Any) -> str:
    """``value`` as a TOML value (inline tables and arrays for containers)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, numbers.Integral):
        return str(int(value))
    if isinstance(value, numbers.Real):
        return repr(float(value))
    if isinstance(value, str):
        return _toml_string(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{_toml_key(k)} = {toml_value(v)}" for k, v in value.items()) + "}"
    raise TypeError(f"cannot write {value!r} as TOML")


def dump_toml(data: Mapping[str, Any]) -> str:
    """TOML for a spec-shaped mapping: scalars and lists at the top, tables, arrays of tables."""
    lines = [f"{_toml_key(k)} = {toml_value(v)}" for k, v in data.items() if not isinstance(v, Mapping | list)
             or (isinstance(v, list) and not any(isinstance(x, Mapping) for x in v))]
    for k, v in data.items():
        if isinstance(v, Mapping):
            lines += ["", f"[{_toml_key(k)}]"] + [f"{_toml_key(a)} = {toml_value(b)}" for a, b in v.items()]
        elif isinstance(v, list) and v and any(isinstance(x, Mapping) for x in v):
            for entry in v:
                lines += ["", f"[[{_toml_key(k)}]]"] + [f"{_toml_key(a)} = {toml_value(b)}" for a, b in entry.items()]
    return "\n".join(lines) + "\n"
