#!/usr/bin/env bash
# Run the whole test suite: set up .venv if needed, then pytest (unit tests, stored-output guard,
# book build with -W, nbval strict on every chapter). Extra arguments go to pytest.
source "$(dirname "$0")/_env.sh"
python -m pytest "$@"
