"""The longest functions and the largest files of ``src/dynaplan``, to watch them over time.

A function's length is its lines from the ``def`` (decorators excluded) to its last line, its
docstring included; a nested function counts inside its parent and on its own. A file's size
is its lines. Reads the sources with ``ast``; runs nothing::

    python benchmarks/code_size.py                 # this checkout
    python benchmarks/code_size.py --root DIR      # another tree's src/dynaplan (an old commit)
    python benchmarks/code_size.py --top 20
"""

from __future__ import annotations

import argparse
import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1] / "src" / "dynaplan"


def functions(root: Path) -> list[tuple[int, str]]:
    """``(lines, "path:line name")`` of every function and method under ``root``."""
    out = []
    for path in sorted(root.rglob("*.py")):
        rel = path.relative_to(root.parent)
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                length = (node.end_lineno or node.lineno) - node.lineno + 1
                out.append((length, f"{rel}:{node.lineno} {node.name}"))
    return sorted(out, key=lambda row: (-row[0], row[1]))


def files(root: Path) -> list[tuple[int, str]]:
    """``(lines, path)`` of every module under ``root``."""
    out = [(len(p.read_text().splitlines()), str(p.relative_to(root.parent))) for p in root.rglob("*.py")]
    return sorted(out, key=lambda row: (-row[0], row[1]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=ROOT, help="the package directory [default: this checkout's]")
    parser.add_argument("--top", type=int, default=10, help="rows per list [default: 10]")
    args = parser.parse_args()
    if not (args.root / "__init__.py").is_file():
        raise SystemExit(f"{args.root}: not a package directory (give the path of src/dynaplan)")
    funcs, mods = functions(args.root), files(args.root)
    print(f"{len(funcs)} functions in {len(mods)} files, {sum(n for n, _ in mods):,} lines")
    print("\nlongest functions (lines, from def to the last line):")
    for n, where in funcs[: args.top]:
        print(f"{n:6d}  {where}")
    print("\nlargest files (lines):")
    for n, where in mods[: args.top]:
        print(f"{n:6d}  {where}")


if __name__ == "__main__":
    main()
