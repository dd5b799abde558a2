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


# ---- one source of truth for dependencies ------------------------------------------------------

import ast  # noqa: E402
import tomllib  # noqa: E402
from importlib.metadata import packages_distributions  # noqa: E402

import nbformat  # noqa: E402
from packaging.requirements import Requirement  # noqa: E402

CHAPTERS = sorted((ROOT / "chapters").glob("[0-9][0-9]_*.ipynb"))
LAUNCH = sorted((ROOT / "launch").glob("*/[0-9][0-9]_*.ipynb"))
# conda-forge spells a few distributions differently; torch must be the CPU-only build there
CONDA_NAME = {"torch": "pytorch-cpu"}
# imports Binder may lack on purpose, with the reason
NOT_ON_BINDER = {"dask": "nnlib.experiments on a Dask cluster (the distributed extra); no chapter uses it"}


def _top_level_imports(source: str) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def _third_party(names: set[str]) -> set[str]:
    return {n for n in names if n not in sys.stdlib_module_names and n not in {"nnlib", "__future__"}}


def nnlib_imports() -> set[str]:
    return _third_party(set().union(*(_top_level_imports(p.read_text()) for p in (ROOT / "nnlib").glob("*.py"))))


def notebook_imports(paths) -> set[str]:
    from IPython.core.inputtransformer2 import TransformerManager

    python = TransformerManager()
    names = set()
    for path in paths:
        for cell in nbformat.read(path, as_version=4).cells:
            if cell.cell_type == "code":
                names |= _top_level_imports(python.transform_cell(cell.source))
    return _third_party(names)


def distribution(import_name: str) -> str:
    """The PyPI distribution that provides an import name, from the installed environment's metadata."""
    dists = packages_distributions().get(import_name)
    assert dists, f"{import_name} is imported but not installed in the test environment"
    return dists[0].lower().replace("_", "-")


def _extras() -> tuple[set[str], dict[str, set[str]]]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    base = {Requirement(r).name.lower() for r in project["dependencies"]}
    extras = {name: [Requirement(r) for r in reqs] for name, reqs in project["optional-dependencies"].items()}

    def expand(name, seen=()):
        out = set()
        for req in extras[name]:
            if req.name == "nnlib":
                for sub in req.extras:
                    assert sub not in seen, f"extra {sub} includes itself"
                    out |= expand(sub, seen + (name,))
            else:
                out.add(req.name.lower())
        return out

    return base, {name: base | expand(name) for name in extras}


def test_the_import_scan_sees_real_imports():
    assert {"numpy", "matplotlib", "torch", "joblib", "pandas", "tqdm"} <= nnlib_imports()
    assert {"numpy", "matplotlib", "ipywidgets", "torch"} <= notebook_imports(CHAPTERS)
    assert distribution("flint") == "python-flint" and distribution("IPython") == "ipython"


def test_every_import_of_nnlib_is_declared_in_pyproject():
    base, extras = _extras()
    declared = set().union(base, *extras.values())
    missing = {n: distribution(n) for n in nnlib_imports() if distribution(n) not in declared}
    assert not missing, f"nnlib imports packages that pyproject.toml does not declare: {missing}"


def test_the_book_extra_runs_every_chapter():
    base, extras = _extras()
    needed = (notebook_imports(CHAPTERS + LAUNCH) | nnlib_imports()) - set(NOT_ON_BINDER) - {"flint"}
    missing = {n: distribution(n) for n in needed if distribution(n) not in extras["book"]}
    assert not missing, f"the `book` extra lacks: {missing}"
    assert {"jupyterlab", "jupyterlab-myst", "torch"} <= extras["book"]
    for name in ("tqdm", "numpy", "matplotlib"):
        assert name in base, f"{name} is used at run time by nnlib: a base dependency"
    torch_floor = [r for r in tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
                   ["optional-dependencies"]["torch"] if r.startswith("torch")]
    assert Requirement(torch_floor[0]).specifier.contains("2.1") and not Requirement(
        torch_floor[0]).specifier.contains("2.0.1"), "float8 dtypes need torch >= 2.1"


def test_binder_environment_covers_every_third_party_import():
    env = yaml.safe_load((ROOT / "binder" / "environment.yml").read_text())
    conda = {re.split(r"[=<>! ]", d)[0].lower() for d in env["dependencies"] if isinstance(d, str)}
    needed = notebook_imports(CHAPTERS + LAUNCH) | nnlib_imports()
    missing = {}
    for name in needed - set(NOT_ON_BINDER):
        dist = distribution(name)
        if CONDA_NAME.get(dist, dist) not in conda:
            missing[name] = CONDA_NAME.get(dist, dist)
    assert not missing, f"binder/environment.yml lacks {missing} (Chapter 5 needs joblib/pandas, …)"
    assert {"jupyterlab-myst", "ipykernel"} <= conda
    assert set(NOT_ON_BINDER) <= nnlib_imports(), "NOT_ON_BINDER lists only real imports"
