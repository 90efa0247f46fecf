#!/usr/bin/env bash
# Crash recovery on the whole sample: backfill ../shared/data/fbm with the three pools running, SIGKILL
# every pool (and its sandboxed children) once BENCH_KILL_AT photos are cleaned, start them again, and
# print the final state; then rerun the backfill to show 0 new work. Uses its own schema and queue
# prefix (dropped afterwards).   npm run bench:kill        (BENCH_KILL_AT=4000)
set -euo pipefail
cd "$(dirname "$0")/.."
id="kill$(date +%s)"
export DB_SCHEMA="$id" QUEUE_PREFIX="$id" LOG_LEVEL=warn MODELS_DIR="$PWD/var/$id-models"
psql_() { psql -qtA -h 127.0.0.1 -U postgres -d postgres -c "$1"; }
logs="var/$id"; mkdir -p "$logs"
pids=()
bf=""
start_pools() { pids=(); for p in image-clean text-embed infer; do node --import tsx "workers/$p.ts" >> "$logs/pools.log" 2>&1 & pids+=($!); done; }
cleanup() {
  # The backfill too: interrupted mid-run (Ctrl-C, or the checks below), it would wait for ever for pools
  # that are gone, and this wait with it.
  kill ${bf:+"$bf"} "${pids[@]}" 2>/dev/null || true; wait 2>/dev/null || true
  psql_ "SET client_min_messages = warning; DROP SCHEMA IF EXISTS $id CASCADE" >/dev/null
  redis-cli --scan --pattern "$id:*" | xargs -r -n 500 redis-cli del >/dev/null
  rm -rf "$MODELS_DIR"
}
trap cleanup EXIT
start_pools
# node itself (not npx), so that $bf is the process to stop.
node --import tsx src/cli/main.ts backfill --catalogue ../shared/data/fbm --json --no-progress > "$logs/backfill.json" 2> "$logs/backfill.err" &
bf=$!
kill_at="${BENCH_KILL_AT:-4000}"
until [ "$(psql_ "SELECT count(*) FROM $id.images WHERE status = 'cleaned'" 2>/dev/null || echo 0)" -ge "$kill_at" ]; do
  # A backfill that failed, or finished before kill_at photos were cleaned, never gets there: say so
  # instead of polling for ever.
  if ! kill -0 "$bf" 2>/dev/null; then
    echo "bench:kill: the backfill ended before $kill_at photos were cleaned, so nothing was killed; see $logs/backfill.err, or set BENCH_KILL_AT lower." >&2
    exit 1
  fi
  sleep 1
done
echo "SIGKILL of every pool at: $(psql_ "SELECT string_agg(status || '=' || n, ' ') FROM (SELECT status, count(*) n FROM $id.listings GROUP BY 1) s")"
# Each pool and its sandboxed image-clean children, all at once, as a crash would.
for p in "${pids[@]}"; do pkill -9 -P "$p" 2>/dev/null || true; kill -9 "$p"; done
sleep 2
start_pools
wait "$bf"; bf=""
echo "backfill summary: $(tail -1 "$logs/backfill.json" | cut -c1-600)"
echo "final listings: $(psql_ "SELECT string_agg(status || '=' || n, ' ') FROM (SELECT status, count(*) n FROM $id.listings GROUP BY 1) s")"
echo "final photos:   $(psql_ "SELECT string_agg(status || '=' || n, ' ') FROM (SELECT status, count(*) n FROM $id.images GROUP BY 1) s")"
echo "rows: listings $(psql_ "SELECT count(*) FROM $id.listings"), photos $(psql_ "SELECT count(*) FROM $id.images")"
echo "rerun: $(node --import tsx src/cli/main.ts backfill --catalogue ../shared/data/fbm --json --no-progress 2>/dev/null | tail -1 | cut -c1-200)"
