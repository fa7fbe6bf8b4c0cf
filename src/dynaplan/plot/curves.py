"""Learning curves with confidence bands, drawn from tidy tables."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path

import pandas as pd

from dynaplan.stats import mean_sem as mean_sem  # re-exported: figures draw their bands from it
from dynaplan.stats import normal_band


def _pyplot():  # type: ignore[no-untyped-def]
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


_NOTE: ContextVar[str] = ContextVar("figure_note", default="")


@contextmanager
def figure_note(note: str) -> Iterator[None]:
    """While active, every figure written by ``save_figure`` carries ``note`` above its panels:
    how the runs drawn differ from the ones a figure function's own title describes (e.g. a
    reproduction run with ``--set agent=mcts`` still draws "Figure 8.2")."""
    token = _NOTE.set(note)
    try:
        yield
    finally:
        _NOTE.reset(token)


def save_figure(fig, path: Path | str, **savefig_kwargs) -> Path:  # type: ignore[no-untyped-def]
    """Lay out, write (creating the directory) and close a figure; returns the path. Inside
    ``figure_note(text)`` the figure carries ``text`` as its top line."""
    note = _NOTE.get()
    if note:
        fig.suptitle(note, fontsize=8, color="dimgray")
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, **savefig_kwargs)
    _pyplot().close(fig)
    return path


def line_with_band(
    series: Mapping[str, pd.DataFrame],
    *,
    x: str,
    path: Path,
    xlabel: str,
    ylabel: str,
    title: str = "",
    ylim: tuple[float | None, float | None] | None = None,
    mean: str = "mean",
    sem: str = "sem",
    vlines: Mapping[str, float] | None = None,
    logx: bool = False,
    logy: bool = False,
) -> Path:
    """One line per series (its ``mean`` column) with a 95% band (``mean +- 1.96 sem``)."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7, 4.5), dpi=120)
    for label, frame in series.items():
        frame = frame.sort_values(x)
        (line,) = ax.plot(frame[x], frame[mean], label=label, lw=1.6)
        if sem in frame:
            lo, hi = normal_band(frame[mean], frame[sem])
            ax.fill_between(frame[x], lo, hi, color=line.get_color(), alpha=0.2, lw=0)
    for label, xv in (vlines or {}).items():
        ax.axvline(xv, color="gray", ls="--", lw=1)
        ax.annotate(label, (xv, 1), xycoords=("data", "axes fraction"), xytext=(3, -12),
                    textcoords="offset points", fontsize=8, color="gray")
    if logx:
        ax.set_xscale("log")
    if logy:
        ax.set_yscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title)
    if ylim is not None:
        ax.set_ylim(*ylim)
    ax.grid(alpha=0.3)
    ax.legend(frameon=False)
    return save_figure(fig, path)
