"""Maze layouts as data: parsing, validation and the book's mazes.

A layout is text, one row per line: ``#`` wall, ``S`` start (exactly one), ``G`` goal (one or
more), ``.`` free. Leading and trailing blank lines and trailing spaces are ignored. Bad input
raises :class:`LayoutError` with one line naming the source, line and column.
"""

from __future__ import annotations

import os
from collections import deque
from dataclasses import dataclass
from pathlib import Path

import numpy as np

WALL, START, GOAL, FREE = "#", "S", "G", "."
_CHARS = {WALL, START, GOAL, FREE}

#: Example 8.1 (Figure 8.2): 6 x 9, shortest path 14 steps.
DYNA_MAZE = """
.......#G
..#....#.
S.#....#.
..#......
.....#...
.........
"""


class LayoutError(ValueError):
    """A maze layout that cannot be used; the message is one line: ``where: what``."""


MAX_CELLS = 1_000_000
"""The most cells a layout may have (1,000 x 1,000), checked before it is parsed: an agent's
tables are [cells, 4] and a maze of 25 million cells took minutes to parse."""

VIEW_SIDE = 50
"""The longest side of a maze drawn cell by cell (``dynaplan show``'s pictures, the explorer)."""


@dataclass(frozen=True)
class MazeLayout:
    """A parsed, validated maze.

    Attributes:
      rows: the layout's lines, all of the same width
      walls: bool[n_rows, n_cols]
      start: (row, col) of ``S``
      goals: (row, col) of every ``G``
      source: where it came from (a file path or ``"<string>"``)
    """

    rows: tuple[str, ...]
    walls: np.ndarray
    start: tuple[int, int]
    goals: tuple[tuple[int, int], ...]
    source: str = "<string>"

    @property
    def shape(self) -> tuple[int, int]:
        return len(self.rows), len(self.rows[0])

    @property
    def n_open(self) -> int:
        """Number of cells that are not walls."""
        return int((~self.walls).sum())

    def text(self) -> str:
        return "\n".join(self.rows) + "\n"


def _looks_like_path(value: str) -> bool:
    return "\n" not in value and (
        os.sep in value or value.endswith((".txt", ".maze")) or os.path.exists(value)
    )


def load_layout(layout: str | os.PathLike[str] | MazeLayout) -> MazeLayout:
    """A layout from text, a file path or an existing ``MazeLayout``.

    A ``str`` with a newline is layout text; a ``Path``, or a ``str`` naming a file (a path
    separator, a ``.txt``/``.maze`` ending, or an existing file), is read from disk.
    """
    if isinstance(layout, MazeLayout):
        return layout
    if isinstance(layout, os.PathLike) or _looks_like_path(str(layout)):
        path = Path(layout)
        try:
            if path.is_file() and path.stat().st_size > _MAX_BYTES:
                raise LayoutError(f"{path}: {path.stat().st_size:,} bytes; a maze has at most {MAX_CELLS:,} cells")
            text = path.read_text()
        except FileNotFoundError:
            raise LayoutError(f"{path}: no such maze file") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise LayoutError(f"{path}: cannot read maze file ({exc.__class__.__name__})") from None
        return parse_layout(text, source=str(path))
    return parse_layout(str(layout))


_MAX_BYTES = 4 * MAX_CELLS + 65536  # trailing spaces and line ends aside, a cell is one byte
_CODES = np.zeros(256, dtype=np.int8)  # 0: unknown character
for _code, _ch in enumerate((WALL, START, GOAL, FREE), 1):
    _CODES[ord(_ch)] = _code


def parse_layout(text: str, source: str = "<string>") -> MazeLayout:
    """Parse and validate layout text; raises ``LayoutError`` naming line and column.

    At most ``MAX_CELLS`` cells, checked before anything else; the characters are checked in
    one array operation and reachability by labelling connected open cells, so a maze of a
    million cells parses in well under a second."""
    if len(text) > _MAX_BYTES:
        raise LayoutError(f"{source}: {len(text):,} characters; a maze has at most {MAX_CELLS:,} cells")
    lines = [line.rstrip() for line in text.splitlines()]
    first = 0
    while first < len(lines) and not lines[first]:
        first += 1
    last = len(lines)
    while last > first and not lines[last - 1]:
        last -= 1
    if first == last:
        raise LayoutError(f"{source}: empty maze layout")
    rows = lines[first:last]
    width = len(rows[0])
    if len(rows) * width > MAX_CELLS:
        raise LayoutError(f"{source}: {len(rows)} x {width} cells; a maze has at most {MAX_CELLS:,} cells")
    for r, row in enumerate(rows):
        if not row:
            raise LayoutError(f"{source}:{first + r + 1}: empty row inside the maze")
        if len(row) != width:
            raise LayoutError(
                f"{source}:{first + r + 1}: row has {len(row)} cells, expected {width} like line {first + 1}"
            )
    joined = "".join(rows)
    data = np.frombuffer(joined.encode("utf-32-le"), dtype=np.uint32)
    codes = np.where(data < 256, _CODES[np.minimum(data, 255)], 0).reshape(len(rows), width)
    bad = np.flatnonzero(codes.ravel() == 0)
    if len(bad):
        r, c = divmod(int(bad[0]), width)
        raise LayoutError(
            f"{source}:{first + r + 1}:{c + 1}: unknown character {rows[r][c]!r} (use # wall, S start, G goal, . free)"
        )
    starts = np.argwhere(codes == 2)
    if len(starts) == 0:
        raise LayoutError(f"{source}: no start 'S' in the maze")
    if len(starts) > 1:
        (r0, c0), (r1, c1) = starts[:2]
        raise LayoutError(f"{source}:{first + r1 + 1}:{c1 + 1}: second start 'S' "
                          f"(the first is at line {first + r0 + 1}, column {c0 + 1})")
    start = (int(starts[0][0]), int(starts[0][1]))
    goals = [(int(r), int(c)) for r, c in np.argwhere(codes == 3)]
    if not goals:
        raise LayoutError(f"{source}: no goal 'G' in the maze")
    walls = codes == 1
    if not goal_reachable(walls, start, goals):
        raise LayoutError(
            f"{source}:{first + start[0] + 1}:{start[1] + 1}: no goal can be reached from the start"
        )
    return MazeLayout(tuple(rows), walls, start, tuple(goals), source)


def goal_reachable(walls: np.ndarray, start: tuple[int, int], goals: list[tuple[int, int]]) -> bool:
    """Whether a goal can be reached from ``start`` (connected open cells, 4 moves)."""
    from scipy import ndimage

    labels, _ = ndimage.label(~walls)
    here = labels[start]
    return any(labels[g] == here for g in goals)


MOVES = ((-1, 0), (1, 0), (0, -1), (0, 1))
"""Row and column change of each action: up, down, left, right."""


def shortest_path_length(
    walls: np.ndarray, start: tuple[int, int], goals: list[tuple[int, int]] | tuple[tuple[int, int], ...]
) -> int | None:
    """Fewest moves from ``start`` to any goal (breadth-first search), or None if unreachable."""
    n_rows, n_cols = walls.shape
    goal_set = set(goals)
    seen = {start}
    frontier = deque([(start, 0)])
    while frontier:
        (r, c), d = frontier.popleft()
        if (r, c) in goal_set:
            return d
        for dr, dc in MOVES:
            nr, nc = r + dr, c + dc
            if 0 <= nr < n_rows and 0 <= nc < n_cols and not walls[nr, nc] and (nr, nc) not in seen:
                seen.add((nr, nc))
                frontier.append(((nr, nc), d + 1))
    return None
