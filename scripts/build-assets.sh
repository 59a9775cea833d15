#!/usr/bin/env bash
# Build TrustHub's front-end assets from the pinned npm packages into the Python package's static
# folder. Idempotent and quick when nothing changed: run it before serving pages or browser tests.
#
#   node_modules/govuk-frontend/dist/govuk/  ->  src/trusthub/web/static/govuk/
#   node_modules/axe-core/axe.min.js         ->  src/trusthub/web/static/vendor/
#
# TrustHub is not a GOV.UK service: the GDS Transport fonts are neither copied nor declared (the
# @font-face rules are dropped from the stylesheet), and trusthub.css sets a system font stack.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

static="src/trusthub/web/static"
govuk_dist="node_modules/govuk-frontend/dist/govuk"
stamp="node_modules/.package-lock.json"   # written by npm ci/install; newer than the lock if fresh

if [[ ! -f "$stamp" || package-lock.json -nt "$stamp" ]]; then
  echo "build-assets: installing npm packages from package-lock.json" >&2
  npm ci --no-audit --no-fund
  touch "$stamp"
fi

# install -C copies only when the content differs, so unchanged files keep their mtimes (and ETags).
put() { install -C -D -m 0644 "$1" "$2"; }

put "$govuk_dist/govuk-frontend.min.js" "$static/govuk/govuk-frontend.min.js"

# Drop the @font-face rules: they point at /assets/fonts/, which we do not ship.
css_tmp="$(mktemp)"
trap 'rm -f "$css_tmp"' EXIT
sed -E 's/@font-face\{[^}]*\}//g' "$govuk_dist/govuk-frontend.min.css" >"$css_tmp"
if grep -q -e '@font-face' -e '/assets/fonts' "$css_tmp"; then
  echo "build-assets: govuk-frontend.min.css still declares web fonts; update the filter" >&2
  exit 1
fi
put "$css_tmp" "$static/govuk/govuk-frontend.min.css"

for image in "$govuk_dist"/assets/images/*; do
  put "$image" "$static/govuk/assets/images/$(basename "$image")"
done
if [[ -f "$govuk_dist/assets/manifest.json" ]]; then
  put "$govuk_dist/assets/manifest.json" "$static/govuk/assets/manifest.json"
fi

put node_modules/axe-core/axe.min.js "$static/vendor/axe.min.js"

# A stale fonts folder (from an older build or a manual copy) must not linger.
rm -rf "$static/govuk/assets/fonts"
