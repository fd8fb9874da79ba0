"""The dashboard page's script and style, served as ``/dashboard.js`` and ``/dashboard.css``.

Files rather than inline blocks, so that the page's Content-Security-Policy can
forbid inline script and style: a script injected into the page would not run.
"""

SCRIPT = """\
"use strict";
// The dashboard's only script, served as /dashboard.js (the page allows no inline script).
// It checks a typed confirmation before the form goes (the server checks it again), and
// reloads the page at the sampling pace while nothing is being typed or opened.
document.addEventListener("DOMContentLoaded", function () {
  document.querySelectorAll("form[data-confirm]").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      var typed = form.querySelector("input[name=confirm]").value.trim();
      if (typed !== form.dataset.confirm) {
        event.preventDefault();
        var message = form.querySelector(".mismatch");
        message.textContent = "The name typed does not match: nothing was done.";
        message.hidden = false;
      }
    });
  });
  var seconds = Number(document.body.dataset.refresh);
  if (seconds > 0) {
    window.setInterval(function () {
      var engaged = document.querySelector("details[open]") !== null ||
        Array.prototype.some.call(document.querySelectorAll("input[name=confirm]"),
          function (input) { return input.value !== "" || input === document.activeElement; });
      if (!engaged) {
        window.location.reload();
      }
    }, seconds * 1000);
  }
});
"""

STYLE = """\
body { font: 14px/1.4 system-ui, sans-serif; margin: 1.5em; color: #111827; }
h1 { font-size: 1.4em; margin: 0 0 .3em; }
h2 { font-size: 1.15em; margin: 1.4em 0 .4em; }
h3 { font-size: 1em; margin: 1em 0 .3em; }
code { font-family: ui-monospace, monospace; font-size: .92em; }
table { border-collapse: collapse; margin: .3em 0; }
th, td { border-bottom: 1px solid #e5e7eb; padding: .3em .6em; text-align: left;
  vertical-align: top; }
td.visible, td.in-flight, td.delayed, td.receives { text-align: right;
  font-variant-numeric: tabular-nums; }
tr.dlq th { font-weight: normal; color: #7f1d1d; }
td.error, p.error { color: #b91c1c; }
p.notice { padding: .4em .7em; border-radius: 4px; margin: .3em 0; }
p.ok { background: #ecfdf5; } p.error { background: #fef2f2; } p.busy { background: #fffbeb; }
.at { color: #6b7280; }
code.payload { white-space: pre-wrap; word-break: break-all; }
table.letters td { max-width: 32em; }
details { margin: .1em 0; } summary { cursor: pointer; color: #1d4ed8; }
details form { margin: .3em 0; padding: .4em; background: #f9fafb; max-width: 28em; }
p.mismatch { color: #b91c1c; }
.key-visible { color: #2563eb; } .key-in-flight { color: #d97706; } .key-delayed { color: #6b7280; }
p.how, footer { color: #4b5563; font-size: .9em; }
"""


__all__ = ["SCRIPT", "STYLE"]
