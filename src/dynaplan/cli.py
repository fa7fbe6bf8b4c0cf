"""The ``dynaplan`` command.

Bad input (an unknown agent or env, an out-of-range value, a bad maze file) is one line on
standard error and exit status 2, never a traceback.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="Model-based RL planning: reproduce Sutton & Barto chapter 8, run agents on any discrete Gymnasium env.",
)
console = Console()
err_console = Console(stderr=True)


class UsageError(Exception):
    """Bad user input: printed as one line, exit status 2."""


def fail(message: str) -> None:
    raise UsageError(message)


@contextmanager
def progress_bar(total: int, label: str) -> Iterator[Callable[[int], None]]:
    """A progress bar (runs done / total, throughput, ETA); yields ``advance(n)``."""
    columns = [
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("runs"),
        TextColumn("{task.fields[rate]}"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
    ]
    with Progress(*columns, console=err_console, transient=False, disable=not err_console.is_terminal) as bar:
        task = bar.add_task(label, total=total, rate="")

        def advance(n: int) -> None:
            bar.advance(task, n)
            t = bar.tasks[0]
            if t.elapsed:
                bar.update(task, rate=f"{t.completed / t.elapsed:,.0f} runs/s")

        yield advance


def print_table(frame: Any, title: str) -> None:
    table = Table(title=title, title_justify="left")
    for col in frame.columns:
        table.add_column(str(col), justify="right")
    for row in frame.itertuples(index=False):
        table.add_row(*[f"{v:.2f}" if isinstance(v, float) else str(v) for v in row])
    console.print(table)


def parse_int_list(text: str, name: str) -> list[int]:
    try:
        values = [int(x) for x in text.split(",") if x.strip()]
    except ValueError:
        fail(f"{name} must be comma-separated integers, got {text!r}")
    if not values or any(v < 0 for v in values):
        fail(f"{name} must be one or more non-negative integers, got {text!r}")
    return values


def positive(value: int, name: str) -> int:
    if value <= 0:
        fail(f"{name} must be a positive integer, got {value}")
    return value


@app.command()
def reproduce(
    name: Annotated[str, typer.Argument(help="Which result: dyna-maze.")],
    runs: Annotated[int, typer.Option(help="Independent runs (seeds) per curve.")] = 30,
    episodes: Annotated[int, typer.Option(help="Episodes per run.")] = 50,
    planning_steps: Annotated[str, typer.Option(help="Planning steps per real step, comma-separated.")] = "0,5,50",
    seed: Annotated[int, typer.Option(help="Root seed; run i uses SeedSequence(seed, spawn_key=(i,)).")] = 0,
    out: Annotated[Path | None, typer.Option(help="Output directory [default: results/NAME].")] = None,
) -> None:
    """Reproduce a planning result of Sutton & Barto chapter 8: table, figure and summary."""
    from dynaplan.experiments.reproductions import load_all
    from dynaplan.experiments.store import write_table

    reps = load_all()
    if name not in reps:
        fail(f"unknown reproduction {name!r}; choose from: {', '.join(sorted(reps))}")
    rep = reps[name]
    ns = parse_int_list(planning_steps, "--planning-steps")
    positive(runs, "--runs")
    positive(episodes, "--episodes")
    out_dir = out or Path("results") / name
    with progress_bar(runs * len(ns), name) as advance:
        table = rep.run(runs=runs, episodes=episodes, planning_steps=ns, seed=seed, progress=advance)
    csv_path, pq_path = write_table(table, out_dir)
    fig = rep.figure(table, out_dir / "figure.png")
    print_table(rep.summary(table), rep.title)
    console.print(f"wrote {csv_path}, {pq_path}, {fig}")


@app.command()
def run(
    agent: Annotated[str, typer.Option(help="Agent name, e.g. q-learning, dyna-q.")],
    episodes: Annotated[int, typer.Option(help="Episodes per run.")],
    out: Annotated[Path, typer.Option(help="Output directory.")],
    env: Annotated[str | None, typer.Option(help="A registered Gymnasium env id with Discrete spaces.")] = None,
    maze: Annotated[Path | None, typer.Option(help="A maze layout file (# wall, S start, G goal, . free).")] = None,
    runs: Annotated[int, typer.Option(help="Independent runs (seeds).")] = 10,
    planning_steps: Annotated[int | None, typer.Option(help="Planning steps per real step.")] = None,
    alpha: Annotated[float, typer.Option(help="Step size, in (0, 1].")] = 0.1,
    epsilon: Annotated[float, typer.Option(help="Exploration rate, in [0, 1].")] = 0.1,
    gamma: Annotated[float, typer.Option(help="Discount, in [0, 1].")] = 0.95,
    seed: Annotated[int, typer.Option(help="Root seed.")] = 0,
) -> None:
    """Run one agent on one env (or maze file) for many seeds; writes results.csv/.parquet."""
    import gymnasium as gym

    import dynaplan
    from dynaplan.agents import AGENTS
    from dynaplan.envs.layouts import load_layout
    from dynaplan.experiments.runner import run_cells
    from dynaplan.experiments.store import write_table

    if (env is None) == (maze is None):
        fail("give exactly one of --env ENV_ID or --maze FILE")
    if agent not in AGENTS:
        fail(f"unknown agent {agent!r}; choose from: {', '.join(sorted(AGENTS))}")
    positive(runs, "--runs")
    positive(episodes, "--episodes")
    cell: dict[str, Any] = {"agent": agent, "episodes": episodes, "alpha": alpha, "epsilon": epsilon, "gamma": gamma}
    if planning_steps is not None:
        cell["planning_steps"] = planning_steps
    AGENTS[agent].check_params({k: v for k, v in cell.items() if k not in ("agent", "episodes")})
    if maze is not None:
        load_layout(maze)  # validates, naming file, line and column
        cell["maze"] = str(maze)
    else:
        assert env is not None
        if env not in gym.registry:
            fail(f"unknown env {env!r} (not a registered Gymnasium id)")
        probe = gym.make(env)
        dynaplan.agents.discrete_sizes(probe)
        dynaplan.model_of(probe)
        cell["env"] = env
    seeds = list(dynaplan.run_seeds(seed, runs))
    with progress_bar(runs, agent) as advance:
        table = run_cells("episodes", [cell], seeds, progress=advance)
    csv_path, pq_path = write_table(table, out)
    last = table[table.episode > table.episode.max() - 10]
    console.print(
        f"{agent}: mean steps over the last 10 episodes {last.steps.mean():.2f}, mean return {last['return'].mean():.3f}"
    )
    console.print(f"wrote {csv_path}, {pq_path}")


def main(argv: list[str] | None = None) -> int:
    """Entry point: runs the app, turning bad input into one line and exit status 2."""
    from dynaplan.envs.layouts import LayoutError

    try:
        app(args=argv, standalone_mode=False)
    except (UsageError, LayoutError, ValueError) as exc:
        err_console.print(f"[red]error:[/red] {exc}", highlight=False, soft_wrap=True)
        return 2
    except typer.Abort:
        err_console.print("aborted")
        return 130
    except KeyboardInterrupt:
        err_console.print("interrupted")
        return 130
    except Exception as exc:  # click usage errors
        import click

        if isinstance(exc, click.exceptions.ClickException):
            exc.show()
            return 2
        raise
    return 0


if __name__ == "__main__":
    sys.exit(main())
