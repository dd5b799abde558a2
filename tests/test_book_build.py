"""The book builds with zero Sphinx warnings, and every page works in a real browser.

The build renders the stored outputs (`execute_notebooks: "off"`). The browser test serves the
built site on 127.0.0.1 and visits every page in Debian's headless Chromium via Playwright
(`executable_path="/usr/bin/chromium"`; never `playwright install`). Screenshots go to
`_build/screenshots/`. Without Chromium the browser test is skipped, unless
NNLIB_REQUIRE_BROWSER=1 (set by .ci/run, which installs Chromium), where it fails.
"""
import functools
import http.server
import os
import re
import subprocess
import sys
import threading
from pathlib import Path

import nbformat
import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent

# Console messages that are known and harmless. Empty on purpose: every former entry was fixed at
# its cause (sphinx-thebe's duplicated config script, the theme's default mode, widget JS calling
# MathJax 2; see _ext/reader.py), and a favicon is served.
CONSOLE_ALLOW: dict[str, str] = {}
ALLOWED_MISSING: set[str] = set()
VIEWPORTS = {"phone": {"width": 390, "height": 844}, "desktop": {"width": 1366, "height": 900}}
PAGE_BUDGET = 2_000_000        # bytes, uncompressed, everything a chapter page loads
MIN_FIGURE_TEXT_PX = 9         # smallest figure text at phone width, in CSS px
CONFIG = yaml.safe_load((ROOT / "_config.yml").read_text())
REPO = CONFIG["repository"]["url"].rstrip("/") + "/blob/" + CONFIG["repository"].get("branch", "main") + "/"


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    out = tmp_path_factory.mktemp("book")
    jb = Path(sys.executable).parent / "jupyter-book"
    proc = subprocess.run([str(jb), "build", str(ROOT), "--all", "-W", "-n", "--keep-going", "--path-output", str(out)],
                          capture_output=True, text=True, timeout=600)
    return proc, out / "_build" / "html"


@pytest.mark.slow
def test_book_builds_without_warnings(site):
    proc, html = site
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0, log[-4000:]
    assert "WARNING" not in log, log[-4000:]
    assert (html / "chapters" / "01_piecewise_affine.html").exists()
    # no widget JS (3.6 MB) and no stray files at the site root: the book shows static figures
    assert not (html / "embed-amd.js").exists() and not (html / "README.txt").exists()
    index = (html / "genindex.html").read_text()
    assert "activation region" in index and "unit roundoff" in index, "the index lists the glossary terms"
    proofs = (html / "prf-prf.html").read_text()
    assert "Definition 2.1 (Hat function)" in proofs and ">def-hat<" not in proofs, "proof index shows titles"
    assert (html / "_static" / "mathjax" / "tex-chtml.js").exists(), "MathJax must be served locally"
    for path in sorted(html.glob("chapters/*.html")) + [html / "intro.html"]:
        text = path.read_text()
        # a $$ block inside a paragraph is parsed as "$" + inline math: it shows up as a stray dollar
        assert '$<span class="math' not in text and "$$" not in text.replace("$$ ", ""), \
            f"{path.name}: display math must be its own paragraph"
        assert "nbval ignores" not in text and "NBVAL_" not in text, f"{path.name}: test machinery in the reader's text"
        assert "ipywidgets_state" not in text and "embed-amd" not in text, f"{path.name}: widget state/JS"
    page = (html / "chapters" / "01_piecewise_affine.html").read_text()
    assert page.count('class="solution dropdown admonition') >= 3, "public book: solutions folded"
    assert "mybinder.org/v2/gh/" in page and "colab.research.google.com/github/" in page, "launch buttons"


def test_test_role_links_the_test_and_warns_when_it_does_not_exist(tmp_path):
    """_ext/reader.py: {test} renders "a test ↗" linking to the test's line in the repository; a
    test id that does not exist is a build warning (so -W fails on stale references)."""
    import io

    from sphinx.application import Sphinx

    src = tmp_path / "src"
    (src / "tests").mkdir(parents=True)
    (src / "tests" / "test_x.py").write_text("import math\n\n\ndef test_y():\n    assert math.pi\n")
    (src / "conf.py").write_text(
        f"import sys\nsys.path.insert(0, {str(ROOT / '_ext')!r})\nextensions = ['reader']\n"
        "html_theme_options = {'repository_url': 'https://github.com/o/r', 'repository_branch': 'dev'}\n")
    (src / "index.rst").write_text("Title\n=====\n\nChecked by :test:`tests/test_x.py::test_y`, "
                                   ":test:`another ↗ <tests/test_x.py::test_gone>` and :repo:`tests/test_x.py`.\n")
    warnings = io.StringIO()
    app = Sphinx(str(src), str(src), str(tmp_path / "out"), str(tmp_path / "doctrees"), "html",
                 status=None, warning=warnings, freshenv=True)
    app.build()
    html = (tmp_path / "out" / "index.html").read_text()
    assert 'href="https://github.com/o/r/blob/dev/tests/test_x.py#L4"' in html
    assert ">a test ↗</a>" in html and 'title="tests/test_x.py::test_y"' in html
    assert 'href="https://github.com/o/r/blob/dev/tests/test_x.py"' in html, "{repo} links the file"
    log = warnings.getvalue()
    assert "no test 'test_gone' in tests/test_x.py" in log
    assert "test_y" not in log


def toc_pages():
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    pages = [toc["root"]]
    for part in toc.get("parts", []):
        pages += [c["file"] for c in part["chapters"]]
    return pages


def source_of(page):
    for suffix in (".ipynb", ".md"):
        path = ROOT / f"{page}{suffix}"
        if path.exists():
            if suffix == ".md":
                return path.read_text(), {}
            nb = nbformat.read(path, as_version=4)
            md = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown"
                           and "remove-cell" not in c.metadata.get("tags", []))
            # files pulled in with {include} are part of the page
            for target in re.findall(r"```\{include\}\s+(\S+)", md):
                md += "\n" + (path.parent / target).read_text()
            return md, nb.metadata
    raise FileNotFoundError(page)


@pytest.fixture(scope="module")
def server(site):
    proc, html = site
    if proc.returncode != 0:
        pytest.skip("the book did not build (see test_book_builds_without_warnings)")
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):  # no access log in the test output
            pass

    handler = functools.partial(Quiet, directory=str(html))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


def chapter_number(page):
    """1-based chapter number of a numbered chapter page ("chapters/04_main_theorem" -> 4), else None."""
    m = re.match(r"chapters/(\d\d)_", page)
    return int(m.group(1)) if m else None


# Text nodes of the article's prose (not code, not links): what a reader sees as plain text.
PLAIN_TEXT_JS = """() => {
  const out = [];
  const walker = document.createTreeWalker(document.querySelector('article'), NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    const n = walker.currentNode, el = n.parentElement;
    if (el.closest('a, pre, .cell_input, .cell_output, mjx-container, script, style, .headerlink, ' +
                   '.caption-number, .admonition-title, .sidebar-primary-item')) continue;
    out.push(n.textContent);
  }
  return out.join('');
}"""

LAYOUT_JS = """() => {
  const px = v => parseFloat(v) || 0;
  const vw = document.documentElement.clientWidth;
  const wide = [...document.querySelectorAll('article *')].filter(e => {
      const r = e.getBoundingClientRect(); return r.width > 0 && r.right > vw + 1 && !e.closest('[style*="overflow"], .cell_output, pre, div.math, mjx-container[display="true"], .bd-article div.proof, .admonition, table');
  }).map(e => e.tagName + '.' + e.className).slice(0, 5);
  const math = [...document.querySelectorAll('article mjx-container[display="true"]')];
  const bad_math = math.filter(m => !['auto', 'scroll'].includes(getComputedStyle(m).overflowX)).length;
  const cue = math.filter(m => m.scrollWidth > m.clientWidth + 1)
                  .filter(m => getComputedStyle(m).backgroundImage === 'none').length;
  const clipped = [...document.querySelectorAll('article div.proof, article div.proof > section')]
      .filter(e => ['hidden', 'clip'].includes(getComputedStyle(e).overflowX)).length;
  return {scroll: document.documentElement.scrollWidth, vw, wide, bad_math, cue, clipped,
          overflowing_math: math.filter(m => m.scrollWidth > m.clientWidth + 1).length};
}"""

WEIGHT_JS = """() => {
  const nav = performance.getEntriesByType('navigation')[0];
  const res = performance.getEntriesByType('resource');
  return (nav ? nav.decodedBodySize : 0) + res.reduce((s, r) => s + (r.decodedBodySize || 0), 0);
}"""


@pytest.mark.slow
@pytest.mark.parametrize("viewport", list(VIEWPORTS))
@pytest.mark.parametrize("page", toc_pages() + ["genindex", "prf-prf"])
def test_page_in_a_real_browser(page, viewport, site, server, browser):
    try:
        source, metadata = source_of(page)
    except FileNotFoundError:  # generated pages (index, proof index)
        source, metadata = "", {}
    ctx = browser.new_context(viewport=VIEWPORTS[viewport])
    tab = ctx.new_page()
    failed, bad_status, console = [], [], []
    tab.on("requestfailed", lambda r: failed.append(r.url))
    tab.on("response", lambda r: bad_status.append((r.status, r.url)) if r.status >= 400 else None)
    tab.on("console", lambda m: console.append(m.text) if m.type == "error" else None)
    tab.on("pageerror", lambda e: console.append(str(e)))
    tab.goto(f"{server}/{page}.html", wait_until="networkidle")
    tab.evaluate("() => window.MathJax && MathJax.startup ? MathJax.startup.promise : null")
    tab.wait_for_timeout(300)
    shots = ROOT / "_build" / "screenshots"
    shots.mkdir(parents=True, exist_ok=True)
    tab.screenshot(path=str(shots / f"{page.replace('/', '_')}_{VIEWPORTS[viewport]['width']}.png"), full_page=True)

    # -- page weight (uncompressed), console, requests --------------------------------------------
    weight = tab.evaluate(WEIGHT_JS)
    print(f"{page} @ {VIEWPORTS[viewport]['width']} px: {weight / 1e6:.2f} MB")
    if chapter_number(page):
        assert weight <= PAGE_BUDGET, f"{page}: {weight / 1e6:.2f} MB > {PAGE_BUDGET / 1e6:.0f} MB"
    assert not failed, f"failed requests: {failed}"
    missing = [(s, u) for s, u in bad_status if not any(u.endswith(a) for a in ALLOWED_MISSING)]
    assert not missing, f"HTTP errors: {missing}"
    unexpected = [m for m in console if not any(k in m for k in CONSOLE_ALLOW)]
    assert not unexpected, f"console errors: {unexpected}"
    assert tab.locator("script[src*='embed-amd'], .widget-slider, .widget-dropdown").count() == 0, \
        "no widget JS or dead widget views in the static book"

    # -- layout: no sideways page scroll; display math scrolls in its own box; boxes do not clip ---
    lay = tab.evaluate(LAYOUT_JS)
    assert lay["scroll"] <= lay["vw"] + 1, f"page scrolls sideways: {lay['scroll']} px > {lay['vw']} px ({lay['wide']})"
    assert lay["bad_math"] == 0, "display math must scroll inside its own box"
    assert lay["cue"] == 0, "display math that overflows needs a visible scroll cue"
    assert lay["clipped"] == 0, "proof boxes must not clip their content"

    # -- math, theorems, exercises, solutions -----------------------------------------------------
    has_math = bool(re.search(r"\$[^$\n]+\$|\\\(|\\\[", source))
    n_math = tab.locator("article mjx-container").count()
    if source:
        assert (n_math > 0) == has_math, f"math rendered: {n_math} MathJax containers, source has math: {has_math}"
    assert tab.locator("mjx-merror").count() == 0, "MathJax reported an error (undefined macro?)"
    prf = len(re.findall(r"```\{prf:(?!ref)", source))
    assert tab.locator("div.proof").count() == prf, "every prf block rendered"
    exercises = source.count("```{exercise}")
    assert tab.locator("div.exercise").count() == exercises
    solutions = tab.locator("div.solution")
    assert solutions.count() == len(re.findall(r"```\{solution(?:-start)?\}", source))
    for k in range(solutions.count()):
        body = solutions.nth(k).locator(":scope > :not(.admonition-title)")
        assert body.count() > 0 and not any(body.nth(i).is_visible() for i in range(body.count())), \
            f"solution {k} is not folded"
    if solutions.count():
        solutions.first.locator("button.toggle-button").click()  # the title also holds a link to the exercise
        tab.wait_for_timeout(300)
        assert solutions.first.locator(":scope > :not(.admonition-title)").first.is_visible(), "a click opens it"

    # -- chapter-relative numbering and links instead of plain-text references --------------------
    ch = chapter_number(page)
    if ch:
        numbers = tab.eval_on_selector_all(
            "article span.caption-number, article div.proof > p.admonition-title, "
            "article div.exercise > p.admonition-title, article span.eqno",
            "els => els.map(e => e.textContent.trim())")
        own = [n for n in numbers if re.match(r"^(Fig\.|Theorem|Lemma|Definition|Proposition|Corollary|Algorithm|"
                                              r"Exercise|\()\s*\d", n)]
        assert own, "numbered items found"
        wrong = [n for n in own if not re.match(rf"^(?:\D+\s|\()?{ch}\.\d", n)]
        assert not wrong, f"numbers not relative to chapter {ch}: {wrong}"
        assert tab.locator("a:has-text('the notation'), a[href*='notation']").count() > 0, "links the notation page"
    plain = tab.evaluate(PLAIN_TEXT_JS)
    if page == "chapters/about":  # CHANGELOG.md is included there and keeps its plain wording
        plain = plain.split("Changelog")[0]
    if page == "api":  # docstrings (also read in help()) name their chapter, section and test in words
        plain = ""
    assert not re.search(r"\b(?:Chapters?|Sections?|Theorem|Fig\.|Exercise) \d", plain), \
        f"a reference in plain text (not a link): {re.findall(r'(?s:.{0,30})(?:Chapters?|Sections?|Theorem|Fig[.]|Exercise) [0-9](?s:.{0,10})', plain)[:3]}"
    assert not re.search(r"\b(?:tests|benchmarks)/\w", plain), "unlinked test/benchmark path in the text"
    assert "nbval" not in plain
    test_links = tab.eval_on_selector_all("a.nnlib-test-ref", "els => els.map(e => [e.textContent, e.href])")
    assert len(test_links) == source.count("{test}`"), "every {test} reference rendered as a link"
    for text, href in test_links:
        assert text.endswith("↗") and len(text) <= 16 and href.startswith(REPO + "tests/"), (text, href)

    # -- figures: alt text from the caption, legible text at phone width --------------------------
    imgs = tab.eval_on_selector_all(
        "article img", "els => els.map(e => ({alt: e.alt, src: e.src, w: e.clientWidth, nw: e.naturalWidth, "
        "ok: e.complete && e.naturalWidth > 0, fig: !!e.closest('figure')}))")
    assert all(i["ok"] for i in imgs), f"images that did not load: {[i['src'] for i in imgs if not i['ok']]}"
    for img in imgs:
        assert len(img["alt"]) > 15 and not re.fullmatch(r"[0-9a-f]{16,}(\.png)?", img["alt"]), \
            f"alt text must describe the figure: {img['alt']!r}"
    if viewport == "phone":
        from PIL import Image

        from nnlib.plotting import MIN_FONT_PT

        for img in imgs:
            if img["fig"]:
                # the served PNG's own dpi (the site may store it smaller than the notebook did)
                with Image.open(site[1] / img["src"].split("/", 3)[3].split("?")[0]) as png:
                    dpi = png.info["dpi"][0]
                text_px = MIN_FONT_PT * dpi / 72 * img["w"] / img["nw"]
                assert text_px >= MIN_FIGURE_TEXT_PX, f"figure text {text_px:.1f} px at 390 px: {img['src']}"
    if metadata:
        nb = nbformat.read(ROOT / f"{page}.ipynb", as_version=4)
        hidden = sum("hide-input" in c.metadata.get("tags", []) for c in nb.cells)
        assert tab.locator("div.cell.tag_hide-input").count() == hidden, "plotting cells folded"
        assert not any(tab.locator("div.cell.tag_hide-input .cell_input pre").nth(i).is_visible()
                       for i in range(min(hidden, 3))), "folded code is hidden until opened"

    # -- accessibility: axe-core, no serious or critical violations --------------------------------
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(tab)
    serious = [(v["id"], v["impact"], len(v["nodes"]), v["nodes"][0]["target"])
               for v in results.response["violations"] if v["impact"] in ("serious", "critical")]
    print(f"{page} @ {VIEWPORTS[viewport]['width']} px: axe {len(results.response['violations'])} violations, "
          f"serious/critical: {serious}")
    assert not serious, f"axe: {serious}"
    ctx.close()


@pytest.mark.slow
def test_api_page_documents_every_public_name(site):
    """api.md: every name in every module's __all__ has its autodoc anchor nnlib.<module>.<name>
    (the target of {py:func}`nnlib.<module>.<name>` in the chapters), and {prf:ref} in docstrings
    became links into the chapters."""
    import importlib

    import nnlib

    proc, html = site
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-4000:]
    page = (html / "api.html").read_text()
    modules = [m for m in nnlib._MODULES if f"automodule:: nnlib.{m}" in (ROOT / "api.md").read_text()]
    assert {"networks", "pieces", "precision", "training"} <= set(modules)
    missing = [f"nnlib.{m}.{name}" for m in modules for name in importlib.import_module(f"nnlib.{m}").__all__
               if f'id="nnlib.{m}.{name}"' not in page]
    assert not missing, f"not on the API page: {missing}"
    assert "prf:ref" not in page, "a {prf:ref} in a docstring was not turned into a link"
    assert 'href="chapters/02_sawtooth.html#thm-sawtooth-pieces"' in page


def _latex_required():
    return os.environ.get("NNLIB_REQUIRE_LATEX") == "1" or os.environ.get("CI") == "true"


@pytest.mark.slow
def test_pdf_has_every_chapter_theorem_and_figure():
    """tools/build_pdf.sh builds the whole book as one PDF (XeLaTeX); pdftotext finds every chapter
    title and every theorem-like title in it, and pdfimages counts at least one image per figure."""
    import shutil

    if not all(shutil.which(t) for t in ("xelatex", "latexmk", "pdftotext", "pdfimages")):
        if _latex_required():
            pytest.fail("NNLIB_REQUIRE_LATEX=1 / CI=true but LaTeX or poppler-utils is missing "
                        "(bash tools/build_pdf.sh installs them)")
        pytest.skip("LaTeX not installed (bash tools/build_pdf.sh installs it); PDF test skipped")
    proc = subprocess.run(["bash", str(ROOT / "tools" / "build_pdf.sh")], cwd=ROOT, capture_output=True,
                          text=True, timeout=1800)
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-4000:]
    pdf = ROOT / "_build" / "latex" / "book.pdf"
    text = subprocess.run(["pdftotext", "-enc", "UTF-8", str(pdf), "-"], capture_output=True, text=True,
                          check=True).stdout
    flat = re.sub(r"\s+", " ", re.sub(r"-\n", "", text)).replace("\u2019", "'")   # LaTeX typesets ' as ’
    titles, theorems, figures = [], [], 0
    for page in toc_pages():
        source, metadata = source_of(page)
        m = re.search(r"^# (.+)$", source, re.M)
        if m:
            titles.append(m.group(1).strip())
        theorems += re.findall(r"```\{prf:(?:theorem|lemma|proposition|corollary|definition|algorithm)\} ([^$`\n]+)\n",
                               source)
        if metadata:
            nb = nbformat.read(ROOT / f"{page}.ipynb", as_version=4)
            figures += sum(1 for c in nb.cells if c.cell_type == "code"
                           and not {"remove-output", "remove-cell"} & set(c.metadata.get("tags", []))
                           for o in c.outputs if "image/png" in o.get("data", {}))
    missing = [t for t in titles + theorems if re.sub(r"\s+", " ", t.strip()) not in flat]
    assert not missing, f"not in the PDF text: {missing}"
    assert len(theorems) >= 10 and len(titles) >= 5
    listing = subprocess.run(["pdfimages", "-list", str(pdf)], capture_output=True, text=True, check=True).stdout
    images = len(listing.strip().splitlines()) - 2  # two header lines
    print(f"PDF: {pdf.stat().st_size / 1e6:.1f} MB, {images} images for {figures} figures, "
          f"{len(titles)} chapter titles, {len(theorems)} theorem titles")
    assert images >= figures > 0
