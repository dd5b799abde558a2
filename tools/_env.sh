# Sourced by tools/book.sh and tools/test.sh: create .venv if missing and install the pinned
# environment whenever requirements.txt, requirements-book.txt or pyproject.toml changed. Needs only
# Python >= 3.10 + pip. torch comes from PyTorch's CPU index (an extra index in requirements-book.txt);
# where that host is unreachable pip falls back to PyPI/local wheels, and --retries 1 keeps each
# failed lookup short (pip's default of 5 retries with back-off took 6 minutes on such a machine).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
PYTHON="${PYTHON:-python3}"
VENV="$ROOT/.venv"
if [ ! -x "$VENV/bin/python" ]; then
  "$PYTHON" -c 'import sys; assert sys.version_info >= (3, 10), "Python >= 3.10 needed, found " + sys.version' 
  echo "==> creating $VENV"
  "$PYTHON" -m venv "$VENV"
fi
STAMP="$VENV/.requirements-stamp"
WANT="$(cat requirements.txt requirements-book.txt pyproject.toml | "$VENV/bin/python" -c 'import hashlib,sys; print(hashlib.sha256(sys.stdin.buffer.read()).hexdigest())')"
if [ "$(cat "$STAMP" 2>/dev/null || true)" != "$WANT" ]; then
  echo "==> installing the pinned environment (first time: a few minutes, about 1.5 GB)"
  "$VENV/bin/python" -m pip install --quiet --upgrade pip
  "$VENV/bin/python" -m pip install --quiet --retries "${PIP_RETRIES:-1}" -r requirements.txt
  "$VENV/bin/python" -m pip check
  echo "$WANT" > "$STAMP"
fi
export PATH="$VENV/bin:$PATH"
unset MPLBACKEND   # with MPLBACKEND=Agg figures vanish from notebook outputs and nbval fails
