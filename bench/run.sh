#!/usr/bin/env bash
# One command: build, then measure wangju against its own /healthz floor, on SQLite and on
# PostgreSQL, each in one server process, and print a Markdown table. See BENCHMARKS.md.
#
#   bench/run.sh                      # both databases, 10 s per scenario, 32 connections
#   BENCH_DURATION=5 BENCH_BACKENDS=sqlite bench/run.sh
#
# Environment: BENCH_DURATION (s, max 20), BENCH_WARMUP (s), BENCH_CONNECTIONS, BENCH_THREADS
# (driver threads), BENCH_BACKENDS ("sqlite postgres"; also postgres-nossl: the same with
# ?sslmode=disable), BENCH_POSTGRES_URL (server URL without a
# database; default postgres://postgres@127.0.0.1:5432), BENCH_SKIP_BUILD=1, CARGO_TARGET_DIR.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

DURATION=${BENCH_DURATION:-10}
WARMUP=${BENCH_WARMUP:-1}
CONNECTIONS=${BENCH_CONNECTIONS:-32}
THREADS=${BENCH_THREADS:-1}
BACKENDS=${BENCH_BACKENDS:-sqlite postgres}
PG_SERVER=${BENCH_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432}
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
SCENARIOS=(healthz keyword-safe keyword-plain slogan)

# Sandbox credentials plus a safe-mode key, shared by the server and the driver.
TOKEN=bench-token-$RANDOM$RANDOM
AES_KEY=ELWIuNG2cD6SDYxKq6GcCJPuKePruKAERf3lWP9FRVY
APPID=wxsandbox0000mp01
ADMIN_TOKEN=bench-admin-$RANDOM$RANDOM$RANDOM

need() { command -v "$1" >/dev/null || { echo "bench/run.sh needs $1 ($2)" >&2; exit 1; }; }
need curl "apt-get install -y curl"
need python3 "to find a free port"
[[ " $BACKENDS " == *" sqlite "* ]] && need sqlite3 "apt-get install -y sqlite3"
[[ $BACKENDS == *postgres* ]] && need psql "apt-get install -y postgresql-client"

if [[ ${BENCH_SKIP_BUILD:-0} != 1 ]]; then
  cargo build --release --locked -p wangju -p bench
fi
WANGJU=$TARGET/release/wangju
DRIVER=$TARGET/release/wangju-bench

WORK=$(mktemp -d -t wangju-bench.XXXXXX)
SERVER_PID=
PG_DB=
cleanup() {
  stop_server || true
  if [[ -n $PG_DB ]]; then
    psql -q "$PG_SERVER/postgres" -c "DROP DATABASE IF EXISTS $PG_DB WITH (FORCE)" >/dev/null 2>&1 || true
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT

stop_server() {
  if [[ -n $SERVER_PID ]] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill -TERM "$SERVER_PID"
    for _ in $(seq 1 100); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$SERVER_PID" 2>/dev/null && kill -KILL "$SERVER_PID"
    wait "$SERVER_PID" 2>/dev/null || true
  fi
  SERVER_PID=
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# field NAME LINE: the value of NAME=... in a RESULT line.
field() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<"$2"; }

start_server() { # $1 backend, $2 database URL
  PORT=$(free_port)
  ADDR=127.0.0.1:$PORT
  WANGJU_CONFIG=$ROOT/wechat-config/wangju.toml \
  WANGJU_LISTEN=$ADDR \
  WANGJU_DATABASE_URL=$2 \
  WANGJU_STORAGE=file://$WORK/media \
  WANGJU_MP_TOKEN=$TOKEN \
  WANGJU_MP_AES_KEY=$AES_KEY \
  WANGJU_MP_APPID=$APPID \
  WANGJU_ADMIN_TOKEN=$ADMIN_TOKEN \
    "$WANGJU" serve >"$WORK/server-$1.log" 2>&1 &
  SERVER_PID=$!
  for _ in $(seq 1 100); do
    curl -fsS "http://$ADDR/healthz" >/dev/null 2>&1 && break
    kill -0 "$SERVER_PID" 2>/dev/null || { cat "$WORK/server-$1.log"; echo "server exited" >&2; exit 1; }
    sleep 0.1
  done
  curl -fsS -X PUT "http://$ADDR/api/v1/admin/campaign/phase" \
    -H "authorization: Bearer $ADMIN_TOKEN" -H 'content-type: application/json' \
    -d '{"phase":"open"}' >/dev/null
}

ROWS=()
CHECKS=()
FAILED=0
declare -A RPS P99 EFF FLOOR HWM

bench_backend() { # $1 backend
  local backend=$1 url db_file
  case $backend in
    sqlite)
      db_file=$WORK/wangju.db
      url="sqlite://$db_file?mode=rwc" ;;
    postgres|postgres-nossl)
      PG_DB=wangju_bench_$$
      psql -q "$PG_SERVER/postgres" -c "CREATE DATABASE $PG_DB" >/dev/null
      url="$PG_SERVER/$PG_DB"
      # sqlx's default sslmode=prefer negotiates TLS even over loopback.
      [[ $backend == postgres-nossl ]] && url="$url?sslmode=disable" ;;
    *) echo "unknown backend $backend" >&2; exit 1 ;;
  esac
  start_server "$backend" "$url"
  echo "== $backend: wangju pid $SERVER_PID on $ADDR" >&2
  local floor= floor_eff= line rps ratio eff_ratio ok_total deferred_total
  for scenario in "${SCENARIOS[@]}"; do
    line=$("$DRIVER" --addr "$ADDR" --scenario "$scenario" --connections "$CONNECTIONS" \
      --duration "$DURATION" --warmup "$WARMUP" --threads "$THREADS" \
      --token "$TOKEN" --appid "$APPID" --aes-key "$AES_KEY" \
      --replies "$ROOT/wechat-config/replies.toml" --server-pid "$SERVER_PID" \
      ${PG_DB:+--postgres-db "$PG_DB"} | grep '^RESULT') \
      || FAILED=1
    [[ -z $line ]] && { echo "driver failed for $scenario" >&2; FAILED=1; continue; }
    rps=$(field rps "$line")
    # Requests per CPU-second of wangju: less sensitive than req/s to others' work on the machine.
    local eff; eff=$(awk -v r="$rps" -v c="$(field server_cpu "$line")" 'BEGIN { if (c > 0) printf "%.0f", r / c; else print 0 }')
    if [[ $scenario == healthz ]]; then floor=$rps; floor_eff=$eff; fi
    ratio=$(awk -v a="$rps" -v b="$floor" 'BEGIN { if (b > 0) printf "%.1f %%", 100 * a / b; else print "-" }')
    eff_ratio=$(awk -v a="$eff" -v b="$floor_eff" 'BEGIN { if (b > 0) printf "%.0f %%", 100 * a / b; else print "-" }')
    local hwm_kib; hwm_kib=$(field server_hwm_kib "$line")
    local hwm_mib; hwm_mib=$(awk -v k="$hwm_kib" 'BEGIN { printf "%.1f", k / 1024 }')
    ROWS+=("| $backend | $scenario | $rps | $ratio | $(field p50_ms "$line") | $(field p99_ms "$line") | $(field errors "$line") / $(field non200 "$line") / $(( $(field wrong "$line") + $(field deferred "$line") )) | $eff ($eff_ratio) | $(field server_cpu "$line") / $(field client_cpu "$line") / $(field db_cpu "$line") / $(field other_cpu "$line") | $hwm_mib |")
    RPS[$backend/$scenario]=$rps; P99[$backend/$scenario]=$(field p99_ms "$line"); EFF[$backend/$scenario]=$eff
    FLOOR[$backend]=$floor; HWM[$backend]=$hwm_mib
    if [[ $scenario == slogan ]]; then
      ok_total=$(field ok_total "$line"); deferred_total=$(field deferred_total "$line")
    fi
  done
  # Let background work end (a deferred slogan finishes after its `success`), then count.
  stop_server
  local works distinct receipts
  if [[ $backend == sqlite ]]; then
    read -r works distinct receipts < <(sqlite3 -separator ' ' "$db_file" \
      "SELECT (SELECT count(*) FROM works), (SELECT count(DISTINCT body) FROM works), (SELECT count(*) FROM callback_receipts)")
  else
    read -r works distinct receipts < <(psql -qAt -F ' ' "$url" -c \
      "SELECT (SELECT count(*) FROM works), (SELECT count(DISTINCT body) FROM works), (SELECT count(*) FROM callback_receipts)")
    psql -q "$PG_SERVER/postgres" -c "DROP DATABASE $PG_DB WITH (FORCE)" >/dev/null
    PG_DB=
  fi
  local expected=$(( ${ok_total:-0} + ${deferred_total:-0} )) verdict=ok
  if [[ $works != "$expected" || $distinct != "$works" ]]; then verdict=MISMATCH; FAILED=1; fi
  CHECKS+=("- $backend: slogan replies confirming a work: ${ok_total:-0} (+ ${deferred_total:-0} answered \`success\`); works stored: $works, distinct bodies: $distinct, callback receipts: $receipts → $verdict")
}

for backend in $BACKENDS; do bench_backend "$backend"; done

target() { # $1 description, $2 holds (1/0)
  if [[ $2 == 1 ]]; then echo "- [x] $1"; else echo "- [ ] $1 (MISSED)"; fi
}

echo
echo "### wangju benchmark, $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, ${CONNECTIONS} connections, ${DURATION} s per scenario (+${WARMUP} s warm-up), driver threads ${THREADS}"
echo
echo "| database | scenario | req/s | of /healthz | p50 ms | p99 ms | errors / non-200 / wrong | req per wangju CPU-s (of /healthz) | CPU: wangju / driver / postgres / other | wangju peak RSS MiB |"
echo "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|"
printf '%s\n' "${ROWS[@]}"
echo
echo "CPU: cores busy during the measured window (2 = the whole machine); postgres: the backends of"
echo "this run's database; \"other\": everything else on the shared machine (other users' builds and"
echo "tests, PostgreSQL's shared processes). Peak RSS: the server's VmHWM so far in the run."
echo
echo "Every submission stored once:"
printf '%s\n' "${CHECKS[@]}"
echo
echo "Targets:"
for backend in $BACKENDS; do
  for s in keyword-safe keyword-plain; do
    r=${RPS[$backend/$s]:-0}; f=${RPS[$backend/healthz]:-0}; p=${P99[$backend/$s]:-999}
    e=${EFF[$backend/$s]:-0}; fe=${EFF[$backend/healthz]:-0}
    read -r by_rate by_cpu < <(awk -v r="$r" -v f="$f" -v e="$e" -v fe="$fe" \
      'BEGIN { printf "%.0f %.0f\n", (f > 0) ? 100 * r / f : 0, (fe > 0) ? 100 * e / fe : 0 }')
    desc="$backend $s ≥ 50 % of /healthz and p99 < 25 ms: ${by_rate} % by req/s, ${by_cpu} % by req per CPU-s, p99 $p ms"
    if awk -v p="$p" 'BEGIN { exit !(p < 25) }' && (( by_rate >= 50 && by_cpu >= 50 )); then
      target "$desc" 1
    elif awk -v p="$p" 'BEGIN { exit !(p < 25) }' && (( by_cpu >= 50 )); then
      echo "- [~] $desc (holds per CPU-second only: see the \"other\" CPU column)"
    else
      target "$desc" 0
    fi
  done
  target "$backend peak RSS < 64 MiB: ${HWM[$backend]:-?} MiB" "$(awk -v m="${HWM[$backend]:-999}" 'BEGIN { print (m < 64) ? 1 : 0 }')"
done
for backend in postgres postgres-nossl; do
  if [[ -n ${RPS[$backend/slogan]:-} ]]; then
    target "$backend slogan ≥ 2,000/s: ${RPS[$backend/slogan]}/s" "$(awk -v r="${RPS[$backend/slogan]}" 'BEGIN { print (r >= 2000) ? 1 : 0 }')"
  fi
done
exit $FAILED
