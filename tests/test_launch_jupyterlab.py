"""A real client: JupyterLab (real server on 127.0.0.1, token set here, bounded lifetime) serves a copy of
the launch notebooks; headless Chromium opens one chapter per part of the book, runs every cell through
JupyterLab's own "Run All" command, types the solution of the coding exercise into its starter and runs it.
JupyterLab runs *without* jupyterlab-myst here (disabled for this server): the launch notebooks must
render with JupyterLab's plain Markdown renderer, as on Colab.

Screenshots (a theorem, an exercise, a figure) go to _build/screenshots/launch/. Needs Debian's
/usr/bin/chromium (Playwright drives it; never `playwright install`); skipped without it unless
NNLIB_REQUIRE_BROWSER=1.
"""
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import nbformat
import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
SHOTS = ROOT / "_build" / "screenshots" / "launch"
LIFETIME = 900          # seconds: the server is killed after this even if teardown never runs


def one_chapter_per_part():
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    chosen = []
    for part in toc["parts"]:
        files = [c["file"] for c in part["chapters"] if Path(c["file"]).name[:2].isdigit()]
        if files:
            chosen.append(Path(files[0]).name + ".ipynb")
    return chosen


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    jupyter_lab = Path(sys.executable).parent / "jupyter-lab"
    if not jupyter_lab.exists():
        pytest.fail("jupyter-lab is not installed in this environment (requirements-book.txt pins it)")
    base = tmp_path_factory.mktemp("lab")
    root = base / "notebooks"
    shutil.copytree(ROOT / "launch", root)       # the server may autosave: never touch the committed files
    settings = base / "settings"
    (settings / "@jupyterlab" / "notebook-extension").mkdir(parents=True)
    (settings / "@jupyterlab" / "notebook-extension" / "tracker.jupyterlab-settings").write_text(
        json.dumps({"windowingMode": "none"}))    # every cell in the DOM, not only the visible ones
    (settings / "@jupyterlab" / "apputils-extension").mkdir(parents=True)
    (settings / "@jupyterlab" / "apputils-extension" / "notification.jupyterlab-settings").write_text(
        json.dumps({"fetchNews": "false", "checkForUpdates": False}))
    config = base / "config"
    (config / "labconfig").mkdir(parents=True)
    (config / "labconfig" / "page_config.json").write_text(json.dumps({"disabledExtensions": {"jupyterlab-myst": True}}))
    token, port = secrets.token_hex(16), _free_port()
    # every file the server and kernels write stays in the temp dir (runtime, cookie secret, IPython history)
    env = {**os.environ, "JUPYTER_CONFIG_DIR": str(config), "JUPYTERLAB_WORKSPACES_DIR": str(base / "ws"),
           "JUPYTER_RUNTIME_DIR": str(base / "runtime"), "JUPYTER_DATA_DIR": str(base / "data"),
           "IPYTHONDIR": str(base / "ipython")}
    env.pop("MPLBACKEND", None)
    cmd = ["timeout", str(LIFETIME), str(jupyter_lab), "--no-browser", "--ip", "127.0.0.1", f"--port={port}",
           f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root}", "--ServerApp.port_retries=0",
           f"--LabApp.user_settings_dir={settings}", "--LabApp.expose_app_in_browser=True",
           "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate", "--LabApp.extension_manager=readonly"]
    if os.geteuid() == 0:
        cmd.append("--allow-root")           # CI containers run as root
    log = open(base / "server.log", "w")
    proc = subprocess.Popen(cmd, cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 120
        while True:
            try:
                with urllib.request.urlopen(f"{url}/api/status?token={token}", timeout=5) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.time() > deadline:
                pytest.fail(f"JupyterLab did not start:\n{(base / 'server.log').read_text()[-3000:]}")
            time.sleep(1)
        yield url, token, root
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
        log.close()


MODEL_JS = """() => {
  const nb = window.jupyterapp.shell.currentWidget.content;
  return nb.widgets.map(w => ({
    type: w.model.type,
    source: w.model.sharedModel.getSource(),
    tags: (w.model.getMetadata('tags') || []),
    count: w.model.type === 'code' ? w.model.executionCount : null,
    errors: w.model.type === 'code' ? w.model.outputs.toJSON().filter(o => o.output_type === 'error')
                                          .map(o => o.ename + ': ' + o.evalue) : [],
    text: w.model.type === 'code' ? w.model.outputs.toJSON().map(o => o.text || '').join('') : '',
  }));
}"""

BUSY_JS = """() => {
  const w = window.jupyterapp.shell.currentWidget;
  const k = w.sessionContext.session && w.sessionContext.session.kernel;
  const queued = [...document.querySelectorAll('.jp-InputPrompt')].some(p => p.textContent.includes('*'));
  return !k || k.status !== 'idle' || queued;
}"""


def _wait_idle(tab, timeout=600):
    tab.wait_for_timeout(1000)
    deadline = time.time() + timeout
    while tab.evaluate(BUSY_JS):
        assert time.time() < deadline, "the notebook did not finish running"
        tab.wait_for_timeout(500)


def _solution_for(chapter: str, starter: str) -> str:
    """The chapter's own solution code for this starter (from chapters/, not from the launch notebook)."""
    nb = nbformat.read(ROOT / "chapters" / chapter, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code" and cell.metadata.get("nnlib", {}).get("student_stub") == starter:
            return cell.source
    raise AssertionError("no solution cell for the starter")


@pytest.mark.slow
@pytest.mark.parametrize("chapter", one_chapter_per_part())
def test_launch_notebook_runs_and_renders_in_jupyterlab(lab, browser, chapter):
    url, token, root = lab
    SHOTS.mkdir(parents=True, exist_ok=True)
    ctx = browser.new_context(viewport={"width": 1280, "height": 1000})
    tab = ctx.new_page()
    console = []
    tab.on("console", lambda m: console.append(f"{m.type}: {m.text}"))
    tab.on("pageerror", lambda e: console.append(f"pageerror: {e}"))
    tab.goto(f"{url}/lab/tree/student/{chapter}?token={token}&reset", wait_until="domcontentloaded")
    try:
        tab.wait_for_selector(".jp-Notebook .jp-Cell", timeout=120_000)
    except Exception:
        tab.screenshot(path=str(SHOTS / f"{chapter}_failure.png"))
        raise AssertionError("the notebook did not open:\n" + "\n".join(console[-30:]))
    tab.wait_for_function("() => window.jupyterapp && window.jupyterapp.shell.currentWidget"
                          " && window.jupyterapp.shell.currentWidget.sessionContext.session"
                          " && window.jupyterapp.shell.currentWidget.sessionContext.session.kernel", timeout=120_000)
    tab.wait_for_function("() => window.jupyterapp.shell.currentWidget.sessionContext.session.kernel.status"
                          " === 'idle'", timeout=120_000)
    page_config = json.loads(tab.locator("#jupyter-config-data").text_content())
    assert "jupyterlab-myst" in str(page_config.get("disabledExtensions")), page_config.get("disabledExtensions")
    assert not tab.evaluate("() => window.jupyterapp.hasPlugin('jupyterlab-myst:content-factory')"), \
        "jupyterlab-myst must be off: the launch notebooks have to render without it"

    # Run All through JupyterLab's command (what the Run menu does). The student starter raises CheckFailed
    # (its function body is still "..."), which stops the run there, as it would for a student.
    tab.evaluate("() => window.jupyterapp.commands.execute('notebook:run-all-cells')")
    _wait_idle(tab)
    cells = tab.evaluate(MODEL_JS)
    starters = [i for i, c in enumerate(cells) if "exercise-starter" in c["tags"]]
    assert starters, "the student notebook has a coding exercise"
    for i, c in enumerate(cells):
        if i < starters[0]:
            assert not c["errors"], f"cell {i} failed: {c['errors']}"
    assert cells[starters[0]]["errors"] and cells[starters[0]]["errors"][0].startswith("CheckFailed"), \
        "the untouched starter reports what is missing"

    # type the solution into the starter cell and run it: the self-check prints its success message
    for i in starters:
        editor = tab.locator(".jp-Notebook .jp-Cell").nth(i).locator(".cm-content")
        editor.click()
        tab.keyboard.press("Control+a")
        tab.keyboard.press("Delete")
        tab.keyboard.insert_text(_solution_for(chapter, cells[i]["source"]))
        tab.keyboard.press("Shift+Enter")
        _wait_idle(tab)
    tab.evaluate("() => window.jupyterapp.commands.execute('notebook:run-all-below')")
    _wait_idle(tab)
    cells = tab.evaluate(MODEL_JS)
    errors = {i: c["errors"] for i, c in enumerate(cells) if c["errors"]}
    assert not errors, f"error outputs: {errors}"
    unrun = [i for i, c in enumerate(cells) if c["type"] == "code" and c["count"] is None]
    assert not unrun, f"code cells never run: {unrun}"
    for i in starters:
        assert "checks passed" in cells[i]["text"] or "correct" in cells[i]["text"], cells[i]["text"]

    # rendered as HTML: headings, numbered titles, no MyST source, math typeset by MathJax
    rendered = tab.locator(".jp-MarkdownCell .jp-RenderedMarkdown")
    assert rendered.count() == sum(c["type"] == "markdown" for c in cells), "every Markdown cell rendered"
    text = "\n".join(rendered.all_inner_texts())
    for raw in ("{prf:", "```{", ":label:", "{numref}", "{cite", "{exercise}"):
        assert raw not in text, f"raw MyST {raw!r} visible"
    number = int(chapter[:2])
    assert tab.locator(f".jp-RenderedMarkdown h1:has-text('{number}.')").count() == 1
    assert tab.locator(".jp-RenderedMarkdown h2").count() >= 3
    titles = tab.locator(".jp-RenderedMarkdown blockquote strong")
    kinds = {t.split(" ")[0] for t in titles.all_inner_texts()}
    assert "Exercise" in kinds and kinds & {"Theorem", "Lemma", "Definition", "Proposition"}, kinds
    assert tab.locator(f".jp-RenderedMarkdown blockquote strong:has-text('Exercise {number}.1')").count() == 1
    assert tab.locator(".jp-RenderedMarkdown mjx-container").count() > 20, "math typeset by MathJax"
    assert tab.locator("mjx-merror").count() == 0, "MathJax error (unexpanded macro?)"
    assert "$" not in text.replace("US$", ""), "a formula left untypeset"
    assert tab.locator(".jp-OutputArea-output img").count() >= 1, "figures drawn"

    # screenshots of a theorem-like block, an exercise and a figure, for a human to look at
    stem = chapter.removesuffix(".ipynb")
    block = tab.locator(".jp-RenderedMarkdown blockquote").filter(
        has=tab.locator("strong", has_text=f"{number}.1")).first
    block.scroll_into_view_if_needed()
    block.screenshot(path=str(SHOTS / f"{stem}_block.png"))
    exercise = tab.locator(".jp-RenderedMarkdown blockquote").filter(
        has=tab.locator("strong", has_text=f"Exercise {number}.1")).first
    exercise.scroll_into_view_if_needed()
    exercise.screenshot(path=str(SHOTS / f"{stem}_exercise.png"))
    figure = tab.locator(".jp-Cell").filter(has=tab.locator(".jp-OutputArea-output img")).first
    figure.scroll_into_view_if_needed()
    figure.screenshot(path=str(SHOTS / f"{stem}_figure.png"))
    starter = tab.locator(".jp-Notebook .jp-Cell").nth(starters[0])
    starter.scroll_into_view_if_needed()
    starter.screenshot(path=str(SHOTS / f"{stem}_coding_exercise.png"))
    ctx.close()
