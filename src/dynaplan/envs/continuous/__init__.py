"""Continuous worlds stepped in compiled kernels (Mountain Car, CartPole, Acrobot: bit-identical
to Gymnasium's) and the Boyan chain; the world protocol of the linear loop."""

from dynaplan.core.worlds import buffer_sizes, register_world, reset_once, step_once, world_reset, world_step
from dynaplan.envs.continuous.acrobot import AcrobotWorld
from dynaplan.envs.continuous.boyan import (
    BOYAN_FEATURES,
    BOYAN_THETA,
    BoyanChain,
    boyan_features,
    boyan_model,
    boyan_true_values,
)
from dynaplan.envs.continuous.cartpole import CartPoleWorld
from dynaplan.envs.continuous.mountain_car import MountainCarWorld

#: Gymnasium ids whose dynamics dynaplan steps in compiled code, and their world records.
CONTINUOUS_WORLDS = {
    "MountainCar-v0": MountainCarWorld,
    "CartPole-v1": CartPoleWorld,
    "Acrobot-v1": AcrobotWorld,
}

__all__ = [
    "BOYAN_FEATURES",
    "BOYAN_THETA",
    "CONTINUOUS_WORLDS",
    "AcrobotWorld",
    "BoyanChain",
    "CartPoleWorld",
    "MountainCarWorld",
    "boyan_features",
    "boyan_model",
    "boyan_true_values",
    "buffer_sizes",
    "register_world",
    "reset_once",
    "step_once",
    "world_reset",
    "world_step",
]
