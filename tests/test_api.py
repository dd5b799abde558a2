"""The package as a whole: lazy full API, __all__ everywhere, one validation layer, seeds, sizes.

Serves every chapter (the API conventions of the API reference page).
"""
import ast
import re
import importlib
import subprocess
import sys
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

import nnlib

ROOT = Path(__file__).resolve().parent.parent
MODULES = list(nnlib._MODULES)
# Owned by the propagation-engine branch, which is rewriting them; drop this exclusion after merging it.
ENGINE_OWNED: set = set()


def _run(code: str) -> str:
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    return out.stdout.strip()


def test_import_nnlib_is_lazy_fast_and_torch_free():
    code = ("import sys, time\nt = time.perf_counter()\nimport nnlib\nt = time.perf_counter() - t\n"
            "loaded = sorted(m for m in sys.modules if m.startswith('nnlib.'))\n"
            "print(t, 'torch' in sys.modules, loaded)\n"
            "import numpy as np\n"
            "print(nnlib.precision.round_to(np.array([1 + 2**-11]), 'float16').tolist(), 'torch' in sys.modules)")
    first, second = _run(code).splitlines()
    seconds, torch_loaded, loaded = first.split(" ", 2)
    assert float(seconds) < 1.0 and torch_loaded == "False" and loaded == "[]"
    assert second == "[1.0] False"          # a submodule loads on first use, still without torch


def test_dir_lists_the_modules_and_reexports():
    names = dir(nnlib)
    for name in MODULES + ["ReLUNetwork", "count_pieces", "count_activation_regions", "breakpoints", "set_seed"]:
        assert name in names
    assert nnlib.count_pieces is importlib.import_module("nnlib.pieces").count_pieces
    with pytest.raises(AttributeError, match="no attribute 'nonexistent'"):
        nnlib.nonexistent


@pytest.mark.parametrize("name", MODULES + ["_validate", "_dyadic"])
def test_every_module_has_a_complete_all(name):
    module = importlib.import_module(f"nnlib.{name}")
    assert isinstance(module.__all__, list) and module.__all__
    for public in module.__all__:
        assert hasattr(module, public), f"nnlib.{name}.__all__ lists {public!r}, which does not exist"
    # every public function or class defined in the module is in __all__
    defined = {n for n, v in vars(module).items() if not n.startswith("_") and getattr(v, "__module__", None) == module.__name__
               and callable(v)}
    assert defined <= set(module.__all__), f"nnlib.{name}: {sorted(defined - set(module.__all__))} missing from __all__"


def _sources():
    return [p for p in sorted((ROOT / "nnlib").glob("*.py")) if p.stem not in ENGINE_OWNED]


@pytest.mark.parametrize("path", _sources(), ids=lambda p: p.stem)
def test_no_private_name_imported_across_modules(path):
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.level == 1 and node.module != "_validate":
            private = [a.name for a in node.names if a.name.startswith("_")]
            assert not private, f"{path.name} imports private {private} from .{node.module}"


@pytest.mark.parametrize("path", _sources(), ids=lambda p: p.stem)
def test_no_function_over_60_lines_of_code(path):
    source = path.read_text().splitlines()
    for node in ast.walk(ast.parse("\n".join(source))):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            body = node.body[1:] if ast.get_docstring(node) is not None else node.body
            code = {k for n in body for k in range(n.lineno, n.end_lineno + 1)
                    if source[k - 1].strip() and not source[k - 1].strip().startswith("#")}
            assert len(code) <= 60, f"{path.name}: {node.name} has {len(code)} lines of code"


# ----------------------------------------------------------------------------- the known validation bugs
def test_numpy_bools_are_flags():
    from nnlib.approximation import sup_error_to_square
    from nnlib.constructions import hat, yarotsky_square
    from nnlib.crossings import neuron_variations, total_variation
    from nnlib.gradients import reference_gradient
    from nnlib.precision import round_to

    assert sup_error_to_square(yarotsky_square(1), exact=np.bool_(True)) == Fraction(1, 16)
    assert total_variation(hat(), (-1, 2), exact=np.bool_(True)) == Fraction(2)
    assert neuron_variations(hat(), (0, 1), exact=np.bool_(False))[0].tolist() == [1.0, 1.0, 1.0]
    (gA, _), _ = reference_gradient(hat(), [0.25], [0.0], exact=np.bool_(True), backend="fraction")
    assert gA.dtype == object
    assert round_to(np.array([1.0]), "float16", stochastic=np.bool_(False)).tolist() == [1.0]


def test_total_variation_of_a_network_with_a_positional_interval():
    from nnlib.constructions import sawtooth
    from nnlib.crossings import total_variation

    # Δ^3 on [0, 1]: 8 segments of rise or fall 1
    assert total_variation(sawtooth(3), (0, 1)) == total_variation(sawtooth(3), interval=(0, 1)) == 8.0


@pytest.mark.parametrize("seed, exc", [(1.5, TypeError), ("1", TypeError), (True, TypeError), (-1, ValueError)])
def test_random_network_names_a_bad_seed(seed, exc):
    from nnlib.networks import random_network

    with pytest.raises(exc, match="seed must be"):
        random_network([1, 2, 1], seed=seed)


def test_sawtooth_parameter_is_the_number_of_compositions():
    from nnlib.constructions import sawtooth

    assert sawtooth(num_compositions=3).depth == 4 == sawtooth(3).depth    # depth L = compositions + 1
    with pytest.raises(TypeError):
        sawtooth(L=3)


# ----------------------------------------------------------------------------- seeds across processes
SEEDED = ("import numpy as np\nimport nnlib\nnnlib.set_seed(0)\n"
          "net = nnlib.networks.random_network([1, 4, 4, 1], seed=None)\n"
          "r = nnlib.precision.round_to(np.linspace(0.1, 0.9, 7), 'bfloat16', stochastic=True)\n"
          "print([A.tobytes().hex() + b.tobytes().hex() for A, b in net.layers], r.tobytes().hex())")


def test_set_seed_makes_default_randomness_reproducible_across_processes():
    a, b = _run(SEEDED), _run(SEEDED)
    assert a == b
    # and it is set_seed that does it: without it two processes differ
    unseeded = SEEDED.replace("nnlib.set_seed(0)\n", "")
    assert _run(unseeded) != _run(unseeded)


def test_set_seed_restarts_the_default_generator_in_process():
    from nnlib.networks import random_network
    from nnlib.reproducibility import default_generator, set_seed

    set_seed(3)
    first = random_network([1, 3, 1]).layers[0][0].copy()
    set_seed(3)
    assert np.array_equal(random_network([1, 3, 1]).layers[0][0], first)
    assert isinstance(default_generator(), np.random.Generator)


# Modules whose chapters (6, 7, 8) are not in the book yet: their docstrings cite labels of those
# chapters, which the -W -n build cannot resolve before the chapters exist. Add their sections to
# api.md together with the chapters, then empty this set.
PENDING_CHAPTER: set = set()


def test_api_page_has_a_section_per_module():
    """api.md lists the modules by hand (with the chapter each serves): a new module needs a section."""
    text = (ROOT / "api.md").read_text()
    documented = set(re.findall(r"\.\. automodule:: nnlib\.(\w+)", text))
    wanted = set(MODULES) - PENDING_CHAPTER
    assert documented == wanted, f"missing: {sorted(wanted - documented)}, extra: {sorted(documented - wanted)}"
    assert all(opt in text for opt in (":members:", ":undoc-members:"))


def test_data_file_finds_the_committed_tables_and_names_a_bad_name():
    from nnlib.reproducibility import data_file

    for name in ("ch5_study.csv", "ch6_training_failure.csv", "ch7_float16.csv", "ch8_stability.csv"):
        path = data_file(name)
        assert path == ROOT / "chapters" / "data" / name and path.exists()
    for bad in ("../README.md", "", ".hidden", 3):
        with pytest.raises(ValueError, match="name"):
            data_file(bad)


def test_environment_names_versions_and_takes_extras():
    import platform

    import numpy as np

    from nnlib.reproducibility import environment

    env = environment(n_jobs=2)
    assert env["nnlib"] == nnlib.__version__ and env["numpy"] == np.__version__
    assert env["python"] == platform.python_version() and env["n_jobs"] == 2
