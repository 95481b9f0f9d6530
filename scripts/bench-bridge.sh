#!/usr/bin/env bash
# Concurrent bridged calls against a real bin/switchboard: how many calls it
# relays at once, back to back with RTP both ways, with under 0.1 % of their
# packets lost, and its CPU per relayed packet and memory per call.
#
# N callers and N callees; the callees record their calls (record_calls), so
# the engine bridges every call to them: it answers the caller itself, calls
# the callee's phone with an INVITE and an offer of its own, relays the RTP
# of the two legs (media.Bridge) and writes both directions into a WAV,
# filed as the callee's recording when the call ends. Every callee's phone
# is registered to one sipp UAS, which answers with PCMU and telephone-event
# 101 and sends a 400 Hz tone as 20 ms µ-law RTP packets from the ACK to the
# BYE. For each step of STEPS a sipp caller places that many calls (-l and
# -m the step), RATE a second, evenly, caller i calling callee i; each one
# authenticates (407), offers PCMU and telephone-event 101, sends the same
# tone from the answer on until every call of the step has been bridged for
# PLATEAU seconds, and hangs up. The server's CPU and memory, the two sipps'
# CPU and the packets relayed are measured over that plateau; packets lost
# (/metrics), calls failed (sipp) and recordings filed (the data directory)
# over the whole step. Stepping stops after MAX_FAILED steps in a row that
# are not clean, or when the next step would overrun BUDGET seconds.
#
#   scripts/bench-bridge.sh                    # STEPS="250 500 750 1000 1250 1500" RATE=100 PLATEAU=15
#   STEPS="500" PLATEAU=60 scripts/bench-bridge.sh
#   DEBUG_ADDR=127.0.0.1:6063 PROFILE_STEP=500 scripts/bench-bridge.sh   # CPU and heap profiles of that plateau
#   BIN=/tmp/old/switchboard scripts/bench-bridge.sh                     # another build, e.g. before a change
#
# Both sipps run on the same cores as the server and send every packet: their
# CPU is shown beside the server's, and so is the CPU of every other process
# (not ~0: something else disturbed the run). On loopback the kernel's
# delivery of a packet is charged in part to its sender and in part to
# softirq time, which no process is charged with: the whole machine's CPU is
# shown too. µs per packet is the server's CPU on the plateau per packet
# relayed, recording included. Loopback only; every process is bounded in
# time and stopped on exit. Raw output (server log, sipp screens and stat
# CSVs, samples, profiles) is kept in $WORK; the data directory (the filed
# recordings) is removed at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
STEPS=${STEPS:-"250 500 750 1000 1250 1500"}
RATE=${RATE:-100} PLATEAU=${PLATEAU:-15} N=${N:-2000} MAX_FAILED=${MAX_FAILED:-2} BUDGET=${BUDGET:-540}
PORT=${PORT:-5084} HTTP=${HTTP:-127.0.0.1:18094} UAS_PORT=${UAS_PORT:-31200} UAC_PORT=${UAC_PORT:-31201}
RTP_PORTS=${RTP_PORTS:-20000-29999} UAC_MEDIA_PORT=${UAC_MEDIA_PORT:-32000} UAS_MEDIA_PORT=${UAS_MEDIA_PORT:-42000}
WORK=${WORK:-/tmp/switchboard-bench}
CALLER=4 CALLEE=5 PASS=benchpass # phone names and extensions: the prefix and the zero-padded index
LOSS_MAX=0.1                     # per cent
mkdir -p "$WORK"
say() { echo "bench-bridge: $*" >&2; }
# shellcheck source=scripts/bench-lib.sh
. scripts/bench-lib.sh
# Two legs a call, each on an even port of the range; every call holds two
# sockets in the server and two (RTP, RTCP) in each sipp.
bench_checks $((2 * max_step)) $((2 * max_step + 256)) "$PORT" "$UAS_PORT" "$UAC_PORT"

BIN=${BIN:-bin/switchboard} # another binary to measure, e.g. an older build
[ "$BIN" != bin/switchboard ] || make -s build
# N callers (no phone registers, they only call) and N callees who record
# their calls; unlimited call paths, so that steps beyond N overlap.
users_db="$WORK/bench-bridge-$N.db"
if [ ! -f "$users_db" ]; then
  rm -f "$users_db.tmp" "$users_db.tmp-wal" "$users_db.tmp-shm"
  go run ./scripts/benchusers -db "$users_db.tmp" -n "$N" -user-prefix "$CALLER" -pass-prefix "$PASS" \
    -unlimited-call-paths >/dev/null
  go run ./scripts/benchusers -db "$users_db.tmp" -n "$N" -user-prefix "$CALLEE" -pass-prefix "$PASS" \
    -unlimited-call-paths -record-calls >/dev/null
  if [ -f "$users_db.tmp-wal" ]; then mv "$users_db.tmp-wal" "$users_db-wal"; fi
  mv "$users_db.tmp" "$users_db"
fi
w=${#N}; [ $((10 ** (w - 1))) -eq "$N" ] && w=$((w - 1)); [ "$w" -lt 4 ] && w=4
# br-register.csv: the callees' phones; br-users.csv: caller phone;password;
# called extension;auth, caller i calling callee i.
awk -v n="$N" -v w="$w" -v up="$CALLEE" -v pp="$PASS" 'BEGIN { print "SEQUENTIAL"
  for (i = 0; i < n; i++) { d = sprintf("%0" w "d", i); print up d ";" pp d ";" up d ";[authentication username=" up d " password=" pp d "]" } }' \
  >"$WORK/br-register.csv"
awk -v n="$N" -v w="$w" -v up="$CALLER" -v cp="$CALLEE" -v pp="$PASS" 'BEGIN { print "SEQUENTIAL"
  for (i = 0; i < n; i++) { d = sprintf("%0" w "d", i); print up d ";" pp d ";" cp d ";[authentication username=" up d " password=" pp d "]" } }' \
  >"$WORK/br-users.csv"
# Both sides' voice: a 400 Hz tone at about -13 dBFS, raw µ-law, looped.
go run ./scripts/benchtone -o "$WORK/bridge-tone.ulaw"

db="$WORK/br-run.db" data="$WORK/br-data"
bench_start_server br

# The callees' phones: one sipp UAS answering every call, for the whole run.
( cd "$WORK" && exec timeout -k 5 "$deadline" sipp -sf "$OLDPWD/testdata/sipp/bridge_load_uas.xml" \
    -i 127.0.0.1 -mi 127.0.0.1 -p "$UAS_PORT" -mp "$UAS_MEDIA_PORT" -cp 31210 -nostdin -buff_size 4194304 \
    -recv_timeout 60000 -timeout "$deadline"s -default_behaviors all,-abortunexp -watchdog_major_maxtriggers 100000 \
    -trace_stat -fd 1 -stf "$WORK/br-uas-stat.csv" >"$WORK/br-uas.out" 2>&1 ) &
uas_sub=$!
pids+=("$uas_sub")
rm -f "$WORK/br-register-stat.csv"
( cd "$WORK" && exec timeout -k 5 90 sipp "127.0.0.1:$PORT" -sf "$OLDPWD/testdata/sipp/register_load.xml" \
    -inf "$WORK/br-register.csv" -key domain 127.0.0.1 -key contact_hostport "127.0.0.1:$UAS_PORT" -auth_uri 127.0.0.1 \
    -i 127.0.0.1 -p "$UAC_PORT" -cp 31211 -nostdin -r 2000 -l 200 -m "$N" -timeout 60s -buff_size 4194304 \
    -trace_stat -fd 1 -stf "$WORK/br-register-stat.csv" >"$WORK/br-register.out" 2>&1 ) || true
reg_ok=$(awk -F';' 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == "SuccessfulCall(C)") s = i; next } NF > 1 { ok = $s } END { print ok + 0 }' \
  "$WORK/br-register-stat.csv" 2>/dev/null || echo 0)
[ "$reg_ok" -ge "$N" ] || { say "only $reg_ok of $N callee phones registered, see $WORK/br-register.out"; exit 1; }
uas_pid=$(pgrep -x sipp -P "$uas_sub" 2>/dev/null || pgrep -f -- "-p $UAS_PORT " | tail -1 || true)

# "active relayed lost transcoded heap_bytes goroutines" (/metrics needs no
# token).
snap_metrics() {
  curl -s "http://$HTTP/metrics" | awk '
    $1 == "switchboard_bridges_active" { a = $2 }
    $1 == "switchboard_bridge_packets_relayed_total" { rel = $2 }
    $1 == "switchboard_bridge_packets_lost_total" { lost = $2 }
    $1 == "switchboard_bridge_packets_transcoded_total" { tr = $2 }
    $1 == "go_memstats_heap_inuse_bytes" { heap = $2 }
    $1 == "go_goroutines" { gor = $2 }
    END { printf "%.0f %.0f %.0f %.0f %.0f %.0f\n", a, rel, lost, tr, heap, gor }'
}
# Recordings filed (one file each in the audio store) and in progress.
filed_count() { find "$data/audio" -name '*.wav' 2>/dev/null | wc -l; }
pending_count() { find "$data/recordings" -type f 2>/dev/null | wc -l; }
# The callee's failed calls so far (its stat CSV, written every second).
uas_failed() {
  awk -F';' 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == "FailedCall(C)") f = i; next } NF > 1 { n = $f } END { print n + 0 }' \
    "$WORK/br-uas-stat.csv" 2>/dev/null || echo 0
}
# "busy softirq steal" ticks of the whole machine, every core. Busy is user,
# system, interrupts, softirq (much of the loopback's packet delivery, which
# no process is charged with) and steal (a virtual machine's host running
# something else); it also holds the processes too short-lived for ticks.
cpu_stat() { awk '$1 == "cpu" { printf "%.0f %.0f %.0f\n", $2 + $3 + $4 + $7 + $8 + $9, $8, $9 }' /proc/stat; }

rss0=$(rss_kb VmRSS)
read -r _ _ _ _ heap0 gor0 <<<"$(snap_metrics)"
echo "Concurrent bridged calls: $N callers calling $N callees who record their calls ($reg_ok phones registered to one"
echo "sipp); the calls of a step start at $RATE a second, each sends and receives 20 ms PCMU RTP until every call"
echo "of the step has been bridged for ${PLATEAU} s (the plateau), then hangs up. Both sipps share the machine's"
echo "$(nproc) cores with the server. Server RSS before the load: $((rss0 / 1024)) MB."
echo

results="$WORK/br-results.txt"
: >"$results"
failed_in_row=0
for L in $STEPS; do
  ramp=$(((L + RATE - 1) / RATE)); [ "$ramp" -lt 2 ] && ramp=2
  hold=$((ramp + PLATEAU + 3)) # seconds of a call from the answer to the BYE
  if [ $((SECONDS + 2 * ramp + PLATEAU + 15)) -gt "$BUDGET" ]; then
    echo "(stopping before step $L: it would overrun the $BUDGET s budget)"; break
  fi
  label="br-$L"
  rm -f "$WORK/$label-stat.csv" "$WORK/$label-drops.txt"
  socket_drops "$PORT" "$UAS_PORT" "$UAC_PORT" >"$WORK/$label-drops0.txt"
  read -r _ rel0 lost0 tr0 _ _ <<<"$(snap_metrics)"
  filed0=$(filed_count) ufail0=$(uas_failed)
  t0=$(now)
  ( cd "$WORK" && exec timeout -k 5 $((ramp + hold + 90)) sipp "127.0.0.1:$PORT" \
      -sf "$OLDPWD/testdata/sipp/bridge_load_uac.xml" -inf "$WORK/br-users.csv" -key domain 127.0.0.1 \
      -i 127.0.0.1 -mi 127.0.0.1 -p "$UAC_PORT" -mp "$UAC_MEDIA_PORT" -cp 31212 -nostdin \
      -r "$RATE" -rp 1000 -l "$L" -m "$L" -d $((hold * 1000)) -timeout $((ramp + hold + 60))s \
      -buff_size 4194304 -recv_timeout 10000 -default_behaviors all,-abortunexp \
      -watchdog_major_maxtriggers 100000 -trace_stat -fd 1 -stf "$WORK/$label-stat.csv" \
      >"$WORK/$label.out" 2>&1 ) &
  sipp_sub=$!
  pids+=("$sipp_sub")
  # The bridges up and the sockets' drops, every second.
  ( while :; do snap_metrics | awk '{ print $1 }' || true; socket_drops "$PORT" "$UAS_PORT" "$UAC_PORT" >>"$WORK/$label-drops.txt"; sleep 1; done ) \
    >"$WORK/$label-active.txt" 2>/dev/null &
  sampler=$!
  pids+=("$sampler")
  # The plateau: from 2 s after the last call started to 1 s before the
  # first one hangs up.
  sleep_until "$(at "$t0" $((ramp + 2)))"
  uac_pid=$(pgrep -x sipp -P "$sipp_sub" 2>/dev/null || pgrep -f -- "-p $UAC_PORT " | tail -1 || true)
  ticks >"$WORK/$label-ticks0"; read -r busy_a sirq_a steal_a <<<"$(cpu_stat)"; ta=$(now)
  read -r act_a rela _ _ _ _ <<<"$(snap_metrics)"
  if [ -n "${DEBUG_ADDR:-}" ] && [ "${PROFILE_STEP:-}" = "$L" ]; then
    ( curl -s -o "$WORK/$label-cpu.pprof" "http://$DEBUG_ADDR/debug/pprof/profile?seconds=$((PLATEAU - 1))" ) &
    pids+=($!)
  fi
  sleep_until "$(at "$t0" $((ramp + 2 + PLATEAU)))"
  ticks >"$WORK/$label-ticks1"; read -r busy_b sirq_b steal_b <<<"$(cpu_stat)"; tb=$(now)
  read -r act_b relb _ _ heap_b gor_b <<<"$(snap_metrics)"
  rss_b=$(rss_kb VmRSS)
  if [ -n "${DEBUG_ADDR:-}" ] && [ "${PROFILE_STEP:-}" = "$L" ]; then
    curl -s -o "$WORK/$label-heap.pprof" "http://$DEBUG_ADDR/debug/pprof/heap"
  fi
  wait "$sipp_sub" 2>/dev/null || true
  # Every call of the step is over once its bridge has ended and its
  # recording is filed.
  for _ in $(seq 120); do
    read -r act _ <<<"$(snap_metrics)"
    [ "${act:-1}" -eq 0 ] && [ "$(pending_count)" -eq 0 ] && break
    sleep 0.5
  done
  sleep 1 # the callee's last calls end 2 s after their BYE (timewait)
  kill "$sampler" 2>/dev/null || true
  wait "$sampler" 2>/dev/null || true
  read -r act rel1 lost1 tr1 _ _ <<<"$(snap_metrics)"
  filed1=$(filed_count) ufail1=$(uas_failed)
  peak=$(sort -n "$WORK/$label-active.txt" | tail -1)
  # Datagrams dropped: on the server's RTP sockets, and on the SIP sockets
  # ("server/callee sipp/caller sipp").
  read -r drops sip_drops <<<"$(awk -v sip="$PORT" -v uas="$UAS_PORT" -v uac="$UAC_PORT" 'FILENAME == ARGV[1] { d0[$1] = $3; next }
    $3 > d[$1] { d[$1] = $3; port[$1] = $2 }
    END { for (i in d) { n = d[i] - d0[i]; if (port[i] == sip) s += n; else if (port[i] == uas) e += n; else if (port[i] == uac) u += n; else r += n }
      printf "%d %d/%d/%d\n", r, s, e, u }' "$WORK/$label-drops0.txt" "$WORK/$label-drops.txt" 2>/dev/null || echo "0 0/0/0")"
  # CPU ticks over the plateau: the server, the two sipps, and every other
  # process alive at both ends of it.
  read -r cs ce cu co <<<"$(awk -v s="$spid" -v e="${uas_pid:-none}" -v u="${uac_pid:-none}" 'FNR == NR { a[$1] = $2; next }
    ($1 in a) { d = $2 - a[$1]; if ($1 == s) cs += d; else if ($1 == e) ce += d; else if ($1 == u) cu += d; else co += d }
    END { printf "%.0f %.0f %.0f %.0f\n", cs, ce, cu, co }' "$WORK/$label-ticks0" "$WORK/$label-ticks1")"
  # Calls that went through and failed, SIP retransmissions, and the mean
  # times from the first INVITE to the 200 and from the BYE to its 200, in
  # ms ("HH:MM:SS:usec").
  read -r ok fail retrans setup_ms bye_ms <<<"$(awk -F';' 'function ms(s, t) { split(s, t, ":"); return (t[1] * 3600 + t[2] * 60 + t[3]) * 1000 + t[4] / 1000 }
    NR == 1 { for (i = 1; i <= NF; i++) c[$i] = i; next }
    NF > 1 { ok = $c["SuccessfulCall(C)"]; fail = $c["FailedCall(C)"]; rt = $c["Retransmissions(C)"]
      setup = ms($c["ResponseTimesetup(C)"]); bye = ms($c["ResponseTimebye(C)"]) }
    END { printf "%d %d %d %.0f %.0f\n", ok, fail, rt, setup, bye }' "$WORK/$label-stat.csv" 2>/dev/null || echo "0 0 0 0 0")"
  # Expected: what the two sipps sent on the calls that went through, 50
  # packets a second each way from the answer to the caller's BYE (-d).
  # Over 100 %: the callee's RTP went on being relayed while the server had
  # the BYE waiting.
  awk -v L="$L" -v hold="$hold" -v ok="$ok" -v fail="$fail" -v ufail=$((ufail1 - ufail0)) -v peak="${peak:-0}" -v hz="$hz" \
    -v rel=$((rel1 - rel0)) -v lost=$((lost1 - lost0)) -v tr=$((tr1 - tr0)) -v filed=$((filed1 - filed0)) -v left="$act" \
    -v srv="$cs" -v uas="$ce" -v uac="$cu" -v others="$co" -v secs="$(awk -v a="$ta" -v b="$tb" 'BEGIN { printf "%.3f", b - a }')" \
    -v prel=$((relb - rela)) -v rss="$rss_b" -v rss0="$rss0" -v heap="$heap_b" -v gor="$gor_b" -v drops="$drops" \
    -v act_a="$act_a" -v act_b="$act_b" -v busy=$((busy_b - busy_a)) -v sirq=$((sirq_b - sirq_a)) -v steal=$((steal_b - steal_a)) \
    -v retrans="$retrans" -v setup="$setup_ms" -v bye="$bye_ms" -v lossmax="$LOSS_MAX" 'BEGIN {
      expected = ok * hold * 100
      loss = (rel + lost > 0) ? 100 * lost / (rel + lost) : 0
      bridged = (act_a < act_b) ? act_a : act_b
      clean = (loss < lossmax && fail == 0 && ufail == 0 && bridged == L && filed == L) ? "yes" : "no"
      cpu = 100 * srv / hz / secs; us = (prel > 0) ? 1e6 * srv / hz / prel : 0
      # 1 step, 2 peak bridges, 3 bridges on the plateau (fewest at its ends), 4 relayed, 5 loss %, 6 lost,
      # 7 relayed/expected %, 8 server CPU %, 9 µs/packet, 10 callee sipp CPU %, 11 caller sipp CPU %,
      # 12 others CPU %, 13 RSS MB, 14 KB/call, 15 filed, 16 failed calls (caller), 17 failed calls (callee),
      # 18 kernel drops, 19 clean, 20 transcoded, 21 heap MB, 22 goroutines, 23 packets/s, 24 bridges left,
      # 25 machine CPU %, 26 softirq %, 27 setup ms, 28 BYE ms, 29 SIP retransmissions, 30 steal %
      printf "%d %d %d %d %.4f %d %.1f %.1f %.2f %.1f %.1f %.1f %.1f %.1f %d %d %d %d %s %d %.0f %d %.0f %d %.1f %.1f %d %d %d %.1f\n",
        L, peak, bridged, rel, loss, lost, 100 * rel / (expected > 0 ? expected : 1), cpu, us,
        100 * uas / hz / secs, 100 * uac / hz / secs, 100 * others / hz / secs, rss / 1024, (rss - rss0) / L,
        filed, fail, ufail, drops, clean, tr, heap / 1048576, gor, prel / secs, left,
        100 * busy / hz / secs, 100 * sirq / hz / secs, setup, bye, retrans, 100 * steal / hz / secs
    }' >>"$results"
  tail -1 "$results" | awk -v cores="$(nproc)" '{ printf "step %4d: peak %d bridges, plateau %d, %.0f packets/s relayed; loss %.3f %% (%d lost, %d dropped by the kernel), relayed/expected %.1f %%; server CPU %.0f %% (%.2f µs/packet), sipp callee %.0f %%, caller %.0f %%, other processes %.0f %%, machine %.0f %% of %d00 %% (softirq %.0f %%, steal %.0f %%); RSS %.0f MB (+%.0f KB/call), heap %d MB, goroutines %d; setup %d ms, BYE %d ms, SIP retransmissions %d; recordings filed %d, failed calls %d/%d -> %s\n",
    $1, $2, $3, $23, $5, $6, $18, $7, $8, $9, $10, $11, $12, $25, cores, $26, $30, $13, $14, $21, $22, $27, $28, $29, $15, $16, $17, ($19 == "yes" ? "clean" : "NOT clean") }'
  [ "$sip_drops" = 0/0/0 ] || echo "          SIP datagrams dropped on full socket buffers (server/callee sipp/caller sipp): $sip_drops"
  [ "$act" -eq 0 ] || echo "          bridges still up after the step: $act"
  if [ "$(tail -1 "$results" | awk '{ print $19 }')" = yes ]; then failed_in_row=0; else failed_in_row=$((failed_in_row + 1)); fi
  if [ "$failed_in_row" -ge "$MAX_FAILED" ]; then echo "(stopping: $failed_in_row steps in a row not clean)"; break; fi
  sleep 2
done

echo
echo "| bridged calls | peak bridges | packets/s relayed | loss % | relayed/expected | server CPU | µs/packet | sipp callee CPU | sipp caller CPU | other processes | machine CPU | server RSS | RSS/call | recordings filed | failed calls | clean |"
echo "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"
awk '{ printf "| %d | %d | %.0f | %.3f | %.1f %% | %.0f %% | %.2f | %.0f %% | %.0f %% | %.0f %% | %.0f %% | %.0f MB | %.0f KB | %d | %d | %s |\n",
  $1, $2, $23, $5, $7, $8, $9, $10, $11, $12, $25, $13, $14, $15, $16 + $17, $19 }' "$results"
echo "(CPU over the plateau, 100 % = one core; machine CPU: every core busy, softirq and steal included, of"
echo " $(nproc)00 %; packets/s and µs/packet: RTP packets relayed on the plateau, both directions, and the server's CPU"
echo " per packet, recording included; RSS/call: (RSS on the plateau - RSS before the load) / calls; loss: packets"
echo " lost / (relayed + lost) over the step; failed calls: caller's and callee's.)"
best=$(awk '$19 == "yes" && $1 > b { b = $1 } END { print b + 0 }' "$results")
if [ "$best" -gt 0 ]; then
  echo "highest clean step (loss < $LOSS_MAX %, every call bridged at once, none failed, every recording filed): $best concurrent bridged calls"
else
  echo "no clean step (loss < $LOSS_MAX %, every call bridged at once, none failed, every recording filed)"
fi
awk '/^VmHWM/ { printf "server peak RSS %.0f MB\n", $2 / 1024 }' "/proc/$spid/status"
# What the calls left behind: nothing but memory the runtime keeps (with
# DEBUG_ADDR, after a collection, so that the heap is what is still held).
[ -z "${DEBUG_ADDR:-}" ] || curl -s -o "$WORK/br-heap-after.pprof" "http://$DEBUG_ADDR/debug/pprof/heap?gc=1"
read -r act_end _ _ _ heap_end gor_end <<<"$(snap_metrics)"
echo "after the load: bridges $act_end, goroutines $gor_end (before the load $gor0), heap in use $((heap_end / 1048576)) MB" \
  "(before $((heap0 / 1048576)) MB), RSS $(($(rss_kb VmRSS) / 1024)) MB (before $((rss0 / 1024)) MB)"

# Every call's recording is one file; nothing is left in progress.
files=$(filed_count) pending=$(pending_count)
calls=$(awk '{ s += $1 } END { print s + 0 }' "$results")
echo "calls placed $calls, recordings filed $files, recordings left in progress $pending"
if [ "$files" -ne "$calls" ] || [ "$pending" -ne 0 ]; then say "recordings filed and calls placed differ"; fi
errors=$(grep -c 'level=ERROR' "$WORK/br-server.log" || true)
[ "${errors:-0}" -eq 0 ] || echo "server errors logged: $errors (see $WORK/br-server.log)"
echo "raw output in $WORK (br-*); the data directory $data is removed"
