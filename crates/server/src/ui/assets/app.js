// lineage dashboard: the little the pages do in the browser. Everything works without it
// but the copy buttons and reading an uploaded file into the fleet form.
"use strict";
document.addEventListener("click", (event) => {
  const button = event.target.closest("button.copy");
  if (!button) return;
  const code = document.getElementById(button.dataset.copy);
  if (!code) return;
  const done = (text) => {
    button.textContent = text;
    setTimeout(() => { button.textContent = "Copy"; }, 1500);
  };
  if (navigator.clipboard && window.isSecureContext) {
    navigator.clipboard.writeText(code.textContent).then(() => done("Copied"), () => select(code));
  } else {
    select(code);
    done("Selected: press Ctrl+C");
  }
});
function select(node) {
  const range = document.createRange();
  range.selectNodeContents(node);
  const selection = window.getSelection();
  selection.removeAllRanges();
  selection.addRange(range);
}
const upload = document.getElementById("upload");
if (upload) {
  upload.addEventListener("change", () => {
    const file = upload.files && upload.files[0];
    if (!file) return;
    file.text().then((text) => {
      const input = document.getElementById("input");
      input.value = text;
      input.focus();
    });
  });
}
