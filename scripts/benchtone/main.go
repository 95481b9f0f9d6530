// Command benchtone writes a tone as raw G.711 µ-law at 8 kHz, no header:
// the caller's voice in the voicemail load test, which sipp's rtp_stream
// sends in 160-byte packets, looping. Speech-level, it keeps the recording
// going (never silent for the silence timeout).
//
//	go run ./scripts/benchtone -o tone.ulaw
package main

import (
	"flag"
	"fmt"
	"os"
	"time"

	"switchboard/media"
)

func main() {
	out := flag.String("o", "tone.ulaw", "output file")
	freq := flag.Float64("freq", 400, "frequency in Hz")
	dur := flag.Duration("d", time.Second, "length, a multiple of 20 ms")
	amp := flag.Float64("amplitude", 0.3, "amplitude, 0 to 1 (0.3: about -13 dBFS, speech level)")
	flag.Parse()
	pcm, err := media.ReadAll(media.Tone(*freq, *dur, *amp), 0)
	if err == nil {
		err = os.WriteFile(*out, media.CodecPCMU.Encode(nil, pcm), 0o644)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "benchtone:", err)
		os.Exit(1)
	}
}
