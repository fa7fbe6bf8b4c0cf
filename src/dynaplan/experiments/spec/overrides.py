"""Overrides: ``--set key=value`` from the command line, applied to a ``Spec``."""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from typing import Any

from dynaplan.experiments.spec.model import Spec, SpecError


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
    try:
        return key, parse_value(text)
    except SpecError as exc:
        raise SpecError(f"--set {key}: {exc}") from None


#: Keys whose value is always text (never split at commas).
TEXT_KEYS = ("title", "name")


def _unquoted(text: str) -> str:
    value = parse_value(text)
    return value if isinstance(value, str) else text


def parse_value(text: str) -> Any:
    """A command-line value: TOML if it parses (``5``, ``0.1``, ``true``, ``[1, 2]``), a list for
    ``1,2,3`` (outside brackets and quotes), a string otherwise (kept whole)."""
    from dynaplan.experiments.spec.parse import MAX_DEPTH, nesting_depth

    try:
        value = tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        pass
    except RecursionError:
        raise SpecError(f"{text[:20]}...: values nested more than {MAX_DEPTH} deep") from None
    else:
        if nesting_depth(value) > MAX_DEPTH:
            raise SpecError(f"{text[:20]}...: values nested more than {MAX_DEPTH} deep")
        return value
    if "," in text and not any(c in text for c in "[]{}\"'"):
        parts = [t.strip() for t in text.split(",")]
        if not all(parts):
            raise SpecError(f"{text}: an empty value between commas")
        return [parse_value(t) for t in parts]
    return text


def apply_overrides(spec: Spec, sets: Mapping[str, Any]) -> Spec:
    """A copy of ``spec`` with keys changed (``Spec.with_overrides``); re-validate it with ``validate_spec``."""
    return spec.with_overrides(sets)
