"""Every benchmark, one after the other, in one command: the numbers in docs/speed.md.

    python benchmarks/run_all.py            # full sizes (about 10 minutes on 2 cores)
    python benchmarks/run_all.py --quick    # smaller sizes, where a script has them

Each script prints its own figures and the ratios measured side by side in the same run
(compiled kernels against plain Python doing the same work). Run it on an idle machine: the
figures are wall-clock times.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent

#: (script, arguments for a full run, arguments for --quick)
SCRIPTS: list[tuple[str, list[str], list[str]]] = [
    ("dyna_q.py", [], ["--quick"]),
    ("changing_mazes.py", [], ["--runs", "10"]),
    ("prioritized_sweeping.py", [], ["--steps", "20000"]),
    ("mcts.py", [], ["--quick"]),
    ("update_order.py", [], ["--tasks", "50"]),
    ("sweep.py", [], ["--seeds", "20", "--no-ray"]),
    ("explorer.py", [], ["--seconds", "2"]),
    ("linear.py", [], ["--quick"]),
    ("policy_planning.py", [], ["--quick"]),
]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="smaller sizes")
    parser.add_argument("--only", nargs="*", default=None, help="script names to run (e.g. dyna_q mcts)")
    args = parser.parse_args()
    failed = []
    for script, full, quick in SCRIPTS:
        if args.only and script.removesuffix(".py") not in args.only:
            continue
        cmd = [sys.executable, str(HERE / script), *(quick if args.quick else full)]
        print(f"\n=== {' '.join(['python', 'benchmarks/' + script, *cmd[2:]])}", flush=True)
        t = time.perf_counter()
        if subprocess.run(cmd).returncode != 0:
            failed.append(script)
        print(f"--- {script}: {time.perf_counter() - t:.1f} s", flush=True)
    if failed:
        print(f"failed: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
