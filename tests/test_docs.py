"""The documentation: the site builds in strict mode, and the README's commands and links are real.

* ``mkdocs build --strict`` (mkdocs.yml) fails on a broken link or anchor, a page missing from the
  nav or from the docs, and an API reference naming an object the code no longer has; the built
  site must hold the API reference rendered from the docstrings and the notebooks with their
  stored outputs.
* Every ``dynaplan ...`` line in a fenced ``bash`` block of README.md and of the site's pages names
  a real subcommand and only options that subcommand's ``--help`` lists (reproductions and agents
  named on the line must be shipped ones). Nothing is run.
* Every relative link or image of README.md points at a file or directory of the repository.
"""

from __future__ import annotations

import functools
import importlib
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import typer
from typer.testing import CliRunner

from dynaplan.agents import AGENTS
from dynaplan.cli import app
from dynaplan.experiments.reproductions import load_all

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
PAGES = sorted((ROOT / "docs").rglob("*.md"))
# the modules the API reference documents name by name (dynaplan.experiments has no __all__: its pages
# document its submodules)
PUBLIC = ["dynaplan", "dynaplan.extend", "dynaplan.agents", "dynaplan.envs", "dynaplan.models", "dynaplan.planning",
          "dynaplan.search"]


# -- the site ----------------------------------------------------------------------------------------
def test_site_builds_in_strict_mode(tmp_path: Path) -> None:
    site = tmp_path / "site"
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1", "PYTHONPATH": str(ROOT / "src")}
    done = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=600,
    )
    problems = [line for line in done.stderr.splitlines() if line.startswith(("WARNING", "ERROR"))]
    assert done.returncode == 0, "\n".join(problems) or done.stderr[-3000:]
    # the API reference is rendered from the docstrings, every public name of every public module ...
    api = (site / "api" / "dynaplan" / "index.html").read_text()
    assert 'id="dynaplan.DynaQ"' in api and "Sutton" in api
    ids = {i for page in (site / "api").rglob("index.html") for i in re.findall(r'id="([^"]+)"', page.read_text())}
    for module in PUBLIC:
        names = [n for n in importlib.import_module(module).__all__ if not n.startswith("_")]
        assert len(names) > 10
        missing = [n for n in names if f"{module}.{n}" not in ids and not any(i.endswith(f".{n}.{n}") for i in ids)]
        assert not missing, f"{module}: not in the API reference: {missing}"
    # ... and each notebook is a page with its stored outputs (figures are PNG data in the page)
    for notebook in sorted((ROOT / "examples").glob("*.ipynb")):
        html = (site / "examples" / notebook.stem / "index.html").read_text()
        assert "jp-OutputArea" in html, notebook.name
    assert "data:image/png;base64" in (site / "examples" / "dyna_maze" / "index.html").read_text()


# -- the commands in the README and the pages ----------------------------------------------------------
def bash_commands(text: str) -> list[str]:
    """The ``dynaplan ...`` command lines of the fenced bash blocks (continuations joined)."""
    commands = []
    for block in re.findall(r"^ *```bash\n(.*?)^ *```", text, flags=re.M | re.S):
        joined = re.sub(r"\\\n\s*", " ", block)
        for line in joined.splitlines():
            for part in re.split(r"&&|;|\|", line.split(" #", 1)[0]):
                part = part.strip()
                if part.startswith("dynaplan ") or part == "dynaplan":
                    commands.append(part.split(">", 1)[0].strip())
    return commands


@functools.cache
def help_text(*args: str) -> str:
    done = CliRunner().invoke(app, [*args, "--help"], env={"COLUMNS": "250", "NO_COLOR": "1"})
    assert done.exit_code == 0, done.output
    return done.output


def command_problems(line: str) -> list[str]:
    """What in ``line`` the CLI does not know (an empty list: every name is real)."""
    group = typer.main.get_command(app)  # the command tree --help is printed from
    words = shlex.split(line)[1:]
    if not words or words[0].startswith("-"):  # the top level: dynaplan --version
        known = {o for p in group.params for o in p.opts}
        return [f"{line}: unknown option {w}" for w in words if w.startswith("-") and w not in known]
    name, words = words[0], words[1:]
    if name not in group.commands:
        return [f"{line}: no subcommand {name!r}"]
    params = {o: p for p in group.commands[name].params for o in (*p.opts, *p.secondary_opts)}
    shown = help_text(name)
    problems, arguments, values = [], [], {}
    i = 0
    while i < len(words):
        word = words[i]
        if word.startswith("-"):
            option = word.split("=", 1)[0]
            param = params.get(option)
            if param is None or option not in shown:
                problems.append(f"{line}: {name} has no option {option}")
            elif "=" not in word and not getattr(param, "is_flag", False):
                values.setdefault(option, []).append(words[i + 1] if i + 1 < len(words) else "")
                i += 1
        else:
            arguments.append(word)
        i += 1
    if name == "reproduce" and arguments and arguments[0] not in load_all():
        problems.append(f"{line}: no reproduction {arguments[0]!r}")
    if "--module" not in values:
        problems += [f"{line}: no agent {a!r}" for a in values.get("--agent", [])
                     if a not in AGENTS]
    return problems


def test_the_command_check_can_fail() -> None:
    assert command_problems("dynaplan reproduce dyna-maze --runs 100 --out results/dm") == []
    assert command_problems("dynaplan --version") == []
    assert command_problems("dynaplan reproduce dyna-maze --no-such-option 3")
    assert command_problems("dynaplan reproduce no-such-reproduction")
    assert command_problems("dynaplan no-such-command")
    assert command_problems("dynaplan run --env Taxi-v4 --agent no-such-agent --out x")


def test_readme_and_pages_name_real_commands_and_options() -> None:
    readme = bash_commands(README.read_text())
    assert len(readme) >= 5  # the README shows the commands a newcomer runs first
    problems = []
    for path in [README, *PAGES]:
        for line in bash_commands(path.read_text()):
            problems += [f"{path.relative_to(ROOT)}: {p}" for p in command_problems(line)]
    assert not problems, "\n".join(problems)


# -- the README's links --------------------------------------------------------------------------------
def test_readme_relative_links_exist() -> None:
    text = README.read_text()
    targets = re.findall(r"\]\(([^)\s]+)\)", text)
    relative = [t.split("#", 1)[0] for t in targets if not re.match(r"[a-z]+:", t) and not t.startswith("#")]
    assert any(t.endswith(".png") for t in relative) and any(t.startswith("docs/") for t in relative)
    missing = [t for t in relative if not (ROOT / t).exists()]
    assert not missing, f"README.md links to missing files: {missing}"
