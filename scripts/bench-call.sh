#!/usr/bin/env bash
# Call load through the proxy of a real bin/switchboard: N users whose phone
# name is their extension (10000..19999 for N=10000) register a sipp UAS as
# their phone, then a sipp caller places RATE calls a second for DUR seconds,
# each INVITE challenged with 407, record-routed, HOLD_MS long (INVITE, 407,
# ACK, INVITE with credentials, 180, 200, ACK, BYE through the Record-Route,
# 200). It prints calls per second, failed calls, retransmissions, the
# server's peak memory, and its memory AFTER seconds after the load (to show
# it going back down). The server is started afresh: the first seconds are
# a cold start. Loopback only; every process is bounded and stopped on exit.
#
#   scripts/bench-call.sh                      # N=10000 RATE=3000 DUR=20 HOLD_MS=1000 AFTER=30
#   RATE=2000 DUR=12 scripts/bench-call.sh
#   WARMUP_RATE=1000 WARMUP_DUR=10 scripts/bench-call.sh   # a warm-up load first
#   SERVER_ARGS='--memory-limit 0' scripts/bench-call.sh    # extra server flags
#   COMPARE=1 scripts/bench-call.sh            # then Kamailio and Switchboard side by side (../shared/bench)
#
# Raw output (server log, sipp screens and stat CSVs, the memory samples) is
# kept in $WORK.
set -euo pipefail
cd "$(dirname "$0")/.."
N=${N:-10000} RATE=${RATE:-3000} DUR=${DUR:-20} HOLD_MS=${HOLD_MS:-1000} AFTER=${AFTER:-30}
PORT=${PORT:-5080} HTTP=${HTTP:-127.0.0.1:18089}
UAS_PORT=${UAS_PORT:-25170} UAC_PORT=${UAC_PORT:-25181}
WORK=${WORK:-/tmp/switchboard-bench}
PREFIX=1 PASS=benchpass   # phone names 1 + the zero-padded index: digits only, so extension = phone name
mkdir -p "$WORK"
command -v sipp >/dev/null || { echo "bench-call: sipp is missing (apt-get install sip-tester)" >&2; exit 1; }
for p in "$UAS_PORT" "$UAC_PORT" "$PORT"; do
  if ss -lun 2>/dev/null | awk '{print $4}' | grep -q ":$p\$"; then
    echo "bench-call: udp port $p is in use (PORT, UAS_PORT, UAC_PORT pick others)" >&2; exit 1
  fi
done
ulimit -n 65536 2>/dev/null || true # sipp: one socket per call

BIN=${BIN:-bin/switchboard} # another binary to measure, e.g. an older build
[ "$BIN" != bin/switchboard ] || make -s build
users_db="$WORK/bench-call-$N.db"
if [ ! -f "$users_db" ]; then
  # Unlimited call paths: calls that overlap when the load slows down are
  # not refused as busy (the proxy's throughput is measured, as Kamailio's).
  go run ./scripts/benchusers -db "$users_db" -n "$N" -user-prefix "$PREFIX" -pass-prefix "$PASS" -unlimited-call-paths >/dev/null
fi
# users.csv as ../shared/bench/lib/gen_users.sh writes it: user;password;callee;auth,
# each user calling the one N/2 further on.
w=${#N}; [ $((10 ** (w - 1))) -eq "$N" ] && w=$((w - 1)); [ "$w" -lt 4 ] && w=4
awk -v n="$N" -v w="$w" -v up="$PREFIX" -v pp="$PASS" 'BEGIN { print "SEQUENTIAL"; half = int(n / 2); if (half == 0) half = 1
  for (i = 0; i < n; i++) { d = sprintf("%0" w "d", i); c = sprintf("%0" w "d", (i + half) % n)
    print up d ";" pp d ";" up c ";[authentication username=" up d " password=" pp d "]" } }' > "$WORK/call-users.csv"

pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT
trap 'exit 130' INT TERM

# shellcheck disable=SC2086 # SERVER_ARGS is a list of flags
# Every server starts on a copy of the users' database: bindings a former
# run left (to another callee port) would fork every call to a dead contact.
db="$WORK/call-run.db"
fresh_db() {
  rm -f "$db" "$db-wal" "$db-shm"
  cp "$users_db" "$db"
  if [ -f "$users_db-wal" ]; then cp "$users_db-wal" "$db-wal"; fi
}
fresh_db
timeout -k 5 $((DUR + AFTER + ${WARMUP_DUR:-10} + 300)) "$BIN" serve --db "$db" --data-dir "$WORK/data" --sip "127.0.0.1:$PORT" \
  --http "$HTTP" --domain 127.0.0.1 --admin-token bench --keepalive 0 --log-level warn \
  ${DEBUG_ADDR:+--debug-addr $DEBUG_ADDR} ${SERVER_ARGS:-} >"$WORK/call-server.out" 2>"$WORK/call-server.log" &
pids+=($!)
for _ in $(seq 50); do curl -sf "http://$HTTP/healthz" >/dev/null 2>&1 && break; sleep 0.1; done
spid=$(pgrep -P "${pids[0]}" | head -1)
[ -n "$spid" ] || { echo "bench-call: the server did not start, see $WORK/call-server.log" >&2; exit 1; }

# The phones: one sipp UAS answering every call.
( cd "$WORK" && exec timeout -k 5 $((DUR + AFTER + ${WARMUP_DUR:-10} + 240)) sipp -sf "$OLDPWD/testdata/sipp/call_load_uas.xml" \
    -i 127.0.0.1 -p "$UAS_PORT" -mp 26100 -cp 25892 -nostdin -buff_size 4194304 -timeout $((DUR + AFTER + ${WARMUP_DUR:-10} + 200))s \
    -recv_timeout 32000 -default_behaviors all,-abortunexp -trace_stat -stf "$WORK/call-uas-stat.csv" -fd 5 \
    -watchdog_major_maxtriggers 100000 >"$WORK/call-uas.out" 2>&1 ) &
pids+=($!)

uac() { # $1 label, $2 scenario, then sipp arguments
  local label=$1 sf=$2; shift 2
  rm -f "$WORK/call-$label-stat.csv"
  ( cd "$WORK" && exec timeout -k 5 $((DUR + 120)) sipp "127.0.0.1:$PORT" -sf "$OLDPWD/testdata/sipp/$sf" \
      -inf "$WORK/call-users.csv" -key domain 127.0.0.1 -i 127.0.0.1 -p "$UAC_PORT" -mp 26110 -cp 25893 -nostdin \
      -buff_size 4194304 -recv_timeout 5000 -watchdog_major_maxtriggers 100000 \
      -trace_stat -fd 1 -stf "$WORK/call-$label-stat.csv" "$@" >"$WORK/call-$label.out" 2>&1 ) || true
}

# Every phone registers (contact: the UAS), as phones of a PBX are.
uac register register_load.xml -key contact_hostport "127.0.0.1:$UAS_PORT" -auth_uri 127.0.0.1 \
  -r 2000 -l 200 -m "$N" -timeout 60s
reg_ok=$(awk -F';' 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == "SuccessfulCall(C)") s = i; next } NF > 1 { ok = $s } END { print ok + 0 }' "$WORK/call-register-stat.csv")
[ "$reg_ok" -ge "$N" ] || echo "bench-call: only $reg_ok of $N phones registered" >&2

metric() { curl -s "http://$HTTP/metrics" | awk -v m="$1" '$1 == m { printf "%.0f", $2 }'; }
mem() { # "rss_MB heap_inuse_MB goroutines"
  local rss; rss=$(awk '/^VmRSS/ { print $2 }' "/proc/$spid/status")
  echo "$((rss / 1024)) $(( $(metric go_memstats_heap_inuse_bytes) / 1048576 )) $(metric go_goroutines)"
}
# An optional warm-up load first (WARMUP_RATE calls a second for WARMUP_DUR
# seconds), to measure a server past its cold start.
if [ "${WARMUP_RATE:-0}" -gt 0 ]; then
  uac warmup call_load_uac.xml -r "$WARMUP_RATE" -m $((WARMUP_RATE * ${WARMUP_DUR:-10})) -d "$HOLD_MS" \
    -l $((WARMUP_RATE * (HOLD_MS / 1000 + 8) + 100)) -timeout $((${WARMUP_DUR:-10} + 60))s -default_behaviors all,-abortunexp
  awk -F';' 'NR == 1 { for (i = 1; i <= NF; i++) c[$i] = i; next } NF > 1 { ok = $c["SuccessfulCall(C)"]; fail = $c["FailedCall(C)"] }
    END { printf "warm-up: successful %d  failed %d\n", ok, fail }' "$WORK/call-warmup-stat.csv"
  sleep 8
fi
read -r rss heap gor <<<"$(mem)"
echo "before the load: RSS $rss MB, heap in use $heap MB, goroutines $gor"
# Memory every second, from the start of the load to the end.
( while kill -0 "$spid" 2>/dev/null; do echo "$(date +%s) $(mem)"; sleep 1; done ) >"$WORK/call-mem.txt" 2>/dev/null &
pids+=($!)

# The load: RATE calls a second for DUR seconds. With DEBUG_ADDR, profiles
# go to $WORK: CPU over the second third of the load, heap and goroutines
# two thirds into it, the heap again at the end.
t0=$(date +%s)
# Datagrams dropped on a full socket buffer, per socket (/proc/net/udp).
drops() { awk -v ports="$PORT $UAS_PORT $UAC_PORT" 'BEGIN { n = split(ports, p, " "); for (i = 1; i <= n; i++) want[sprintf("%04X", p[i])] = p[i] }
  NR > 1 { split($2, a, ":"); if (a[2] in want) d[want[a[2]]] += $NF } END { for (k in d) printf "%s=%d ", k, d[k] }' /proc/net/udp; }
drops0=$(drops)
# CPU over the load (seconds 3 to DUR) of the server, of the two sipps and
# of every other process on the machine: when that last one is not ~0,
# something else disturbed the run.
ticks() { cat /proc/[0-9]*/stat 2>/dev/null | awk '{ l = $0; p = $1; sub(/^.*\) /, "", l); split(l, a, " "); print p, a[12] + a[13] }'; }
( sleep 3
  echo "server $spid" >"$WORK/call-ticks-mine"
  for p in $(pgrep -f -- "-p $UAS_PORT "); do echo "uas $p"; done >>"$WORK/call-ticks-mine"
  for p in $(pgrep -f -- "-p $UAC_PORT "); do echo "uac $p"; done >>"$WORK/call-ticks-mine"
  date +%s.%N >"$WORK/call-ticks-t"; ticks >"$WORK/call-ticks0"
  sleep $((DUR - 3)); date +%s.%N >>"$WORK/call-ticks-t"; ticks >"$WORK/call-ticks1"; drops >"$WORK/call-drops1" ) &
pids+=($!)
if [ -n "${DEBUG_ADDR:-}" ]; then
  ( sleep $((DUR / 4)); curl -s -o "$WORK/call-cpu.pprof" "http://$DEBUG_ADDR/debug/pprof/profile?seconds=$((DUR / 3))" ) &
  pids+=($!)
  ( sleep $((DUR * 2 / 3)); curl -s -o "$WORK/call-heap-load.pprof" "http://$DEBUG_ADDR/debug/pprof/heap"
    curl -s -o "$WORK/call-goroutine-load.txt" "http://$DEBUG_ADDR/debug/pprof/goroutine?debug=1" ) &
  pids+=($!)
fi
uac load call_load_uac.xml -r "$RATE" -m $((RATE * DUR)) -l $((RATE * (HOLD_MS / 1000 + 8) + 100)) -d "$HOLD_MS" \
  -timeout $((DUR + 60))s -default_behaviors all,-abortunexp
t1=$(date +%s)
# Achieved rate: successful calls per second between the end of the first
# call (plus a second) and the end of the offered load; totals over the run.
awk -F';' -v warm=$((HOLD_MS / 1000 + 2)) -v dur="$DUR" '
  function secs(s, a, k) { k = split(s, a, "\t"); return a[k] + 0 }
  NR == 1 { for (i = 1; i <= NF; i++) c[$i] = i; next }
  NF > 1 { t = secs($c["CurrentTime"]) - secs($c["StartTime"]); ok = $c["SuccessfulCall(C)"]; fail = $c["FailedCall(C)"]
    rt = $c["Retransmissions(C)"]
    if (t >= warm && !t0) { t0 = t; s0 = ok } if (t <= dur + 0.5) { t1 = t; s1 = ok } }
  END { printf "calls/s %.0f  successful %d  failed %d (%.3f %%)  retransmissions %d\n", (t1 > t0 ? (s1 - s0) / (t1 - t0) : 0),
    ok, fail, (ok + fail ? 100 * fail / (ok + fail) : 0), rt }' "$WORK/call-load-stat.csv"
cpu=$(awk -v hz="$(getconf CLK_TCK)" '
  FILENAME ~ /-t$/ { t[FNR] = $1; next } FILENAME ~ /-mine$/ { role[$2] = $1; next }
  FILENAME ~ /0$/ { a[$1] = $2; next }
  ($1 in a) { d = $2 - a[$1]; r = ($1 in role) ? role[$1] : "others"; c[r] += d }
  END { s = t[2] - t[1]; if (s <= 0) { print "?"; exit }
    printf "server %.0f %%, sipp callee %.0f %%, sipp caller %.0f %%, other processes %.0f %%", 100 * c["server"] / hz / s,
      100 * c["uas"] / hz / s, 100 * c["uac"] / hz / s, 100 * c["others"] / hz / s }' \
  "$WORK/call-ticks-t" "$WORK/call-ticks-mine" "$WORK/call-ticks0" "$WORK/call-ticks1" 2>/dev/null || echo "?")
echo "CPU during the load (100 % = one core): $cpu (not ~0: the run was disturbed)"
echo "datagrams dropped on full socket buffers (port=count): before the load $drops0, at its end $(cat "$WORK/call-drops1" 2>/dev/null)"
peak=$(awk -v a="$t0" -v b="$t1" '$1 >= a && $1 <= b && $3 > h { h = $3 } $1 >= a && $1 <= b && $4 > g { g = $4 } END { printf "heap in use %d MB, goroutines %d", h, g }' "$WORK/call-mem.txt")
awk -v p="$peak" '/^VmHWM/ { printf "server peak RSS %.0f MB (during the load: %s)\n", $2 / 1024, p }' "/proc/$spid/status"
read -r rss heap gor <<<"$(mem)"
echo "right after the load: RSS $rss MB, heap in use $heap MB, goroutines $gor"
sleep "$AFTER"
read -r rss heap gor <<<"$(mem)"
echo "$AFTER s after the load: RSS $rss MB, heap in use $heap MB, goroutines $gor"
[ -z "${DEBUG_ADDR:-}" ] || curl -s -o "$WORK/call-heap-after.pprof" "http://$DEBUG_ADDR/debug/pprof/heap"
cleanup
pids=()

if [ "${COMPARE:-0}" = 1 ] && [ -x ../shared/bench/compare.sh ]; then
  echo "side by side with Kamailio (../shared/bench, same sitting, rate step search):"
  fresh_db
  # shellcheck disable=SC2086
  timeout -k 5 7200 "$BIN" serve --db "$db" --data-dir "$WORK/data" --sip "127.0.0.1:$PORT" \
    --http "$HTTP" --domain 127.0.0.1 --admin-token bench --keepalive 0 --log-level warn ${SERVER_ARGS:-} \
    >"$WORK/call-server-compare.out" 2>"$WORK/call-server-compare.log" &
  pids+=($!)
  for _ in $(seq 50); do curl -sf "http://$HTTP/healthz" >/dev/null 2>&1 && break; sleep 0.1; done
  spid=$(pgrep -P "${pids[0]}" | head -1)
  TESTS=call CALL_AUTH=1 USER_PREFIX=$PREFIX PASS_PREFIX=$PASS NUM_USERS=$N ../shared/bench/compare.sh kamailio \
    "127.0.0.1:$PORT,TARGET_PID=$spid,LABEL=switchboard"
fi
