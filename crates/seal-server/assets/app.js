// Sealkeeper console: small enhancements only; every page works without this file.
// - Buttons with data-confirm ask before submitting (the <details class="confirm"> markup
//   already asks without JavaScript; this adds a native dialog on top for forms that use it).
// - Inputs with data-autosubmit submit their form when changed (filters).
// - Submit buttons with data-busy show that text while a slow form (a comparison) runs.
"use strict";
document.addEventListener("submit", function (event) {
  var form = event.target;
  var message = form.getAttribute("data-confirm");
  if (message && !window.confirm(message)) {
    event.preventDefault();
    return;
  }
  var busy = form.querySelector("button[data-busy]");
  if (busy) {
    busy.textContent = busy.getAttribute("data-busy");
    busy.setAttribute("aria-busy", "true");
  }
});
document.addEventListener("change", function (event) {
  var input = event.target;
  if (input.hasAttribute && input.hasAttribute("data-autosubmit") && input.form) {
    input.form.submit();
  }
});
