"""Export student notebooks: solutions removed, outputs cleared.

    python tools/make_student.py [OUTDIR]        # default: student/

Cells tagged ``solution`` are dropped; a solution cell that carries a starter in its metadata
(``metadata.nnlib.student_stub``) is replaced by a code cell with that starter, so the student
gets the function skeleton and the ``check_…`` call. Outputs, execution counts and saved widget
state are cleared. Markdown `{solution}` blocks live in their own cells tagged ``solution`` (a test
enforces it), so no solution text survives.
"""
from __future__ import annotations

import sys
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell

ROOT = Path(__file__).resolve().parent.parent


def student_version(nb):
    """Return a copy of ``nb`` without solutions and outputs."""
    nb = nbformat.from_dict(nb)
    cells = []
    for cell in nb.cells:
        if "solution" in cell.metadata.get("tags", []):
            stub = cell.metadata.get("nnlib", {}).get("student_stub")
            if stub:
                cells.append(new_code_cell(stub, metadata={"tags": ["exercise-starter"]}))
            continue
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
        cells.append(cell)
    nb.cells = cells
    nb.metadata.pop("widgets", None)
    return nb


def main(argv: list[str]) -> int:
    out = Path(argv[0]) if argv else ROOT / "student"
    out.mkdir(parents=True, exist_ok=True)
    for path in sorted((ROOT / "chapters").glob("[0-9][0-9]_*.ipynb")):  # chapters, not the about page
        nbformat.write(student_version(nbformat.read(path, as_version=4)), out / path.name)
        print(f"{out / path.name}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
