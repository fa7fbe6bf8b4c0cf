"""Every shipped reproduction, end to end through the command line at a small size: the table,
the summary and the figure, as ``dynaplan reproduce NAME`` makes them. A listed command cannot
break silently (``reproduce trajectory-sampling`` once ended in ``KeyError: 'uniform'``).

The sizes below only shrink a run (runs, episodes, steps, updates); a reproduction that is
listed but has no entry here fails the test, so a new one cannot skip it.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from dynaplan.cli import main
from dynaplan.experiments.reproductions import load_all

#: Options that make each reproduction small: 2 runs, and fewer episodes, steps or cells.
SMALL: dict[str, list[str]] = {
    "blocking-maze": ["--set", "steps=1100"],
    "boyan-chain": ["--episodes", "3"],
    "decision-time": ["--episodes", "2", "--set", "env=dynaplan/DynaMaze-v0", "--set", "max_episode_steps=200"],
    "dyna-maze": ["--episodes", "3"],
    "dyna-maze-policies": [],
    "expected-vs-sample": ["--set", "runs=20"],
    "mountain-car": ["--episodes", "2", "--set", "max_episode_steps=2000"],
    "mountain-car-planning": ["--episodes", "2", "--set", "max_episode_steps=2000"],
    "policy-planning": ["--episodes", "3", "--set", "steps=200", "--set", "record_every=10"],
    "prioritized-sweeping": ["--set", "states=[47]"],
    "rtdp": [],
    "shortcut-maze": ["--set", "steps=3100"],
    "trajectory-sampling": ["--set", "updates=200", "--set", "points=10"],
    "minigrid": ["--episodes", "2"],
}

#: The neural family's reproductions: each cell compiles its own JAX programs (minutes on 2 cores
#: even at the smallest size), so they are run end to end by their own test files at tiny sizes
#: (tests/test_neural_pets.py, tests/test_deep_dyna.py, tests/test_learned_search.py), not here.
NEURAL = {"deep-dyna", "deep-mpc", "deep-explore", "learned-search"}


def listed() -> list[str]:
    """The names ``dynaplan reproduce --list`` prints (the registry it reads)."""
    return sorted(name for name in load_all() if name not in NEURAL)


def test_every_listed_reproduction_has_a_small_size() -> None:
    assert sorted(SMALL) == listed()


@pytest.mark.parametrize("name", listed())
def test_reproduction_runs_end_to_end(name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / name
    rc = main(["reproduce", name, "--runs", "2", "--workers", "1", *SMALL.get(name, []), "--out", str(out)])
    stdout, stderr = capsys.readouterr()
    assert rc == 0, stderr[-3000:]
    assert "Traceback" not in stderr
    table = pd.read_parquet(out / "results.parquet")
    assert len(table) and table["seed"].nunique() == 2
    figure = (out / "figure.png").read_bytes()
    assert figure[:8] == b"\x89PNG\r\n\x1a\n" and len(figure) > 10_000
    assert f"wrote {out / 'results.csv'}" in stdout
    assert "│" in stdout or "|" in stdout  # the summary table was printed
