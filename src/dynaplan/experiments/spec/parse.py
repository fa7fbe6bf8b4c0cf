"""Reading specs: TOML text (or a mapping) to a ``Spec``, checking structure and types only."""

from __future__ import annotations

import tomllib
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
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise SpecError(f"{source}: not valid TOML: {one_line(str(exc))}") from None
    spec = spec_from_dict(data, source=source)
    if validate:
        validate_spec(spec)
    return spec
