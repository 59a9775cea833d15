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

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

# Source maps are not shipped, so their references go too (no 404s when developer tools open).
sed -E 's@//# sourceMappingURL=[^ ]*$@@' "$govuk_dist/govuk-frontend.min.js" >"$tmp/govuk.js"
put "$tmp/govuk.js" "$static/govuk/govuk-frontend.min.js"

# Drop the @font-face rules: they point at /assets/fonts/, which we do not ship.
css_tmp="$tmp/govuk.css"
sed -E -e 's/@font-face\{[^}]*\}//g' -e 's@/\*# sourceMappingURL=[^*]*\*/@@' \
  "$govuk_dist/govuk-frontend.min.css" >"$css_tmp"
if grep -q -e '@font-face' -e '/assets/fonts' -e 'sourceMappingURL' "$css_tmp"; then
  echo "build-assets: govuk-frontend.min.css still declares web fonts; update the filter" >&2
  exit 1
fi
put "$css_tmp" "$static/govuk/govuk-frontend.min.css"

# GOV.UK's images and manifest are crown icons: not ours to use, so they are not copied.
rm -rf "$static/govuk/assets"

put node_modules/axe-core/axe.min.js "$static/vendor/axe.min.js"

