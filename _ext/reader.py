"""Sphinx extension for the reading experience of the book (issue 13).

- ``{test}`tests/test_x.py::test_y``` renders compactly as "a test ↗", a link to the test in the
  repository (``repository.url`` + ``branch`` of _config.yml, line number of the ``def``), with the
  full test id as tooltip. ``{test}`other text <tests/test_x.py::test_y>``` sets the text.
  A test id that does not exist in the checkout is a build warning (so ``-W`` fails).
- ``{repo}`benchmarks/bench_pieces.py``` links a repository file (shown as wrapped code).
- Figures: the image's alt text is taken from the figure's caption (myst-nb leaves a hashed file
  name otherwise).
- Chapter numbers continue across the parts of _toc.yml (Sphinx restarts the section numbers in
  every numbered toctree, and Jupyter Book makes one toctree per part), so that "Theorem 4.3",
  "Fig. 5.2" and "Exercise 3.1" carry the chapter's number.
- Pages whose notebook has no live widget output shown in the book get no widget JavaScript.
"""
from __future__ import annotations

import re
from pathlib import Path

from docutils import nodes
from sphinx.util import logging

logger = logging.getLogger(__name__)

_TITLE = re.compile(r"^(?P<text>.*?)\s*<(?P<target>[^<>]+)>$", re.S)


def _repo_base(config) -> tuple[str, str]:
    url = (config.html_theme_options or {}).get("repository_url") or ""
    branch = (config.html_theme_options or {}).get("repository_branch") or "main"
    return url.rstrip("/"), branch


def _split(text: str, default: str | None):
    m = _TITLE.match(text)
    if m:
        return m.group("text"), m.group("target").strip()
    return default, text.strip()


def test_role(name, rawtext, text, lineno, inliner, options=None, content=None):
    env = inliner.document.settings.env
    label, target = _split(text, "a test ↗")
    path, _, func = target.partition("::")
    root = Path(env.srcdir)
    file = root / path
    line = None
    if not path.startswith("tests/") or not file.is_file():
        logger.warning(f"{{test}} role: no such test file {path!r}", location=(env.docname, lineno), type="reader")
    elif func:
        m = re.search(rf"^[ \t]*(?:async[ \t]+)?def {re.escape(func)}\(", file.read_text(), re.M)
        if m is None:
            logger.warning(f"{{test}} role: no test {func!r} in {path}", location=(env.docname, lineno), type="reader")
        else:
            line = file.read_text()[: m.start()].count("\n") + 1
    url, branch = _repo_base(env.config)
    ref = f"{url}/blob/{branch}/{path}" + (f"#L{line}" if line else "")
    node = nodes.reference(rawtext, label, refuri=ref, classes=["nnlib-test-ref"], reftitle=target)
    node["reftitle"] = target
    return [node], []


def repo_role(name, rawtext, text, lineno, inliner, options=None, content=None):
    env = inliner.document.settings.env
    label, target = _split(text, None)
    if not (Path(env.srcdir) / target).exists():
        logger.warning(f"{{repo}} role: no such file {target!r}", location=(env.docname, lineno), type="reader")
    url, branch = _repo_base(env.config)
    kind = "tree" if (Path(env.srcdir) / target).is_dir() else "blob"
    node = nodes.reference(rawtext, "", refuri=f"{url}/{kind}/{branch}/{target}", classes=["nnlib-repo-ref"])
    node += nodes.literal(label or target, label or target) if not label else nodes.Text(label)
    node["reftitle"] = target
    return [node], []


def alt_from_caption(app, doctree):
    for fig in doctree.findall(nodes.figure):
        captions = list(fig.findall(nodes.caption))
        if not captions:
            continue
        text = captions[0].astext()
        text = re.sub(r"\\(?:mathbb|mathrm|operatorname|varepsilon|tilde)\b", "", text)
        text = re.sub(r"[\\{}$]", "", text)
        text = re.sub(r"\s+", " ", text).strip()
        for img in fig.findall(nodes.image):
            img["alt"] = text


def continue_chapter_numbers(app, env):
    """Number the chapters of all numbered parts consecutively (idempotent)."""
    root = env.config.root_doc
    if root not in env.tocs or root not in env.numbered_toctrees:
        return []
    from sphinx import addnodes
    from sphinx.environment.collectors.toctree import TocTreeCollector

    chapter = 0
    changed = False
    for toc in env.get_doctree(root).findall(addnodes.toctree):
        if not toc.get("numbered"):
            continue
        for _title, ref in toc["entries"]:
            secnums = env.toc_secnumbers.get(ref)
            if not secnums:
                continue
            chapter += 1
            for anchor, num in list(secnums.items()):
                if num and num[0] != chapter:
                    secnums[anchor] = (chapter,) + tuple(num[1:])
                    changed = True
    if changed:
        # figure/theorem/exercise numbers are prefixed with the section numbers: recompute them
        env.toc_fignumbers = {}
        TocTreeCollector().assign_figure_numbers(env)
    return []


WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


def drop_unused_widget_js(app, doctree):
    """myst-nb adds the widget state and 3.6 MB of widget JS whenever the notebook stored widget
    state; drop them when no widget view is rendered on the page (live cells are `remove-output`)."""
    env = app.env
    meta = getattr(env, "nb_metadata", {}).get(env.docname, {})
    js = meta.get("js_files", {})
    if not any(k.startswith("ipywidgets") for k in js):
        return
    shown = any(WIDGET_VIEW in node.astext() for node in doctree.findall(nodes.raw))
    if not shown:
        for key in [k for k in js if k.startswith("ipywidgets")]:
            del js[key]


def dedupe_scripts(app, pagename, templatename, context, doctree):
    """sphinx-thebe 0.3.1 registers its inline config script twice ("Identifier 'THEBE_JS_URL' has
    already been declared"): keep the first copy of every identical script."""
    files = context.get("script_files")
    if not files:
        return
    seen, out = set(), []
    for js in files:
        # the two copies differ only in filename None vs "" (inline scripts)
        key = (str(getattr(js, "filename", js) or ""), repr(sorted(getattr(js, "attributes", {}).items())))
        if key in seen:
            continue
        seen.add(key)
        out.append(js)
    files[:] = out
    # sphinx-design (loaded by Jupyter Book) is used by no page of this book: 62 kB per page
    if " sd-" not in context.get("body", "") and 'class="sd-' not in context.get("body", ""):
        files[:] = [js for js in files if "design-tabs" not in str(getattr(js, "filename", js) or "")]
        css = context.get("css_files")
        if css:
            css[:] = [c for c in css if "sphinx-design" not in str(getattr(c, "filename", c) or "")]


def set_default_mode(app, config):
    """pydata-sphinx-theme logs "Got invalid theme mode" when no default mode is configured."""
    # a copy of the theme's webpack-macros.html without fontawesome.js (1.5 MB on every page; the
    # theme CSS already has the icon font rules, so the icons still render)
    config.templates_path = [str(Path(__file__).parent / "templates")] + list(config.templates_path or [])
    context = dict(config.html_context or {})
    context.setdefault("default_mode", "light")
    config.html_context = context


def record_proof_titles(app, doctree):
    """Keep each theorem's title next to sphinx-proof's record, for the proof index."""
    proofs = getattr(app.env, "proof_list", {})
    for node in doctree.findall(nodes.Element):
        label = node.get("label") if node.get("realtype") else None
        if label and label in proofs:
            proofs[label]["title"] = node.get("title", "")


def proof_index_with_titles(self, docnames=None):
    """sphinx-proof's index lists raw labels ("def-hat"); list "Definition 2.1 The hat function"
    instead, grouped by chapter in book order."""
    env = self.domain.env
    proofs = getattr(env, "proof_list", {})
    order = {doc: k for k, doc in enumerate(_toc_order(env))}
    groups = {}
    for label, rec in proofs.items():
        doc = rec["docname"]
        num = env.toc_fignumbers.get(doc, {}).get(rec["countertype"], {}).get(label)
        kind = rec["realtype"].title()
        name = f"{kind} {'.'.join(map(str, num))}" if num else kind
        title = re.sub(r"^\s*\((.*)\)\s*$", r"\1", rec.get("title", ""))  # proof_title_format " (%t)"
        entry = (f"{name} ({title})" if title else name, 0, doc, label, "", "", "")
        chapter = env.titles[doc].astext() if doc in env.titles else doc
        groups.setdefault((order.get(doc, 999), chapter), []).append((tuple(num or ()), entry))
    content = []
    for (_, chapter), entries in sorted(groups.items()):
        content.append((chapter, [e for _, e in sorted(entries, key=lambda t: (t[0], t[1][0]))]))
    return content, False


def _toc_order(env):
    from sphinx import addnodes

    root = env.config.root_doc
    docs = [root]
    if root in env.tocs:
        for toc in env.get_doctree(root).findall(addnodes.toctree):
            docs += [ref for _t, ref in toc["entries"]]
    return docs


def lighter_mathjax(app, config):
    """Load MathJax as components without its context menu: startup + TeX input + CHTML output +
    assistive MathML is about 0.76 MB instead of tex-chtml.js's 1.16 MB (0.43 MB of it ui/menu)."""
    if config.mathjax_path != "mathjax/tex-chtml.js":  # set by sphinx-mathjax-offline
        return
    config.mathjax_path = "mathjax/startup.js"
    cfg = dict(config.mathjax3_config or {})
    loader = dict(cfg.get("loader", {}))
    loader.setdefault("load", ["input/tex", "output/chtml", "a11y/assistive-mml"])
    cfg["loader"] = loader
    config.mathjax3_config = cfg


def latex_chapters(app, env):
    """PDF: build from the root's toctree only (toctree_only), so the chapters are LaTeX chapters;
    otherwise plain Sphinx LaTeX nests them under the intro's last section. Jupyter Book sets
    latex_documents after Sphinx starts, and the LaTeX builder reads it at write time."""
    if app.builder.name == "latex":
        app.config.latex_documents = [tuple(doc[:5]) + (True,) for doc in app.config.latex_documents]
    return []


SITE_FIGURE_SCALE = 0.5    # 200 dpi notebook PNGs are served at 100 dpi (still 2x on a 390 px phone)


def quantize_figures(app, exc):
    """Site only (the notebooks keep their full PNGs): serve figure PNGs at 100 dpi with a
    256-colour palette, which leaves line plots visually unchanged and cuts their size by about
    80 %. The PNG's dpi metadata is updated, so text sizes can still be computed from it."""
    if exc is not None or app.builder.format != "html":
        return
    import io

    from PIL import Image

    for path in sorted(Path(app.outdir, "_images").glob("*.png")):
        with Image.open(path) as img:
            img.load()
            dpi = img.info.get("dpi", (100, 100))[0]
            rgba = img.convert("RGBA")
        flat = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        flat.alpha_composite(rgba)
        flat = flat.convert("RGB")
        if dpi > 160:
            size = (round(flat.width * SITE_FIGURE_SCALE), round(flat.height * SITE_FIGURE_SCALE))
            flat = flat.resize(size, Image.Resampling.LANCZOS)
            dpi *= SITE_FIGURE_SCALE
        small = flat.quantize(colors=256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
        buf = io.BytesIO()
        small.save(buf, "PNG", optimize=True, dpi=(dpi, dpi))
        if buf.tell() < path.stat().st_size:
            path.write_bytes(buf.getvalue())


SEARCH_SCRIPTS = re.compile(r'\s*<script src="[^"]*(?:_static/searchtools\.js|_static/language_data\.js|'
                            r'searchindex\.js)"></script>')
ICON_RULE = re.compile(r'((?:\.fa-[a-z0-9-]+:before,?)+)\{content:"[^"]*"\}')


def trim_site(app, exc):
    """Page weight, after the HTML is written:
    - pydata-sphinx-theme loads Sphinx's search index on every page for search-as-you-type, which
      this book does not enable (the search box submits to search.html): drop it elsewhere (70 kB);
    - its CSS carries all 1,900 Font Awesome glyph rules: keep those the site uses (86 kB)."""
    if exc is not None or app.builder.format != "html":
        return
    out = Path(app.outdir)
    pages = list(out.rglob("*.html"))
    used = set()
    for page in pages:
        text = page.read_text(encoding="utf-8")
        used |= set(re.findall(r"fa-[a-z0-9-]+", text))
        if page.name != "search.html":
            trimmed = SEARCH_SCRIPTS.sub("", text)
            if trimmed != text:
                page.write_text(trimmed, encoding="utf-8")
    for js in (out / "_static").rglob("*.js"):
        if "mathjax" not in js.parts:
            used |= set(re.findall(r"fa-[a-z0-9-]+", js.read_text(encoding="utf-8", errors="ignore")))
    css = out / "_static" / "styles" / "pydata-sphinx-theme.css"
    if css.exists():
        def keep(m):
            names = set(re.findall(r"\.(fa-[a-z0-9-]+):before", m.group(1)))
            return m.group(0) if names & used else ""
        css.write_text(ICON_RULE.sub(keep, css.read_text(encoding="utf-8")), encoding="utf-8")


def setup(app):
    app.connect("build-finished", trim_site)
    app.connect("build-finished", quantize_figures)
    app.connect("env-updated", latex_chapters)
    app.connect("config-inited", lighter_mathjax)
    import sphinx_proof.domain

    sphinx_proof.domain.ProofIndex.generate = proof_index_with_titles
    app.connect("doctree-read", record_proof_titles)
    app.connect("config-inited", set_default_mode)
    app.connect("doctree-read", drop_unused_widget_js)
    app.connect("html-page-context", dedupe_scripts)
    app.add_role("test", test_role)
    app.add_role("repo", repo_role)
    app.connect("doctree-read", alt_from_caption)
    app.connect("env-get-updated", continue_chapter_numbers, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True, "version": "0.1"}
