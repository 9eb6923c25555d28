// Search snippets without raw TeX: before Sphinx's searchtools.js turns a result page into its snippet text,
// drop the maths elements (their text is TeX source that MathJax would have typeset on the page).
document.addEventListener("DOMContentLoaded", () => {
  if (typeof Search === "undefined" || typeof Search.htmlToText !== "function") return;
  const toText = Search.htmlToText;
  Search.htmlToText = (html, anchor) => {
    const doc = new DOMParser().parseFromString(html, "text/html");
    doc.querySelectorAll(".math").forEach((el) => el.replaceWith(" … "));
    return toText(doc.documentElement.outerHTML, anchor);
  };
});
