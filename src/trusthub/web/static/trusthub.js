// Start GOV.UK Frontend's components (menu toggles, details, buttons) on every page.
import { initAll } from "./govuk/govuk-frontend.min.js";

initAll();
