#!/usr/bin/env bash
# Generates the voice prompts in prompts/en/ from the list in
# prompts/prompts.txt ("name|text" per line) with espeak-ng and sox, both
# Debian packages (apt-get install espeak-ng sox). The WAVs are committed, so
# a fresh install speaks without any download; run this only after changing
# the list, the voice or the processing below.
#
# Each prompt is spoken by espeak-ng, trimmed of leading and trailing silence,
# band-limited, resampled to 8 kHz, normalised to a -3 dBFS peak, padded with
# 20 ms before and 150 ms after (so prompts played back to back sound like
# one sentence), and written as 16-bit signed PCM, mono, 8 kHz: what G.711
# needs, with no conversion at play time.
#
# Deterministic (no dither, fixed random seed) and idempotent: the output
# depends only on the list and the tool versions, files no longer listed are
# removed, and nothing in prompts/en/ changes unless every prompt was made.
set -euo pipefail

VOICE=${VOICE:-en-us}   # espeak-ng's US English voice
SPEED=${SPEED:-150}     # words per minute; espeak-ng's default 175 is hurried on a phone
PITCH=${PITCH:-45}      # 0-99, espeak-ng's default is 50
MAX_SECONDS=12          # the Go tests refuse longer prompts

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
list=$root/prompts/prompts.txt
out=$root/prompts/en

die() {
	echo "gen-prompts: $*" >&2
	exit 1
}

for tool in espeak-ng:espeak-ng sox:sox soxi:sox; do
	command -v "${tool%%:*}" >/dev/null ||
		die "${tool%%:*} not found; install it with: apt-get install ${tool#*:}"
done
[[ -r $list ]] || die "cannot read $list"
espeak-ng -v "$VOICE" -q "" 2>/dev/null || die "espeak-ng has no voice $VOICE"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir "$tmp/en"

declare -A seen
n=0
lineno=0
while IFS= read -r line || [[ -n $line ]]; do
	lineno=$((lineno + 1))
	[[ -z ${line//[[:space:]]/} || $line == \#* ]] && continue
	[[ $line == *'|'* ]] || die "$list:$lineno: want name|text, got: $line"
	name=${line%%|*}
	text=${line#*|}
	[[ $name =~ ^[a-z0-9]+(-[a-z0-9]+)*$ ]] ||
		die "$list:$lineno: name $name: use lowercase letters, digits and single hyphens"
	[[ -n ${text//[[:space:]]/} ]] || die "$list:$lineno: $name has no text"
	[[ -z ${seen[$name]:-} ]] || die "$list:$lineno: $name already listed on line ${seen[$name]}"
	seen[$name]=$lineno

	printf '%s\n' "$text" >"$tmp/text"
	espeak-ng -v "$VOICE" -s "$SPEED" -p "$PITCH" -w "$tmp/raw.wav" -f "$tmp/text" ||
		die "espeak-ng failed on $name"
	# -D: no dither, -R: fixed random seed; both keep the output byte-identical
	# from run to run. The silence effects cut everything quieter than 0.1% of
	# full scale (-60 dBFS) at both ends; reverse twice trims the tail.
	sox -D -R "$tmp/raw.wav" -b 16 -e signed-integer -c 1 -r 8000 "$tmp/en/$name.wav" \
		silence 1 0.01 0.1% reverse silence 1 0.01 0.1% reverse gain -6 \
		highpass 100 rate -v 8000 gain -n -3 pad 0.02 0.15 ||
		die "sox failed on $name"

	samples=$(soxi -s "$tmp/en/$name.wav")
	((samples > 8000 * 15 / 100)) || die "$name is silent after trimming"
	((samples <= 8000 * MAX_SECONDS)) || die "$name is longer than $MAX_SECONDS s; split it"
	n=$((n + 1))
done <"$list"
((n > 0)) || die "$list lists no prompts"

mkdir -p "$out"
rm -f "$out"/*.wav
mv "$tmp"/en/*.wav "$out"/
bytes=$(cat "$out"/*.wav | wc -c)
echo "gen-prompts: $n prompts in ${out#"$root"/}, $((bytes / 1024)) KiB"
