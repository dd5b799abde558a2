#!/usr/bin/env bash
# Build the book: set up .venv if needed, then render the stored outputs to _build/html.
# Fails on any Sphinx warning. Extra arguments go to `jupyter-book build`.
source "$(dirname "$0")/_env.sh"
jupyter-book build . --all -W -n --keep-going "$@"
echo
echo "Book built: open file://$ROOT/_build/html/index.html"
echo "(or serve it: python -m http.server -d _build/html 8000, then http://127.0.0.1:8000)"
