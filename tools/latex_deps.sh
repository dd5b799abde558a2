#!/usr/bin/env bash
# Install the Debian packages that the PDF build (tools/build_pdf.sh) and its test need, if missing
# (apt-get; needs root or sudo). Called by tools/build_pdf.sh and by .ci/run.
#
# Debian package names (checked with apt-cache policy on Debian 12):
#   xelatex: texlive-xetex; Sphinx's LaTeX styles: texlive-latex-recommended, texlive-latex-extra;
#   fonts: texlive-fonts-recommended, fonts-freefont-otf (Sphinx's default XeLaTeX fonts), tex-gyre;
#   latexmk drives the runs; poppler-utils gives pdftotext/pdfimages for the test.
set -euo pipefail
PACKAGES=(texlive-xetex texlive-latex-recommended texlive-latex-extra texlive-fonts-recommended
          texlive-plain-generic fonts-freefont-otf tex-gyre latexmk poppler-utils)
missing=()
for pkg in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "==> installing Debian packages: ${missing[*]}"
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" > /dev/null
fi
