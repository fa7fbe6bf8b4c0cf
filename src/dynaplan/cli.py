"""The ``dynaplan`` command.

Bad input (an unknown agent or env, an out-of-range value, a bad maze file or spec, a usage
error such as an unknown option) is one line on standard error and exit status 2, never a
traceback.

Layout: the option types are defined once (``Runs``, ``PlanningSteps``, ... below), so a flag
has one name, one type and one meaning in every command; ``--runs`` (the spec's ``seeds``) and
``--seed`` (``root_seed``) are the only aliases, and they exist only here. Each command (and each
mode of ``run``) is one function; agents' options and defaults come from the agent classes
(``TabularAgent.defaults``), so a registered agent appears in ``run``, ``show`` and ``agents``
without editing this file. A new command is one more ``@app.command()`` function; a new runner
option is one more field of ``Runner``.
"""

from __future__ import annotations

import inspect
import os
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table
from rich.text import Text

if TYPE_CHECKING:
    from dynaplan.experiments.spec import Spec

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    rich_markup_mode="rich",
    help="Model-based RL planning: reproduce Sutton & Barto chapter 8, run agents on any discrete Gymnasium env.",
)
console = Console()
err_console = Console(stderr=True)


def _flags_without_type() -> None:
    """``--help`` lists a flag without a type: typer 0.29 shows ``--version <bool>``, as if it
    took a value (it does not: ``--version true`` is an error)."""
    from typer import core

    option = getattr(core, "TyperOption", None)
    shown = getattr(option, "display_type_rich", None)
    if option is None or shown is None or getattr(shown, "_dynaplan", False):
        return

    def display_type_rich(self: Any, ctx: Any) -> str | None:
        return None if getattr(self, "is_flag", False) else shown(self, ctx)

    display_type_rich._dynaplan = True  # type: ignore[attr-defined]
    option.display_type_rich = display_type_rich


_flags_without_type()
INT64_MAX = 2**63 - 1


class UsageError(Exception):
    """Bad user input: printed as one line, exit status 2."""


def fail(message: str) -> NoReturn:
    """Stop with one line on standard error and exit status 2."""
    raise UsageError(message)


def say(message: str) -> None:
    """One line on standard output, exactly as given (no markup, no wrapping)."""
    console.print(Text(message), soft_wrap=True, highlight=False)


def note(message: str) -> None:
    """One line on standard error, exactly as given (no markup, no wrapping)."""
    err_console.print(Text(message), soft_wrap=True, highlight=False)


def helptext(text: str) -> str:
    """Help text shown as written: ``[agent default 0.1]`` is not taken for rich markup."""
    return escape(text)


#: Without a terminal (a log file, a batch job), a line of progress at most this often, in seconds.
PROGRESS_EVERY = 10.0


@contextmanager
def progress_bar(total: int, label: str) -> Iterator[Callable[[int], None]]:
    """A progress bar (runs done / total, throughput, ETA); yields ``advance(n)``. Without a
    terminal the bar is off and a line ``LABEL: DONE/TOTAL runs done`` is written at most every
    ``PROGRESS_EVERY`` seconds instead, so that a long run is never silent."""
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
        task = bar.add_task(escape(label), total=total, rate="")
        last_line = [time.monotonic()]

        def advance(n: int) -> None:
            bar.advance(task, n)
            t = bar.tasks[0]
            if t.elapsed:
                bar.update(task, rate=f"{t.completed / t.elapsed:,.0f} runs/s")
            if bar.disable and time.monotonic() - last_line[0] >= PROGRESS_EVERY:
                last_line[0] = time.monotonic()
                note(f"{label}: {t.completed:,.0f}/{t.total or 0:,.0f} runs done")

        def plan(total: int, done: int) -> None:
            """Runs found done in a result store: count only the runs left (true rate and ETA)."""
            text = f"{label} ({done} done before)" if done else label
            bar.update(task, total=total - done, description=escape(text))

        advance.plan = plan  # type: ignore[attr-defined]
        yield advance


def print_table(frame: Any, title: str) -> None:
    """A table on standard output, every value and the title shown as they are."""
    table = Table(title=Text(title), title_justify="left")
    cells = [[f"{v:.2f}" if isinstance(v, float) else str(v) for v in row] for row in frame.itertuples(index=False)]
    widths = [max([len(str(c)), *(len(r[i]) for r in cells)]) for i, c in enumerate(frame.columns)]
    for col in frame.columns:
        table.add_column(Text(str(col)), justify="right", no_wrap=True)
    for row in cells:
        table.add_row(*map(Text, row))
    needed = sum(widths) + 3 * len(widths) + 1
    wide = console if console.is_terminal else Console(file=sys.stdout, width=max(needed, len(title), console.width))
    wide.print(table)  # into a file or pipe: as wide as the table, never cut


# -- checked option values ----------------------------------------------------------------------
def int_option(value: int | None, name: str, low: int = 1) -> int | None:
    """``value`` checked to be in ``[low, 2**63 - 1]`` (what the kernels take), or None."""
    if value is not None and not low <= value <= INT64_MAX:
        fail(f"{name} must be an integer in [{low}, {INT64_MAX}], got {value}")
    return value


def parse_int_list(text: str, name: str) -> list[int]:
    """``0,5,50`` -> ``[0, 5, 50]``: one or more integers in [0, 2**63 - 1] (no empty item:
    ``1,,2`` is a typo, not ``[1, 2]``)."""
    try:
        values = [int(x) for x in text.split(",")]
    except ValueError:
        fail(f"{name} must be comma-separated integers, got {text!r}")
    if not values or any(not 0 <= v <= INT64_MAX for v in values):
        fail(f"{name} must be one or more integers in [0, {INT64_MAX}], got {text!r}")
    return values


def set_items(items: list[str] | None) -> dict[str, Any]:
    """``--set key=value`` items as overrides, each value checked like a spec value."""
    from dynaplan.experiments.spec import SpecError, parse_set
    from dynaplan.experiments.spec.structure import check_int, check_value

    out: dict[str, Any] = {}
    for item in items or []:
        key, value = parse_set(item)

        def err(message: str, key: str = key) -> SpecError:
            return SpecError(f"--set {key}: {message}")

        check_value(value, err)
        if key in ("seeds", "root_seed", "batch"):  # top-level keys: checked here, named as the user gave them
            check_int(value, 1 if key == "seeds" else 0, err)
        out[key] = value
    return out


def spec_overrides(runs: int | None = None, episodes: int | None = None, seed: int | None = None,
                   planning_steps: str | None = None, sets: list[str] | None = None) -> dict[str, Any]:
    """The spec keys the common options set: ``--runs`` -> ``seeds``, ``--seed`` -> ``root_seed``,
    ``--episodes``, ``--planning-steps`` (a list: a grid axis), then ``--set`` items."""
    overrides: dict[str, Any] = {}
    if int_option(runs, "--runs") is not None:
        overrides["seeds"] = runs
    if int_option(episodes, "--episodes") is not None:
        overrides["episodes"] = episodes
    if int_option(seed, "--seed", low=0) is not None:
        overrides["root_seed"] = seed
    if planning_steps is not None:
        steps = parse_int_list(planning_steps, "--planning-steps")
        overrides["planning_steps"] = steps if len(steps) > 1 else steps[0]
    overrides.update(set_items(sets))
    return overrides


# -- option types, each defined once --------------------------------------------------------
Runs = Annotated[int | None, typer.Option("--runs", help=helptext(
    "Independent runs (seeds) per cell: the spec's seeds [default: the spec's; one-cell run: 10]."))]
Episodes = Annotated[int | None, typer.Option("--episodes", help=helptext(
    "Episodes per run: the spec's episodes [default: the spec's; one-cell run: 30]."))]
Seed = Annotated[int | None, typer.Option("--seed", help=helptext(
    "Root seed: the spec's root_seed; run i uses SeedSequence(seed, spawn_key=(i,)) [default: the spec's; 0]."))]
PlanningSteps = Annotated[str | None, typer.Option("--planning-steps", help=helptext(
    "Planning steps per real step (planning_steps); a comma-separated list such as 0,5,50 makes a sweep "
    "[default: the spec's, else the agent's]."))]
Sets = Annotated[list[str] | None, typer.Option("--set", help=helptext(
    "Set a key: key=value (TOML; a list such as 'alpha=[0.1, 0.5]' makes a grid axis). Repeatable."))]
Workers = Annotated[int | None, typer.Option("--workers", help=helptext(
    "Local worker processes, at most the usable cores [default: the cores; small jobs run in-process]."))]
Backend = Annotated[str, typer.Option("--backend", help=helptext(
    "local (process pool), ray, or slurm (jobs through submitit; see --slurm)."))]
Slurm = Annotated[list[str] | None, typer.Option("--slurm", metavar="KEY=VALUE", help=helptext(
    "With --backend slurm, a job option KEY=VALUE as submitit takes it: partition, timeout_min, mem_gb, "
    "cpus_per_task, account, qos, additional_parameters...; also max_jobs (default 64), folder (logs), "
    "cluster=local (local processes). Repeatable."))]
Module = Annotated[str | None, typer.Option("--module", metavar="MODULE", help=helptext(
    "A module to import first that registers your own agents or kinds (found from the current directory too; "
    "comma-separated for several); workers import it as well."))]
Out = Annotated[Path | None, typer.Option("--out", help=helptext(
    "Output directory, the resumable result store [reproduce and run SPEC: default results/NAME; one-cell run: "
    "none, the table is printed and nothing is kept]."))]
Address = Annotated[str | None, typer.Option("--address", help="Ray cluster address (with --backend ray), e.g. auto.")]
MaxRetries = Annotated[int, typer.Option("--max-retries", help="Re-runs of a task whose worker process died.")]
Resume = Annotated[bool, typer.Option("--resume", help=helptext(
    "Continue the experiment stored in --out: run only what is missing (options given must agree with it)."))]
Overwrite = Annotated[bool, typer.Option("--overwrite", help=helptext(
    "Replace another experiment stored in --out (runs the two share are kept) instead of refusing."))]
AgentName = Annotated[str | None, typer.Option("--agent", help=helptext(
    "Agent name (dynaplan agents lists them with their parameters), e.g. q-learning, dyna-q, mcts."))]
Alpha = Annotated[float | None, typer.Option("--alpha", help=helptext(
    "Step size alpha, in (0, 1] [agent default 0.1]."))]
Epsilon = Annotated[float | None, typer.Option("--epsilon", help=helptext(
    "Exploration rate epsilon, in [0, 1] [agent default: 0.1; search agents 0]."))]
Gamma = Annotated[float | None, typer.Option("--gamma", help=helptext(
    "Discount gamma, in [0, 1] [agent default 0.95]."))]


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


@dataclass(frozen=True)
class Runner:
    """Where and how runs execute (``--workers``, ``--backend``, ``--address``, ``--max-retries``,
    ``--slurm``)."""

    workers: int | None = None
    backend: str = "local"
    address: str | None = None
    max_retries: int = 3
    slurm: tuple[str, ...] = ()

    def options(self) -> dict[str, Any]:
        """The backend's own options (``--slurm KEY=VALUE``)."""
        return parse_slurm(list(self.slurm))

    def checked(self) -> Runner:
        """The options checked; local ``--workers`` capped at the usable cores (with a line)."""
        from dynaplan.experiments.backends import check_backend

        workers = int_option(self.workers, "--workers")
        int_option(self.max_retries, "--max-retries", low=0)
        if workers is not None and self.backend == "local":
            cores = usable_cores()
            if workers > cores:
                note(f"--workers {workers}: capped at the {cores} usable cores")
                workers = cores
        check_backend(self.backend, workers, self.address, self.max_retries, self.options())
        return Runner(workers, self.backend, self.address, self.max_retries, self.slurm)


@dataclass(frozen=True)
class RunOptions:
    """The options ``run`` and ``reproduce`` share: where results go, how many runs, where they
    execute. Declared once, in :func:`_run_options`; :func:`run_options` adds them to a command."""

    out: Path | None = None
    runs: int | None = None
    episodes: int | None = None
    seed: int | None = None
    planning_steps: str | None = None
    sets: tuple[str, ...] = ()
    overwrite: bool = False
    resume: bool = False
    runner: Runner = Runner()
    module: str | None = None

    def overrides(self) -> dict[str, Any]:
        """The spec keys these options set (:func:`spec_overrides`)."""
        return spec_overrides(self.runs, self.episodes, self.seed, self.planning_steps, list(self.sets))


def _run_options(
    out: Out = None,
    runs: Runs = None,
    episodes: Episodes = None,
    seed: Seed = None,
    planning_steps: PlanningSteps = None,
    set_: Sets = None,
    overwrite: Overwrite = False,
    resume: Resume = False,
    workers: Workers = None,
    backend: Backend = "local",
    address: Address = None,
    max_retries: MaxRetries = 3,
    slurm: Slurm = None,
    module: Module = None,
) -> RunOptions:
    """The shared option group: its options (names, types, defaults) are this signature."""
    return RunOptions(out, runs, episodes, seed, planning_steps, tuple(set_ or ()), overwrite, resume,
                      Runner(workers, backend, address, max_retries, tuple(slurm or ())), module)


def run_options(command: Callable[..., None]) -> Callable[..., None]:
    """``command(..., opts: RunOptions)`` as a typer command taking the options of :func:`_run_options`
    (after its own) and giving them to it as one ``RunOptions``."""
    shared = list(inspect.signature(_run_options, eval_str=True).parameters.values())
    own = [p for p in inspect.signature(command, eval_str=True).parameters.values() if p.name != "opts"]

    def wrapper(**kwargs: Any) -> None:
        group = {p.name: kwargs.pop(p.name) for p in shared}
        command(**kwargs, opts=_run_options(**group))

    for attr in ("__name__", "__qualname__", "__doc__", "__module__"):
        setattr(wrapper, attr, getattr(command, attr))
    wrapper.__signature__ = inspect.Signature(own + shared)  # type: ignore[attr-defined]
    wrapper.__annotations__ = {p.name: p.annotation for p in own + shared}
    return wrapper


def usable_cores() -> int:
    """The cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


# -- running a spec into a store --------------------------------------------------------------
def store_message(exc: Exception) -> str:
    """A result store's error in the command line's words (its flags, not the API's arguments)."""
    from dynaplan.experiments import store

    if isinstance(exc, store.NotAStore):
        return (f"{exc.root}: not empty and not a dynaplan result store; choose a new or empty --out "
                "(nothing in it is replaced or deleted, with or without --overwrite)")
    if isinstance(exc, store.OtherExperiment):
        return (f"{exc.root} holds another experiment ({exc.done} finished runs; {exc.difference}); give "
                "--overwrite to replace it (runs both share are kept) or choose a different --out")
    if isinstance(exc, store.NothingToResume):
        return f"{exc.root}: nothing to resume (no {store.SPEC_FILE}); run without --resume first"
    if isinstance(exc, store.NotTheStoredExperiment):
        return (f"{exc.root}: --resume: not the stored experiment ({exc.difference}); drop --resume and give "
                "--overwrite to replace it, or choose a different --out")
    return str(exc)


def stored_spec(out_dir: Path) -> Spec:
    """The spec stored in ``out_dir`` (validated)."""
    from dynaplan.experiments.store import stored_experiment

    return stored_experiment(out_dir)  # type: ignore[no-any-return]


def resumed_spec(out_dir: Path, given: Spec | None = None, overrides: dict[str, Any] | None = None) -> Spec:
    """For ``--resume``: the stored spec, with ``overrides`` applied; ``given`` (or the overridden
    spec) must describe the same experiment, else one line naming the first key that differs."""
    from dynaplan.experiments.spec import validate_spec
    from dynaplan.experiments.store import check_resume

    stored = stored_spec(out_dir)
    spec = given if given is not None else validate_spec(stored.with_overrides(overrides or {}))
    check_resume(out_dir, spec, stored)
    return spec


def step_limit_line(spec: Spec) -> str:
    """For ``episodes`` specs, the per-episode step limit(s) the runs have and where each comes
    from (``max_episode_steps`` of the cell, the env's ``TimeLimit``, or the kind's default)."""
    if spec.kind != "episodes":
        return ""
    from dynaplan.experiments.kinds import episode_step_limit

    where = {"cell": "max_episode_steps", "env": "the env's TimeLimit", "default": "the default"}
    limits: dict[tuple[int, str], None] = {}
    for cell in spec.expand():
        limits.setdefault(episode_step_limit(cell), None)
    shown = " or ".join(f"{limit:,} real steps ({where.get(source, source)})" if limit else
                        f"no limit ({where.get(source, source)})" for limit, source in limits)
    return f"{spec.name}: episodes are cut off after {shown}; set max_episode_steps (0: no limit) to change it"


def execute(spec: Spec, out_dir: Path | None, runner: Runner, *, overwrite: bool = False,
            extra: dict[str, Any] | None = None) -> Any:
    """Run a validated spec into the store ``out_dir`` with a progress bar; returns the ``SpecRun``.

    The directory must be new, hold this experiment (it resumes) or, with ``overwrite``, another
    one (its tables and figures are removed first); the results must fit in memory. With
    ``out_dir=None`` the runs are kept in memory only.
    """
    from dynaplan.experiments.runner import plan_tasks, run_spec, total_runs
    from dynaplan.experiments.sizes import check_fits
    from dynaplan.experiments.store import reuse_decision

    runner = runner.checked()
    estimate = check_fits(spec)
    decision = "memory"
    if out_dir is not None:
        planned = {t.config_hash for t in plan_tasks(spec.kind, spec.expand(), spec.run_seeds(), spec.batch_size())}
        # The decision for the line below; run_spec applies the same rule itself (and clears the
        # tables and figures of a replaced or extended experiment).
        decision = reuse_decision(out_dir, spec, overwrite=overwrite, planned=planned)
    # What is about to run, on standard output: standard error keeps to one line when it fails.
    if decision == "replace":
        say(f"{out_dir}: replacing the experiment there once this one has finished")
    elif decision == "extend":
        say(f"{out_dir}: extending the experiment there (every finished run is kept)")
    say(f"{spec.name}: {estimate.line()}")
    limits = step_limit_line(spec)
    if limits:
        say(limits)
    try:
        with progress_bar(total_runs(spec), spec.name) as advance:
            result = run_spec(spec, out_dir, workers=runner.workers, backend=runner.backend, address=runner.address,
                              max_retries=runner.max_retries, progress=advance, extra_manifest=extra,
                              on_plan=getattr(advance, "plan", None), backend_options=runner.options(),
                              overwrite=overwrite)
    except KeyboardInterrupt:
        if decision == "memory":
            note("stopped; nothing was kept (give --out DIR to keep finished runs and resume them)")
        elif decision in ("replace", "extend"):
            note(f"{out_dir} still holds the experiment that was there; finished runs of this one are saved "
                 "beside it: give the same command again to continue")
        else:
            note(f"finished runs are saved in {out_dir}; continue with --resume --out {out_dir}")
        raise
    if result.runs_reused:
        say(f"{result.runs_reused} of {result.runs_total} runs were already done in {out_dir}")
    return result


# -- agents -------------------------------------------------------------------------------------
def user_module(module: str | None) -> str:
    """Import ``--module`` (it registers the user's agents or kinds): one line on failure."""
    if not module:
        return ""
    from dynaplan.core.modules import import_modules

    try:
        import_modules(module)
    except ImportError as exc:
        fail(f"--module: cannot import {module!r}: {' '.join(str(exc).split())}")
    return module


def agent_class(name: str) -> Any:
    """The registered agent class ``name`` (one line listing the names otherwise)."""
    from dynaplan.agents import AGENTS

    if name not in AGENTS:
        fail(f"unknown agent {name!r}; choose from: {', '.join(sorted(AGENTS))}")
    return AGENTS[name]


def agent_flags(alpha: float | None, epsilon: float | None, gamma: float | None) -> dict[str, Any]:
    """The agent parameters given as flags (the others keep the agent's defaults)."""
    given = {"alpha": alpha, "epsilon": epsilon, "gamma": gamma}
    return {k: v for k, v in given.items() if v is not None}


@app.command()
def agents(module: Module = None) -> None:
    """List the registered agents of every family with every parameter and its default (from the agent class)."""
    from dynaplan.agents import AGENTS
    from dynaplan.experiments.spec.writer import toml_value

    user_module(module)

    def shown(value: Any) -> str:
        try:
            return toml_value(value)
        except TypeError:  # no TOML form (None: unset)
            return "(unset)" if value is None else repr(value)

    say("agent (class, family): parameters = defaults (TOML values); run/show --agent NAME, change one with "
        "--set key=value")
    for name in sorted(AGENTS):
        cls = AGENTS[name]
        params = ", ".join(f"{k}={shown(v)}" for k, v in cls.defaults().items())
        say(f"{name} ({cls.__name__}, {cls.family}): {params}")


# -- reproduce ----------------------------------------------------------------------------------
def list_reproductions(reps: dict[str, Any]) -> None:
    listing = Table(title="Reproductions (--show NAME prints the spec)", title_justify="left")
    listing.add_column("name")
    listing.add_column("title")
    for rep_name in sorted(reps):
        listing.add_row(Text(rep_name), Text(reps[rep_name].title))
    console.print(listing)


def reproduction(reps: dict[str, Any], name: str | None) -> Any:
    if name is None:
        fail("give a reproduction NAME (see dynaplan reproduce --list)")
    if name not in reps:
        fail(f"unknown reproduction {name!r}; choose from: {', '.join(sorted(reps))}")
    return reps[name]


def reproduce_function(rep: Any, overrides: dict[str, Any], out_dir: Path, overwrite: bool) -> tuple[Any, tuple]:
    """A reproduction that is only a ``run`` function (no shipped spec): its table, written."""
    from dynaplan.experiments.store import StoreError, write_table

    written = {"results.parquet", "results.csv", "figure.png"}
    there = {p.name for p in out_dir.iterdir()} if out_dir.is_dir() else set()
    if there and not (overwrite and there <= written):
        raise StoreError(f"{out_dir}: not empty; choose a new or empty --out (--overwrite replaces only a "
                         f"directory holding nothing but {', '.join(sorted(written))})")
    back = {"seeds": "runs", "root_seed": "seed"}  # the run function's own names
    options = {back.get(k, k): v for k, v in overrides.items()}
    with progress_bar(int(options.get("runs", 30)), rep.name) as advance:
        table = rep.run(progress=advance, **options)
    return table, write_table(table, out_dir)


@app.command()
@run_options
def reproduce(
    name: Annotated[str | None, typer.Argument(help="Which result (see --list), e.g. dyna-maze.")] = None,
    list_: Annotated[bool, typer.Option("--list", help="List the reproductions and exit.")] = False,
    show: Annotated[str | None, typer.Option("--show", help="Print the spec of a reproduction and exit.")] = None,
    *,
    opts: RunOptions,
) -> None:
    """Reproduce a result of Sutton & Barto chapter 8: runs its shipped spec, then table, figure, summary.

    Every key of the spec is an option: --set key=value (see --show NAME). Where the book is silent
    the choice is ours and stated in the spec (blocking/shortcut maze: alpha 1.0, n 10, kappa 5e-4).
    """
    from dynaplan.experiments.reproductions import load_all
    from dynaplan.experiments.spec import load_spec, shipped_specs, validate_spec
    from dynaplan.experiments.store import record_output
    from dynaplan.experiments.summaries import grouped_summary, spec_changes, spec_title
    from dynaplan.plot.curves import figure_note

    user_module(opts.module)  # a module may register reproductions (register_reproduction) or agents
    reps = load_all()
    if list_:
        list_reproductions(reps)
        return
    if show is not None:
        shown = reproduction(reps, show)
        if not shown.spec:
            fail(f"reproduction {show!r} has no shipped spec")
        sys.stdout.write(shipped_specs()[shown.spec].read_text())
        return
    rep = reproduction(reps, name)
    overrides = opts.overrides()
    out_dir = opts.out or Path("results") / rep.name
    if not rep.spec:
        table, paths = reproduce_function(rep, overrides, out_dir, opts.overwrite)
        fig = rep.figure(table, out_dir / "figure.png")
        print_table(rep.summary(table), rep.title)
        say(f"wrote {', '.join(map(str, paths))}, {fig}")
        return
    shipped = load_spec(shipped_specs()[rep.spec], validate=False)
    if opts.resume:
        from dynaplan.experiments.store import read_manifest

        held = (read_manifest(out_dir) or {}).get("reproduction", rep.name)
        if held != rep.name:
            fail(f"{out_dir} holds the reproduction {held!r}, not {rep.name!r}; resume it with "
                 f"dynaplan reproduce {held} --resume --out {out_dir}")
        spec = resumed_spec(out_dir, overrides=overrides)
    else:
        spec = validate_spec(shipped.with_overrides(overrides))
    result = execute(spec, out_dir, opts.runner, overwrite=opts.overwrite, extra={"reproduction": rep.name})
    changes = spec_changes(spec, shipped)
    with figure_note(spec_title(spec, shipped, rep.title) if changes else ""):
        fig = rep.figure(result.table, out_dir / "figure.png")
    record_output(out_dir, fig)
    print_table(grouped_summary(rep.summary, result.table, spec.varying_keys(), shipped.varying_keys()),
                spec_title(spec, shipped, rep.title))
    say(f"wrote {', '.join(map(str, result.paths))}, {fig}")


# -- run: three modes, one function each ------------------------------------------------------
def run_spec_file(spec_file: Path, overrides: dict[str, Any], out: Path | None, resume: bool) -> tuple[Spec, Path]:
    """``run SPEC``: the spec file with the options applied; ``--out`` defaults to results/NAME."""
    from dynaplan.experiments.spec import load_spec, validate_spec

    spec = validate_spec(load_spec(spec_file, validate=False).with_overrides(overrides))
    out_dir = out or Path("results") / spec.name
    if resume:
        resumed_spec(out_dir, given=spec)
    return spec, out_dir


#: Episodes per run of a one-cell ``run`` given neither ``--episodes`` nor ``--set steps=N``.
ONE_CELL_EPISODES = 30


def one_cell_spec(agent: str, env: str | None, maze: Path | None, params: dict[str, Any],
                  overrides: dict[str, Any], module: str = "") -> Spec:
    """``run --agent A --env ID|--maze FILE``: one agent on one env as a spec (kind ``episodes``).

    ``--set`` keys that are not spec sizes (``seeds``, ...) are the agent's parameters, or the
    env's keyword arguments as ``env_kwargs={...}``: a scalar is fixed, a list makes a grid axis.
    Without ``--episodes`` (or ``steps``) a run is ``ONE_CELL_EPISODES`` episodes. A Minigrid env
    keeps no episode limit of its own by default (see :func:`one_cell_step_limit`).
    """
    from dynaplan.experiments.spec import SETTABLE_TOP, Spec, validate_spec

    user_module(module)  # it registers the agent
    agent_class(agent)
    if (env is None) == (maze is None):
        fail("give exactly one of --env ENV_ID or --maze FILE")
    cell: dict[str, Any] = {"agent": agent, **({"env": env} if env is not None else {"maze": str(maze)})}
    grid: dict[str, Any] = {}
    sizes: dict[str, Any] = {}
    for key, value in {**params, **overrides}.items():
        if key in SETTABLE_TOP:
            sizes[key] = value
        elif isinstance(value, list) and key != "env_kwargs":
            grid[key] = value
        else:
            cell[key] = value
    if not {"episodes", "steps"} & (cell.keys() | grid.keys()):
        cell["episodes"] = ONE_CELL_EPISODES
        say(f"{agent}: {ONE_CELL_EPISODES} episodes per run (the default; --episodes N to change)")
    if env is not None and "max_episode_steps" not in cell.keys() | grid.keys():
        cell.update(one_cell_step_limit(env))
    base = Spec(name=agent, kind="episodes", seeds=10, params=cell, grid=grid, source="command line", module=module)
    return validate_spec(base.with_overrides(sizes))


def one_cell_step_limit(env: str) -> dict[str, Any]:
    """``{"max_episode_steps": n}`` for a Minigrid env, else ``{}`` (the env's ``TimeLimit`` applies).

    Minigrid's ``max_steps`` (100 in FourRooms) is a timeout, not part of the task the book's
    Dyna experiments pose: an agent starting from Q = 0 rarely reaches the goal within it, so a
    short run learns nothing (``docs/minigrid.md``). A one-cell run replaces it with the cap of
    envs without a limit (``DEFAULT_MAX_EPISODE_STEPS``, so that no episode runs for ever), which
    the run's step-limit line states; ``--set max_episode_steps=N`` chooses another.
    """
    from dynaplan.envs.minigrid_world import is_minigrid_id
    from dynaplan.experiments.kinds import DEFAULT_MAX_EPISODE_STEPS

    return {"max_episode_steps": DEFAULT_MAX_EPISODE_STEPS} if is_minigrid_id(env) else {}


@app.command()
@run_options
def run(
    spec_file: Annotated[Path | None, typer.Argument(metavar="SPEC", show_default=False,
                                                     help="An experiment spec (TOML); optional.")] = None,
    agent: AgentName = None,
    env: Annotated[str | None, typer.Option("--env", help=helptext(
        "Without SPEC: a Gymnasium env id (Discrete spaces); its own options: --set 'env_kwargs={is_slippery=false}'."
    ))] = None,
    maze: Annotated[Path | None, typer.Option(
        "--maze", help="Without SPEC: a maze layout file (# wall, S, G, . free).")] = None,
    alpha: Alpha = None,
    epsilon: Epsilon = None,
    gamma: Gamma = None,
    *,
    opts: RunOptions,
) -> None:
    """Run an experiment spec, or one agent on one env for many seeds, into a resumable result store.

    `dynaplan run SPEC.toml [--out DIR]` runs a spec; `dynaplan run --resume --out DIR` continues the
    one stored there; `dynaplan run --agent dyna-q --env ID [--episodes 50] [--out DIR]` runs one agent
    on one env (one cell; 30 episodes per run by default; without --out the table is printed and
    nothing is kept), where `--set key=value` also sets the agent's own parameters (`--set kappa=1e-3`;
    a list such as `--set 'alpha=[0.1, 0.5]'` makes a sweep) and `--set 'env_kwargs={...}'` the env's.
    A directory holding another experiment is refused unless --overwrite is given.
    """
    from dynaplan.experiments.summaries import episodes_summary

    one_cell = agent is not None or env is not None or maze is not None
    flags = agent_flags(alpha, epsilon, gamma)
    if spec_file is not None and one_cell:
        fail("give either SPEC or --agent/--env/--maze, not both")
    if not one_cell and flags:
        fail(f"--{next(iter(flags))} is an option of the one-cell form (--agent ...); with a spec use --set")
    user_module(opts.module)  # with SPEC too (a spec also names its own with module = "...")
    out_dir: Path | None = opts.out
    if spec_file is not None:
        spec, out_dir = run_spec_file(spec_file, opts.overrides(), opts.out, opts.resume)
    elif one_cell:
        if agent is None:
            fail("without SPEC, give --agent (and --env or --maze)")
        if opts.resume and opts.out is None:
            fail("--resume continues the experiment stored in --out DIR: give --out")
        spec = one_cell_spec(agent, env, maze, flags, opts.overrides(), opts.module or "")
        if opts.resume:
            resumed_spec(opts.out, given=spec)  # type: ignore[arg-type]
    else:
        if not opts.resume or opts.out is None:
            fail("give a SPEC file, or --resume --out DIR, or --agent and --env or --maze (see dynaplan run --help)")
        spec = resumed_spec(opts.out, overrides=opts.overrides())
    result = execute(spec, out_dir, opts.runner, overwrite=opts.overwrite)
    table = result.table
    if {"episode", "steps", "seed"} <= set(table.columns):
        summary = episodes_summary(table, spec.varying_keys())
        if len(summary):
            print_table(summary, f"{spec.name}: steps per episode, mean over runs (95% interval)")
        else:
            say(f"{spec.name}: no episode finished")
    if out_dir is None:
        say(f"{result.runs_done} runs in {result.elapsed:.1f} s; not kept: add --out DIR to keep the runs "
            "(a result store that plot, summarize and --resume read)")
        return
    wrote = ", ".join(map(str, result.paths))
    if result.runs_done == 0 and result.runs_reused == result.runs_total:
        say(f"{spec.name} is complete: all {result.runs_total} runs were already done; wrote {wrote}")
    else:
        say(f"{result.runs_done} runs in {result.elapsed:.1f} s; wrote {wrote}")


# -- reading an experiment directory -----------------------------------------------------------
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
    x: Annotated[str | None, typer.Option(help=helptext("Column on the x axis [default: episode, else step]."))] = None,
    y: Annotated[str | None, typer.Option(help=helptext("Column to average [default: steps, else return]."))] = None,
    group: Annotated[str | None, typer.Option(help=helptext(
        "Columns, one curve each, comma-separated [default: what the spec varies]."))] = None,
    out: Annotated[Path | None, typer.Option(help=helptext("Figure file [default: DIR/plot-Y.png]."))] = None,
    logy: Annotated[bool, typer.Option(help="Log scale on y.")] = False,
) -> None:
    """Learning curves of any experiment: mean over runs with 95% bands, one curve per group."""
    from pandas.api.types import is_numeric_dtype

    from dynaplan.plot.curves import line_with_band
    from dynaplan.stats import mean_sem, per_run

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
        series[label] = mean_sem(per_run(part, str(ycol), [xcol]), [xcol], str(ycol))
    title = (spec.title or spec.name) if spec is not None else str(directory)
    path = line_with_band(series, x=str(xcol), path=out or directory / f"plot-{ycol}.png", xlabel=str(xcol),
                          ylabel=f"{ycol} (mean over runs, 95% band)", title=title, logy=logy)
    from dynaplan.experiments.store import record_output

    record_output(directory, path)
    say(f"wrote {path}")


@app.command()
def summarize(
    directory: Annotated[Path, typer.Argument(metavar="DIR", help="An experiment directory (run/reproduce --out).")],
    y: Annotated[str | None, typer.Option(help=helptext("Column to summarize [default: steps, else return]."))] = None,
    by: Annotated[str | None, typer.Option(help=helptext(
        "Group columns, comma-separated [default: every key the spec varies]."))] = None,
    last: Annotated[int, typer.Option(help="Also average the last K values of the x column (episode).")] = 10,
) -> None:
    """A table of an experiment: runs, mean with 95% interval over runs, and the last-K mean per group."""
    import json

    import numpy as np
    import pandas as pd
    from pandas.api.types import is_numeric_dtype

    from dynaplan.experiments.store import MANIFEST
    from dynaplan.experiments.summaries import grouped_summary
    from dynaplan.stats import mean_interval, per_run

    int_option(last, "--last")
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
        mean, half, n = mean_interval(per_run(part, str(ycol))[ycol])
        row: dict[str, Any] = dict(zip(groups, key))
        row["runs"] = n
        row[f"mean {ycol}"] = mean
        row["95% +-"] = half
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
            from dynaplan.experiments.spec import load_spec, shipped_specs

            own = load_spec(shipped_specs()[rep.spec], validate=False).varying_keys() if rep.spec else []
            print_table(grouped_summary(rep.summary, table, varying, own), spec.title if spec else rep.title)


# -- show -------------------------------------------------------------------------------------
#: ``show --fps`` bounds: a GIF frame lasts a whole number of hundredths of a second, at most 655.35 s.
MIN_FPS, MAX_FPS = 0.01, 100.0


def check_view_size(layout: Any, option: str) -> None:
    """A maze drawn cell by cell (``show``'s pictures, the explorer) has at most
    ``VIEW_SIDE x VIEW_SIDE`` cells: one line otherwise, before anything is computed."""
    from dynaplan.envs.layouts import VIEW_SIDE

    rows, cols = layout.shape
    if max(rows, cols) > VIEW_SIDE:
        fail(f"{option}: at most {VIEW_SIDE} x {VIEW_SIDE} cells can be shown, got {rows} x {cols} "
             "(dynaplan run takes larger mazes)")


@app.command()
def show(
    env: Annotated[str, typer.Option(help="A dynaplan maze env id, e.g. dynaplan/ShortcutMaze-v0.")] = (
        "dynaplan/DynaMaze-v0"
    ),
    maze: Annotated[Path | None, typer.Option(help="A maze layout file instead of --env.")] = None,
    agent: Annotated[str, typer.Option("--agent", help=helptext(
        "Agent name (dynaplan agents lists them with their parameters)."))] = "dyna-q-plus",
    steps: Annotated[int, typer.Option(help="Real time steps to play.")] = 3000,
    out: Annotated[
        Path | None,
        typer.Option(help="NAME.gif: animation; NAME.png: final policy and values (+ NAME-model.png: what the "
                     "model knows); none: the policy as text."),
    ] = None,
    frames: Annotated[int, typer.Option(help="At most about this many GIF frames (steps are subsampled).")] = 150,
    fps: Annotated[float, typer.Option(help="GIF frames per second.")] = 10.0,
    planning_steps: PlanningSteps = None,
    alpha: Alpha = None,
    epsilon: Epsilon = None,
    gamma: Gamma = None,
    set_: Sets = None,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the run (agent and env streams).")] = 0,
    module: Module = None,
) -> None:
    """Watch an agent learn in a maze: animated GIF, policy/value picture, or terminal text.

    The agent runs with its own defaults (dynaplan agents lists them); change any with --alpha,
    --planning-steps, ... or --set key=value (e.g. --set kappa=1e-3 for dyna-q-plus).

    Example: dynaplan show --env dynaplan/ShortcutMaze-v0 --agent dyna-q-plus --steps 6000 --out run.gif
    """
    import gymnasium as gym

    import dynaplan
    from dynaplan.plot.animation import frame_every, maze_layout, record_run

    user_module(module)
    cls = agent_class(agent)
    int_option(steps, "--steps")
    int_option(frames, "--frames")
    int_option(seed, "--seed", low=0)
    if not MIN_FPS <= fps <= MAX_FPS:  # a GIF's frame delay is whole hundredths of a second, at most 655.35 s
        fail(f"--fps must be in [{MIN_FPS}, {MAX_FPS}], got {fps:g}")
    if out is not None and out.suffix.lower() not in (".gif", ".png"):
        fail(f"--out must end in .gif or .png, got {str(out)!r}")
    flagged = spec_overrides(planning_steps=planning_steps)
    sets = set_items(set_)
    for label, given in (("--planning-steps", flagged), ("--set ", sets)):
        for key, value in given.items():
            if isinstance(value, list):
                fail(f"{label if label.startswith('--p') else label + key}: show runs one agent; give one value, "
                     f"got {value}")
    params = {**agent_flags(alpha, epsilon, gamma), **flagged, **sets}
    try:
        params = cls.check_params(params)
    except (ValueError, TypeError) as exc:
        fail(f"{agent}: {' '.join(str(exc).split())}")
    if maze is not None:
        environment = gym.make("dynaplan/GridMaze-v0", layout=maze)
    else:
        if env not in gym.registry:
            fail(f"unknown env {env!r} (not a registered Gymnasium id)")
        environment = gym.make(env)
    check_view_size(maze_layout(environment), "--maze" if maze is not None else "--env")  # ValueError unless a maze
    from dynaplan.agents.budget import check_step_budget

    try:
        check_step_budget(cls, dynaplan.problem_of(environment), params)
    except ValueError as exc:
        fail(f"{agent}: {exc}")
    learner = cls(environment, seed=seed, **params)
    every = frame_every(steps, frames) if out is not None and out.suffix.lower() == ".gif" else steps
    from dynaplan.experiments.interrupts import signals_deferred_while_compiling

    with signals_deferred_while_compiling():  # a Ctrl-C during the first compile is not lost
        snaps = record_run(environment, learner, steps, every=every, seed=seed)
    last = snaps[-1]
    from dynaplan.plot.maze import policy_text

    console.print(policy_text(last.layout, last.q, agent_state=last.state), highlight=False, markup=False)
    say(f"{agent} after {last.step} steps: {last.episode} episodes, reward {last.total_reward:g}")
    if out is None:
        return
    label = f"{agent} in {env if maze is None else maze.name}"
    if out.suffix.lower() == ".gif":
        from dynaplan.plot.animation import write_gif

        path = write_gif(snaps, out, title=label, fps=fps)
        say(f"wrote {path} ({len(snaps)} frames, one every {every} steps)")
        return
    from dynaplan.plot.maze import model_figure, policy_figure

    paths = [policy_figure(last.layout, last.q, out, title=f"{label}, step {last.step}", agent_state=last.state)]
    model = getattr(learner, "model", None)
    if isinstance(model, dynaplan.SampleModel):
        paths.append(model_figure(last.layout, model.last_tried, last.step, out.with_name(out.stem + "-model.png"),
                                  title=f"what the model of {label} knows, step {last.step}"))
    say(f"wrote {', '.join(map(str, paths))}")


# -- explore ------------------------------------------------------------------------------------
@app.command()
def explore(
    maze: Annotated[Path | None, typer.Option(help="layout file (# wall, S start, G goal, . free)")] = None,
    agent: Annotated[str, typer.Option(help="agent to start with (any registered agent)")] = "dyna-q",
    port: Annotated[int, typer.Option(help="port to listen on")] = 8765,
    host: Annotated[str, typer.Option(help="address to bind (others can reach anything but 127.0.0.1)")] = "127.0.0.1",
    module: Module = None,
) -> None:
    """Watch planning happen: the explorer as a local page (maze editor, agents, live values and backups)."""
    from dynaplan.explore.server import serve

    user_module(module)
    int_option(port, "--port", low=0)
    if port > 65535:
        fail(f"--port must be in [0, 65535], got {port}")
    check_host(host)
    if maze is not None:
        from dynaplan.envs.layouts import load_layout

        check_view_size(load_layout(maze), "--maze")

    serve(maze, agent=agent, host=host, port=port)


def check_host(host: str) -> None:
    """``--host`` must be an address or a name that resolves (one line naming ``--host`` otherwise)."""
    import ipaddress
    import socket

    try:
        ipaddress.ip_address(host)
        return
    except ValueError:
        pass
    try:
        socket.getaddrinfo(host, None)
    except (OSError, UnicodeError) as exc:
        fail(f"--host {host!r}: not an IP address or a name that resolves ({getattr(exc, 'strerror', None) or exc})")


# -- the entry point ------------------------------------------------------------------------------
def _version(value: bool) -> None:
    if value:
        from importlib.metadata import PackageNotFoundError, version

        try:
            text = version("dynaplan")
        except PackageNotFoundError:  # running from a source tree
            from dynaplan import __version__ as text
        say(f"dynaplan {text}")
        raise typer.Exit(0)


@app.callback()
def _root(
    version: Annotated[bool, typer.Option("--version", is_eager=True, callback=_version,
                                          help="Print the version and exit.")] = False,
) -> None:
    """Model-based RL planning: reproduce Sutton & Barto chapter 8, run agents on any discrete Gymnasium env."""


def _click_errors() -> tuple[type[BaseException], ...]:
    """Click's exception classes: typer's vendored copy (``typer._click``) and/or click itself."""
    found: list[type[BaseException]] = []
    for module in ("typer._click.exceptions", "click.exceptions"):
        try:
            mod = __import__(module, fromlist=["ClickException"])
        except ImportError:
            continue
        found.append(mod.ClickException)
    return tuple(found)


def _usage_line(exc: BaseException) -> str:
    """A click usage error as one line: ``dynaplan run: Option '--runs' requires an argument.``"""
    ctx = getattr(exc, "ctx", None)
    where = str(getattr(ctx, "command_path", "") or "dynaplan")
    format_message = getattr(exc, "format_message", None)
    message = format_message() if callable(format_message) else str(exc)
    return f"{where}: {' '.join(str(message).split())} (see {where} --help)"


def main(argv: list[str] | None = None) -> int:
    """Entry point: runs the app, turning bad input into one line and exit status 2."""
    from dynaplan.envs.layouts import LayoutError
    from dynaplan.experiments.interrupts import exit_status, signals_interrupt

    click_errors = _click_errors()
    received: list[int] = []
    try:
        # SIGTERM and SIGHUP end any command as Ctrl-C does (finished runs saved, lock released),
        # with their own exit status: 143, 129 (130 for Ctrl-C).
        with signals_interrupt() as received:
            rc = app(args=argv, standalone_mode=False, prog_name="dynaplan")
        if isinstance(rc, int) and rc != 0:  # typer turns any KeyboardInterrupt into Exit(130), returned here
            if rc == 130:
                note("interrupted")
                return exit_status(None, received)
            return rc
    except (UsageError, LayoutError, ValueError) as exc:
        err_console.print(Text.assemble(("error: ", "red"), " ".join(store_message(exc).split())), soft_wrap=True,
                          highlight=False)
        return 2
    except typer.Abort:
        note("aborted")
        return 130
    except KeyboardInterrupt as exc:
        note("interrupted")
        return exit_status(exc, received)
    except OSError as exc:  # a file or directory that cannot be read or written
        where = f"{exc.filename}: " if exc.filename else ""
        err_console.print(Text.assemble(("error: ", "red"), f"{where}{exc.strerror or exc}"), soft_wrap=True,
                          highlight=False)
        return 2
    except Exception as exc:
        if not isinstance(exc, click_errors):
            raise
        if type(exc).__name__ == "NoArgsIsHelpError":  # plain `dynaplan`: the help (already printed by typer)
            help_text = str(getattr(exc, "message", "") or "")
            if help_text.strip():
                sys.stdout.write(help_text if help_text.endswith("\n") else help_text + "\n")
            return 0
        err_console.print(Text.assemble(("error: ", "red"), _usage_line(exc)), soft_wrap=True, highlight=False)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
