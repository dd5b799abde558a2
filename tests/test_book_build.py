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
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]

# Console messages that are known and harmless; each with its reason.
CONSOLE_ALLOW = {
    "Identifier 'THEBE_JS_URL' has already been declared": "sphinx-thebe 0.3.1 emits its config script twice; thebe is off",
    "Got invalid theme mode": "pydata-sphinx-theme with no stored light/dark preference; resets to auto",
    "reading 'Queue'": "@jupyter-widgets/html-manager calls the MathJax 2 API (MathJax.Hub.Queue); the book uses MathJax 3",
}
ALLOWED_MISSING = {"/favicon.ico"}  # the theme has no favicon; the browser asks anyway


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
    assert (html / "embed-amd.js").exists() and (html / "require.js").exists(), "widget JS must be served locally"
    assert (html / "_static" / "mathjax" / "tex-chtml.js").exists(), "MathJax must be served locally"
    for path in sorted(html.glob("chapters/*.html")) + [html / "intro.html"]:
        text = path.read_text()
        # a $$ block inside a paragraph is parsed as "$" + inline math: it shows up as a stray dollar
        assert '$<span class="math' not in text and "$$" not in text.replace("$$ ", ""), \
            f"{path.name}: display math must be its own paragraph"
    page = (html / "chapters" / "01_piecewise_affine.html").read_text()
    assert page.count('class="solution dropdown admonition') >= 3, "public book: solutions folded"
    assert "mybinder.org/v2/gh/" in page and "colab.research.google.com/github/" in page, "launch buttons"


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
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(html))
    handler.log_message = lambda *args: None
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.exists():
        if os.environ.get("NNLIB_REQUIRE_BROWSER") == "1":
            pytest.fail("NNLIB_REQUIRE_BROWSER=1 but /usr/bin/chromium is missing (apt-get install chromium)")
        pytest.skip("Debian chromium not installed (apt-get install chromium); browser test skipped")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.mark.slow
@pytest.mark.parametrize("page", toc_pages())
def test_page_in_a_real_browser(page, server, browser):
    source, metadata = source_of(page)
    ctx = browser.new_context(viewport={"width": 1280, "height": 900})
    tab = ctx.new_page()
    failed, bad_status, console = [], [], []
    tab.on("requestfailed", lambda r: failed.append(r.url))
    tab.on("response", lambda r: bad_status.append((r.status, r.url)) if r.status >= 400 else None)
    tab.on("console", lambda m: console.append(m.text) if m.type == "error" else None)
    tab.on("pageerror", lambda e: console.append(str(e)))
    tab.goto(f"{server}/{page}.html", wait_until="networkidle")
    tab.evaluate("() => window.MathJax && MathJax.startup ? MathJax.startup.promise : null")
    tab.wait_for_timeout(300)

    has_math = bool(re.search(r"\$[^$\n]+\$|\\\(|\\\[", source))
    n_math = tab.locator("mjx-container").count()
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

    if metadata.get("widgets"):
        assert tab.locator(".widget-slider, .widget-dropdown").count() > 0, "widgets rendered from the saved state"

    broken = tab.evaluate("() => [...document.images].filter(i => !i.complete || i.naturalWidth === 0).map(i => i.src)")
    assert not broken, f"images that did not load: {broken}"
    assert not failed, f"failed requests: {failed}"
    missing = [(s, u) for s, u in bad_status if not any(u.endswith(a) for a in ALLOWED_MISSING)]
    assert not missing, f"HTTP errors: {missing}"
    unexpected = [m for m in console if not any(k in m for k in CONSOLE_ALLOW)
                  and not ("404" in m and "Failed to load resource" in m)]  # 404s are checked above, by URL
    assert not unexpected, f"console errors: {unexpected}"

    shots = ROOT / "_build" / "screenshots"
    shots.mkdir(parents=True, exist_ok=True)
    tab.screenshot(path=str(shots / f"{page.replace('/', '_')}.png"), full_page=True)
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
