"""nnlib.plotting: exact polylines through the breakpoints, the interval convention, validation."""
import numpy as np
import pytest
from matplotlib.figure import Figure

from nnlib.constructions import hat
from nnlib.networks import ReLUNetwork, random_network
from nnlib.plotting import plot_network


def _axes():
    return Figure().add_subplot()       # no pyplot state


def test_polyline_through_the_breakpoints_of_the_hat():
    ax = plot_network(hat(), (-1, 2), ax=_axes(), label="hat")
    line, dots = ax.get_lines()
    # by hand: the hat has kinks at 0, 1/2, 1 and values 0, 1, 0 there; 0 at -1 and 2
    assert line.get_xdata().tolist() == [-1, 0, 0.5, 1, 2] and line.get_ydata().tolist() == [0, 0, 1, 0, 0]
    assert dots.get_xdata().tolist() == [0, 0.5, 1] and dots.get_label() == "breakpoints (3)"


def test_default_interval_spans_all_breakpoints_with_a_margin():
    line = plot_network(hat(), ax=_axes(), exact=True).get_lines()[0]
    assert line.get_xdata().tolist() == [-1, 0, 0.5, 1, 2]       # margin max(1, span / 4) = 1
    affine = ReLUNetwork([(np.array([[2.0]]), np.array([1.0]))])
    line = plot_network(affine, ax=_axes()).get_lines()[0]
    assert line.get_xdata().tolist() == [-1, 1] and line.get_ydata().tolist() == [-1, 3]


@pytest.mark.parametrize("kw, exc, match", [
    (dict(net="net"), TypeError, "net must be an nnlib ReLUNetwork"),
    (dict(net=random_network([1, 2, 2], seed=0)), ValueError, "net must have one input and one output"),
    (dict(interval=(1, 0)), ValueError, "interval must satisfy a < b"),
    (dict(exact="no"), TypeError, "exact must be True or False"),
    (dict(mark_breakpoints=1), TypeError, "mark_breakpoints"),
])
def test_invalid_arguments(kw, exc, match):
    args = dict(net=hat(), interval=(0, 1), ax=_axes())
    args.update(kw)
    with pytest.raises(exc, match=match):
        plot_network(args.pop("net"), args.pop("interval"), **args)
