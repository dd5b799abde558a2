"""The book's Binder/Colab launch buttons open the generated launch notebooks (_ext/launch_links.py),
checked on the HTML of real (tiny) Jupyter Book builds, and on the book's own configuration."""
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
CONFIG = yaml.safe_load((ROOT / "_config.yml").read_text())


def test_the_book_config_uses_the_extension_with_the_student_flavour():
    assert CONFIG["sphinx"]["local_extensions"]["launch_links"] == "_ext/"
    assert CONFIG["sphinx"]["config"]["nnlib_launch_flavour"] == "student"
    chapters = sorted((ROOT / "chapters").glob("[0-9][0-9]_*.ipynb"))
    assert [p.name for p in sorted((ROOT / "launch" / "student").glob("*.ipynb"))] == [p.name for p in chapters]


def _tiny_book(tmp_path: Path, flavour: str) -> Path:
    book = tmp_path / f"book-{flavour or 'source'}"
    (book / "chapters").mkdir(parents=True)
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# A chapter"),
                                         nbformat.v4.new_code_cell("1 + 1")])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    for name in ("01_first", "02_second"):
        nbformat.write(nb, book / "chapters" / f"{name}.ipynb")
    for fl in ("student", "reader"):   # only chapter 1 has launch notebooks
        (book / "launch" / fl).mkdir(parents=True)
        nbformat.write(nb, book / "launch" / fl / "01_first.ipynb")
    (book / "intro.md").write_text("# Intro\n")
    (book / "_toc.yml").write_text("format: jb-book\nroot: intro\nchapters:\n"
                                   "  - file: chapters/01_first\n  - file: chapters/02_second\n")
    config = {
        "title": "t", "only_build_toc_files": True, "exclude_patterns": ["_build", "launch"],
        "execute": {"execute_notebooks": "off"},
        "repository": {"url": "https://github.com/owner/repo", "path_to_book": "", "branch": "main"},
        "launch_buttons": CONFIG["launch_buttons"],
        "sphinx": {"local_extensions": {"launch_links": str(ROOT / "_ext")},
                   "config": {"nnlib_launch_flavour": flavour}},
    }
    (book / "_config.yml").write_text(yaml.safe_dump(config))
    jb = Path(sys.executable).parent / "jupyter-book"
    proc = subprocess.run([str(jb), "build", str(book), "-W", "-n"], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-3000:]
    return book / "_build" / "html" / "chapters"


def _launch_urls(page: Path) -> list[str]:
    return re.findall(r'href="(https://(?:mybinder\.org|colab\.research\.google\.com)[^"]*)"', page.read_text())


@pytest.mark.slow
@pytest.mark.parametrize("flavour", ["student", "reader"])
def test_launch_buttons_open_the_launch_notebooks(tmp_path, flavour):
    html = _tiny_book(tmp_path, flavour)
    assert sorted(_launch_urls(html / "01_first.html")) == sorted([
        f"https://mybinder.org/v2/gh/owner/repo/main?urlpath=lab/tree/launch/{flavour}/01_first.ipynb",
        f"https://colab.research.google.com/github/owner/repo/blob/main/launch/{flavour}/01_first.ipynb",
    ])
    # a page without a launch notebook keeps the theme's link to its source
    assert sorted(_launch_urls(html / "02_second.html")) == sorted([
        "https://mybinder.org/v2/gh/owner/repo/main?urlpath=lab/tree/chapters/02_second.ipynb",
        "https://colab.research.google.com/github/owner/repo/blob/main/chapters/02_second.ipynb",
    ])


@pytest.mark.slow
def test_empty_flavour_keeps_the_source_chapters(tmp_path):
    html = _tiny_book(tmp_path, "")
    assert all("/chapters/01_first.ipynb" in url for url in _launch_urls(html / "01_first.html"))
