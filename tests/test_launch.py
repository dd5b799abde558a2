"""Launch notebooks (tools/make_launch.py): plain Jupyter Markdown, numbered like the book, no solutions
for students, and the committed copies in launch/ are what the converter makes today."""
import copy
import importlib.util
import json
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
CHAPTERS = sorted((ROOT / "chapters").glob("[0-9][0-9]_*.ipynb"))
CONFIG = yaml.safe_load((ROOT / "_config.yml").read_text())
BOOK = "https://nnlib-book.github.io/relu-trainability/"   # GitHub Pages of repository.url (no html.baseurl)


def load_tool(name):
    spec = importlib.util.spec_from_file_location(name, ROOT / "tools" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module          # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


make_launch = load_tool("make_launch")


@pytest.fixture(scope="module")
def book():
    return make_launch.load_book(ROOT)


@pytest.fixture(scope="module")
def converted(book):
    out = {}
    for path in CHAPTERS:
        nb = nbformat.read(path, as_version=4)
        for flavour in make_launch.FLAVOURS:
            out[flavour, path.name] = make_launch.convert_notebook(nb, path, book, flavour)
    return out


def markdown(nb):
    return "\n\n".join(c.source for c in nb.cells if c.cell_type == "markdown")


def test_book_url_comes_from_the_repository(book):
    assert CONFIG["repository"]["url"] == "https://github.com/nnlib-book/relu-trainability"
    assert book.book_url == BOOK


@pytest.mark.parametrize("flavour", ["student", "reader"])
@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name)
def test_no_myst_left_and_macros_expanded(converted, book, path, flavour):
    text = markdown(converted[flavour, path.name])
    for raw in ("{prf:", "```{", ":::{", ":label:", "{numref}", "{ref}", "{cite", "{eq}", "\\newcommand", ":class:"):
        assert raw not in text, f"{raw!r} left in the {flavour} notebook"
    for name in book.macros:
        assert not re.search(r"\\" + name + r"(?![A-Za-z])", text), f"macro \\{name} not expanded"
    # the quoted blocks never break a formula across lines (a '>' would land inside the math)
    for line in text.split("\n"):
        if line.startswith(">"):
            assert line.count("$") % 2 == 0, f"formula split across quoted lines: {line[:80]!r}"


def test_known_blocks_have_the_books_titles_and_chapter_relative_numbers(converted):
    ch1 = markdown(converted["reader", "01_piecewise_affine.ipynb"])
    ch2 = markdown(converted["reader", "02_sawtooth.ipynb"])
    # read off the chapters by hand: order of the blocks of each kind within the chapter
    assert "> **Definition 1.1** (ReLU network and realisation)\n" in ch1
    assert "> **Definition 1.2** (Affine pieces and activation regions)\n" in ch1
    assert "> **Algorithm 1.1** (Knot propagation)\n" in ch1
    assert "> **Proposition 1.1** (Knot propagation is exact)\n" in ch1
    assert "> **Lemma 1.2** (Pieces of a deep network)\n" in ch1
    assert "> **Exercise 1.3** (Breakpoints of a shallow network (coding))\n" in ch1
    assert "> **Theorem 2.1** (Pieces of the sawtooth)\n" in ch2
    assert "> *Proof.*\n" in ch1
    # references: the number as text, linked to the page and anchor of the online book
    assert f"[Lemma 1.2]({BOOK}chapters/01_piecewise_affine.html#lem-telgarsky-bound)" in ch1
    assert f"[Fig. 1.4]({BOOK}chapters/01_piecewise_affine.html#fig-random-init)" in ch1
    assert f"[Exercise 1.2]({BOOK}chapters/01_piecewise_affine.html#ex1-sums)" in ch2   # across chapters
    assert "**Fig. 1.4** Mean number of pieces of He-initialised random networks" in ch1
    assert f"[[Petersen and Voigtlaender, 2018]]({BOOK}chapters/references.html)" in ch1
    assert f"Telgarsky [[2016]({BOOK}chapters/references.html)]" in ch2


def _book_numbers(html_path):
    """(caption text, label) of every numbered proof/exercise block in a built page, in page order."""
    html = html_path.read_text()
    pat = re.compile(r'<div class="(?:proof \w+|exercise) admonition" id="([\w-]+)">\s*'
                     r'<p class="admonition-title"><span class="caption-number">(\w+) ([\d.]+) </span>')
    return [(kind, number, label) for label, kind, number in pat.findall(html)]


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name)
def test_numbering_follows_the_built_book(book, path):
    """Independent oracle: the numbers Sphinx gave the blocks in the last build of _build/html. With
    book-wide numbers ("Theorem 7") the chapter-relative number is the rank within the chapter."""
    page = ROOT / "_build" / "html" / "chapters" / f"{path.stem}.html"
    if not page.exists():
        pytest.skip("no built book in _build/html (bash tools/book.sh builds it)")
    blocks = _book_numbers(page)
    assert blocks, "the built page has numbered blocks"
    first = {}
    for kind, number, label in blocks:
        target = book.targets[label]
        assert target.kind == kind and target.doc == f"chapters/{path.stem}"
        if "." in number:
            assert target.number == number
        else:
            first.setdefault(kind, int(number))
            assert target.number == f"{int(path.name[:2])}.{int(number) - first[kind] + 1}", label


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name)
def test_student_flavour_has_starters_and_no_solutions(converted, path):
    nb = nbformat.read(path, as_version=4)
    student = converted["student", path.name]
    text = "\n".join(c.source for c in student.cells)
    assert "Solution" not in markdown(student) and "<details>" not in text
    for cell in nb.cells:
        if "solution" in cell.metadata.get("tags", []):
            stub = cell.metadata.get("nnlib", {}).get("student_stub", "")
            for line in cell.source.splitlines():
                line = line.strip()
                if len(line) > 25 and line not in stub:
                    assert line not in text, f"solution text survives: {line!r}"
    starters = [c for c in student.cells if "exercise-starter" in c.metadata.get("tags", [])]
    stubs = [c.metadata["nnlib"]["student_stub"] for c in nb.cells if c.metadata.get("nnlib", {}).get("student_stub")]
    assert [c.source for c in starters] == stubs and stubs
    assert all(not c.outputs and c.execution_count is None for c in student.cells if c.cell_type == "code")
    assert "widgets" not in student.metadata


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name)
def test_reader_flavour_keeps_solutions_folded_and_figures(converted, path):
    nb = nbformat.read(path, as_version=4)
    reader = converted["reader", path.name]
    md_solutions = sum(c.source.lstrip().startswith("```{solution}") for c in nb.cells if c.cell_type == "markdown")
    assert markdown(reader).count("<details>\n<summary><b>Solution to Exercise ") == md_solutions
    code_solutions = [c for c in nb.cells if c.cell_type == "code" and "solution" in c.metadata.get("tags", [])]
    folded = [c for c in reader.cells if c.cell_type == "code" and c.metadata.get("jupyter", {}).get("source_hidden")
              and "solution" in c.metadata.get("tags", [])]
    assert [c.source for c in folded] == [c.source for c in code_solutions]
    figures = [c for c in nb.cells if c.cell_type == "code" and c.metadata.get("mystnb", {}).get("figure")]
    captions = [c for c in reader.cells if "figure-caption" in c.metadata.get("tags", [])]
    assert len(captions) == len(figures)
    images = sum("image/png" in o.get("data", {}) for c in reader.cells if c.cell_type == "code" for o in c.outputs)
    assert images >= len(figures), "stored figures kept in the reader flavour"


@pytest.mark.parametrize("flavour", ["student", "reader"])
def test_hidden_setup_cell_comes_first(converted, flavour):
    for path in CHAPTERS:
        first = converted[flavour, path.name].cells[0]
        assert first.cell_type == "code" and first.metadata["jupyter"]["source_hidden"]
        assert first.metadata["cellView"] == "form" and first.source.startswith("#@title")
        assert f"git+{CONFIG['repository']['url']}" in first.source and "except ImportError" in first.source
        assert sum("colab-install" in c.metadata.get("tags", []) for c in converted[flavour, path.name].cells) == 1


def test_committed_launch_notebooks_are_up_to_date():
    proc = subprocess.run([sys.executable, str(ROOT / "tools" / "make_launch.py"), "--check"],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr + "\n(regenerate: python tools/make_launch.py)"


def test_check_notices_a_stale_notebook(tmp_path):
    out = tmp_path / "launch"
    assert make_launch.main(["--out", str(out)]) == 0
    assert make_launch.main(["--out", str(out), "--check"]) == 0
    victim = out / "student" / CHAPTERS[0].name
    nb = json.loads(victim.read_text())
    nb["cells"][3]["source"] = "edited by hand"
    victim.write_text(json.dumps(nb))
    assert make_launch.main(["--out", str(out), "--check"]) == 1


def _notebook_with(cells):
    nb = nbformat.v4.new_notebook(cells=cells)
    return nb


@pytest.mark.parametrize("source, message", [
    ("```{prf:theorem} T\n:label: thm-x\nText\n```\n\n```{glossary}\nterm\n```", r"cell 1: .*\{glossary\}"),
    ("See {term}`relu`.", r"cell 1: .*role \{term\}"),
    ("See {prf:ref}`thm-nowhere`.", r"cell 1: reference to unknown label 'thm-nowhere'"),
    ("{cite:p}`nobody2020`", r"cell 1: unknown citation key 'nobody2020'"),
    ("- item\n\n  ```{note}\n  nested\n  ```", r"cell 1: directive \{note\} nested"),
])
def test_bad_markdown_is_refused_with_notebook_and_cell(book, source, message):
    nb = _notebook_with([nbformat.v4.new_markdown_cell("# 9. Test"), nbformat.v4.new_markdown_cell(source)])
    with pytest.raises(make_launch.ConversionError, match=r"09_test\.ipynb, " + message):
        make_launch.convert_notebook(nb, ROOT / "chapters" / "09_test.ipynb", book, "reader")


def test_solution_code_cell_without_starter_is_refused(book):
    path = CHAPTERS[0]
    nb = nbformat.read(path, as_version=4)
    index = next(i for i, c in enumerate(nb.cells) if c.metadata.get("nnlib", {}).get("student_stub"))
    broken = copy.deepcopy(nb)
    del broken.cells[index].metadata["nnlib"]
    for flavour in ("student", "reader"):
        with pytest.raises(make_launch.ConversionError, match=rf"{path.name}, cell {index}: .*without a starter"):
            make_launch.convert_notebook(broken, path, book, flavour)


def test_unterminated_gated_solution_is_refused(book):
    path = CHAPTERS[0]
    nb = nbformat.read(path, as_version=4)
    index = next(i for i, c in enumerate(nb.cells) if "{solution-end}" in c.source)
    del nb.cells[index]
    with pytest.raises(make_launch.ConversionError, match=r"solution-start without solution-end"):
        make_launch.convert_notebook(nb, path, book, "student")


def test_flatten_keeps_formulas_on_one_quoted_line():
    body = "Let $f\\colon I\n\\to J$ be\ngiven.\n\n$$a =\nb$$\n\n```python\nx = 1\ny = 2\n```"
    out = make_launch.blockquote("**Theorem 1.1**", body)
    assert out == ("> **Theorem 1.1**\n>\n> Let $f\\colon I \\to J$ be given.\n>\n> $$a = b$$\n>\n"
                   "> ```python\n> x = 1\n> y = 2\n> ```")
