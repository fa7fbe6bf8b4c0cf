"""Importing a user's modules (``--module mine``, a spec's ``module = "mine"``), from the current
directory too, the way ``python -m`` finds them: the CLI, spec validation and every worker
(forked, spawned, Ray, SLURM) import them through :func:`import_modules`."""

from __future__ import annotations

import importlib
import os
import sys

__all__ = ["import_modules"]


def import_modules(module: str) -> None:
    """Import every module named in ``module`` (comma-separated) not yet imported; a module not
    found on ``sys.path`` is looked for in the current directory. ImportError otherwise."""
    for name in (m.strip() for m in module.split(",")):
        if not name or name in sys.modules:
            continue
        try:
            importlib.import_module(name)
        except ModuleNotFoundError as exc:
            cwd = os.getcwd()
            if exc.name != name.split(".")[0] or cwd in sys.path:
                raise
            sys.path.insert(0, cwd)
            importlib.import_module(name)
