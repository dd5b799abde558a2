"""Installs: the readers' requirements resolve to a CPU-only torch on any machine (no CUDA wheels)."""
import json
import re
import socket
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CUDA_PREFIXES = ("nvidia-", "cuda-", "triton")


def _pypi_reachable() -> bool:
    try:
        socket.create_connection(("pypi.org", 443), timeout=5).close()
        return True
    except OSError:
        return False


@pytest.mark.slow
def test_reader_requirements_resolve_without_cuda(tmp_path):
    """`pip install --dry-run --report` of requirements-book.txt in a clean resolution
    (--ignore-installed, so the report lists every package). --retries 0: on machines where PyTorch's
    CPU index is unreachable pip falls back to the other indexes at once instead of backing off."""
    report = tmp_path / "report.json"
    proc = subprocess.run([sys.executable, "-m", "pip", "install", "--dry-run", "--ignore-installed", "--quiet",
                           "--retries", "0", "--report", str(report), "-r", "requirements-book.txt"],
                          cwd=ROOT, capture_output=True, text=True, timeout=900)
    if proc.returncode != 0 and not _pypi_reachable():
        pytest.skip("no package index reachable: cannot resolve requirements-book.txt here")
    assert proc.returncode == 0, proc.stderr[-3000:]
    installed = {re.sub(r"[-_.]+", "-", item["metadata"]["name"]).lower(): item for item in json.loads(report.read_text())["install"]}
    cuda = sorted(name for name in installed if name.startswith(CUDA_PREFIXES))
    assert not cuda, f"CUDA packages in the readers' install: {cuda}"
    torch = installed["torch"]["metadata"]["version"]
    if sys.platform.startswith("linux") or sys.platform == "win32":
        assert torch == "2.13.0+cpu", torch
    assert {"numpy", "matplotlib", "ipywidgets", "joblib", "pandas", "tqdm", "jupyterlab", "jupyterlab-myst",
            "nnlib"} <= set(installed)
    assert not {"jupyter-book", "sphinx", "pytest", "playwright"} & set(installed), "book extra only"
