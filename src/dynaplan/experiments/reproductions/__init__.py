"""The book's results, one module each, listed in ``REPRODUCTIONS``."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd


@dataclass(frozen=True)
class Reproduction:
    """A book result reproduced by one command.

    Attributes:
      name: ``dynaplan reproduce NAME``
      title: what it reproduces (book figure or example)
      run: ``run(**options, progress=callback) -> DataFrame`` (the tidy results table)
      figure: ``figure(table, path)`` draws the figure from the table
      summary: ``summary(table) -> DataFrame`` the terminal summary
    """

    name: str
    title: str
    run: Callable[..., pd.DataFrame]
    figure: Callable[[pd.DataFrame, Path], Any]
    summary: Callable[[pd.DataFrame], pd.DataFrame]


REPRODUCTIONS: dict[str, Reproduction] = {}


def register_reproduction(rep: Reproduction) -> Reproduction:
    REPRODUCTIONS[rep.name] = rep
    return rep


def load_all() -> dict[str, Reproduction]:
    """Import every reproduction module (they register themselves)."""
    from dynaplan.experiments.reproductions import dyna_maze  # noqa: F401

    return REPRODUCTIONS
