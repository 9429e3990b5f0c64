// The public answer page: show the follow-up questions whose condition the chosen score meets
// (data-show-min / data-show-max on each question's block). Without JavaScript the server decides.
(function () {
  "use strict";
  var form = document.querySelector("[data-survey-form]");
  if (!form) { return; }
  function update() {
    var checked = form.querySelector("input[name=score]:checked");
    var score = checked ? parseInt(checked.value, 10) : null;
    form.querySelectorAll(".survey-question").forEach(function (block) {
      var min = block.getAttribute("data-show-min");
      var max = block.getAttribute("data-show-max");
      var conditional = min !== "" || max !== "";
      var shown = !conditional || (score !== null && (min === "" || score >= parseInt(min, 10)) && (max === "" || score <= parseInt(max, 10)));
      block.classList.toggle("d-none", !shown);
    });
  }
  form.addEventListener("change", function (event) {
    if (event.target.name === "score") { update(); }
  });
  update();
})();
