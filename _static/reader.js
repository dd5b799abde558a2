// Reading experience (issue 13): the download menu's ".pdf" entry offers the whole book as a PDF
// (built by tools/build_pdf.sh into the site root as book.pdf) instead of printing the page.
document.addEventListener("DOMContentLoaded", () => {
  const root = document.documentElement.dataset.content_root || "./";
  document.querySelectorAll("button.btn-download-pdf-button").forEach((button) => {
    const link = document.createElement("a");
    link.href = root + "book.pdf";
    link.className = button.className;
    link.innerHTML = button.innerHTML;
    link.title = "Download the whole book as PDF";
    link.setAttribute("aria-label", "Download the whole book as PDF");
    const text = link.querySelector(".btn__text-container");
    if (text) text.textContent = "book .pdf";
    button.replaceWith(link);
  });
});

// Boxes that scroll sideways (wide display math, wide tables, proof boxes on a phone) must be
// reachable with the keyboard (axe: scrollable-region-focusable). Run after MathJax typesets and on
// resize; the theme does the same for code blocks.
function nnlibFocusableScrollers() {
  document.querySelectorAll(
    "article mjx-container[display='true'], article div.math, article div.proof, article table, article div.admonition"
  ).forEach((el) => {
    if (el.scrollWidth > el.clientWidth + 1) {
      el.tabIndex = 0;
    } else if (el.tabIndex === 0 && !el.matches("a, button, input")) {
      el.removeAttribute("tabindex");
    }
  });
}
window.addEventListener("load", () => {
  const ready = window.MathJax && MathJax.startup && MathJax.startup.promise;
  (ready ? MathJax.startup.promise : Promise.resolve()).then(nnlibFocusableScrollers);
  let timer = null;
  window.addEventListener("resize", () => { clearTimeout(timer); timer = setTimeout(nnlibFocusableScrollers, 200); });
});

// sphinxcontrib-bibtex marks the bibliography role="list" but its entries role="doc-biblioentry"
// (deprecated), so a list has no list items (axe aria-required-children, critical).
document.addEventListener("DOMContentLoaded", () => {
  document.querySelectorAll('.citation-list[role="list"] > .citation').forEach((entry) => {
    entry.setAttribute("role", "listitem");
  });
});
