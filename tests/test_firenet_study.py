"""Tests for the E2.4 helpers of nnlib.firenet and the Chapter 8 self-check (check_soft_threshold).

Oracles: scipy.fft.dct for the DCT rows, counting for the signals, the committed
``chapters/data/ch8_stability.csv`` for the study (re-run slice), closed forms for soft thresholding.
"""
import csv
import json
from pathlib import Path

import numpy as np
import pytest
import scipy.fft

from nnlib.checks import CheckFailed, check_soft_threshold
from nnlib.firenet import STABILITY_DEFAULTS, main, sparse_signals, stability_study, subsampled_dct

torch = pytest.importorskip("torch")
from nnlib.firenet import train_reconstruction_net  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
TABLE = ROOT / "chapters" / "data" / "ch8_stability.csv"


def test_sparse_signals_have_exactly_s_entries_of_size_one_to_two():
    x = sparse_signals(50, 20, 4, seed=3)
    assert x.shape == (50, 20)
    assert np.all(np.count_nonzero(x, axis=1) == 4)
    nz = np.abs(x[x != 0])
    assert nz.min() >= 1 and nz.max() <= 2
    assert np.any(x > 0) and np.any(x < 0)
    np.testing.assert_array_equal(x, sparse_signals(50, 20, 4, seed=3))
    assert not np.array_equal(x, sparse_signals(50, 20, 4, seed=4))


def test_subsampled_dct_rows_are_scipy_dct_rows():
    A = subsampled_dct(32, 12, seed=5)
    full = scipy.fft.dct(np.eye(32), axis=0, norm="ortho")
    rows = [int(np.argmin(np.linalg.norm(full - a, axis=1))) for a in A]
    assert rows == sorted(set(rows)) and len(rows) == 12
    np.testing.assert_allclose(A, full[rows], atol=1e-13)
    np.testing.assert_allclose(A @ A.T, np.eye(12), atol=1e-13)


@pytest.mark.parametrize("call, match", [
    (lambda: sparse_signals(3, 4, 5), "s must be <= N"),
    (lambda: sparse_signals(0, 4, 1), "num"),
    (lambda: subsampled_dct(4, 5), "m must be <= N"),
    (lambda: stability_study(0, models=("cnn",)), "models"),
    (lambda: stability_study(0, models="net"), "models"),
    (lambda: stability_study(0, width=3), "unknown stability_study parameters"),
    (lambda: train_reconstruction_net(np.eye(3), np.ones((5, 4))), "x_train"),
    (lambda: train_reconstruction_net(np.eye(3), np.ones((5, 3)), noise=-1), "noise"),
])
def test_bad_input_names_the_argument(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_training_learns_and_is_deterministic():
    A = subsampled_dct(16, 12, seed=0)
    x = sparse_signals(400, 16, 1, seed=0)
    nets = [train_reconstruction_net(A, x, hidden=64, steps=400, lr=3e-3, seed=1) for _ in range(2)]
    for p, q in zip(nets[0].parameters(), nets[1].parameters()):
        assert torch.equal(p, q)
    with torch.no_grad():
        out = nets[0](torch.from_numpy(x @ A.T)).numpy()
    rel = np.linalg.norm(out - x, axis=1) / np.linalg.norm(x, axis=1)
    assert rel.mean() < 0.5          # the zero map has relative error 1


def test_committed_stability_table_firenet_slice_reproduces():
    with open(TABLE) as fh:
        rows = list(csv.DictReader(fh))
    meta = json.loads(TABLE.with_suffix(".json").read_text())
    assert meta["config"] == STABILITY_DEFAULTS
    assert [int(r["seed"]) for r in rows] == meta["seeds"] and len(rows) >= 10
    live = stability_study(0, models=("firenet",))
    for key, value in live.items():
        assert value == pytest.approx(float(rows[0][key]), rel=1e-9, abs=0), key
    # the perturbation really stays in the budget ball, 5 % of ||y||
    assert live["firenet_perturbation_norm"] <= 0.05 * np.linalg.norm(
        subsampled_dct(64, 32, seed=0) @ sparse_signals(20, 64, 3, seed=10_000)[0]) * (1 + 1e-12)


@pytest.mark.slow
def test_committed_stability_table_full_row_reproduces():
    with open(TABLE) as fh:
        row = next(csv.DictReader(fh))
    live = stability_study(0)
    for key, value in live.items():
        assert value == pytest.approx(float(row[key]), rel=1e-9, abs=0), key


def test_main_writes_csv_and_json(tmp_path, monkeypatch):
    for key, value in dict(N=16, m=8, s=1, num_train=50, hidden=8, steps=5, restarts=2, inner_iters=3,
                           num_test=3, attack_steps=2).items():
        monkeypatch.setitem(STABILITY_DEFAULTS, key, value)
    path = main(["--seeds", "0", "1", "--out", str(tmp_path)])
    with open(path) as fh:
        rows = list(csv.DictReader(fh))
    assert [r["seed"] for r in rows] == ["0", "1"]
    assert float(rows[1]["net_error"]) == stability_study(1)["net_error"]
    meta = json.loads((tmp_path / "ch8_stability.json").read_text())
    assert meta["seeds"] == [0, 1] and meta["config"]["N"] == 16 and "torch" in meta["environment"]


# ------------------------------------------------------------------------- the self-check
def soft_correct(z, t):
    mag = np.abs(z)
    return np.where(mag > t, z - t * z / np.where(mag > 0, mag, 1), 0)


def test_soft_threshold_check_passes_a_correct_solution(capsys):
    check_soft_threshold(soft_correct)
    assert "all 13 cases correct" in capsys.readouterr().out


def test_soft_threshold_check_by_hand_values():
    # the hand-made answers, independently: soft_1(3) = 2, soft_1(-0.5) = 0, soft_1(3+4i) = 3+4i - (3+4i)/5
    assert soft_correct(np.array([3.0, -0.5, 3 + 4j]), np.ones(3)).tolist() == [2.0, 0.0, 2.4 + 3.2j]


@pytest.mark.parametrize("wrong, words", [
    (lambda z, t: np.sign(z.real) * np.maximum(np.abs(z) - t, 0), ["complex", "phase"]),  # real-only sign
    (lambda z, t: z - t * np.sign(z), ["expected:", "got:", "|z| <= t"]),               # no clamping at zero
    (lambda z, t: soft_correct(z, np.ones_like(t)), ["weighted", "own threshold"]),      # ignores the weights
    (lambda z, t: None, ["returned None"]),
])
def test_soft_threshold_check_explains_mistakes(wrong, words):
    with pytest.raises(CheckFailed) as info:
        check_soft_threshold(wrong)
    for w in words:
        assert w in str(info.value), str(info.value)
