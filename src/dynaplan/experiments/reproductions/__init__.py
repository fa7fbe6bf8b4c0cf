"""The book's results, one module each, listed in ``REPRODUCTIONS``.

A reproduction is a *shipped spec* plus a figure and a summary. To add one (``NAME``):

1. Write the runs as a kind, in ``experiments/reproductions/NAME.py`` (or reuse ``episodes``)::

       @register_kind("my-kind", check=check_my_cell)   # check(cell): ParamError(key, msg)
       def run(cell: Mapping[str, Any], seeds: Sequence[int]) -> pd.DataFrame:
           ...  # pure: randomness only from the seeds; one tidy row per observation,
                # with a ``seed`` column (int64) and the cell keys the rows depend on

2. Declare the sweep in ``experiments/specs/NAME.toml`` (format: ``experiments.spec``): ``name``,
   ``title``, ``kind``, ``seeds``, ``root_seed``, fixed ``[params]``, a ``[grid]`` of lists (a
   cartesian product) and/or ``[[cells]]`` variants, optional ``columns`` to keep. Every key of
   the spec is an option of ``dynaplan reproduce NAME`` (``--set key=value``; ``--runs`` sets
   ``seeds``, ``--seed`` sets ``root_seed``, ``--episodes`` sets ``episodes``).

3. Register it with the figure and summary, both drawn from the combined table only::

       register_reproduction(spec_reproduction("NAME", figure, summary))

   ``figure(table, path) -> Path`` draws the book's figure; ``summary(table) -> DataFrame`` is
   the terminal table. ``spec_reproduction`` takes the title from the spec and makes
   ``rep.run(runs=.., seed=.., progress=.., **sets) -> DataFrame`` (in memory, for tests).

4. Add the module's name to ``SHIPPED`` below (one line: ``"NAME",``). Nothing else lists
   reproductions: ``load_all`` imports the modules named there (the only place that imports
   them), and the kinds registry (``experiments.kinds.get_kind``) finds a shipped kind through
   ``load_all``, or in a worker through the module recorded with the kind.

Imports run one way: a reproduction module imports ``experiments.kinds`` and this package;
neither imports a reproduction module by a static import.

``dynaplan reproduce NAME`` then loads the spec, applies the command-line options, validates it
(one line naming the file and key on error), runs it through the runner (``--workers``,
``--backend local|ray``, the store in ``--out``, resumable) and calls ``figure`` and ``summary``.
``dynaplan reproduce --list`` lists reproductions; ``--show NAME`` prints the spec.
"""

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
      spec: the shipped spec's name (``experiments/specs/SPEC.toml``); empty for a
        reproduction that is only a ``run`` function (then the CLI calls ``run`` directly)
    """

    name: str
    title: str
    run: Callable[..., pd.DataFrame]
    figure: Callable[[pd.DataFrame, Path], Any]
    summary: Callable[[pd.DataFrame], pd.DataFrame]
    spec: str = ""


REPRODUCTIONS: dict[str, Reproduction] = {}


def register_reproduction(rep: Reproduction) -> Reproduction:
    REPRODUCTIONS[rep.name] = rep
    return rep


def spec_overrides(options: dict[str, Any]) -> dict[str, Any]:
    """``reproduce`` options as spec keys: ``runs`` -> ``seeds``, ``seed`` -> ``root_seed``, others as is."""
    rename = {"runs": "seeds", "seed": "root_seed"}
    return {rename.get(k, k): (list(v) if isinstance(v, tuple) else v) for k, v in options.items() if v is not None}


def spec_reproduction(
    spec: str,
    figure: Callable[[pd.DataFrame, Path], Any],
    summary: Callable[[pd.DataFrame], pd.DataFrame],
    *,
    name: str = "",
    title: str = "",
) -> Reproduction:
    """A reproduction run by the shipped spec ``experiments/specs/SPEC.toml``.

    Its ``run(progress=None, workers=1, **options)`` applies ``options`` to the spec
    (``runs`` = ``seeds``, ``seed`` = ``root_seed``, any other key of the spec), validates it
    and returns the table (in memory, no store).
    """
    from dynaplan.experiments.spec import load_spec, shipped_specs

    path = shipped_specs().get(spec)
    if path is None:
        raise ValueError(f"no shipped spec {spec!r} in {', '.join(shipped_specs())}")

    def run(progress: Any = None, workers: int = 1, **options: Any) -> pd.DataFrame:
        from dynaplan.experiments.runner import run_spec
        from dynaplan.experiments.spec import validate_spec

        s = validate_spec(load_spec(path, validate=False).with_overrides(spec_overrides(options)))
        return run_spec(s, None, workers=workers, progress=progress).table

    if not title:
        import tomllib

        title = str(tomllib.loads(path.read_text()).get("title", spec))
    return Reproduction(name or spec, title, run, figure, summary, spec=spec)


SHIPPED: tuple[str, ...] = (
    "boyan_chain",
    "changing_mazes",
    "decision_time",
    "deep_dyna",
    "deep_mpc",
    "dyna_maze",
    "dyna_maze_policies",
    "expected_vs_sample",
    "learned_search",
    "minigrid_rooms",
    "mountain_car",
    "policy_planning",
    "prioritized_sweeping",
    "rtdp",
    "trajectory_sampling",
)
"""The shipped reproduction modules (names in this package), imported by ``load_all``."""


def load_all() -> dict[str, Reproduction]:
    """Import every module in ``SHIPPED`` (each registers its kinds and reproduction)."""
    import importlib

    for module in SHIPPED:
        importlib.import_module(f"{__name__}.{module}")
    return REPRODUCTIONS
