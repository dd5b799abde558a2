"""Course artifacts: student notebooks without solutions, instructor edition, Colab cells, macros."""
import importlib.util
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "chapters").glob("[0-9][0-9]_*.ipynb"))  # numbered chapters
CONFIG = yaml.safe_load((ROOT / "_config.yml").read_text())


def load_tool(name):
    spec = importlib.util.spec_from_file_location(name, ROOT / "tools" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def tagged(cell, tag):
    return tag in cell.metadata.get("tags", [])


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_every_solution_lives_in_a_cell_tagged_solution(path):
    nb = nbformat.read(path, as_version=4)
    for i, cell in enumerate(nb.cells):
        if "{solution" in cell.source:
            assert tagged(cell, "solution"), f"cell {i} holds a solution but is not tagged 'solution'"
            assert cell.source.lstrip().startswith("```{solution"), f"cell {i}: a solution cell holds only the solution"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_chapter_has_three_exercises_and_a_checked_coding_one(path):
    nb = nbformat.read(path, as_version=4)
    exercises = sum(c.source.count("```{exercise}") for c in nb.cells if c.cell_type == "markdown")
    assert exercises >= 3
    solution_code = [c for c in nb.cells if c.cell_type == "code" and tagged(c, "solution")]
    assert solution_code, "at least one coding exercise with an executed solution"
    for cell in solution_code:
        # the solution runs in nbval and must pass its self-check there
        assert re.search(r"\bcheck_\w+\(", cell.source), "a solution code cell calls its check_… function"
        stub = cell.metadata.get("nnlib", {}).get("student_stub", "")
        assert re.search(r"\bcheck_\w+\(", stub), "the student starter calls the same check"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_student_export_has_no_solution_text_and_no_outputs(path):
    make_student = load_tool("make_student")
    nb = nbformat.read(path, as_version=4)
    student = make_student.student_version(nb, path)
    text = "\n".join(c.source for c in student.cells)
    assert "{solution" not in text and "Solution to" not in text
    for cell in nb.cells:
        if tagged(cell, "solution"):
            for line in cell.source.splitlines():
                line = line.strip()
                if len(line) > 25 and line not in cell.metadata.get("nnlib", {}).get("student_stub", ""):
                    assert line not in text, f"solution text survives in the student export: {line!r}"
    assert all(not c.outputs and c.execution_count is None for c in student.cells if c.cell_type == "code")
    assert "widgets" not in student.metadata
    assert sum(tagged(c, "exercise-starter") for c in student.cells) == sum(
        bool(c.metadata.get("nnlib", {}).get("student_stub")) for c in nb.cells)


def test_student_export_script_writes_every_chapter(tmp_path):
    proc = subprocess.run([sys.executable, str(ROOT / "tools" / "make_student.py"), str(tmp_path)],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert sorted(p.name for p in tmp_path.glob("*.ipynb")) == [p.name for p in NOTEBOOKS]


def test_instructor_transform_opens_solutions_only():
    build_instructor = load_tool("build_instructor")
    src = "```{solution} ex-1\n:label: s1\n:class: dropdown\nText\n```\n```{note}\n:class: dropdown\n```\n"
    out = build_instructor.open_solutions(src)
    assert out == "```{solution} ex-1\n:label: s1\nText\n```\n```{note}\n:class: dropdown\n```\n"
    assert build_instructor.open_solutions("```{solution-start} ex\n:class: dropdown\n```") == "```{solution-start} ex\n```"


@pytest.mark.slow
def test_instructor_edition_builds_with_solutions_open(tmp_path):
    proc = subprocess.run([sys.executable, str(ROOT / "tools" / "build_instructor.py"), str(tmp_path)],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-4000:]
    html = (tmp_path / "_build" / "html" / "chapters" / "01_piecewise_affine.html").read_text()
    source = (ROOT / "chapters" / "01_piecewise_affine.ipynb").read_text()
    public = len(re.findall(r"```\{solution(?:-start)?\}", source))
    assert html.count('class="solution admonition"') == public, "every solution shown open"
    assert "solution dropdown" not in html
    assert "Instructor edition" in html


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_colab_install_cell_comes_first_and_uses_the_configured_repository(path):
    nb = nbformat.read(path, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    first = code[0]
    assert tagged(first, "colab-install") and tagged(first, "remove-cell")
    assert "except ImportError" in first.source, "installs only when nnlib is missing"
    assert f"git+{CONFIG['repository']['url']}" in first.source, "repository URL must match _config.yml"
    assert "set_seed(" in code[1].source, "the cell after the Colab install seeds everything"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_macros_match_the_book_config(path):
    macros = CONFIG["sphinx"]["config"]["mathjax3_config"]["tex"]["macros"]
    nb = nbformat.read(path, as_version=4)
    defs = [c for c in nb.cells if c.cell_type == "markdown" and "\\newcommand" in c.source]
    assert len(defs) == 1 and tagged(defs[0], "remove-cell")
    found = dict(re.findall(r"\\newcommand\{\\(\w+)\}\{(.*?)\}(?=\\newcommand|\$)", defs[0].source))
    assert found == macros
