"""Experiment specs: a sweep declared once, in TOML or as a ``Spec`` dataclass.

A spec says *what* to run; the runner (``experiments.runner``) decides where and in which
order. Example (``dynaplan reproduce --show dyna-maze`` prints the shipped one)::

    name = "dyna-maze"                 # the experiment's name (default output: results/NAME)
    title = "Figure 8.2 ..."           # optional, one line
    kind = "episodes"                  # a registered kind (experiments.kinds.register_kind)
    seeds = 30                         # runs per cell
    root_seed = 0                      # run i of every cell uses run_seeds(root_seed, seeds)[i]
    batch = 10                         # optional: seeds per task (default: automatic)
    columns = ["agent", "seed", ...]   # optional: the columns to keep in the result table
    module = "mypkg.kinds"             # optional: a module to import that registers `kind`

    [params]                           # fixed keys, in every cell
    env = "dynaplan/DynaMaze-v0"
    agent = "dyna-q"
    episodes = 50

    [grid]                             # lists, expanded as a cartesian product
    planning_steps = [0, 5, 50]

    [[cells]]                          # optional: explicit variants (each crossed with [grid])
    agent = "q-learning"
    [[cells]]
    agent = "dyna-q"

Cells are ``{**params, **cells[j], **grid_combination}`` for every ``cells`` entry ``j`` (one
empty entry when there is no ``[[cells]]``) and every combination of ``[grid]`` values, in
that order (the last grid key varies fastest). A key may be in only one of
``params``, ``grid`` and ``cells``. Every cell is run for every seed; a run is a pure function
of (cell, seed), so the tables do not depend on the backend, the number of workers or the
order of execution.

Rules for writers of kinds and reproductions:

* The kind owns the meaning of the cell's keys. Give ``register_kind(name, check=fn)`` a
  ``check(cell)`` that raises an error carrying the failing key (an exception with a ``key``
  attribute, such as the agents' parameter errors) for a bad or unknown key: ``load_spec`` turns
  it into ``FILE: grid.alpha: alpha must be ...``, naming where in the spec the key is set.
* A reproduction is a shipped spec ``experiments/specs/NAME.toml`` plus ``figure`` and
  ``summary`` functions (see ``experiments.reproductions``). Its *options* are simply the keys
  of its spec: ``dynaplan reproduce NAME --set key=value`` overrides any of them (a list value
  makes a key a grid axis, a scalar makes it fixed), ``--runs`` sets ``seeds``, ``--seed`` sets
  ``root_seed``, ``--episodes`` sets ``episodes``. Only keys the spec already has can be set,
  so a typo is an error, not a silently ignored option.

The package is split by job: ``model`` (the ``Spec`` dataclass, its identity and expansion),
``parse`` (TOML text to a ``Spec``), ``structure`` (its structure and types), ``validate`` (the kind's checks, errors
located in the spec), ``overrides`` (``--set key=value``), ``writer`` (a ``Spec`` back to TOML).

Validation: ``load_spec`` / ``parse_spec`` raise ``SpecError`` (a ``ValueError``) with one line
``FILE: KEY: problem`` for the first problem found (unknown key, wrong type, unknown kind,
agent or env, impossible value); the CLI prints it and exits with status 2.
"""
from dynaplan.experiments.spec.model import (
    INT64_MAX,
    INT64_MIN,
    SETTABLE_TOP,
    TOP_KEYS,
    Spec,
    SpecError,
    canonical_json,
    one_line,
)
from dynaplan.experiments.spec.overrides import apply_overrides, parse_set, parse_value
from dynaplan.experiments.spec.parse import load_spec, parse_spec, shipped_specs, specs_dir
from dynaplan.experiments.spec.structure import spec_from_dict
from dynaplan.experiments.spec.validate import MAX_CELLS, validate_spec
from dynaplan.experiments.spec.writer import dump_toml

__all__ = [
    "INT64_MAX",
    "INT64_MIN",
    "MAX_CELLS",
    "SETTABLE_TOP",
    "TOP_KEYS",
    "Spec",
    "SpecError",
    "apply_overrides",
    "canonical_json",
    "dump_toml",
    "load_spec",
    "one_line",
    "parse_set",
    "parse_spec",
    "parse_value",
    "shipped_specs",
    "spec_from_dict",
    "specs_dir",
    "validate_spec",
]
