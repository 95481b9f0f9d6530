# Shared by the load scripts that run bin/switchboard against sipp
# (bench-voicemail.sh, bench-bridge.sh): sourced after the script has set
# its knobs and say(). Loopback only; every process started is in pids and
# stopped on exit.

# bench_checks PORT...: sipp is there, the SIP ports are free, the RTP range
# holds $1 ports and the open files limit allows $2; sets max_step, rtp_lo
# and rtp_hi. Called as bench_checks RTP_PORTS_NEEDED FILES_NEEDED PORT...
bench_checks() {
  local need_rtp=$1 need_files=$2 p
  shift 2
  command -v sipp >/dev/null || { say "sipp is missing (apt-get install sip-tester)"; exit 1; }
  for p in "$@"; do
    if ss -lun 2>/dev/null | awk '{print $4}' | grep -q ":$p\$"; then
      say "udp port $p is in use (pick others with the *PORT variables)"; exit 1
    fi
  done
  rtp_lo=${RTP_PORTS%-*} rtp_hi=${RTP_PORTS#*-}
  if [ $(((rtp_hi - rtp_lo) / 2)) -lt "$need_rtp" ]; then say "RTP_PORTS $RTP_PORTS holds fewer than $need_rtp ports"; exit 1; fi
  ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
  if [ "$(ulimit -n)" != unlimited ] && [ "$(ulimit -n)" -lt "$need_files" ]; then
    say "open files limit $(ulimit -n) is too low for $max_step calls"; exit 1
  fi
}

# max_step is the largest step of STEPS.
max_step=0; for l in $STEPS; do [ "$l" -gt "$max_step" ] && max_step=$l; done

# bench_start_server LABEL: a fresh copy of $users_db as $db, the server on
# it with $data, killed on exit (and $data removed), the whole run bounded
# by twice BUDGET; sets deadline and spid. Its output goes to
# $WORK/LABEL-server.{out,log}.
bench_start_server() {
  local label=$1
  pids=()
  trap bench_cleanup EXIT
  trap 'exit 130' INT TERM
  trap 'say "stopped by a failure at line $LINENO"' ERR
  # Whatever hangs, the run ends: steps stop at BUDGET, everything at
  # twice it.
  deadline=$((2 * BUDGET))
  ( end=$((SECONDS + deadline)); while [ "$SECONDS" -lt "$end" ]; do sleep 1; done
    say "still running after $deadline s, stopping"; kill -TERM $$ ) 2>/dev/null &
  pids+=($!)
  # A fresh copy of the users: bindings a former run left would fork
  # calls to a dead contact.
  rm -rf "$data" "$db" "$db-wal" "$db-shm"
  cp "$users_db" "$db"
  if [ -f "$users_db-wal" ]; then cp "$users_db-wal" "$db-wal"; fi
  # shellcheck disable=SC2086 # SERVER_ARGS is a list of flags
  timeout -k 5 "$deadline" "$BIN" serve --db "$db" --data-dir "$data" --sip "127.0.0.1:$PORT" --http "$HTTP" \
    --domain 127.0.0.1 --admin-token bench --keepalive 0 --log-level warn --rtp-ports "$RTP_PORTS" \
    --media-address 127.0.0.1 --max-call-setups $((max_step + 100)) ${DEBUG_ADDR:+--debug-addr $DEBUG_ADDR} \
    ${SERVER_ARGS:-} >"$WORK/$label-server.out" 2>"$WORK/$label-server.log" &
  pids+=($!)
  for _ in $(seq 100); do curl -sf "http://$HTTP/healthz" >/dev/null 2>&1 && break; sleep 0.1; done
  spid=$(pgrep -P "${pids[-1]}" | head -1 || true)
  [ -n "$spid" ] || { say "the server did not start, see $WORK/$label-server.log"; exit 1; }
}

bench_cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$data"
}

hz=$(getconf CLK_TCK)
# "pid ticks" (utime + stime) of every process.
ticks() {
  { cat /proc/[0-9]*/stat 2>/dev/null || true; } | awk '{ l = $0; p = $1; sub(/^.*\) /, "", l); split(l, a, " "); printf "%s %.0f\n", p, a[12] + a[13] }'
}
rss_kb() { awk -v k="$1" '$1 == k":" { print $2 }' "/proc/$spid/status"; }
# socket_drops PORT...: "inode port drops" of the sockets that dropped
# datagrams on a full receive buffer: the server's RTP sockets and those
# on the ports given. A socket's count goes with it: the sampler notes
# them every second and a step takes each socket's highest, less what it
# had at the step's start.
socket_drops() {
  awk -v lo="$rtp_lo" -v hi="$rtp_hi" -v ports="$*" '
    function hex(s, i, n) { n = 0; for (i = 1; i <= length(s); i++) n = n * 16 + index("0123456789ABCDEF", substr(s, i, 1)) - 1; return n }
    BEGIN { n = split(ports, l, " "); for (i = 1; i <= n; i++) want[l[i]] = 1 }
    NR > 1 && $NF > 0 { split($2, a, ":"); p = hex(a[2]); if (p >= lo && p <= hi || (p in want)) print $10, p, $NF }' \
    /proc/net/udp 2>/dev/null || true
}
now() { date +%s.%N; }
at() { awk -v t="$1" -v d="$2" 'BEGIN { printf "%.3f", t + d }'; }
sleep_until() { sleep "$(awk -v t="$1" -v n="$(now)" 'BEGIN { d = t - n; printf "%.3f", (d > 0 ? d : 0) }')"; }
