"""The Boyan chain (Boyan 2002; Sutton, Szepesvari, Geramifard & Bowling 2008, section 5):
RMS error of the value estimate against the true values, episode by episode, for TD(0),
linear Dyna, linear prioritized sweeping and LSTD.

Kind ``boyan-chain``: one agent of the linear family (``AGENTS``) (``agent`` and its
parameters, label ``method``) evaluating the chain's one policy through its 4 features for
``episodes`` episodes. After every episode the estimate ``phi(s)^T theta`` (LSTD: ``theta =
A^-1 b``) is compared with the true values ``V(s) = -2 s`` computed from the chain's exact model
(``envs.continuous.boyan_true_values``): one row per (seed, episode) with ``rms``, the root mean
squared error over the 12 non-terminal states (uniform weights).

Spec ``boyan-chain``: 100 runs x 100 episodes, gamma = 1, theta starts at 0; TD(0) alpha = 0.1;
linear Dyna: least-squares model (ridge 1e-3), 10 planning updates per real step from unit
vectors of the features (``sources = "basis"``), alpha = 0.1; linear PS (policy evaluation):
the same model, 10 queued backups per real step, alpha = 0.1; LSTD ridge 1e-3. Step sizes are
our choice (the paper tuned its own; they are not in the text we followed).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from dynaplan.agents.base import ParamError
from dynaplan.experiments.kinds import checked_of, register_kind
from dynaplan.experiments.reproductions import register_reproduction, spec_reproduction
from dynaplan.plot.curves import mean_sem
from dynaplan.stats import mean_interval

RUN_KEYS = {"method", "agent", "episodes"}


def _split(cell: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    return {k: v for k, v in cell.items() if k in RUN_KEYS}, {k: v for k, v in cell.items() if k not in RUN_KEYS}


def check_cell(cell: Mapping[str, Any]) -> dict[str, Any]:
    """Validate a ``boyan-chain`` cell (``ParamError`` naming the key); returns the agent's
    checked parameters (carried to the workers with the cell)."""
    from dynaplan.agents import AGENTS
    from dynaplan.core.agent import family_agents

    run, params = _split(cell)
    linear = family_agents("linear")
    if run.get("agent") not in linear:
        raise ParamError("agent",
                         f"agent: unknown linear agent {run.get('agent')!r} (one of {', '.join(linear)})")
    v = run.get("episodes")
    if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
        raise ParamError("episodes", f"episodes must be an integer >= 1, got {v!r}")
    return AGENTS[run["agent"]].check_params(params)


def _theta(state: Any) -> np.ndarray:
    if hasattr(state, "a_mat"):
        return np.asarray(np.linalg.solve(state.a_mat, state.b))
    return np.asarray(state.theta)


@register_kind("boyan-chain", check=check_cell)
def run_kind(cell: Mapping[str, Any], seeds: Sequence[int]) -> pd.DataFrame:
    """Value error on the Boyan chain after each episode: one row per (seed, episode)."""
    from dynaplan.agents import AGENTS
    from dynaplan.core.linear_loop import run_linear_loop
    from dynaplan.envs.continuous import BOYAN_FEATURES, boyan_true_values
    from dynaplan.experiments.batch import problem_of
    from dynaplan.features import TableFeatures
    from dynaplan.rng import agent_stream, env_stream

    checked = checked_of(cell) or check_cell(cell)
    run, _ = _split(cell)
    cls = AGENTS[run["agent"]]
    feats = TableFeatures(BOYAN_FEATURES)
    problem = problem_of("dynaplan/BoyanChain-v0", feats)
    v_true = boyan_true_values()[1:]
    phi = BOYAN_FEATURES[1:]
    episodes = int(run["episodes"])
    frames = []
    for seed in seeds:
        state = cls.build_state(4, 4, 1, checked)
        arng, erng = agent_stream(int(seed)), env_stream(int(seed))
        frec = feats.record()
        bufs = (np.zeros(1), np.zeros(1), np.zeros(4, dtype=np.int64), np.zeros(4), np.zeros(4, dtype=np.int64),
                np.zeros(4))
        rms = np.zeros(episodes)
        steps = np.zeros(episodes, dtype=np.int64)
        one_steps, one_ret = np.zeros(1, dtype=np.int64), np.zeros(1)
        for e in range(episodes):
            # one episode per call: the random streams carry over, so this is one run
            run_linear_loop(problem.world, frec, state, arng, erng, 1, 0, 0, one_steps, one_ret, *bufs)
            steps[e] = one_steps[0]
            rms[e] = float(np.sqrt(np.mean((phi @ _theta(state) - v_true) ** 2)))
        frames.append(pd.DataFrame({
            "method": str(run.get("method", run["agent"])), "seed": np.full(episodes, int(seed), dtype=np.int64),
            "episode": np.arange(1, episodes + 1), "steps": steps, "rms": rms,
        }))
    return pd.concat(frames, ignore_index=True)


def curves(table: pd.DataFrame) -> pd.DataFrame:
    """Mean RMS error, its standard error over runs and the run count per (method, episode)."""
    return mean_sem(table, ["method", "episode"], "rms")


def summary(table: pd.DataFrame) -> pd.DataFrame:
    """Per method: runs and mean RMS error (95% interval over runs) after episodes 1, 10, 100 (or the last)."""
    last = int(table["episode"].max())
    marks = sorted({1, min(10, last), last})
    rows = []
    for method, t in table.groupby("method", sort=False):
        row: dict[str, Any] = {"method": method, "runs": int(t["seed"].nunique())}
        for e in marks:
            mean, half, _ = mean_interval(t.loc[t.episode == e, "rms"])
            row[f"rms_after_{e}"] = f"{mean:.3f} ± {half:.3f}"
        rows.append(row)
    return pd.DataFrame(rows)


def figure(table: pd.DataFrame, path: Path) -> Path:
    """RMS error of the value estimate over episodes (log scale), 95% bands over runs."""
    from dynaplan.plot.curves import line_with_band

    c = curves(table)
    runs = int(table.groupby("method")["seed"].nunique().min())
    return line_with_band(
        {str(m): f for m, f in c.groupby("method", sort=False)}, x="episode", path=path, xlabel="Episode",
        ylabel=f"RMS error of V (mean of {runs} runs)", title="Boyan chain (Sutton et al. 2008)", logy=True,
    )


REPRODUCTION = register_reproduction(spec_reproduction("boyan-chain", figure, summary))
run = REPRODUCTION.run
