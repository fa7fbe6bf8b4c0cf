r"""Build hooks of the documentation site (mkdocs.yml: ``hooks``).

* The example notebooks stay in ``examples/`` (where the suite executes them) and are added to the
  site from there, rendered with their stored outputs by mkdocs-jupyter (nothing is executed at
  build time).
* Table cells write a pipe inside code as ``\|`` (GitHub's Markdown splits cells on any other pipe);
  Python-Markdown never splits inside code and would show the backslash, so it is dropped there.
* Docstrings cite other objects with Sphinx roles (``:func:`name```); Markdown has no roles, so the
  role prefix is dropped from the rendered page and the name stays as code.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from mkdocs.plugins import event_priority
from mkdocs.structure.files import File, Files

ROOT = Path(__file__).resolve().parent
EXAMPLES = "examples"
CODE_SPAN = re.compile(r"`[^`\n]*`")
ROLE = re.compile(r":(?:func|class|meth|mod|attr|data|exc|obj|const):(?=<code>)")


@event_priority(100)  # before mkdocs-jupyter's on_files, which turns .ipynb files into pages
def on_files(files: Files, config: Any) -> Files:
    for path in sorted((ROOT / EXAMPLES).glob("*.ipynb")):
        files.append(File(f"{EXAMPLES}/{path.name}", str(ROOT), config["site_dir"], config["use_directory_urls"]))
    return files


def on_page_markdown(markdown: str, page: Any, config: Any, files: Files) -> str:
    return "\n".join(
        CODE_SPAN.sub(lambda m: m.group(0).replace("\\|", "|"), line) if line.startswith("|") else line
        for line in markdown.split("\n")
    )


def on_page_content(html: str, page: Any, config: Any, files: Files) -> str:
    return ROLE.sub("", html)
