"""Maze layouts: every bad input is one LayoutError line naming source, line and column."""

import string

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dynaplan.envs import GridMaze, LayoutError, load_layout, parse_layout


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "<string>: empty maze layout"),
        ("\n  \n", "<string>: empty maze layout"),
        ("S..\n..\n..G\n", "<string>:2: row has 2 cells, expected 3 like line 1"),
        ("S.x\n..G\n", "<string>:1:3: unknown character 'x'"),
        ("...\n..G\n", "<string>: no start 'S' in the maze"),
        ("S..\n...\n", "<string>: no goal 'G' in the maze"),
        ("S.S\n..G\n", "<string>:1:3: second start 'S' (the first is at line 1, column 1)"),
        ("S#.\n##G\n", "<string>:1:1: no goal can be reached from the start"),
        ("S..\n\n..G\n", "<string>:2: empty row inside the maze"),
    ],
)
def test_bad_layouts_name_the_place(text, message):
    with pytest.raises(LayoutError) as info:
        parse_layout(text)
    assert str(info.value).startswith(message)
    assert "\n" not in str(info.value)


def test_file_errors_name_the_file_and_line(tmp_path):
    path = tmp_path / "bad.txt"
    path.write_text("\n\nS..\n.?G\n")
    with pytest.raises(LayoutError, match=rf"^{path}:4:2: unknown character '\?'"):
        load_layout(path)
    with pytest.raises(LayoutError, match="no such maze file"):
        load_layout(tmp_path / "missing.txt")


def test_good_layout_from_file(tmp_path):
    path = tmp_path / "maze.txt"
    path.write_text("S.#\n..G\n")
    env = GridMaze(str(path))
    assert env.layout.source == str(path)
    assert env.observation_space.n == 6
    assert env.layout.goals == ((1, 2),)


def test_several_goals_are_allowed():
    layout = parse_layout("G.S.G\n")
    assert layout.goals == ((0, 0), (0, 4))


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("#SG.\n x") + list(string.ascii_letters[:3])), max_size=60))
def test_any_text_parses_or_gives_one_line(text):
    try:
        layout = parse_layout(text)
    except LayoutError as exc:
        msg = str(exc)
        assert msg.startswith("<string>") and "\n" not in msg
    else:
        assert layout.rows and sum(r.count("S") for r in layout.rows) == 1
        assert len({len(r) for r in layout.rows}) == 1
