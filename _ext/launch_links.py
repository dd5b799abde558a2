"""Point the Binder and Colab launch buttons of each chapter at its generated launch notebook.

sphinx-book-theme builds the launch URLs from the page's own source path (``chapters/NN_x.ipynb``),
whose MyST directives JupyterLab without jupyterlab-myst and Colab show as raw source. This
extension runs after the theme's ``html-page-context`` handler (priority 501) and replaces that
path, in the Binder/JupyterHub/Colab/Deepnote/JupyterLite links only, by
``launch/<flavour>/NN_x.ipynb`` — the notebooks ``tools/make_launch.py`` writes.

Configuration (``_config.yml``, ``sphinx: config:``)::

    nnlib_launch_flavour: student     # "student" (default), "reader", or "" for the source chapters

A page with no launch notebook keeps the theme's links; a launch button that does not contain the
source path it expects is a Sphinx warning (so ``-W`` fails rather than shipping a wrong link).
"""
from __future__ import annotations

from pathlib import Path

from sphinx.util import logging

LOGGER = logging.getLogger(__name__)
LAUNCH_DIR = "launch"
FLAVOURS = ("student", "reader")


def _launch_notebook(app, pagename: str, flavour: str) -> str | None:
    candidate = Path(app.srcdir) / LAUNCH_DIR / flavour / f"{Path(pagename).name}.ipynb"
    if not candidate.exists():
        return None
    return f"{LAUNCH_DIR}/{flavour}/{candidate.name}"


def rewrite_launch_links(app, pagename, templatename, context, doctree):
    flavour = app.config.nnlib_launch_flavour
    if not flavour:
        return
    groups = [b for b in context.get("header_buttons", []) if b.get("label") == "launch-buttons"]
    if not groups:
        return
    target = _launch_notebook(app, pagename, flavour)
    if target is None:
        return
    theme_options = app.config.html_theme_options or {}
    prefix = theme_options.get("path_to_docs", "").strip("/")
    source = f"{prefix}/{pagename}.ipynb" if prefix else f"{pagename}.ipynb"
    repo_target = f"{prefix}/{target}" if prefix else target   # launch/ sits in the book's root folder
    for group in groups:
        for button in group.get("buttons", []):
            if "url" not in button:
                continue
            if source not in button["url"]:
                LOGGER.warning(f"launch_links: the {button.get('text')} button of {pagename} does not "
                               f"contain {source!r}: {button['url']}")
                continue
            button["url"] = button["url"].replace(source, repo_target)


def check_flavour(app, config):
    if config.nnlib_launch_flavour not in FLAVOURS + ("",):
        raise ValueError(f"nnlib_launch_flavour must be one of {FLAVOURS + ('',)}, "
                         f"got {config.nnlib_launch_flavour!r}")


def setup(app):
    app.add_config_value("nnlib_launch_flavour", "student", "html")
    app.connect("config-inited", check_flavour)
    app.connect("html-page-context", rewrite_launch_links, priority=600)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
