"""The explorer: watch planning happen, in a notebook (``dynaplan.Explorer``) or a local page (``dynaplan explore``).

``session`` holds the maze, the agents (read through their views) and the message protocol;
``widget`` the anywidget widget (needs the ``explore`` extra);
``server`` the standalone page. ``Explorer`` is imported on first use, so this package and
``import dynaplan`` work without anywidget.
"""

from __future__ import annotations

from typing import Any


def __getattr__(name: str) -> Any:
    if name == "Explorer":
        from dynaplan.explore.widget import Explorer

        return Explorer
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
