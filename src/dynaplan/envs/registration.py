"""Registration of dynaplan's envs with Gymnasium (done on ``import dynaplan``)."""

from __future__ import annotations

import gymnasium as gym

#: id -> (entry point, kwargs). Every id here is covered by the env contract test.
ENVS: dict[str, tuple[str, dict[str, object]]] = {
    "dynaplan/DynaMaze-v0": ("dynaplan.envs.grid_maze:GridMaze", {}),
    "dynaplan/GridMaze-v0": ("dynaplan.envs.grid_maze:GridMaze", {}),
    "dynaplan/BlockingMaze-v0": ("dynaplan.envs.changing_maze:BlockingMaze", {}),
    "dynaplan/ShortcutMaze-v0": ("dynaplan.envs.changing_maze:ShortcutMaze", {}),
    "dynaplan/ChangingMaze-v0": ("dynaplan.envs.changing_maze:ChangingMaze", {}),
    "dynaplan/ScaledDynaMaze-v0": ("dynaplan.envs.scaled_maze:ScaledMaze", {"scale": 2}),
    "dynaplan/SlipperyDynaMaze-v0": ("dynaplan.envs.scaled_maze:ScaledMaze", {"slip": 0.2}),
    "dynaplan/RandomMDP-v0": ("dynaplan.envs.random_mdp:RandomMDP", {}),
    "dynaplan/Racetrack-v0": ("dynaplan.envs.racetrack:Racetrack", {}),
    "dynaplan/BoyanChain-v0": ("dynaplan.envs.continuous.boyan:BoyanChain", {}),
    # stepped in JAX (the 'deep' extra); the entry point is imported only by gym.make
    "dynaplan/CartpoleSwingup-v0": ("dynaplan.neural.worlds.gym_env:make_cartpole_swingup", {}),
}

#: Episode limits (Gymnasium's TimeLimit) of the ids that have one.
MAX_EPISODE_STEPS: dict[str, int] = {"dynaplan/CartpoleSwingup-v0": 200}


def register_envs() -> None:
    """Register every dynaplan env id (idempotent)."""
    for env_id, (entry_point, kwargs) in ENVS.items():
        if env_id not in gym.registry:
            gym.register(id=env_id, entry_point=entry_point, kwargs=dict(kwargs),
                         max_episode_steps=MAX_EPISODE_STEPS.get(env_id))
