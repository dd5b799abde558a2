"""Every launch notebook runs top to bottom in a fresh kernel whose environment has only the `book` extra
(requirements-book.txt: what a reader installs, and what Binder/Colab give after the set-up cell).

The environment is a venv in _build/book-venv, built once from requirements-book.txt (pip's cache makes
it quick after the first time) and rebuilt when requirements-book.txt or pyproject.toml change. Set
NNLIB_BOOK_VENV to use another one.
"""
import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LAUNCH = sorted((ROOT / "launch").glob("*/[0-9][0-9]_*.ipynb"))
VENV = Path(os.environ.get("NNLIB_BOOK_VENV") or ROOT / "_build" / "book-venv")

RUNNER = r"""
import json, sys, nbformat
from nbclient import NotebookClient
path, cwd = sys.argv[1], sys.argv[2]
nb = nbformat.read(path, as_version=4)
NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": cwd}}).execute()
report = []
for i, c in enumerate(nb.cells):
    if c.cell_type == "code":
        errors = [o.ename + ": " + o.evalue.splitlines()[0] for o in c.outputs if o.output_type == "error"]
        text = "".join(o.get("text", "") for o in c.outputs if o.output_type == "stream")
        report.append({"index": i, "tags": c.metadata.get("tags", []), "errors": errors, "text": text,
                       "count": c.execution_count})
print(json.dumps(report))
"""

PROBE = ("import sys, importlib.util as u, torch, nnlib; "
         "print(sys.prefix, torch.__version__, nnlib.__version__, "
         "[m for m in ('sphinx', 'pytest', 'jupyter_book', 'playwright', 'dask') if u.find_spec(m)])")


def _stamp() -> str:
    data = (ROOT / "requirements-book.txt").read_bytes() + (ROOT / "pyproject.toml").read_bytes()
    return hashlib.sha256(data).hexdigest()


@pytest.fixture(scope="module")
def book_python():
    python = VENV / "bin" / "python"
    stamp = VENV / ".book-stamp"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True, timeout=300)
    if not stamp.exists() or stamp.read_text() != _stamp():
        proc = subprocess.run([str(python), "-m", "pip", "install", "--quiet", "--retries", "1",
                               "-r", "requirements-book.txt"], cwd=ROOT, capture_output=True, text=True, timeout=3600)
        assert proc.returncode == 0, proc.stderr[-3000:]
        stamp.write_text(_stamp())
    probe = subprocess.run([str(python), "-c", PROBE], capture_output=True, text=True, timeout=300)
    assert probe.returncode == 0, probe.stderr[-2000:]
    prefix, torch, _, dev_only = probe.stdout.split(" ", 3)
    assert Path(prefix).resolve() == VENV.resolve()
    if sys.platform.startswith("linux"):
        assert torch.endswith("+cpu"), torch
    assert dev_only.strip() == "[]", f"the book environment holds maintainers' packages: {dev_only}"
    return python


@pytest.mark.slow
@pytest.mark.parametrize("path", LAUNCH, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_launch_notebook_runs_in_the_book_environment(book_python, path, tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("MPLBACKEND", "PYTHONPATH", "VIRTUAL_ENV")}
    env["PATH"] = f"{book_python.parent}:{env.get('PATH', '')}"
    proc = subprocess.run([str(book_python), "-c", RUNNER, str(path), str(tmp_path)], env=env,
                          capture_output=True, text=True, timeout=1200)
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-4000:]
    cells = json.loads(proc.stdout.strip().splitlines()[-1])
    assert all(c["count"] is not None for c in cells), "every code cell ran"
    for c in cells:
        if "exercise-starter" in c["tags"]:
            # the untouched starter ends in `...`: its self-check says so (and nbclient carries on: the
            # cell is tagged raises-exception); test_launch_jupyterlab types the solution in
            assert len(c["errors"]) == 1 and c["errors"][0].startswith("CheckFailed"), c
        else:
            assert not c["errors"], f"cell {c['index']}: {c['errors']}"
    if path.parent.name == "reader":
        solutions = [c for c in cells if "solution" in c["tags"]]
        assert solutions and all("passed" in c["text"] or "correct" in c["text"] for c in solutions)
