"""Sphinx glue for the API reference page (``api.md``), loaded through ``_config.yml``.

nnlib's docstrings are numpydoc (rendered by ``sphinx.ext.napoleon``) and cite the book with MyST
roles such as ``{prf:ref}`thm-sawtooth-pieces``` — the form that reads naturally in ``help()`` and in
the notebooks. autodoc parses docstrings as reStructuredText, where that role is spelled
``:prf:ref:`thm-sawtooth-pieces```; this hook rewrites the MyST spelling to the reST one, so the
reference becomes a link on the API page.
"""
from __future__ import annotations

import re

_MYST_ROLE = re.compile(r"\{([a-z][a-z0-9-]*(?::[a-z][a-z0-9-]*)?)\}`")


def myst_roles_to_rst(text: str) -> str:
    """``{prf:ref}`x``` → ``:prf:ref:`x``` (any role of the form ``{domain:role}`` or ``{role}``)."""
    return _MYST_ROLE.sub(r":\1:`", text)


def _process_docstring(app, what, name, obj, options, lines):
    for k, line in enumerate(lines):
        if "}`" in line:
            lines[k] = myst_roles_to_rst(line)


def setup(app):
    app.connect("autodoc-process-docstring", _process_docstring)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
