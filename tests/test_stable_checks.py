"""The Chapter 7 coding-exercise self-check, nnlib.checks.check_hamiltonian_step (exercise ex7-verlet-step)."""
import numpy as np
import pytest

from nnlib.checks import CheckFailed, check_hamiltonian_step


def step_correct(Y, Z, K, b, h):
    Z = Z - h * np.tanh(Y @ K.T + b)
    return Y + h * np.tanh(Z @ K + b), Z


def test_hamiltonian_step_check_passes_a_correct_solution(capsys):
    check_hamiltonian_step(step_correct)
    assert "all 13 checks passed" in capsys.readouterr().out


def test_the_hand_made_case_by_hand():
    """K = I, Z = 0, Y = (1, −1), b = 0, h = 1: Z' = −tanh(Y), Y' = Y + tanh(Z') (computed with math.tanh)."""
    import math
    Y, Z = np.array([[1.0, -1.0]]), np.zeros((1, 2))
    z = [-math.tanh(1.0), math.tanh(1.0)]
    y = [1.0 + math.tanh(z[0]), -1.0 + math.tanh(z[1])]
    got_Y, got_Z = step_correct(Y, Z, np.eye(2), 0.0, 1.0)
    np.testing.assert_allclose(got_Z, [z], rtol=1e-15)
    np.testing.assert_allclose(got_Y, [y], rtol=1e-15)


def old_z(Y, Z, K, b, h):          # forgets the Verlet ordering: Y updated with the old Z
    return Y + h * np.tanh(Z @ K + b), Z - h * np.tanh(Y @ K.T + b)


def columns(Y, Z, K, b, h):        # Meganet's column formula applied to rows without transposing K
    Z = Z - h * np.tanh(Y @ K + b)
    return Y + h * np.tanh(Z @ K.T + b), Z


@pytest.mark.parametrize("wrong, words", [
    (old_z, ["wrong Y_new", "NEW Z"]),
    (columns, ["wrong", "Y K^T (not Y K)"]),
    (lambda Y, Z, K, b, h: step_correct(Y, Z, K, b, h)[::-1], ["wrong Y_new", "expected:", "got:"]),
    (lambda Y, Z, K, b, h: step_correct(Y, Z, K, b, h)[0], ["must return a pair"]),
    (lambda Y, Z, K, b, h: None, ["returned None"]),
])
def test_hamiltonian_step_check_explains_mistakes(wrong, words):
    with pytest.raises(CheckFailed) as info:
        check_hamiltonian_step(wrong)
    for w in words:
        assert w in str(info.value), str(info.value)
