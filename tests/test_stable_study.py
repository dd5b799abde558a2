"""nnlib.stable, Chapter 7 §7.6–§7.7: rounding_errors, mean_ci95, the study script and its committed data.

Oracles: stagnation in float16 (an update below half an ulp is lost: closed form from a plain
Python float64 loop), the ordering of unit roundoffs, overflow, scipy's Student-t quantiles, and
the committed CSV/JSON files (re-running a slice must reproduce them).
"""
import json
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from nnlib import stable as st

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "chapters" / "data"


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def python_resnet_final(Y0, K, h, N):
    """Y_N of (2.1) with tanh, b = 0, constant K, by plain Python floats (math.tanh)."""
    Y = [list(map(float, row)) for row in Y0]
    n = len(Y[0])
    for _ in range(N):
        Y = [[y[i] + h * math.tanh(sum(y[k] * K[k][i] for k in range(n))) for i in range(n)] for y in Y]
    return np.array(Y)


def test_float16_forward_error_is_stagnation_when_updates_are_below_half_an_ulp():
    """Entries of Y in [1, 2) have ulp 2^-10 in float16; h·|tanh| <= h = 1e-4 < 2^-11, so every float16
    update is lost and Y_N^{low} = Y_0 exactly: forward_error = ‖Y_0 − Y_N‖/‖Y_N‖ (Y_N in float64)."""
    Y0 = np.array([[1.25, -1.5], [1.0, 1.75], [-1.125, -1.0]])        # exact in float16
    K = np.array([[0.3, -0.2], [0.1, 0.4]])
    h, N = 1e-4, 50
    YN = python_resnet_final(Y0, K, h, N)
    expected = np.linalg.norm(Y0 - YN) / np.linalg.norm(YN)
    fe, ge = st.rounding_errors(Y0, [0, 1, 0], np.repeat(K[None], N, 0), np.zeros(N), h, np.eye(2), np.zeros(2))
    assert expected > 1e-3                                               # the lost motion is visible
    assert fe == pytest.approx(expected, rel=1e-9)
    assert 0 < ge < math.inf


def test_errors_follow_the_unit_roundoff_of_the_format():
    """float64 against itself: exactly 0; then float32 < float16 < bfloat16 (u = 2^-24, 2^-11, 2^-8),
    each within a factor 30 of u·sqrt(N) … 30·u·N at this size."""
    rng = np.random.default_rng(3)
    Y0, labels = rng.standard_normal((20, 3)), rng.integers(0, 2, 20)
    N = 16
    K, W = np.repeat(rng.standard_normal((3, 3))[None] / 2, N, 0), rng.standard_normal((3, 2))
    args = (Y0, labels, K, np.zeros(N), 5.0 / N, W, np.zeros(2))
    fe64, ge64 = st.rounding_errors(*args, kind="antisymmetric", dtype="float64")
    assert fe64 < 1e-15 and ge64 == 0.0        # torch vs numpy forward: rounding only; same gradient code
    errs = {d: st.rounding_errors(*args, kind="antisymmetric", dtype=d) for d in ("float32", "float16", "bfloat16")}
    for d, u in (("float32", 2.0 ** -24), ("float16", 2.0 ** -11), ("bfloat16", 2.0 ** -8)):
        for e in errs[d]:
            assert u / 30 < e < 30 * u * N, (d, e)
    assert errs["float32"][0] < errs["float16"][0] < errs["bfloat16"][0]


def test_overflow_in_float16_is_reported_as_inf():
    """relu ResNet with K = 10 I: Y grows by (1 + 10h) per layer, (1 + 1)^20 ≈ 1e6 > 65504 (float16 max)."""
    N = 20
    Y0 = np.array([[1.0, 0.5], [0.25, 1.0]])
    K = np.repeat(10 * np.eye(2)[None], N, 0)
    fe, ge = st.rounding_errors(Y0, [0, 1], K, np.zeros(N), 0.1, 1e-6 * np.eye(2), np.zeros(2), activation="relu")
    assert fe == ge == math.inf
    assert np.isfinite(st.rounding_errors(Y0, [0, 1], K, np.zeros(N), 0.1, 1e-6 * np.eye(2), np.zeros(2),
                                          activation="relu", dtype="float32")).all()


def test_rounding_errors_bad_input_names_the_argument():
    with pytest.raises(ValueError, match="dtype"):
        st.rounding_errors(np.ones((2, 2)), [0, 1], np.zeros((1, 2, 2)), [0.0], 0.1, np.eye(2), np.zeros(2),
                           dtype="float8")
    with pytest.raises(ValueError, match="h"):
        st.rounding_errors(np.ones((2, 2)), [0, 1], np.zeros((1, 2, 2)), [0.0], 0.0, np.eye(2), np.zeros(2))


def test_read_rows_round_trips_floats_exactly(tmp_path):
    rows = [{"kind": "resnet", "num_layers": 4, "x": 0.1 + 0.2}, {"kind": "hamiltonian", "num_layers": 16, "x": 1e-300}]
    st._write_csv(tmp_path / "t.csv", rows)
    assert st.read_rows(tmp_path / "t.csv") == rows


# ----------------------------------------------------------------------------- the committed data
def test_committed_float16_rows_are_reproduced_by_a_slice():
    committed = st.read_rows(DATA / "ch7_float16.csv")
    config = json.loads((DATA / "ch7_float16.json").read_text())
    assert len(committed) == len(config["seeds"]) * len(config["depths"]) * len(config["kinds"])
    fresh = st.float16_study(depths=(4, 16), seeds=[0, 7])
    for row in fresh:
        (old,) = [r for r in committed if (r["kind"], r["num_layers"], r["seed"]) ==
                  (row["kind"], row["num_layers"], row["seed"])]
        assert row["forward_error"] == pytest.approx(old["forward_error"], rel=1e-6)
        assert row["gradient_error"] == pytest.approx(old["gradient_error"], rel=1e-6)


def test_committed_swiss_roll_rows_match_the_stored_classifiers_and_a_rerun_level():
    rows = st.read_rows(DATA / "ch7_swiss_roll.csv")
    classifiers = st.read_classifiers(DATA / "ch7_swiss_roll.json")
    _, _, Yv, lv = st.swiss_roll()
    for kind, res in classifiers.items():
        last = [r for r in rows if r["kind"] == kind][-1]
        assert res.K.shape[0] == last["num_layers"] and res.h == pytest.approx(last["h"])
        assert float(np.mean(res.predict(Yv) == lv)) == last["val_accuracy"]
    # The rerun goes through MKL (products, tanh, the dot products of L-BFGS), which picks its kernels by
    # the CPU; 100 L-BFGS iterations amplify their last-bit differences into final losses a few per cent
    # apart. The study command runs on MKL's reproducible path (MKL_CBWR=COMPATIBLE, nnlib.stable.main),
    # and so does this rerun, in a fresh process (MKL reads the setting when it starts): bit for bit.
    (old,) = [r for r in rows if (r["kind"], r["level"]) == ("hamiltonian", 0)]
    assert json.loads((DATA / "ch7_swiss_roll.json").read_text())["config"]["environment"]["mkl_cbwr"] == "COMPATIBLE"
    script = ("import json; import torch; torch.set_num_threads(1); from nnlib import stable as st; "
              "print(json.dumps(st.swiss_roll_study(kinds=('hamiltonian',), levels=1)[0][0]))")
    env = {**os.environ, "MKL_CBWR": "COMPATIBLE"}
    out = subprocess.run([sys.executable, "-c", script], env=env, cwd=ROOT, capture_output=True, text=True,
                         check=True).stdout
    fresh = json.loads(out.strip().splitlines()[-1])
    for key in ("loss_start", "loss_end", "train_accuracy", "val_accuracy"):
        assert fresh[key] == old[key], key
