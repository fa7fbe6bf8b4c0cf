"""Worlds stepped in JAX: Pendulum-v1 and MountainCarContinuous-v0 equal to Gymnasium's, and a
continuous cart-pole swing-up (registered as ``dynaplan/CartpoleSwingup-v0``)."""

from dynaplan.neural.worlds.base import JaxWorld, true_model_step, world_step
from dynaplan.neural.worlds.cartpole_swingup import CARTPOLE_SWINGUP
from dynaplan.neural.worlds.gym_env import JaxWorldEnv, env_key
from dynaplan.neural.worlds.mountain_car import MOUNTAIN_CAR
from dynaplan.neural.worlds.pendulum import PENDULUM

#: Gymnasium id -> the world that steps it in JAX.
WORLDS: dict[str, JaxWorld] = {w.env_id: w for w in (PENDULUM, MOUNTAIN_CAR, CARTPOLE_SWINGUP)}

__all__ = [
    "CARTPOLE_SWINGUP",
    "MOUNTAIN_CAR",
    "PENDULUM",
    "WORLDS",
    "JaxWorld",
    "JaxWorldEnv",
    "env_key",
    "true_model_step",
    "world_step",
]
