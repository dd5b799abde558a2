#!/usr/bin/env bash
# Build the whole book as one PDF: Jupyter Book's LaTeX builder (Sphinx) + XeLaTeX from Debian's
# texlive. Installs the missing Debian packages with apt-get (needs root or sudo) on first use.
#
#   bash tools/build_pdf.sh            # -> _build/latex/book.pdf (also copied to _build/html/book.pdf
#                                      #    when the HTML site exists, for the download link)
#
# Extra arguments go to `jupyter-book build`. tests/test_book_build.py::test_pdf_has_every_chapter_theorem_and_figure
# checks the result with pdftotext and pdfimages.
source "$(dirname "$0")/_env.sh"

bash "$ROOT/tools/latex_deps.sh"   # xelatex, fonts, latexmk, poppler-utils

# The LaTeX builder renders the same stored outputs as the HTML book (execute_notebooks: off).
jupyter-book build . --all --builder pdflatex "$@"
PDF="$(ls -t _build/latex/*.pdf | head -n 1)"
if [ "$PDF" != "_build/latex/book.pdf" ]; then cp "$PDF" _build/latex/book.pdf; fi
if [ -d _build/html ]; then cp _build/latex/book.pdf _build/html/book.pdf; fi
echo
echo "PDF built: $ROOT/_build/latex/book.pdf ($(du -h _build/latex/book.pdf | cut -f1))"
