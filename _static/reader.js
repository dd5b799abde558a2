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
