#!/usr/bin/env bash
# Concurrent voicemail deposits against a real bin/switchboard: how many
# callers it records at once with under 0.1 % of their RTP packets lost and
# none late, and its CPU and memory per recording.
#
# N users with voicemail on and no phone registered: every call goes
# straight to a mailbox. For each step of STEPS a sipp caller places that
# many calls (-l and -m the step), RATE a second, evenly; each one
# authenticates (407), offers PCMU and telephone-event 101, sends a 400 Hz
# tone as 20 ms µ-law RTP packets from the answer on, skips the greeting
# with # (SIP INFO) after 1 s, talks into the recording until every call of
# the step has been recording for PLATEAU seconds, and hangs up: the
# message is filed. The server's CPU and memory, and sipp's CPU, are
# measured over that plateau; packets lost and late, and messages filed,
# over the whole step from /metrics. Stepping stops after MAX_FAILED steps
# in a row that are not clean, or when the next step would overrun BUDGET
# seconds.
#
#   scripts/bench-voicemail.sh                  # STEPS="500 1000 2000 3000 3500 4000" RATE=100 PLATEAU=15
#   STEPS="500" PLATEAU=60 scripts/bench-voicemail.sh
#   DEBUG_ADDR=127.0.0.1:6062 PROFILE_STEP=1000 scripts/bench-voicemail.sh   # CPU and heap profiles of that plateau
#   BIN=/tmp/old/switchboard scripts/bench-voicemail.sh                      # another build, e.g. before a change
#
# sipp runs on the same cores as the server and sends every packet: its
# CPU is shown beside the server's, and so is the CPU of every other
# process (not ~0: something else disturbed the run). Loopback only; every
# process is bounded in time and stopped on exit. Raw output (server log,
# sipp screens and stat CSVs, samples, profiles) is kept in $WORK; the
# data directory (the filed messages) is removed at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
STEPS=${STEPS:-"500 1000 2000 3000 3500 4000"}
RATE=${RATE:-100} PLATEAU=${PLATEAU:-15} N=${N:-1000} MAX_FAILED=${MAX_FAILED:-2} BUDGET=${BUDGET:-540}
PORT=${PORT:-5082} HTTP=${HTTP:-127.0.0.1:18092} UAC_PORT=${UAC_PORT:-25190}
RTP_PORTS=${RTP_PORTS:-20000-29999} SIPP_MEDIA_PORT=${SIPP_MEDIA_PORT:-32000}
WORK=${WORK:-/tmp/switchboard-bench}
PREFIX=3 PASS=benchpass # phone names and extensions: 3 and the zero-padded index
LOSS_MAX=0.1            # per cent
mkdir -p "$WORK"
say() { echo "bench-voicemail: $*" >&2; }
# shellcheck source=scripts/bench-lib.sh
. scripts/bench-lib.sh
# Every call holds an RTP port, a socket on either side, and sipp an RTP
# socket.
bench_checks "$max_step" $((2 * max_step + 256)) "$PORT" "$UAC_PORT"

BIN=${BIN:-bin/switchboard} # another binary to measure, e.g. an older build
[ "$BIN" != bin/switchboard ] || make -s build
users_db="$WORK/bench-voicemail-$N.db"
if [ ! -f "$users_db" ]; then
  go run ./scripts/benchusers -db "$users_db" -n "$N" -user-prefix "$PREFIX" -pass-prefix "$PASS" \
    -unlimited-call-paths -voicemail >/dev/null
fi
# users.csv: caller phone;password;called extension;auth, each user calling
# the one N/2 further on; no phone registers, so every call reaches voicemail.
w=${#N}; [ $((10 ** (w - 1))) -eq "$N" ] && w=$((w - 1)); [ "$w" -lt 4 ] && w=4
awk -v n="$N" -v w="$w" -v up="$PREFIX" -v pp="$PASS" 'BEGIN { print "SEQUENTIAL"; half = int(n / 2); if (half == 0) half = 1
  for (i = 0; i < n; i++) { d = sprintf("%0" w "d", i); c = sprintf("%0" w "d", (i + half) % n)
    print up d ";" pp d ";" up c ";[authentication username=" up d " password=" pp d "]" } }' >"$WORK/vm-users.csv"
# The caller's voice: a 400 Hz tone at about -13 dBFS, raw µ-law, looped.
go run ./scripts/benchtone -o "$WORK/voicemail-tone.ulaw"

db="$WORK/vm-run.db" data="$WORK/vm-data"
bench_start_server vm

# "active received sent lost late filed other_outcomes heap_bytes goroutines"
# (/metrics needs no token).
snap_metrics() {
  curl -s "http://$HTTP/metrics" | awk '
    $1 == "switchboard_voicemail_calls_active" { a = $2 }
    $1 == "switchboard_voicemail_rtp_packets_received_total" { rx = $2 }
    $1 == "switchboard_voicemail_rtp_packets_sent_total" { tx = $2 }
    $1 == "switchboard_voicemail_rtp_packets_lost_total" { lost = $2 }
    $1 == "switchboard_voicemail_rtp_packets_late_total" { late = $2 }
    $1 == "switchboard_voicemail_deposits_total{outcome=\"filed\"}" { filed = $2; next }
    $1 ~ /^switchboard_voicemail_deposits_total\{/ { other += $2 }
    $1 == "go_memstats_heap_inuse_bytes" { heap = $2 }
    $1 == "go_goroutines" { gor = $2 }
    END { printf "%.0f %.0f %.0f %.0f %.0f %.0f %.0f %.0f %.0f\n", a, rx, tx, lost, late, filed, other, heap, gor }'
}

rss0=$(rss_kb VmRSS)
echo "Concurrent voicemail deposits: $N users; the calls of a step start at $RATE a second, each records until"
echo "every call of the step has recorded for ${PLATEAU} s (the plateau), then hangs up. sipp shares the machine's"
echo "$(nproc) cores with the server. Server RSS before the load: $((rss0 / 1024)) MB."
echo

results="$WORK/vm-results.txt"
: >"$results"
failed_in_row=0
for L in $STEPS; do
  ramp=$(((L + RATE - 1) / RATE)); [ "$ramp" -lt 2 ] && ramp=2
  hold=$((ramp + PLATEAU + 2)) # seconds of a call after the # that skips the greeting
  if [ $((SECONDS + 2 * ramp + PLATEAU + 10)) -gt "$BUDGET" ]; then
    echo "(stopping before step $L: it would overrun the $BUDGET s budget)"; break
  fi
  label="vm-$L"
  rm -f "$WORK/$label-stat.csv" "$WORK/$label-drops.txt"
  socket_drops "$PORT" "$UAC_PORT" >"$WORK/$label-drops0.txt"
  read -r _ rx0 tx0 lost0 late0 filed0 other0 _ _ <<<"$(snap_metrics)"
  t0=$(now)
  ( cd "$WORK" && exec timeout -k 5 $((ramp + hold + 90)) sipp "127.0.0.1:$PORT" \
      -sf "$OLDPWD/testdata/sipp/voicemail_deposit_uac.xml" -inf "$WORK/vm-users.csv" -key domain 127.0.0.1 \
      -i 127.0.0.1 -mi 127.0.0.1 -p "$UAC_PORT" -mp "$SIPP_MEDIA_PORT" -cp 25894 -nostdin \
      -r "$RATE" -rp 1000 -l "$L" -m "$L" -d $((hold * 1000)) -timeout $((ramp + hold + 60))s \
      -buff_size 4194304 -recv_timeout 10000 -default_behaviors all,-abortunexp \
      -watchdog_major_maxtriggers 100000 -trace_stat -fd 1 -stf "$WORK/$label-stat.csv" \
      >"$WORK/$label.out" 2>&1 ) &
  sipp_sub=$!
  pids+=("$sipp_sub")
  # The calls in progress and the RTP sockets' drops, every second.
  ( while :; do snap_metrics | awk '{ print $1 }' || true; socket_drops "$PORT" "$UAC_PORT" >>"$WORK/$label-drops.txt"; sleep 1; done ) \
    >"$WORK/$label-active.txt" 2>/dev/null &
  sampler=$!
  pids+=("$sampler")
  # The plateau: from 2 s after the last call started (and skipped the
  # greeting) to 1 s before the first one hangs up.
  sleep_until "$(at "$t0" $((ramp + 2)))"
  sipp_pid=$(pgrep -x sipp -P "$sipp_sub" 2>/dev/null || pgrep -f -- "-p $UAC_PORT " | tail -1 || true)
  ticks >"$WORK/$label-ticks0"; ta=$(now)
  read -r _ rxa _ _ _ _ _ _ _ <<<"$(snap_metrics)"
  if [ -n "${DEBUG_ADDR:-}" ] && [ "${PROFILE_STEP:-}" = "$L" ]; then
    ( curl -s -o "$WORK/$label-cpu.pprof" "http://$DEBUG_ADDR/debug/pprof/profile?seconds=$((PLATEAU - 1))" ) &
    pids+=($!)
  fi
  sleep_until "$(at "$t0" $((ramp + 2 + PLATEAU)))"
  ticks >"$WORK/$label-ticks1"; tb=$(now)
  read -r act_b rxb _ _ _ _ _ heap_b gor_b <<<"$(snap_metrics)"
  rss_b=$(rss_kb VmRSS)
  if [ -n "${DEBUG_ADDR:-}" ] && [ "${PROFILE_STEP:-}" = "$L" ]; then
    curl -s -o "$WORK/$label-heap.pprof" "http://$DEBUG_ADDR/debug/pprof/heap"
  fi
  wait "$sipp_sub" 2>/dev/null || true
  # Every call of the step is over once the server has filed its message.
  for _ in $(seq 60); do
    read -r act _ <<<"$(snap_metrics)"
    [ "${act:-1}" -eq 0 ] && break
    sleep 0.5
  done
  kill "$sampler" 2>/dev/null || true
  wait "$sampler" 2>/dev/null || true
  read -r act rx1 tx1 lost1 late1 filed1 other1 _ _ <<<"$(snap_metrics)"
  peak=$(sort -n "$WORK/$label-active.txt" | tail -1)
  # Datagrams dropped: on the server's RTP sockets, and on the SIP sockets
  # ("server/sipp").
  read -r drops sip_drops <<<"$(awk -v sip="$PORT" -v uac="$UAC_PORT" 'FILENAME == ARGV[1] { d0[$1] = $3; next }
    $3 > d[$1] { d[$1] = $3; port[$1] = $2 }
    END { for (i in d) { n = d[i] - d0[i]; if (port[i] == sip) s += n; else if (port[i] == uac) u += n; else r += n }
      printf "%d %d/%d\n", r, s, u }' "$WORK/$label-drops0.txt" "$WORK/$label-drops.txt" 2>/dev/null || echo "0 0/0")"
  # CPU ticks over the plateau: the server, sipp, and every other process
  # alive at both ends of it.
  read -r cs cu co <<<"$(awk -v s="$spid" -v u="${sipp_pid:-none}" 'FNR == NR { a[$1] = $2; next }
    ($1 in a) { d = $2 - a[$1]; if ($1 == s) cs += d; else if ($1 == u) cu += d; else co += d }
    END { printf "%.0f %.0f %.0f\n", cs, cu, co }' "$WORK/$label-ticks0" "$WORK/$label-ticks1")"
  # Calls that went through and failed, and the mean length of the ones
  # that went through ("HH:MM:SS:usec").
  read -r ok fail len <<<"$(awk -F';' 'NR == 1 { for (i = 1; i <= NF; i++) c[$i] = i; next }
    NF > 1 { ok = $c["SuccessfulCall(C)"]; fail = $c["FailedCall(C)"]; split($c["CallLength(C)"], t, ":") }
    END { printf "%d %d %.3f\n", ok, fail, t[1] * 3600 + t[2] * 60 + t[3] + t[4] / 1e6 }' "$WORK/$label-stat.csv" 2>/dev/null || echo "0 0 0")"
  # Expected: what sipp sent on the calls that went through, 50 packets a
  # second from the answer to the hang-up (sipp's mean call length, a few
  # milliseconds before the answer included).
  awk -v L="$L" -v len="$len" -v ok="$ok" -v fail="$fail" -v peak="${peak:-0}" -v hz="$hz" \
    -v rx=$((rx1 - rx0)) -v tx=$((tx1 - tx0)) -v lost=$((lost1 - lost0)) -v late=$((late1 - late0)) \
    -v filed=$((filed1 - filed0)) -v other=$((other1 - other0)) -v left="$act" \
    -v srv="$cs" -v sipp="$cu" -v others="$co" -v secs="$(awk -v a="$ta" -v b="$tb" 'BEGIN { printf "%.3f", b - a }')" \
    -v prx=$((rxb - rxa)) -v rss="$rss_b" -v rss0="$rss0" -v heap="$heap_b" -v gor="$gor_b" -v drops="$drops" -v act="$act_b" \
    -v lossmax="$LOSS_MAX" 'BEGIN {
      expected = ok * len * 50
      loss = (rx + lost > 0) ? 100 * lost / (rx + lost) : 0
      clean = (loss < lossmax && late == 0 && fail == 0 && filed == L) ? "yes" : "no"
      cpu = 100 * srv / hz / secs; us = (prx > 0) ? 1e6 * srv / hz / prx : 0
      # 1 step, 2 peak calls, 3 plateau calls, 4 received, 5 loss %, 6 late, 7 received/expected %, 8 server CPU %,
      # 9 µs/packet, 10 sipp CPU %, 11 others CPU %, 12 RSS MB, 13 KB/call, 14 filed, 15 failed calls, 16 other
      # outcomes, 17 kernel drops, 18 lost, 19 clean, 20 sent, 21 heap MB, 22 goroutines, 23 packets/s, 24 calls left
      printf "%d %d %d %d %.4f %d %.1f %.1f %.1f %.1f %.1f %.1f %.1f %d %d %d %d %d %s %d %.0f %d %.1f %d\n",
        L, peak, act, rx, loss, late, 100 * rx / (expected > 0 ? expected : 1), cpu, us,
        100 * sipp / hz / secs, 100 * others / hz / secs, rss / 1024, (rss - rss0) / L, filed, fail, other, drops, lost, clean,
        tx, heap / 1048576, gor, prx / secs, left
    }' >>"$results"
  tail -1 "$results" | awk '{ printf "step %4d: peak %d calls, plateau %d calls, %.0f packets/s; loss %.3f %% (%d lost, %d dropped by the kernel), late %d, received/expected %.1f %%; server CPU %.0f %% (%.1f µs/packet), sipp %.0f %%, other processes %.0f %%; RSS %.0f MB (+%.0f KB/call), heap %d MB, goroutines %d; filed %d, failed calls %d -> %s\n",
    $1, $2, $3, $23, $5, $18, $17, $6, $7, $8, $9, $10, $11, $12, $13, $21, $22, $14, $15, ($19 == "yes" ? "clean" : "NOT clean") }'
  [ "$sip_drops" = 0/0 ] || echo "          SIP datagrams dropped on full socket buffers (server/sipp): $sip_drops"
  if [ "$(tail -1 "$results" | awk '{ print $19 }')" = yes ]; then failed_in_row=0; else failed_in_row=$((failed_in_row + 1)); fi
  if [ "$failed_in_row" -ge "$MAX_FAILED" ]; then echo "(stopping: $failed_in_row steps in a row not clean)"; break; fi
  sleep 2
done

echo
echo "| recordings | peak calls | packets/s | loss % | late | received/expected | server CPU | µs/packet | sipp CPU | other processes | server RSS | RSS/call | filed | failed calls | clean |"
echo "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"
awk '{ printf "| %d | %d | %.0f | %.3f | %d | %.1f %% | %.0f %% | %.1f | %.0f %% | %.0f %% | %.0f MB | %.0f KB | %d | %d | %s |\n",
  $1, $2, $23, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $19 }' "$results"
echo "(CPU over the plateau, 100 % = one core; µs/packet: the server's CPU per RTP packet received on the plateau;"
echo " RSS/call: (RSS on the plateau - RSS before the load) / calls; loss: packets lost / (received + lost).)"
best=$(awk '$19 == "yes" && $1 > b { b = $1 } END { print b + 0 }' "$results")
if [ "$best" -gt 0 ]; then
  echo "highest clean step (loss < $LOSS_MAX %, no late packet, every call filed): $best simultaneous recordings"
else
  echo "no clean step (loss < $LOSS_MAX %, no late packet, every call filed)"
fi
awk '/^VmHWM/ { printf "server peak RSS %.0f MB\n", $2 / 1024 }' "/proc/$spid/status"

# Every filed message is one file; nothing is left among the recordings
# in progress.
read -r _ _ _ _ _ filed_all _ <<<"$(snap_metrics)"
files=$(find "$data/audio" -name '*.wav' 2>/dev/null | wc -l)
pending=$(find "$data/recordings" -type f 2>/dev/null | wc -l)
echo "messages filed $filed_all, message files $files, recordings left in progress $pending"
if [ "$files" -ne "$filed_all" ] || [ "$pending" -ne 0 ]; then say "message files and filed messages differ"; fi
errors=$(grep -c 'level=ERROR' "$WORK/vm-server.log" || true)
[ "${errors:-0}" -eq 0 ] || echo "server errors logged: $errors (see $WORK/vm-server.log)"
echo "raw output in $WORK (vm-*); the data directory $data is removed"
