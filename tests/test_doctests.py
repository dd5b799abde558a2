"""Every docstring example of nnlib runs, and prints what it shows (doctest, one test per module)."""
import doctest
import importlib

import pytest

import nnlib

MODULES = ["nnlib", "nnlib._validate", "nnlib._dyadic"] + [f"nnlib.{m}" for m in nnlib._MODULES]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    module = importlib.import_module(name)
    finder = doctest.DocTestFinder(exclude_empty=True)
    runner = doctest.DocTestRunner(optionflags=doctest.NORMALIZE_WHITESPACE)
    tests = [t for t in finder.find(module, name) if t.examples]
    for test in tests:
        runner.run(test)
    result = runner.summarize(verbose=False)
    assert result.failed == 0, f"{result.failed} of {result.attempted} docstring examples of {name} failed (see stdout)"


def test_the_examples_are_found():
    # the test above would pass vacuously if the finder saw nothing: check it sees the known examples
    module = importlib.import_module("nnlib.constructions")
    names = {t.name for t in doctest.DocTestFinder().find(module) if t.examples}
    assert {"nnlib.constructions.sawtooth", "nnlib.constructions.hat"} <= names
