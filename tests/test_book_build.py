"""The book builds from the stored outputs with zero Sphinx warnings (-W -n)."""
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.slow
def test_book_builds_without_warnings(tmp_path):
    jb = Path(sys.executable).parent / "jupyter-book"
    proc = subprocess.run(
        [str(jb), "build", str(ROOT), "--all", "-W", "-n", "--keep-going", "--path-output", str(tmp_path)],
        capture_output=True, text=True, timeout=600,
    )
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0, log[-4000:]
    assert "WARNING" not in log, log[-4000:]
    html = tmp_path / "_build" / "html"
    assert (html / "chapters" / "01_piecewise_affine.html").exists()
    assert (html / "embed-amd.js").exists() and (html / "require.js").exists(), "widget JS must be served locally"
    assert (html / "_static" / "mathjax" / "tex-chtml.js").exists(), "MathJax must be served locally"
    page = (html / "chapters" / "01_piecewise_affine.html").read_text()
    assert page.count('class="solution dropdown admonition"') >= 3, "public book: solutions folded"
