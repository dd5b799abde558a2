"""Launch notebooks: the chapters converted to plain Jupyter Markdown (JupyterLab without extensions, Colab).

    python tools/make_launch.py              # write launch/student/*.ipynb and launch/reader/*.ipynb
    python tools/make_launch.py --check      # exit 1 (and name the files) if the committed ones are stale
    python tools/make_launch.py --out DIR    # write DIR/student and DIR/reader instead

The Binder and Colab launch buttons of the book open ``launch/student/`` (see ``_ext/launch_links.py``).
Two flavours come from one conversion:

* **student**: solutions removed; a solution code cell is replaced by its starter
  (``metadata.nnlib.student_stub``, tagged ``exercise-starter``); outputs cleared.
* **reader**: every solution kept, a Markdown solution inside ``<details><summary>…</summary>``, a
  solution code cell with its input folded (``jupyter.source_hidden``) under a "Solution to
  Exercise n.m" line; stored outputs (figures) kept, so the notebook reads like the book page.

What the conversion does to the MyST of the chapters (nothing is left as raw MyST: a directive or role
it does not know is an error naming the notebook and the cell index, as is a solution code cell
without a starter):

* ``{prf:theorem}``, ``{prf:lemma}``, … and ``{exercise}`` → a blockquote whose first line is the
  numbered title, e.g. "**Theorem 4.2** (One-step bound)"; ``{prf:proof}`` → "*Proof.*" blockquote;
  admonitions → blockquote with their title; ``{math}`` → ``$$…$$`` (numbered if labelled).
* Numbering is chapter-relative, like the book: "Theorem 4.2", "Exercise 3.1", "Fig. 1.4". The
  chapter number is the file-name prefix (``04_…`` → 4), checked against the order in ``_toc.yml``.
  Each kind has its own counter (sphinx-proof and sphinx-exercise number each directive type
  separately, unless ``prf_realtyp_to_countertyp`` in ``_config.yml`` shares counters); figures
  ("Fig. 1.4", as in the book) are the code cells with ``metadata.mystnb.figure`` (a caption line is
  inserted below them). ``{ref}`` to a numbered block gives "Exercise 1.2", as the book does.
* ``{prf:ref}``, ``{numref}``, ``{ref}``, ``{eq}`` → the number as text, linked to the online book
  (``html.baseurl`` of ``_config.yml``, else the GitHub Pages address of ``repository.url``);
  ``{cite:p}``/``{cite:t}`` → "[Author et al., 2024]" / "Author et al. [2024]" from
  ``references.bib``, linked to the book's reference page.
* Math kept; the book's MathJax macros (``_config.yml``) are expanded in place, so no
  ``\\newcommand`` cell is needed (Colab's renderer forgets macros between cells).
* A hidden set-up cell comes first: it installs ``nnlib`` (and what the chapters import) from the
  repository when ``nnlib`` is missing (Colab), and does nothing on Binder or a local install.
"""
from __future__ import annotations

import argparse
import copy
import re
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import nbformat
import yaml
from markdown_it import MarkdownIt
from mdit_py_plugins.amsmath import amsmath_plugin
from mdit_py_plugins.colon_fence import colon_fence_plugin
from mdit_py_plugins.dollarmath import dollarmath_plugin
from mdit_py_plugins.myst_blocks import myst_block_plugin
from mdit_py_plugins.myst_role import myst_role_plugin
from nbformat.v4 import new_code_cell, new_markdown_cell

ROOT = Path(__file__).resolve().parent.parent
FLAVOURS = ("student", "reader")
LAUNCH_DIR = "launch"

# sphinx-proof directive types and their display names (each type has its own counter).
PROOF_KINDS = {name: name.capitalize() for name in (
    "theorem", "lemma", "definition", "proposition", "corollary", "algorithm", "conjecture",
    "example", "remark", "axiom", "criterion", "assumption", "observation", "property")}
ADMONITIONS = {name: name.capitalize() for name in (
    "note", "tip", "hint", "important", "warning", "caution", "attention", "danger", "error", "seealso")}
ADMONITIONS["seealso"] = "See also"
KNOWN_ROLES = {"prf:ref", "numref", "ref", "eq", "cite:p", "cite:t", "cite", "test", "repo",
               "py:obj", "py:func", "py:class", "py:mod", "py:data"}


class ConversionError(ValueError):
    """A chapter holds something the converter cannot turn into plain Markdown; names notebook and cell."""


def _parser() -> MarkdownIt:
    md = MarkdownIt("commonmark")
    for plugin in (colon_fence_plugin, dollarmath_plugin, amsmath_plugin, myst_block_plugin, myst_role_plugin):
        md.use(plugin)
    return md


MD = _parser()


# ---------------------------------------------------------------------------------------------------
# The book: configuration, chapters, bibliography
# ---------------------------------------------------------------------------------------------------

@dataclass
class Target:
    """Something a reference can point to."""
    label: str
    kind: str          # "Theorem", "Exercise", "Figure", "Equation", "Section", …
    number: str        # "4.2" ("" for sections)
    title: str         # directive title or heading text ("" if none)
    doc: str           # "chapters/04_main_theorem"


@dataclass
class Book:
    root: Path
    config: dict
    chapters: list      # [(chapter number, Path)] in _toc.yml order
    book_url: str       # ends with "/"
    repo_url: str
    macros: dict
    bib: dict           # key -> (authors text, year)
    targets: dict       # label -> Target

    def url(self, doc: str, anchor: str = "") -> str:
        return f"{self.book_url}{doc}.html" + (f"#{anchor}" if anchor else "")


def _toc_files(toc: dict) -> list[str]:
    files = []

    def walk(entries):
        for entry in entries or []:
            if "file" in entry:
                files.append(entry["file"])
            walk(entry.get("chapters"))
            walk(entry.get("sections"))
            for part in entry.get("parts", []) or []:
                walk(part.get("chapters"))

    walk(toc.get("chapters"))
    for part in toc.get("parts", []) or []:
        walk(part.get("chapters"))
    return files


def book_url_from_config(config: dict) -> str:
    """``html.baseurl`` if set, else the GitHub Pages address of ``repository.url``."""
    base = (config.get("html") or {}).get("baseurl") or ""
    if not base:
        m = re.fullmatch(r"https://github\.com/([^/]+)/([^/]+?)(?:\.git)?/?", config["repository"]["url"])
        if not m:
            raise ConversionError(f"cannot derive the online book's address from repository.url "
                                  f"{config['repository']['url']!r}; set html.baseurl in _config.yml")
        base = f"https://{m.group(1)}.github.io/{m.group(2)}/"
    return base if base.endswith("/") else base + "/"


def load_bib(path: Path) -> dict:
    """key -> (author text in the author_year style, year)."""
    from pybtex.database import parse_file

    bib = {}
    for key, entry in parse_file(str(path)).entries.items():
        people = entry.persons.get("author") or entry.persons.get("editor") or []
        last = [" ".join(p.last_names).replace("{", "").replace("}", "") for p in people]
        if not last:
            names = entry.fields.get("organization", key)
        elif len(last) == 1:
            names = last[0]
        elif len(last) == 2:
            names = f"{last[0]} and {last[1]}"
        else:
            names = f"{last[0]} et al."
        bib[key] = (names, entry.fields.get("year", "n.d."))
    return bib


def load_book(root: Path = ROOT) -> Book:
    config = yaml.safe_load((root / "_config.yml").read_text())
    toc = yaml.safe_load((root / "_toc.yml").read_text())
    chapters = []
    for position, file in enumerate(f for f in _toc_files(toc) if re.match(r"chapters/\d\d_", f)):
        path = root / (file if file.endswith(".ipynb") else file + ".ipynb")
        number = int(path.name[:2])
        if number != position + 1:
            raise ConversionError(f"{path.name}: the file-name prefix says chapter {number}, "
                                  f"but it is numbered chapter {position + 1} in _toc.yml")
        chapters.append((number, path))
    macros = (((config.get("sphinx") or {}).get("config") or {}).get("mathjax3_config") or {}) \
        .get("tex", {}).get("macros", {})
    for name, value in macros.items():
        if not isinstance(value, str):
            raise ConversionError(f"_config.yml: MathJax macro \\{name} takes arguments; expand it by hand")
    bibfiles = config.get("bibtex_bibfiles") or []
    bib = {}
    for bibfile in bibfiles:
        bib.update(load_bib(root / bibfile))
    book = Book(root, config, chapters, book_url_from_config(config), config["repository"]["url"].rstrip("/"),
                macros, bib, {})
    for number, path in chapters:
        collect_targets(book, number, path, nbformat.read(path, as_version=4))
    for file in _toc_files(toc):   # labels of the unnumbered Markdown pages (notation, references, …)
        page = root / (file if file.endswith(".md") else file + ".md")
        if page.exists():
            lines = page.read_text().split("\n")
            for tok in MD.parse(page.read_text()):
                if tok.type == "myst_target" and tok.content not in book.targets:
                    after = [ln for ln in lines[tok.map[1]:] if ln.strip()]
                    title = _heading_text(after[0]) if after and after[0].startswith("#") else ""
                    book.targets[tok.content] = Target(tok.content, "Section", "", title, file.removesuffix(".md"))
    return book


# ---------------------------------------------------------------------------------------------------
# Markdown helpers on markdown-it tokens
# ---------------------------------------------------------------------------------------------------

@dataclass
class Directive:
    name: str
    argument: str
    options: dict
    body: str
    start: int          # line range [start, end) in the cell source
    end: int


def parse_directives(source: str, where: str) -> list[Directive]:
    """Top-level ```{name} / :::{name} blocks of a Markdown source, in order."""
    found = []
    for token in MD.parse(source):
        if token.type not in ("fence", "colon_fence") or not token.info.strip().startswith("{"):
            continue
        m = re.fullmatch(r"\{([\w:.-]+)\}\s*(.*)", token.info.strip())
        if not m:
            raise ConversionError(f"{where}: cannot read the directive line {token.info!r}")
        if token.level != 0:
            raise ConversionError(f"{where}: directive {{{m.group(1)}}} nested in a list or quote "
                                  "is not supported by the converter")
        options, body = _split_options(token.content, where)
        found.append(Directive(m.group(1), m.group(2).strip(), options, body, token.map[0], token.map[1]))
    return found


def _split_options(content: str, where: str) -> tuple[dict, str]:
    lines = content.split("\n")
    options = {}
    if lines and lines[0].strip() == "---":
        try:
            end = lines.index("---", 1)
        except ValueError:
            raise ConversionError(f"{where}: unterminated '---' option block") from None
        options = yaml.safe_load("\n".join(lines[1:end])) or {}
        lines = lines[end + 1:]
    else:
        while lines and re.match(r"^:[\w-]+:", lines[0]):
            key, _, value = lines.pop(0)[1:].partition(":")
            options[key.strip()] = value.strip()
    return options, "\n".join(lines).strip("\n")


def flatten_paragraphs(text: str) -> str:
    """Join the lines of every paragraph and display-math block, so the text can be quoted with '> '
    (a line break inside $…$ would put '>' into the formula)."""
    lines = text.split("\n")
    spans = [tok.map for tok in MD.parse(text)
             if tok.type in ("paragraph_open", "math_block", "math_block_label", "amsmath") and tok.map]
    for start, end in sorted(spans, reverse=True):
        if end - start > 1:
            indent = re.match(r"\s*", lines[start]).group(0)
            lines[start:end] = [indent + " ".join(line.strip() for line in lines[start:end])]
    return "\n".join(lines)


def blockquote(title: str, body: str) -> str:
    body = flatten_paragraphs(body.strip())
    quoted = [f"> {title}"] + ([">"] + [f"> {line}" if line.strip() else ">" for line in body.split("\n")]
                               if body else [])
    return "\n".join(quoted)


# ---------------------------------------------------------------------------------------------------
# Pass 1: numbers and labels
# ---------------------------------------------------------------------------------------------------

def _heading_text(line: str) -> str:
    return re.sub(r"^#+\s*", "", line).strip()


def collect_targets(book: Book, chapter: int, path: Path, nb) -> None:
    doc = f"chapters/{path.stem}"
    counters: dict[str, int] = {}

    def add(label, kind, title, where):
        if not label:
            return
        if label in book.targets:
            raise ConversionError(f"{where}: label {label!r} is defined twice")
        book.targets[label] = Target(label, kind, "", title, doc)

    def number(kind):
        counters[kind] = counters.get(kind, 0) + 1
        return f"{chapter}.{counters[kind]}"

    for index, cell in enumerate(nb.cells):
        where = f"{path.name}, cell {index}"
        if cell.cell_type == "code":
            figure = (cell.metadata.get("mystnb") or {}).get("figure")
            if figure and figure.get("name"):
                add(figure["name"], "Fig.", figure.get("caption", ""), where)
                book.targets[figure["name"]].number = number("figure")
            continue
        if cell.cell_type != "markdown":
            continue
        lines = cell.source.split("\n")
        for tok in MD.parse(cell.source):
            if tok.type == "myst_target":
                after = [ln for ln in lines[tok.map[1]:] if ln.strip()]
                title = _heading_text(after[0]) if after and after[0].startswith("#") else ""
                add(tok.content, "Section", title, where)
        for d in parse_directives(cell.source, where):
            label = d.options.get("label", "")
            if d.name.startswith("prf:") and d.name[4:] in PROOF_KINDS:
                add(label, PROOF_KINDS[d.name[4:]], d.argument, where)
                counter = (book.config.get("sphinx", {}).get("config", {}).get("prf_realtyp_to_countertyp")
                           or {}).get(d.name[4:], d.name[4:])
                n = number("prf:" + counter)
                if label:
                    book.targets[label].number = n
            elif d.name == "exercise":
                add(label, "Exercise", d.argument, where)
                n = number("exercise")
                if label:
                    book.targets[label].number = n
            elif d.name == "math" and label:
                add(label, "Equation", "", where)
                book.targets[label].number = number("math")


# ---------------------------------------------------------------------------------------------------
# Pass 2: one Markdown cell
# ---------------------------------------------------------------------------------------------------

class CellConverter:
    def __init__(self, book: Book, path: Path, chapter: int, flavour: str):
        self.book, self.path, self.chapter, self.flavour = book, path, chapter, flavour
        self.doc = f"chapters/{path.stem}"

    def target(self, label: str, where: str) -> Target:
        if label not in self.book.targets:
            raise ConversionError(f"{where}: reference to unknown label {label!r}")
        return self.book.targets[label]

    def title_for(self, kind: str, label: str, argument: str, where: str) -> str:
        number = self.target(label, where).number if label else ""
        head = f"**{kind} {number}**" if number else f"**{kind}**"
        return head + (f" ({argument})" if argument else "")

    def directive(self, d: Directive, where: str) -> str:
        body = self.convert_markdown(d.body, where) if d.body else ""
        if d.name.startswith("prf:"):
            kind = d.name[4:]
            if kind == "proof":
                return blockquote("*Proof.*" + (f" ({d.argument})" if d.argument else ""), body)
            if kind in PROOF_KINDS:
                return blockquote(self.title_for(PROOF_KINDS[kind], d.options.get("label", ""), d.argument,
                                                 where), body)
        elif d.name == "exercise":
            return blockquote(self.title_for("Exercise", d.options.get("label", ""), d.argument, where), body)
        elif d.name == "solution":
            return self.solution_markdown(d, body, where)
        elif d.name in ADMONITIONS or d.name == "admonition":
            title = d.argument if d.name == "admonition" else ADMONITIONS[d.name]
            if not title:
                raise ConversionError(f"{where}: an admonition needs a title")
            return blockquote(f"**{title}**", body)
        elif d.name == "math":
            label = d.options.get("label", "")
            tag = f" \\tag{{{self.target(label, where).number}}}" if label else ""
            return f"$$\n{d.body.strip()}{tag}\n$$"
        elif d.name == "figure":
            return self.figure_directive(d, body, where)
        raise ConversionError(f"{where}: the converter does not know the directive {{{d.name}}}; "
                              "teach tools/make_launch.py how to render it")

    def exercise_of(self, argument: str, where: str) -> Target:
        target = self.target(argument, where)
        if target.kind != "Exercise":
            raise ConversionError(f"{where}: solution to {argument!r}, which is not an exercise")
        return target

    def solution_title(self, argument: str, where: str) -> str:
        ex = self.exercise_of(argument, where)
        return f"Solution to Exercise {ex.number}" + (f" ({ex.title})" if ex.title else "")

    def solution_markdown(self, d: Directive, body: str, where: str) -> str:
        if self.flavour == "student":
            raise ConversionError(f"{where}: a solution outside a cell tagged 'solution' would reach the "
                                  "student notebooks; tag the cell")
        title = self.solution_title(d.argument, where)
        return f"<details>\n<summary><b>{title}</b></summary>\n\n{body}\n\n</details>"

    def figure_directive(self, d: Directive, body: str, where: str) -> str:
        label = d.options.get("name", "")
        src = d.argument
        if not re.match(r"https?://", src):
            src = f"{self.book.repo_url}/raw/{self.book.config['repository'].get('branch', 'main')}/" \
                  f"{(self.path.parent / src).resolve().relative_to(self.book.root).as_posix()}"
        caption = f"**Fig. {self.target(label, where).number}** {body}" if label else body
        return f"![{d.options.get('alt', '')}]({src})\n\n{caption}"

    def convert_markdown(self, source: str, where: str) -> str:
        """Directives → Markdown (recursively), then roles, then macros."""
        lines = source.split("\n")
        for d in reversed(parse_directives(source, where)):
            lines[d.start:d.end] = self.directive(d, where).split("\n")
        text = "\n".join(lines)
        return text

    def resolve_roles(self, text: str, where: str) -> str:
        wanted = [(t.meta["name"], t.content) for tok in MD.parse(text) if tok.children
                  for t in tok.children if t.type == "myst_role"]
        for name, _ in wanted:
            if name not in KNOWN_ROLES:
                raise ConversionError(f"{where}: the converter does not know the role {{{name}}}")
        seen = []

        def replace(m):
            seen.append((m.group(1), m.group(2)))
            return self.role(m.group(1), m.group(2), where)

        out = re.sub(r"\{([\w:.-]+)\}`([^`]+)`", replace, text)
        if sorted(seen) != sorted(wanted):
            raise ConversionError(f"{where}: role markup the Markdown parser reads differently "
                                  f"(in code or math?): {sorted(set(seen) ^ set(wanted))}")
        return out

    def code_link(self, name: str, content: str, where: str) -> str:
        """{test}, {repo} → a link into the repository; {py:…} → a link into the API page."""
        m = re.fullmatch(r"(.*?)\s*<([^<>]+)>", content, re.S)
        text, target = (m.group(1), m.group(2).strip()) if m else (None, content.strip())
        if name.startswith("py:"):
            shown = text or f"`{target.lstrip('~').split('.')[-1] if target.startswith('~') else target}`"
            return f"[{shown}]({self.book.url('api', target.lstrip('~'))})"
        path, _, test = target.partition("::")
        file = self.book.root / path
        if not file.exists():
            raise ConversionError(f"{where}: {{{name}}}`{content}` points to a missing file {path}")
        anchor = ""
        if test:
            lines = file.read_text().splitlines()
            hits = [i for i, ln in enumerate(lines, 1) if re.match(rf"\s*def {re.escape(test)}\(", ln)]
            if not hits:
                raise ConversionError(f"{where}: {{{name}}}`{content}`: no test {test} in {path}")
            anchor = f"#L{hits[0]}"
        branch = self.book.config["repository"].get("branch", "main")
        return f"[{text or f'`{target}`'}]({self.book.repo_url}/blob/{branch}/{path}{anchor})"

    def role(self, name: str, content: str, where: str) -> str:
        if name in ("test", "repo") or name.startswith("py:"):
            return self.code_link(name, content, where)
        if name.startswith("cite"):
            keys = [k.strip() for k in content.split(",")]
            for k in keys:
                if k not in self.book.bib:
                    raise ConversionError(f"{where}: unknown citation key {k!r}")
            link = self.book.url("chapters/references")
            if name == "cite:t":
                return ", ".join(f"{self.book.bib[k][0]} [[{self.book.bib[k][1]}]({link})]" for k in keys)
            inner = "; ".join(f"{self.book.bib[k][0]}, {self.book.bib[k][1]}" for k in keys)
            return f"[[{inner}]]({link})"
        m = re.fullmatch(r"(.*?)\s*<([^<>]+)>", content, re.S)
        text, label = (m.group(1), m.group(2)) if m else (None, content.strip())
        target = self.target(label, where)
        url = self.book.url(target.doc, label)
        if name == "eq":
            return f"[({target.number})]({url})"
        if text is None:
            if name == "ref" and not target.number:
                text = target.title or label
            else:
                if not target.number:
                    raise ConversionError(f"{where}: {{{name}}}`{content}` points to an unnumbered target")
                text = f"{target.kind} {target.number}"
        elif "%s" in text or "{number}" in text:
            text = text.replace("%s", target.number).replace("{number}", target.number)
        return f"[{text}]({url})"

    def expand_macros(self, text: str) -> str:
        for name in sorted(self.book.macros, key=len, reverse=True):
            text = re.sub(r"\\" + re.escape(name) + r"(?![A-Za-z])",
                          lambda m, v=self.book.macros[name]: v, text)
        return text

    def finish(self, text: str, where: str) -> str:
        text = self.expand_macros(self.resolve_roles(text, where))
        for token in MD.parse(text):
            if token.type in ("fence", "colon_fence") and token.info.strip().startswith("{"):
                raise ConversionError(f"{where}: directive left after conversion: {token.info!r}")
        lines = [ln for ln in text.split("\n") if not re.fullmatch(r"\(\s*[\w:.-]+\s*\)=", ln.strip())]
        return "\n".join(lines).strip("\n")


# ---------------------------------------------------------------------------------------------------
# Pass 2: one notebook
# ---------------------------------------------------------------------------------------------------

def setup_cell(book: Book):
    """The hidden first cell: install nnlib where it is missing (Colab), a no-op elsewhere."""
    source = (
        "#@title Set-up (Colab): installs nnlib if it is missing; does nothing on Binder or a local install\n"
        "try:\n"
        "    import nnlib\n"
        "except ImportError:\n"
        f"    get_ipython().run_line_magic(\"pip\", \"install --quiet 'nnlib[chapters] @ git+{book.repo_url}'\")"
    )
    return new_code_cell(source, metadata={"tags": ["colab-install"], "cellView": "form",
                                           "jupyter": {"source_hidden": True}})


def _is_macro_cell(cell) -> bool:
    text = re.sub(r"\\newcommand\{\\\w+\}\{(?:[^{}]|\{[^{}]*\})*\}", "", cell.source).strip()
    return cell.cell_type == "markdown" and "\\newcommand" in cell.source and text in ("", "$$", "$$$$")


def _strip_code_cell(cell, keep_outputs: bool):
    cell = copy.deepcopy(cell)
    cell.metadata.pop("execution", None)
    if keep_outputs:
        for out in cell.get("outputs", []):
            out.get("data", {}).pop("application/vnd.jupyter.widget-view+json", None)
            out.get("metadata", {}).pop("application/vnd.jupyter.widget-view+json", None)
    else:
        cell.outputs, cell.execution_count = [], None
    return cell


def convert_notebook(nb, path: Path, book: Book, flavour: str):
    """Return the ``flavour`` ("student" or "reader") launch version of chapter ``path``."""
    if flavour not in FLAVOURS:
        raise ValueError(f"flavour must be one of {FLAVOURS}, got {flavour!r}")
    chapter = int(path.name[:2])
    conv = CellConverter(book, path, chapter, flavour)
    titled = False
    cells = [setup_cell(book)]
    open_solution = None       # the exercise label of an open {solution-start}, with its cell index
    for index, cell in enumerate(nb.cells):
        where = f"{path.name}, cell {index}"
        tags = cell.metadata.get("tags", [])
        is_solution = "solution" in tags
        if "colab-install" in tags or _is_macro_cell(cell):
            continue
        if cell.cell_type == "markdown":
            dirs = parse_directives(cell.source, where)
            starts = [d for d in dirs if d.name == "solution-start"]
            ends = [d for d in dirs if d.name == "solution-end"]
            if starts or ends:
                if len(dirs) != 1 or cell.source.strip().count("\n") > 2 + len(dirs[0].options):
                    raise ConversionError(f"{where}: a solution-start/solution-end cell must hold only that "
                                          "directive")
                if not is_solution:
                    raise ConversionError(f"{where}: {{{dirs[0].name}}} in a cell not tagged 'solution'")
                if starts:
                    if open_solution:
                        raise ConversionError(f"{where}: solution-start inside the open solution of cell "
                                              f"{open_solution[1]}")
                    open_solution = (starts[0].argument, index)
                    if flavour == "reader":
                        cells.append(new_markdown_cell(
                            f"**{conv.solution_title(starts[0].argument, where)}** (the code cell below; "
                            "click its left margin to unfold it)", metadata={"tags": ["solution"]}))
                else:
                    if not open_solution:
                        raise ConversionError(f"{where}: solution-end without solution-start")
                    open_solution = None
                continue
            if is_solution and flavour == "student":
                continue
            text = conv.finish(conv.convert_markdown(cell.source, where), where)
            # The book numbers the chapter title ("3. Floating point …", numbered toctree); so does the notebook.
            text = re.sub(r"^# (?!\d+\. )", f"# {chapter}. ", text, count=1, flags=re.M) if not titled else text
            titled = titled or text.lstrip().startswith("#") or bool(re.search(r"^# ", text, re.M))
            md_cell = new_markdown_cell(text, metadata={"tags": list(tags)} if tags else {})
            cells.append(md_cell)
            continue
        if cell.cell_type != "code":
            cells.append(copy.deepcopy(cell))
            continue
        stub = (cell.metadata.get("nnlib") or {}).get("student_stub")
        if is_solution:
            if not stub:
                raise ConversionError(f"{where}: a solution code cell without a starter "
                                      "(metadata.nnlib.student_stub)")
            if flavour == "student":
                cells.append(new_code_cell(stub, metadata={"tags": ["exercise-starter", "raises-exception"]}))
            else:
                out = _strip_code_cell(cell, keep_outputs=True)
                out.metadata.setdefault("jupyter", {})["source_hidden"] = True
                cells.append(out)
            continue
        if open_solution and flavour == "student":
            raise ConversionError(f"{where}: a code cell inside a solution must be tagged 'solution'")
        cells.append(_strip_code_cell(cell, keep_outputs=flavour == "reader"))
        figure = (cell.metadata.get("mystnb") or {}).get("figure")
        if figure:
            label = figure.get("name", "")
            caption = conv.finish(figure.get("caption", ""), where)
            head = f"**Fig. {conv.target(label, where).number}**" if label else "**Fig.**"
            cells.append(new_markdown_cell(f"{head} {caption}", metadata={"tags": ["figure-caption"]}))
    if open_solution:
        raise ConversionError(f"{path.name}, cell {open_solution[1]}: solution-start without solution-end")
    out = nbformat.v4.new_notebook(cells=cells, metadata=copy.deepcopy(dict(nb.metadata)))
    out.metadata.pop("widgets", None)
    out.metadata["nnlib"] = {"launch_flavour": flavour, "source": f"chapters/{path.name}",
                             "book_page": book.url(f"chapters/{path.stem}")}
    if flavour == "student":
        out.metadata["colab"] = {"provenance": []}
    for i, c in enumerate(out.cells):
        c.id = f"{flavour[0]}{i:03d}"
    nbformat.validate(out)
    return out


def render_all(book: Book) -> dict[str, str]:
    """relative path under launch/ → notebook text, for every chapter and flavour."""
    result = {}
    for _, path in book.chapters:
        nb = nbformat.read(path, as_version=4)
        for flavour in FLAVOURS:
            result[f"{flavour}/{path.name}"] = nbformat.writes(convert_notebook(nb, path, book, flavour)) + "\n"
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / LAUNCH_DIR, help="output folder (default: launch/)")
    parser.add_argument("--check", action="store_true", help="compare with the files on disk, write nothing")
    args = parser.parse_args(argv)
    t0 = time.perf_counter()
    try:
        rendered = render_all(load_book(ROOT))
    except ConversionError as exc:
        print(f"make_launch: {exc}", file=sys.stderr)
        return 2
    if args.check:
        stale = [rel for rel, text in rendered.items()
                 if not (args.out / rel).exists() or (args.out / rel).read_text() != text]
        extra = sorted(str(p.relative_to(args.out)) for fl in FLAVOURS for p in (args.out / fl).glob("*.ipynb")
                       if f"{fl}/{p.name}" not in rendered)
        for rel in stale + extra:
            print(f"stale: {args.out / rel}", file=sys.stderr)
        if stale or extra:
            print("regenerate with: python tools/make_launch.py", file=sys.stderr)
            return 1
        print(f"{len(rendered)} launch notebooks up to date ({time.perf_counter() - t0:.2f} s)")
        return 0
    for rel, text in rendered.items():
        target = args.out / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
    print(f"wrote {len(rendered)} launch notebooks to {args.out} in {time.perf_counter() - t0:.2f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
