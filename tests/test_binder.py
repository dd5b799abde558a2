"""Binder: repo2docker's generated Dockerfile (dry run, no Docker needed) gives Python 3.11,
a CPU-only torch and an importable nnlib."""
import re
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent


def test_repo2docker_dry_run_gives_cpu_torch_python_311_and_nnlib():
    r2d = Path(sys.executable).parent / "jupyter-repo2docker"
    proc = subprocess.run([str(r2d), "--no-build", "--debug", "--no-run", str(ROOT)],
                          capture_output=True, text=True, timeout=300)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-3000:]
    assert "Building conda environment for python=3.11" in out
    assert re.search(r"env update -p \$\{NB_PYTHON_PREFIX\} --file \"binder/environment.yml\"", out)
    assert "RUN ./binder/postBuild" in out

    env = yaml.safe_load((ROOT / "binder" / "environment.yml").read_text())
    deps = [d for d in env["dependencies"] if isinstance(d, str)]
    names = [re.split(r"[=<>! ]", d)[0] for d in deps]
    assert "pytorch-cpu" in names, "the CPU-only torch build"
    assert not {"pytorch", "torch", "pytorch-gpu", "cuda-version"} & set(names), "no CUDA build"
    assert not any("cuda" in d for d in deps)
    assert "conda-forge" in env["channels"]

    post = (ROOT / "binder" / "postBuild").read_text()
    assert re.search(r"^pip install .*--no-deps -e \.$", post, re.M), "nnlib installed, torch left alone"
