// The citizen's page: a "Check this record" button on each access, checked with ledger-verify.js.
import { verifyAccess } from "./ledger-verify.js";

const timeline = document.getElementById("timeline");

function show(result, outcome) {
  result.replaceChildren();
  const tag = document.createElement("strong");
  tag.className = `govuk-tag ${outcome.ok ? "govuk-tag--green" : "govuk-tag--red"}`;
  tag.textContent = outcome.ok ? "Verified" : "Not verified";
  const list = document.createElement("ul");
  list.className = "govuk-list govuk-list--bullet govuk-body-s";
  for (const step of outcome.steps) {
    const line = document.createElement("li");
    line.textContent = `${step.ok ? "Passed" : "Failed"}: ${step.check}`;
    list.append(line);
  }
  if (outcome.signature === null) {
    const line = document.createElement("li");
    line.textContent = "Not checked: this browser cannot check Ed25519 signatures";
    list.append(line);
  }
  result.append(tag, list);
}

if (timeline) {
  const citizen = timeline.dataset.citizen;
  for (const item of timeline.querySelectorAll(".trusthub-access")) {
    const button = item.querySelector(".trusthub-verify-button");
    const result = item.querySelector(".trusthub-verify-result");
    button.hidden = false;
    button.addEventListener("click", async () => {
      button.disabled = true;
      result.textContent = "Checking…";
      const data = item.dataset;
      try {
        const outcome = await verifyAccess({
          index: Number(data.index),
          position: data.position === "" ? null : Number(data.position),
          entryId: data.entryId,
          commitment: data.commitment,
          blinding: data.blinding,
          citizen,
        });
        show(result, outcome);
      } catch (error) {
        show(result, { ok: false, signature: false, steps: [{ check: `Could not check: ${error.message}`, ok: false }] });
      } finally {
        button.disabled = false;
      }
    });
  }
}
