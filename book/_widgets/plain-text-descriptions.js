// Stands in for sanitize-html (about 250 kB minified, with its HTML and CSS parsers) in the
// static pages' widget manager. ipywidgets asks for it only to show a description that allows
// HTML, which none of the book's widgets does; such a description is shown as plain text
// instead, which is safe whatever it holds.
export default function asPlainText(text) {
  const span = document.createElement("span");
  span.textContent = text;
  return span.innerHTML;
}
