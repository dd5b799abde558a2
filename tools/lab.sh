#!/usr/bin/env bash
# Run the chapters locally: set up .venv if needed, then JupyterLab on the launch notebooks
# (launch/reader: solutions folded; launch/student: starters only; chapters/: the MyST sources,
# rendered by jupyterlab-myst). Extra arguments go to `jupyter lab`.
source "$(dirname "$0")/_env.sh"
exec jupyter lab --ServerApp.root_dir="$ROOT" --LabApp.default_url=/lab/tree/launch/reader "$@"
