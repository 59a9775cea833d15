#!/usr/bin/env bash
# Run every benchmark one after another (never two at once: they would measure each other).
# Usage: scripts/bench-all.sh POSTGRES_URL [name ...]   names: seed ledger ledger-bulk identity idp matching release opendata exchange-bulk exchange-online
#   exchange-bulk
set -euo pipefail
cd "$(dirname "$0")/.."
pg="$1"; shift
names=("$@")
[ ${#names[@]} -gt 0 ] || names=(seed ledger ledger-bulk identity idp matching release opendata exchange-bulk exchange-online)
py=.venv/bin/python
out=benchmarks/out
mkdir -p "$out"

anjana_python() {
  # anjana pins exact versions that clash with ours, so it lives in a venv of its own.
  local venv=var/anjana-venv
  if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q "anjana==1.2.3" pyarrow
  fi
  echo "$venv/bin/python"
}

for name in "${names[@]}"; do
  echo "== $name ($(date -u +%FT%TZ), load $(cut -d' ' -f1-3 /proc/loadavg))" >&2
  case "$name" in
    seed) $py benchmarks/bench_seed.py --postgres-url "$pg" ;;
    ledger) $py benchmarks/bench_ledger.py --postgres-url "$pg" ;;
    ledger-bulk) $py benchmarks/bench_ledger_bulk.py && $py benchmarks/bench_ledger_bulk.py --database-url "$pg" ;;
    identity) $py benchmarks/bench_identity.py --postgres-url "$pg" ;;
    idp) $py benchmarks/bench_idp.py --postgres-url "$pg" ;;
    matching) $py benchmarks/bench_matching.py ;;
    release) $py benchmarks/bench_release.py --anjana-python "$(anjana_python)" ;;
    opendata) $py benchmarks/bench_opendata.py --postgres-url "$pg" ;;
    exchange-bulk) $py benchmarks/bench_exchange_bulk.py ;;
    exchange-online) $py benchmarks/bench_exchange_online.py --postgres-url "$pg" ;;
    *) echo "unknown benchmark: $name" >&2; exit 2 ;;
  esac | tee "$out/$name.md"
done
