"""Build hooks of the documentation site (mkdocs.yml: ``hooks``).

* The example notebooks stay in ``examples/`` (where the suite executes them) and are added to the
  site from there, rendered with their stored outputs by mkdocs-jupyter (nothing is executed at
  build time).
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
ROLE = re.compile(r":(?:func|class|meth|mod|attr|data|exc|obj|const):(?=<code>)")


@event_priority(100)  # before mkdocs-jupyter's on_files, which turns .ipynb files into pages
def on_files(files: Files, config: Any) -> Files:
    for path in sorted((ROOT / EXAMPLES).glob("*.ipynb")):
        files.append(File(f"{EXAMPLES}/{path.name}", str(ROOT), config["site_dir"], config["use_directory_urls"]))
    return files


def on_page_content(html: str, page: Any, config: Any, files: Files) -> str:
    return ROLE.sub("", html)
