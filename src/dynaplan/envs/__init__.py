"""Worlds with exact models: mazes (and more), Gymnasium-registered on ``import dynaplan``."""

from dynaplan.envs.changing_maze import BlockingMaze, ChangingMaze, ShortcutMaze, changing_world
from dynaplan.envs.grid_maze import ACTION_NAMES, GridMaze, maze_model
from dynaplan.envs.layouts import DYNA_MAZE, LayoutError, MazeLayout, load_layout, parse_layout, shortest_path_length
from dynaplan.envs.registration import ENVS, register_envs
from dynaplan.envs.scaled_maze import BOOK_SCALES, ScaledMaze, scale_layout, slippery_maze_model
from dynaplan.envs.tabular import (
    TabularModel,
    World,
    from_P,
    make_world,
    model_of,
    to_P,
    world_of,
    world_reset,
    world_step,
)

__all__ = [
    "ACTION_NAMES",
    "BOOK_SCALES",
    "DYNA_MAZE",
    "ENVS",
    "BlockingMaze",
    "ChangingMaze",
    "GridMaze",
    "LayoutError",
    "MazeLayout",
    "ScaledMaze",
    "ShortcutMaze",
    "TabularModel",
    "World",
    "changing_world",
    "from_P",
    "load_layout",
    "make_world",
    "maze_model",
    "model_of",
    "parse_layout",
    "register_envs",
    "scale_layout",
    "shortest_path_length",
    "slippery_maze_model",
    "to_P",
    "world_of",
    "world_reset",
    "world_step",
]
