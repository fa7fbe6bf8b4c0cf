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

        def plan(total: int, done: int) -> None:
            """Runs found done in a result store: count only the runs left (true rate and ETA)."""
            bar.update(task, total=total - done, description=f"{label} ({done} done before)" if done else label)

        advance.plan = plan  # type: ignore[attr-defined]
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


# -- experiments: specs, runner, store (issue 3) ------------------------------------------------
RunnerWorkers = Annotated[
    int | None,
    typer.Option("--workers", help="Local worker processes \\[default: the cores; small jobs run in-process]."),
]
RunnerBackend = Annotated[
    str, typer.Option("--backend", help="local (process pool), ray, or slurm (jobs through submitit; see --slurm).")
]
SlurmOptions = Annotated[
    list[str] | None,
    typer.Option("--slurm", metavar="KEY=VALUE",
                 help="With --backend slurm, a job option KEY=VALUE as submitit takes it: partition, "
                 "timeout_min, mem_gb, cpus_per_task, account, qos, additional_parameters...; also max_jobs "
                 "(default 64), folder (logs), cluster=local (local processes). Repeatable."),
]
RunnerAddress = Annotated[
    str | None, typer.Option("--address", help="Ray cluster address (with --backend ray), e.g. auto.")
]
RunnerRetries = Annotated[int, typer.Option("--max-retries", help="Re-runs of a task whose worker process died.")]
RunnerResume = Annotated[
    bool, typer.Option("--resume", help="Continue the experiment stored in --out: run only what is missing.")
]
SetOption = Annotated[
    list[str] | None,
    typer.Option("--set", help="Override a key of the spec: key=value (TOML; a list makes a grid axis). Repeatable."),
]


def _resume_spec(out_dir: Path, given: Any) -> Any:
    """The spec stored in ``out_dir`` (for ``--resume``); ``given`` must match it if not None."""
    from dynaplan.experiments.spec import parse_spec
    from dynaplan.experiments.store import SPEC_FILE, Store

    text = Store(out_dir).stored_spec()
    if text is None:
        fail(f"{out_dir}: nothing to resume (no {SPEC_FILE}); run without --resume first")
    stored = parse_spec(str(text), source=str(out_dir / SPEC_FILE))
    if given is not None and given.config_hash() != stored.config_hash():
        fail(f"{out_dir} holds a different experiment than the spec given; drop --resume to run it there "
             "(runs the two share are kept) or choose another --out")
    return stored


def parse_slurm(items: list[str] | None) -> dict[str, Any]:
    """``--slurm KEY=VALUE`` options as a dict (integers, numbers and true/false converted)."""
    options: dict[str, Any] = {}
    for item in items or []:
        key, sep, text = item.partition("=")
        if not sep or not key.strip():
            fail(f"--slurm takes KEY=VALUE, got {item!r}")
        value: Any = text.strip()
        for convert in (int, float):
            try:
                value = convert(value)
                break
            except ValueError:
                pass
        if value in ("true", "false"):
            value = value == "true"
        options[key.strip()] = value
    return options


def _execute(spec: Any, out_dir: Path, workers: int | None, backend: str, address: str | None, max_retries: int,
             extra: dict[str, Any] | None = None, slurm: list[str] | None = None) -> Any:
    """Run a validated spec into the store ``out_dir`` with a progress bar; returns the ``SpecRun``."""
    from dynaplan.experiments.backends import check_backend
    from dynaplan.experiments.runner import run_spec, total_runs

    if workers is not None:
        positive(workers, "--workers")
    if max_retries < 0:
        fail(f"--max-retries must be >= 0, got {max_retries}")
    options = parse_slurm(slurm)
    check_backend(backend, workers, address, max_retries, options)
    try:
        with progress_bar(total_runs(spec), spec.name) as advance:
            result = run_spec(spec, out_dir, workers=workers, backend=backend, address=address,
                              max_retries=max_retries, progress=advance, extra_manifest=extra,
                              on_plan=getattr(advance, "plan", None), backend_options=options)
    except KeyboardInterrupt:
        err_console.print(f"finished runs are saved in {out_dir}; continue with --resume --out {out_dir}",
                          soft_wrap=True)
        raise
    if result.runs_reused:
        console.print(f"{result.runs_reused} of {result.runs_total} runs were already done in {out_dir}",
                      soft_wrap=True)
    return result


def _size_overrides(runs: int | None, episodes: int | None, seed: int | None, sets: list[str] | None) -> dict[str, Any]:
    from dynaplan.experiments.spec import parse_set

    overrides: dict[str, Any] = {}
    if runs is not None:
        overrides["seeds"] = positive(runs, "--runs")
    if episodes is not None:
        overrides["episodes"] = positive(episodes, "--episodes")
    if seed is not None:
        if seed < 0:
            fail(f"--seed must be a non-negative integer, got {seed}")
        overrides["root_seed"] = seed
    for item in sets or []:
        key, value = parse_set(item)
        overrides[key] = value
    return overrides


@app.command()
def reproduce(
    name: Annotated[str | None, typer.Argument(help="Which result (see --list), e.g. dyna-maze.")] = None,
    list_: Annotated[bool, typer.Option("--list", help="List the reproductions and exit.")] = False,
    show: Annotated[str | None, typer.Option("--show", help="Print the spec of a reproduction and exit.")] = None,
    runs: Annotated[int | None, typer.Option(help="Runs (seeds) per curve \\[default: the spec's].")] = None,
    episodes: Annotated[int | None, typer.Option(help="Episodes per run \\[default: the spec's].")] = None,
    planning_steps: Annotated[
        str | None, typer.Option(help="Planning steps per real step, comma-separated (dyna-maze).")
    ] = None,
    seed: Annotated[int | None, typer.Option(help="Root seed; run i uses SeedSequence(seed, spawn_key=(i,)).")] = None,
    set_: SetOption = None,
    out: Annotated[Path | None, typer.Option(help="Output directory \\[default: results/NAME].")] = None,
    workers: RunnerWorkers = None,
    backend: RunnerBackend = "local",
    address: RunnerAddress = None,
    max_retries: RunnerRetries = 3,
    resume: RunnerResume = False,
    slurm: SlurmOptions = None,
) -> None:
    """Reproduce a result of Sutton & Barto chapter 8: runs its shipped spec, then table, figure, summary.

    Blocking/shortcut maze: alpha, n, kappa are our choice (1.0, 10, 5e-4); see --show NAME, change with --set.
    """
    from dynaplan.experiments.reproductions import load_all
    from dynaplan.experiments.spec import load_spec, shipped_specs, validate_spec

    reps = load_all()
    if list_:
        listing = Table(title="Reproductions (--show NAME prints the spec)", title_justify="left")
        listing.add_column("name")
        listing.add_column("title")
        for rep_name in sorted(reps):
            listing.add_row(rep_name, reps[rep_name].title)
        console.print(listing)
        return
    if show is not None:
        if show not in reps:
            fail(f"unknown reproduction {show!r}; choose from: {', '.join(sorted(reps))}")
        spec_name = reps[show].spec
        if not spec_name:
            fail(f"reproduction {show!r} has no shipped spec")
        sys.stdout.write(shipped_specs()[spec_name].read_text())
        return
    if name is None:
        fail("give a reproduction NAME (see dynaplan reproduce --list)")
    assert name is not None
    if name not in reps:
        fail(f"unknown reproduction {name!r}; choose from: {', '.join(sorted(reps))}")
    rep = reps[name]
    overrides = _size_overrides(runs, episodes, seed, set_)
    if planning_steps is not None:
        overrides["planning_steps"] = parse_int_list(planning_steps, "--planning-steps")
    out_dir = out or Path("results") / name
    if not rep.spec:  # a reproduction that is only a function
        from dynaplan.experiments.store import write_table

        back = {"seeds": "runs", "root_seed": "seed"}  # the run function's own names
        options = {back.get(k, k): v for k, v in overrides.items()}
        with progress_bar(int(options.get("runs", 30)), name) as advance:
            table = rep.run(progress=advance, **options)
        paths = write_table(table, out_dir)
    else:
        if resume:
            if overrides:
                fail("--resume continues the experiment stored in --out; give no --runs/--episodes/--seed/--set")
            from dynaplan.experiments.store import read_manifest

            stored = read_manifest(out_dir) or {}
            if stored.get("reproduction", name) != name:
                fail(f"{out_dir} holds the reproduction {stored.get('reproduction')!r}, not {name!r}")
            spec = _resume_spec(out_dir, None)
        else:
            base = load_spec(shipped_specs()[rep.spec], validate=False)
            spec = validate_spec(base.with_overrides(overrides))
        result = _execute(spec, out_dir, workers, backend, address, max_retries, {"reproduction": name}, slurm)
        table, paths = result.table, result.paths
    fig = rep.figure(table, out_dir / "figure.png")
    print_table(rep.summary(table), rep.title)
    console.print(f"wrote {', '.join(map(str, paths))}, {fig}", soft_wrap=True)


@app.command()
def run(
    spec_file: Annotated[Path | None, typer.Argument(metavar="[SPEC]", help="An experiment spec (TOML).")] = None,
    out: Annotated[Path | None, typer.Option(help="Output directory \\[default: results/NAME].")] = None,
    runs: Annotated[int | None, typer.Option(help="Independent runs (seeds) \\[spec: its seeds; else 10].")] = None,
    episodes: Annotated[int | None, typer.Option(help="Episodes per run.")] = None,
    seed: Annotated[int | None, typer.Option(help="Root seed.")] = None,
    set_: SetOption = None,
    workers: RunnerWorkers = None,
    backend: RunnerBackend = "local",
    address: RunnerAddress = None,
    max_retries: RunnerRetries = 3,
    resume: RunnerResume = False,
    slurm: SlurmOptions = None,
    module: Annotated[
        str | None,
        typer.Option(metavar="MODULE",
                     help="Without SPEC: a module to import that registers your own agents (found from the "
                     "current directory too); workers import it as well."),
    ] = None,
    agent: Annotated[str | None, typer.Option(help="Without SPEC: agent name, e.g. q-learning, dyna-q.")] = None,
    env: Annotated[str | None, typer.Option(help="Without SPEC: a Gymnasium env id (Discrete spaces).")] = None,
    maze: Annotated[Path | None, typer.Option(help="Without SPEC: a maze layout file (# wall, S, G, . free).")] = None,
    planning_steps: Annotated[int | None, typer.Option(help="Without SPEC: planning steps per real step.")] = None,
    alpha: Annotated[float | None, typer.Option(help="Without SPEC: step size, in (0, 1] [agent default 0.1].")] = None,
    epsilon: Annotated[
        float | None, typer.Option(help="Without SPEC: exploration rate, in [0, 1] [agent's default: 0.1].")
    ] = None,
    gamma: Annotated[float | None, typer.Option(help="Without SPEC: discount, in [0, 1] [agent default 0.95].")] = None,
) -> None:
    """Run an experiment spec (or one agent on one env for many seeds) into a resumable result store.

    `dynaplan run SPEC.toml [--out DIR]`; `dynaplan run --resume --out DIR` continues an interrupted
    one; `dynaplan run --agent dyna-q --env ID --episodes 50 --out DIR` runs a one-cell sweep, where
    `--set key=value` also sets the agent's own parameters (`--set kappa=1e-3`, `--set theta=1e-6`;
    a list such as `--set 'alpha=[0.1, 0.5]'` makes a sweep).
    """
    from dynaplan.experiments.spec import SETTABLE_TOP, Spec, load_spec, validate_spec

    legacy = agent is not None or env is not None or maze is not None
    if spec_file is not None and legacy:
        fail("give either SPEC or --agent/--env/--maze, not both")
    if module is not None:
        if not legacy:
            fail("--module is for the form without SPEC (a spec names its module with module = \"...\")")
        import os

        if os.getcwd() not in sys.path and "" not in sys.path:  # as `python -m` would find it
            sys.path.insert(0, os.getcwd())
    if spec_file is not None:
        overrides = _size_overrides(runs, episodes, seed, set_)
        spec = validate_spec(load_spec(spec_file, validate=False).with_overrides(overrides))
        out_dir = out or Path("results") / spec.name
        if resume:
            _resume_spec(out_dir, spec)
    elif legacy:
        if agent is None or episodes is None:
            fail("without SPEC, give --agent and --episodes (and --env or --maze)")
        if (env is None) == (maze is None):
            fail("give exactly one of --env ENV_ID or --maze FILE")
        if out is None:
            fail("without SPEC, give --out DIR")
        params: dict[str, Any] = {"agent": agent, "episodes": episodes}
        given = {"alpha": alpha, "epsilon": epsilon, "gamma": gamma}
        params.update({k: v for k, v in given.items() if v is not None})  # else the agent's own defaults
        if planning_steps is not None:
            params["planning_steps"] = planning_steps
        if maze is not None:
            from dynaplan.envs.layouts import load_layout

            load_layout(maze)  # validates, naming file, line and column
            params["maze"] = str(maze)
        else:
            params["env"] = env
        sizes = _size_overrides(runs, None, seed, set_)
        # Without a spec, --set also passes the agent's own parameters (kappa, theta, simulations...):
        # a scalar is fixed, a list makes a grid axis.
        grid: dict[str, Any] = {}
        for key in [k for k in sizes if k not in SETTABLE_TOP]:
            value = sizes.pop(key)
            if isinstance(value, list):
                grid[key] = value
            else:
                params[key] = value
        base = Spec(name=str(agent), kind="episodes", seeds=10, params=params, grid=grid, source="command line",
                    module=module or "")
        spec = validate_spec(base.with_overrides(sizes))
        if env is not None:  # the env must also have an exact model to step in compiled code
            import gymnasium as gym

            import dynaplan

            probe = gym.make(env)
            dynaplan.agents.discrete_sizes(probe)
            dynaplan.model_of(probe)
        assert out is not None
        out_dir = out
        if resume:
            _resume_spec(out_dir, spec)
    else:
        if not resume or out is None:
            fail("give a SPEC file, or --resume --out DIR, or --agent/--episodes/--env (see --help)")
        assert out is not None
        out_dir = out
        spec = _resume_spec(out_dir, None)
    result = _execute(spec, out_dir, workers, backend, address, max_retries, slurm=slurm)
    table = result.table
    if {"episode", "steps"} <= set(table.columns):
        last = table[table.episode > table.episode.max() - 10]
        line = f"{spec.name}: mean steps over the last 10 episodes {last.steps.mean():.2f}"
        if "return" in table.columns:
            line += f", mean return {last['return'].mean():.3f}"
        console.print(line)
    console.print(f"{result.runs_done} runs in {result.elapsed:.1f} s; wrote {', '.join(map(str, result.paths))}",
                  soft_wrap=True)


def _experiment(directory: Path) -> tuple[Any, Any, list[str]]:
    """(table, stored spec or None, the keys that vary between cells) of an experiment directory."""
    from dynaplan.experiments.spec import SpecError, parse_spec
    from dynaplan.experiments.store import SPEC_FILE, Store, read_results

    if not directory.is_dir():
        fail(f"{directory}: no such experiment directory")
    table = read_results(directory)
    text = Store(directory).stored_spec()
    spec = None
    if text is not None:
        try:
            spec = parse_spec(text, source=str(directory / SPEC_FILE), validate=False)
        except SpecError:
            spec = None
    varying = [k for k in (spec.varying_keys() if spec else []) if k in table.columns]
    return table, spec, varying


def _columns(text: str | None, table: Any, option: str) -> list[str]:
    names = [c.strip() for c in (text or "").split(",") if c.strip()]
    for c in names:
        if c not in table.columns:
            fail(f"{option}: no column {c!r}; columns: {', '.join(map(str, table.columns))}")
    return names


@app.command()
def plot(
    directory: Annotated[Path, typer.Argument(metavar="DIR", help="An experiment directory (run/reproduce --out).")],
    x: Annotated[str | None, typer.Option(help="Column on the x axis \\[default: episode, else step].")] = None,
    y: Annotated[str | None, typer.Option(help="Column to average \\[default: steps, else return].")] = None,
    group: Annotated[
        str | None, typer.Option(help="Columns, one curve each, comma-separated \\[default: what the spec varies].")
    ] = None,
    out: Annotated[Path | None, typer.Option(help="Figure file \\[default: DIR/plot-Y.png].")] = None,
    logy: Annotated[bool, typer.Option(help="Log scale on y.")] = False,
) -> None:
    """Learning curves of any experiment: mean over runs with 95% bands, one curve per group."""
    import numpy as np
    from pandas.api.types import is_numeric_dtype

    from dynaplan.plot.curves import line_with_band

    table, spec, varying = _experiment(directory)
    cols = list(map(str, table.columns))
    xcol = _columns(x, table, "--x")[0] if x else next((c for c in ("episode", "step", "t") if c in cols), None)
    if xcol is None:
        fail(f"--x: give the x column; columns: {', '.join(cols)}")
    numeric = [c for c in cols if c not in ("seed", xcol) and is_numeric_dtype(table[c])]
    ycol = _columns(y, table, "--y")[0] if y else next((c for c in ("steps", "return") if c in cols), None)
    ycol = ycol or next((c for c in numeric if c not in varying), None)
    if ycol is None:
        fail(f"--y: give the column to plot; columns: {', '.join(cols)}")
    if not is_numeric_dtype(table[ycol]):
        fail(f"--y: column {ycol!r} is not numeric")
    groups = _columns(group, table, "--group") if group is not None else [c for c in varying if c not in (xcol, ycol)]
    series: dict[str, Any] = {}
    parts = table.groupby(groups, sort=True) if groups else [((), table)]
    for key, part in parts:
        key = key if isinstance(key, tuple) else (key,)
        label = ", ".join(f"{g}={v}" for g, v in zip(groups, key)) or str(ycol)
        g = part.groupby(xcol)[ycol].agg(["mean", "std", "count"]).reset_index()
        g["sem"] = g["std"] / np.sqrt(g["count"])
        series[label] = g
    title = spec.title or spec.name if spec is not None else str(directory)
    path = line_with_band(series, x=str(xcol), path=out or directory / f"plot-{ycol}.png", xlabel=str(xcol),
                          ylabel=f"{ycol} (mean, 95% band)", title=title, logy=logy)
    console.print(f"wrote {path}", soft_wrap=True)


@app.command()
def summarize(
    directory: Annotated[Path, typer.Argument(metavar="DIR", help="An experiment directory (run/reproduce --out).")],
    y: Annotated[str | None, typer.Option(help="Column to summarize \\[default: steps, else return].")] = None,
    by: Annotated[str | None, typer.Option(help="Group columns, comma-separated \\[default: what varies].")] = None,
    last: Annotated[int, typer.Option(help="Also average the last K values of the x column (episode).")] = 10,
) -> None:
    """A table of an experiment: runs, mean with 95% interval over runs, and the last-K mean per group."""
    import json

    import numpy as np
    import pandas as pd
    from pandas.api.types import is_numeric_dtype

    from dynaplan.experiments.store import MANIFEST

    positive(last, "--last")
    table, spec, varying = _experiment(directory)
    cols = list(map(str, table.columns))
    ycol = _columns(y, table, "--y")[0] if y else next((c for c in ("steps", "return") if c in cols), None)
    if ycol is None:
        fail(f"--y: give the column to summarize; columns: {', '.join(cols)}")
    if not is_numeric_dtype(table[ycol]):
        fail(f"--y: column {ycol!r} is not numeric")
    xcol = next((c for c in ("episode", "step", "t") if c in cols), None)
    groups = _columns(by, table, "--by") if by is not None else [c for c in varying if c != ycol]
    rows = []
    parts = table.groupby(groups, sort=True) if groups else [((), table)]
    for key, part in parts:
        key = key if isinstance(key, tuple) else (key,)
        per_run = part.groupby("seed")[ycol].mean() if "seed" in part else part[ycol]
        row: dict[str, Any] = dict(zip(groups, key))
        n = len(per_run)
        row["runs"] = n
        row[f"mean {ycol}"] = float(per_run.mean())
        row["95% +-"] = float(1.96 * per_run.std(ddof=1) / np.sqrt(n)) if n > 1 else float("nan")
        if xcol is not None:
            xs = np.sort(part[xcol].unique())[-last:]
            row[f"last {len(xs)} {xcol}s"] = float(part[part[xcol].isin(xs)][ycol].mean())
        rows.append(row)
    manifest: dict[str, Any] = {}
    try:
        manifest = json.loads((directory / MANIFEST).read_text())
        status = f"{manifest.get('status')}, {manifest.get('runs_done')}/{manifest.get('runs_total')} runs"
    except (OSError, ValueError):
        status = "no manifest"
    name = spec.name if spec is not None else str(directory)
    print_table(pd.DataFrame(rows), f"{name} ({status}): {ycol} per run")
    rep_name = manifest.get("reproduction") if isinstance(manifest, dict) else None
    if rep_name and y is None and by is None:  # a reproduction's own summary too
        from dynaplan.experiments.reproductions import load_all

        rep = load_all().get(str(rep_name))
        if rep is not None:
            print_table(rep.summary(table), rep.title)


@app.command()
def show(
    env: Annotated[str, typer.Option(help="A dynaplan maze env id, e.g. dynaplan/ShortcutMaze-v0.")] = (
        "dynaplan/DynaMaze-v0"
    ),
    maze: Annotated[Path | None, typer.Option(help="A maze layout file instead of --env.")] = None,
    agent: Annotated[str, typer.Option(help="Agent name, e.g. dyna-q, dyna-q-plus.")] = "dyna-q-plus",
    steps: Annotated[int, typer.Option(help="Real time steps to play.")] = 3000,
    out: Annotated[
        Path | None,
        typer.Option(help="NAME.gif: animation; NAME.png: final policy and values (+ NAME-model.png: what the "
                     "model knows); none: the policy as text."),
    ] = None,
    frames: Annotated[int, typer.Option(help="At most about this many GIF frames (steps are subsampled).")] = 150,
    fps: Annotated[float, typer.Option(help="GIF frames per second.")] = 10.0,
    planning_steps: Annotated[int, typer.Option(help="Planning steps per real step (n).")] = 10,
    alpha: Annotated[float, typer.Option(help="Step size, in (0, 1].")] = 1.0,
    epsilon: Annotated[float, typer.Option(help="Exploration rate, in [0, 1].")] = 0.1,
    gamma: Annotated[float, typer.Option(help="Discount, in [0, 1].")] = 0.95,
    kappa: Annotated[float | None, typer.Option(help="Dyna-Q+ bonus weight [default 5e-4].")] = None,
    bonus: Annotated[str | None, typer.Option(help="Dyna-Q+: planning (section 8.3) or action (Exercise 8.4).")] = None,
    seed: Annotated[int, typer.Option(help="Seed of the run (agent and env streams).")] = 0,
) -> None:
    """Watch an agent learn in a maze: animated GIF, policy/value picture, or terminal text.

    Defaults are those of the blocking/shortcut-maze reproductions (alpha 1.0, n 10, kappa 5e-4: our choice).

    Example: dynaplan show --env dynaplan/ShortcutMaze-v0 --agent dyna-q-plus --steps 6000 --out run.gif
    """
    import gymnasium as gym

    import dynaplan
    from dynaplan.agents import AGENTS
    from dynaplan.plot.animation import frame_every, maze_layout, record_run

    if agent not in AGENTS:
        fail(f"unknown agent {agent!r}; choose from: {', '.join(sorted(AGENTS))}")
    positive(steps, "--steps")
    positive(frames, "--frames")
    if not fps > 0:
        fail(f"--fps must be positive, got {fps}")
    if out is not None and out.suffix.lower() not in (".gif", ".png"):
        fail(f"--out must end in .gif or .png, got {str(out)!r}")
    if maze is not None:
        environment = gym.make("dynaplan/GridMaze-v0", layout=maze)
    else:
        if env not in gym.registry:
            fail(f"unknown env {env!r} (not a registered Gymnasium id)")
        environment = gym.make(env)
    maze_layout(environment)  # ValueError unless it is a maze
    params: dict[str, Any] = {"alpha": alpha, "epsilon": epsilon, "gamma": gamma}
    if agent != "q-learning":
        params["planning_steps"] = planning_steps
    if agent == "dyna-q-plus":
        params["kappa"] = 5e-4 if kappa is None else kappa
        if bonus is not None:
            params["bonus"] = bonus
    else:
        if kappa is not None or bonus is not None:
            fail(f"--kappa and --bonus are options of dyna-q-plus, not of {agent}")
    learner = AGENTS[agent](environment, seed=seed, **params)
    every = frame_every(steps, frames) if out is not None and out.suffix.lower() == ".gif" else steps
    snaps = record_run(environment, learner, steps, every=every, seed=seed)
    last = snaps[-1]
    from dynaplan.plot.maze import policy_text

    console.print(policy_text(last.layout, last.q, agent_state=last.state), highlight=False, markup=False)
    console.print(f"{agent} after {last.step} steps: {last.episode} episodes, reward {last.total_reward:g}")
    if out is None:
        return
    label = f"{agent} in {env if maze is None else maze.name}"
    if out.suffix.lower() == ".gif":
        from dynaplan.plot.animation import write_gif

        path = write_gif(snaps, out, title=label, fps=fps)
        console.print(f"wrote {path} ({len(snaps)} frames, one every {every} steps)")
        return
    from dynaplan.plot.maze import model_figure, policy_figure

    paths = [policy_figure(last.layout, last.q, out, title=f"{label}, step {last.step}", agent_state=last.state)]
    model = getattr(learner, "model", None)
    if isinstance(model, dynaplan.SampleModel):
        paths.append(model_figure(last.layout, model.last_tried, last.step, out.with_name(out.stem + "-model.png"),
                                  title=f"what the model of {label} knows, step {last.step}"))
    console.print(f"wrote {', '.join(map(str, paths))}")


@app.command()
def explore(
    maze: Annotated[Path | None, typer.Option(help="layout file (# wall, S start, G goal, . free)")] = None,
    agent: Annotated[str, typer.Option(help="agent to start with (any registered agent)")] = "dyna-q",
    port: Annotated[int, typer.Option(help="port to listen on")] = 8765,
    host: Annotated[str, typer.Option(help="address to bind (others can reach anything but 127.0.0.1)")] = "127.0.0.1",
) -> None:
    """Watch planning happen: the explorer as a local page (maze editor, agents, live values and backups)."""
    from dynaplan.explore.server import serve

    serve(maze, agent=agent, host=host, port=port)


def main(argv: list[str] | None = None) -> int:
    """Entry point: runs the app, turning bad input into one line and exit status 2."""
    from dynaplan.envs.layouts import LayoutError

    try:
        rc = app(args=argv, standalone_mode=False)
        if isinstance(rc, int) and rc != 0:  # typer turns Ctrl-C into Exit(130), returned here
            if rc == 130:
                err_console.print("interrupted")
            return rc
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
