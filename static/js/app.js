// Retention CRM: small progressive enhancements. Every page works without this file.
(function () {
  "use strict";

  document.documentElement.classList.add("js");

  // <select data-autosubmit> submits its form on change (the language switcher).
  document.addEventListener("change", function (event) {
    var target = event.target;
    if (target.matches && target.matches("select[data-autosubmit]") && target.form) {
      target.form.submit();
    }
  });

  // <form data-confirm="Question?"> asks before submitting (archive).
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var question = form.getAttribute && form.getAttribute("data-confirm");
    if (question && !window.confirm(question)) {
      event.preventDefault();
    }
  });

  // "Cancel" in a worklist row's action form closes the form in place; without JavaScript, or on the
  // form's page of its own, it is a plain link back to the list.
  document.addEventListener("click", function (event) {
    var cancel = event.target.closest && event.target.closest("[data-worklist-close]");
    var panel = cancel && cancel.closest(".worklist-action");
    if (panel) {
      event.preventDefault();
      panel.replaceChildren();
      var opener = panel.parentElement.querySelector("a[hx-get]");
      if (opener) {
        opener.focus();
      }
    }
  });

  // After an htmx swap, give keyboard and screen-reader users the first field with an error. On
  // settle, not swap: until then a new element that keeps an old one's id still wears the old one's
  // attributes (htmx's settling), so a field that was already there has no is-invalid yet. The event
  // is dispatched on the new content; after an outerHTML swap (a worklist row) detail.target is the
  // element that was replaced, no longer in the page.
  document.addEventListener("htmx:afterSettle", function (event) {
    var invalid = event.target.querySelector && event.target.querySelector(".is-invalid");
    if (invalid) {
      invalid.focus();
    }
  });
})();
