// Keyboard shortcuts of the review page (no build step, no framework; CSP allows only this file).
// 1-5 score the highlighted criterion and move to the next; a accepts; r enters reject mode
// (1-8 pick a reason, r or Enter rejects, Esc leaves); e edits the turns (Esc leaves the text box);
// n opens the next item. Keys typed into a text box are left alone.
(function () {
  "use strict";
  var form = document.getElementById("decision-form");
  if (!form) { return; }
  var criteria = Array.prototype.slice.call(form.querySelectorAll("fieldset.criterion"));
  var reasons = Array.prototype.slice.call(form.querySelectorAll("#reasons input[name=reason]"));
  var current = 0;
  var rejecting = false;

  function highlight() {
    criteria.forEach(function (fieldset, index) { fieldset.classList.toggle("current", index === current); });
  }
  function submit(decision) {
    var button = document.getElementById(decision);
    if (form.requestSubmit) { form.requestSubmit(button); } else { button.click(); }
  }
  function setRejecting(on) {
    rejecting = on;
    document.body.classList.toggle("rejecting", on);
  }
  function setEditing(on) {
    document.body.classList.toggle("editing", on);
    if (on) {
      var box = form.querySelector(".turn.assistant textarea") || form.querySelector("textarea");
      if (box) { box.focus(); }
    }
  }
  criteria.forEach(function (fieldset, index) {
    fieldset.addEventListener("click", function () { current = index; highlight(); });
  });
  document.getElementById("edit").addEventListener("click", function () {
    setEditing(!document.body.classList.contains("editing"));
  });
  form.querySelectorAll("input[type=text]").forEach(function (input) {
    input.addEventListener("keydown", function (event) {  // Enter in the note must not accept
      if (event.key === "Enter") { event.preventDefault(); }
    });
  });
  document.addEventListener("keydown", function (event) {
    var target = event.target;
    if (event.ctrlKey || event.metaKey || event.altKey) { return; }
    if (target && (target.tagName === "TEXTAREA" || (target.tagName === "INPUT" && target.type === "text"))) {
      if (event.key === "Escape") { target.blur(); }
      return;
    }
    var key = event.key;
    if (rejecting) {
      if (key >= "1" && key <= "9" && reasons[Number(key) - 1]) { reasons[Number(key) - 1].checked = true; }
      else if (key === "r" || key === "Enter") { submit("reject"); }
      else if (key === "Escape") { setRejecting(false); }
      else { return; }
      event.preventDefault();
      return;
    }
    if (key >= "1" && key <= "5" && criteria.length) {
      var radio = criteria[current].querySelector("input[value='" + key + "']");
      if (radio) { radio.checked = true; }
      current = Math.min(current + 1, criteria.length - 1);
      highlight();
    } else if (key === "a") { submit("accept"); }
    else if (key === "r") { setRejecting(true); }
    else if (key === "e") { setEditing(true); }
    else if (key === "n") {
      var next = document.getElementById("next-link");
      if (next) { window.location.href = next.href; }
    } else { return; }
    event.preventDefault();
  });
  highlight();
})();
