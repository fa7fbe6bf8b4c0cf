"""Every shipped reproduction's table, at its spec's root seed and a small size, as a content hash.

A refactoring that must not change numbers (the kernels, the loops, the runner's seeding) is
checked against hashes recorded before it::

    python benchmarks/tables_identical.py --record benchmarks/tables_identical.json   # before
    python benchmarks/tables_identical.py --check benchmarks/tables_identical.json    # after

``--check`` compares the reproductions the file records (a reproduction shipped after it was
recorded is recorded first, at the commit before the change: ``--record FILE NAME``).

Each reproduction runs through its shipped spec (``Reproduction.run``: same root seed, same
per-run seed streams) with fewer runs and shorter runs (``SIZES``). Wall-clock columns
(``WALL_CLOCK``) are dropped; every other column, its name, dtype and every value, goes into the
hash. Exit status 1 when a table differs, naming it.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from pathlib import Path
from typing import Any

import pandas as pd

#: Columns that measure time, not results.
WALL_CLOCK = ("seconds", "wall_seconds", "time", "elapsed")

#: Options of ``Reproduction.run`` per reproduction: a few runs at the spec's root seed, short runs.
SIZES: dict[str, dict[str, Any]] = {
    "dyna-maze": {"runs": 3, "episodes": 10},
    "dyna-maze-policies": {"runs": 3},
    "blocking-maze": {"runs": 2, "steps": 1500},
    "shortcut-maze": {"runs": 2, "steps": 3500},
    "boyan-chain": {"runs": 3, "episodes": 20},
    "decision-time": {"runs": 1, "episodes": 2, "max_episode_steps": 300},
    "expected-vs-sample": {"runs": 2},
    "mountain-car": {"runs": 2, "episodes": 3},
    "mountain-car-planning": {"runs": 1, "episodes": 2},
    "policy-planning": {"runs": 2, "episodes": 4, "steps": 400},
    "prioritized-sweeping": {"runs": 2, "states": [47, 94]},
    "rtdp": {"runs": 1},
    "trajectory-sampling": {"runs": 2},
    "minigrid": {"runs": 2, "episodes": 3},
}


def table_hash(table: pd.DataFrame) -> str:
    """SHA-256 of a table's columns (names, dtypes) and values, wall-clock columns dropped."""
    table = table.drop(columns=[c for c in table.columns if c in WALL_CLOCK]).reset_index(drop=True)
    digest = hashlib.sha256()
    digest.update(json.dumps([(str(c), str(t)) for c, t in table.dtypes.items()]).encode())
    digest.update(pd.util.hash_pandas_object(table, index=False).to_numpy().tobytes())
    return digest.hexdigest()


def hashes(names: list[str]) -> dict[str, dict[str, Any]]:
    from dynaplan.experiments.reproductions import load_all

    reproductions = load_all()
    names = names or sorted(reproductions)
    missing = sorted(set(names) - set(SIZES))
    if missing:
        raise SystemExit(f"no size for the reproduction(s) {', '.join(missing)}: add them to SIZES")
    out: dict[str, dict[str, Any]] = {}
    for name in names:
        start = time.perf_counter()
        table = reproductions[name].run(**SIZES[name])
        out[name] = {"rows": len(table), "hash": table_hash(table)}
        print(f"{name:24s} {len(table):>8,} rows  {out[name]['hash'][:16]}  ({time.perf_counter() - start:.1f} s)",
              flush=True)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--record", type=Path, help="write the hashes to this JSON file")
    group.add_argument("--check", type=Path, help="compare with the hashes in this JSON file")
    parser.add_argument("names", nargs="*", help=(
        "reproductions (default: with --record every shipped one, with --check every one the file records)"))
    args = parser.parse_args()
    want = json.loads(args.check.read_text()) if args.check else {}
    # --check compares what the file records (a reproduction shipped later is recorded first)
    got = hashes(args.names or sorted(want))
    if args.record:
        args.record.write_text(json.dumps(got, indent=1, sort_keys=True) + "\n")
        return 0
    differ = [n for n in got if want.get(n) != got[n]]
    for name in differ:
        print(f"DIFFERS: {name}: recorded {want.get(name)}, now {got[name]}")
    print("all tables identical" if not differ else f"{len(differ)} table(s) differ")
    return 1 if differ else 0


if __name__ == "__main__":
    sys.exit(main())
