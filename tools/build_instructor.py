"""Build the instructor edition: the same book with every solution shown open.

    python tools/build_instructor.py [OUTDIR]    # default: _build/instructor

The public book folds solutions into dropdowns (`:class: dropdown`). This script copies the book
sources to a temporary folder, removes that option from every `{solution}` / `{solution-start}`
directive, and builds with the same -W -n settings into OUTDIR/html.
"""
from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
SOURCES = ["_config.yml", "_toc.yml", "intro.md", "api.md", "references.bib", "CHANGELOG.md", "CITATION.cff",
           "chapters", "nnlib", "pyproject.toml", "_ext", "_static",
           "tests", "benchmarks"]   # the {test} and {repo} roles check that what they link exists
DROPDOWN = re.compile(r"(```\{solution(?:-start)?\}[^\n]*\n)((?::[a-z-]+:[^\n]*\n)*?):class: dropdown\n")


def open_solutions(text: str) -> str:
    """Remove `:class: dropdown` from solution directives in MyST text."""
    return DROPDOWN.sub(r"\1\2", text)


def prepare(dst: Path) -> None:
    for name in SOURCES:
        src = ROOT / name
        if src.is_dir():
            shutil.copytree(src, dst / name, ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"))
        elif src.exists():
            shutil.copy2(src, dst / name)
    for path in (dst / "chapters").glob("*.ipynb"):
        nb = nbformat.read(path, as_version=4)
        for cell in nb.cells:
            if cell.cell_type == "markdown":
                cell.source = open_solutions(cell.source)
        nbformat.write(nb, path)
    config = dst / "_config.yml"
    config.write_text(config.read_text().replace('title: "', 'title: "Instructor edition — ', 1))


def main(argv: list[str]) -> int:
    out = Path(argv[0]).resolve() if argv else ROOT / "_build" / "instructor"
    with tempfile.TemporaryDirectory() as tmp:
        prepare(Path(tmp))
        jb = Path(sys.executable).parent / "jupyter-book"
        proc = subprocess.run([str(jb), "build", tmp, "--all", "-W", "-n", "--keep-going", "--path-output", str(out)])
    if proc.returncode == 0:
        print(f"Instructor edition: open file://{out / '_build' / 'html' / 'index.html'}")
    return proc.returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
