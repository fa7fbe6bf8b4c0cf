"""The notebooks in examples/ run top to bottom with no error, and every code cell shows something."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
NOTEBOOKS = sorted(EXAMPLES.glob("*.ipynb"))


def test_there_is_a_notebook_per_topic():
    assert {p.stem for p in NOTEBOOKS} >= {"dyna_maze", "changing_worlds", "prioritized_sweeping", "decision_time"}


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_executes(path):
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs = []
    # raises CellExecutionError, naming the cell, on the first error
    NotebookClient(nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(EXAMPLES)}}).execute()
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "code":
            assert cell.outputs, f"{path.name}: code cell {i} shows nothing"
            assert not any(o.get("output_type") == "error" for o in cell.outputs)
