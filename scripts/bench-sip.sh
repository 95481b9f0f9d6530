#!/usr/bin/env bash
# REGISTER load against a real bin/switchboard: sipp keeps CONC digest
# registrations in flight for DUR seconds over N users, then this prints
# registrations per second, failed registrations and the server's peak
# memory. Loopback only; every process is bounded and stopped on exit.
#
#   scripts/bench-sip.sh               # N=10000 DUR=10 CONC=200
#   COMPARE=1 scripts/bench-sip.sh     # also Kamailio, side by side, with ../shared/bench
set -euo pipefail
cd "$(dirname "$0")/.."
N=${N:-10000} DUR=${DUR:-10} CONC=${CONC:-200} PORT=${PORT:-5080} HTTP=${HTTP:-127.0.0.1:18089}
WORK=${WORK:-/tmp/switchboard-bench}
mkdir -p "$WORK"
command -v sipp >/dev/null || { echo "bench-sip: sipp is missing (apt-get install sip-tester)" >&2; exit 1; }

make -s build
db="$WORK/bench-$N.db"
if [ ! -f "$db" ]; then
  go run ./scripts/benchusers -db "$db" -n "$N" >/dev/null
fi
w=${#N}; [ $((10 ** (w - 1))) -eq "$N" ] && w=$((w - 1)); [ "$w" -lt 4 ] && w=4
awk -v n="$N" -v w="$w" 'BEGIN { print "SEQUENTIAL"
  for (i = 0; i < n; i++) { d = sprintf("%0" w "d", i)
    print "u" d ";benchpass" d ";x;[authentication username=u" d " password=benchpass" d "]" } }' > "$WORK/users.csv"

pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT

timeout -k 5 600 ./bin/switchboard serve --db "$db" --data-dir "$WORK/data" --sip "127.0.0.1:$PORT" --http "$HTTP" \
  --domain 127.0.0.1 --admin-token bench --keepalive 0 --log-level warn ${DEBUG_ADDR:+--debug-addr $DEBUG_ADDR} \
  >"$WORK/server.out" 2>"$WORK/server.log" &
pids+=($!)
for _ in $(seq 50); do curl -sf "http://$HTTP/healthz" >/dev/null 2>&1 && break; sleep 0.1; done
spid=$(pgrep -P "${pids[0]}" | head -1)

run_sipp() { # $1 label, then extra args
  local label=$1; shift
  rm -f "$WORK"/register_load_*
  ( cd "$WORK" && timeout -k 5 $((DUR + 30)) sipp "127.0.0.1:$PORT" -sf "$OLDPWD/testdata/sipp/register_load.xml" \
      -inf "$WORK/users.csv" -key domain 127.0.0.1 -key contact_hostport 127.0.0.1:25070 -auth_uri 127.0.0.1 \
      -i 127.0.0.1 -p 25081 -nostdin -buff_size 2097152 -trace_stat -fd 1 -stf "$WORK/stat-$label.csv" \
      -timeout "${DUR}s" -timeout_error -recv_timeout 5000 "$@" >"$WORK/sipp-$label.out" 2>&1 ) || true
}

# Warm-up: every user registers once (the state a PBX is in).
run_sipp warm -r 5000 -m "$N" -timeout 60s
# Load: CONC registrations in flight for DUR seconds.
run_sipp load -r 100000 -l "$CONC"
awk -F';' 'NR == 1 { for (i = 1; i <= NF; i++) { if ($i == "ElapsedTime(C)") e = i; if ($i == "SuccessfulCall(C)") s = i; if ($i == "FailedCall(C)") f = i }; next }
  { split($e, t, ":"); el = t[1] * 3600 + t[2] * 60 + t[3]; ok = $s; fail = $f }
  END { printf "registrations/s %.0f  successful %d  failed %d  over %.1f s\n", (el > 0 ? ok / el : 0), ok, fail, el }' "$WORK/stat-load.csv"
awk '/^VmHWM/ { printf "server peak RSS %.0f MB", $2 / 1024 } /^VmRSS/ { printf "  now %.0f MB\n", $2 / 1024 }' "/proc/$spid/status"
curl -s "http://$HTTP/metrics" | awk '/^switchboard_sip_registrations /{ printf "bindings %d\n", $2 }'

if [ "${COMPARE:-0}" = 1 ] && [ -x ../shared/bench/compare.sh ]; then
  echo "side by side with Kamailio (../shared/bench, same sitting):"
  TESTS=reg PASS_PREFIX=benchpass NUM_USERS=$N ../shared/bench/compare.sh kamailio \
    "127.0.0.1:$PORT,TARGET_PID=$spid,LABEL=switchboard"
fi
