"""Export student notebooks: the student flavour of tools/make_launch.py in a folder of your choice.

    python tools/make_student.py [OUTDIR]        # default: student/

Same conversion as ``launch/student/`` (which the book's launch buttons open): solutions removed, a
solution code cell replaced by its starter (``metadata.nnlib.student_stub``, tagged
``exercise-starter``), outputs and widget state cleared, and the MyST directives turned into plain
Markdown that JupyterLab and Colab render (numbered theorems and exercises, resolved references).
"""
from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent


def _make_launch():
    spec = importlib.util.spec_from_file_location("make_launch", ROOT / "tools" / "make_launch.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("make_launch", module)
    spec.loader.exec_module(module)
    return module


def student_version(nb, path: Path, book=None):
    """Return the student version of chapter ``path`` (its notebook ``nb``)."""
    make_launch = _make_launch()
    return make_launch.convert_notebook(nb, Path(path), book or make_launch.load_book(ROOT), "student")


def main(argv: list[str]) -> int:
    make_launch = _make_launch()
    out = Path(argv[0]) if argv else ROOT / "student"
    out.mkdir(parents=True, exist_ok=True)
    book = make_launch.load_book(ROOT)
    for _, path in book.chapters:
        nbformat.write(student_version(nbformat.read(path, as_version=4), path, book), out / path.name)
        print(f"{out / path.name}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
