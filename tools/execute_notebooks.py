"""Re-execute chapters in fresh kernels and store their outputs and widget state in place.

    python tools/execute_notebooks.py                  # every chapter
    python tools/execute_notebooks.py chapters/01_*.ipynb

Each notebook runs in its own new kernel with cwd = chapters/ (as nbval and Binder do), then is
written back with outputs, execution counts and `metadata.widgets`. Prints the wall time per
chapter; a chapter must stay under 60 s on two cores. Run it twice: text outputs must not change.
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parent.parent
BUDGET_SECONDS = 60


def execute(path: Path) -> float:
    nb = nbformat.read(path, as_version=4)
    start = time.perf_counter()
    NotebookClient(nb, timeout=300, kernel_name="python3", store_widget_state=True, record_timing=False,
                   resources={"metadata": {"path": str(path.parent)}}).execute()
    elapsed = time.perf_counter() - start
    # Kernel metadata of whoever ran it last is noise in diffs.
    nb.metadata.pop("vscode", None)
    nb.metadata["kernelspec"] = {"display_name": "Python 3", "language": "python", "name": "python3"}
    nbformat.write(nb, path)
    return elapsed


def main(argv: list[str]) -> int:
    paths = [Path(p).resolve() for p in argv] or sorted((ROOT / "chapters").glob("*.ipynb"))
    slow = []
    for path in paths:
        elapsed = execute(path)
        print(f"{path.relative_to(ROOT)}: {elapsed:.1f} s")
        if elapsed > BUDGET_SECONDS:
            slow.append(path.name)
    if slow:
        print(f"over the {BUDGET_SECONDS} s budget: {', '.join(slow)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
