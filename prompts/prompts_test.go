package prompts

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

const maxSeconds = 12

// checkWAV reads a RIFF/WAVE header by hand and returns the audio length;
// it accepts only what the media package plays without converting: PCM,
// 16-bit, 8 kHz, mono.
func checkWAV(b []byte) (time.Duration, error) {
	if len(b) < 12 || string(b[0:4]) != "RIFF" || string(b[8:12]) != "WAVE" {
		return 0, errors.New("not a RIFF/WAVE file")
	}
	if size := binary.LittleEndian.Uint32(b[4:8]); int(size)+8 != len(b) {
		return 0, fmt.Errorf("RIFF size %d, file %d bytes", size, len(b))
	}
	var haveFmt bool
	for off := 12; off+8 <= len(b); {
		id, size := string(b[off:off+4]), int(binary.LittleEndian.Uint32(b[off+4:off+8]))
		body := b[off+8:]
		if size > len(body) {
			return 0, fmt.Errorf("chunk %q of %d bytes overruns the file", id, size)
		}
		body = body[:size]
		switch id {
		case "fmt ":
			if size < 16 {
				return 0, fmt.Errorf("fmt chunk of %d bytes", size)
			}
			format := binary.LittleEndian.Uint16(body[0:2])
			channels := binary.LittleEndian.Uint16(body[2:4])
			rate := binary.LittleEndian.Uint32(body[4:8])
			byteRate := binary.LittleEndian.Uint32(body[8:12])
			align := binary.LittleEndian.Uint16(body[12:14])
			bits := binary.LittleEndian.Uint16(body[14:16])
			if format != 1 || channels != 1 || rate != 8000 || bits != 16 || align != 2 || byteRate != 16000 {
				return 0, fmt.Errorf("format %d, %d channels, %d Hz, %d bits, align %d, %d bytes/s; want PCM (1), mono, 8000 Hz, 16 bits",
					format, channels, rate, bits, align, byteRate)
			}
			haveFmt = true
		case "data":
			if !haveFmt {
				return 0, errors.New("data chunk before fmt chunk")
			}
			if size == 0 || size%2 != 0 {
				return 0, fmt.Errorf("data chunk of %d bytes", size)
			}
			return time.Duration(size/2) * time.Second / 8000, nil
		}
		off += 8 + size + size%2
	}
	return 0, errors.New("no data chunk")
}

func TestEveryPromptIsValidAudio(t *testing.T) {
	names := Names()
	require.NotEmpty(t, names)
	for _, name := range names {
		b, ok := WAV(name)
		require.True(t, ok, name)
		d, err := checkWAV(b)
		require.NoError(t, err, name)
		require.Greater(t, d, 100*time.Millisecond, "%s is nearly empty", name)
		require.LessOrEqual(t, d, maxSeconds*time.Second, "%s is longer than %d s", name, maxSeconds)
	}
}

// The list on disk, the list embedded and the files must all agree: a
// prompt added to prompts.txt without running scripts/gen-prompts.sh (or a
// file left behind) fails here.
func TestListMatchesFiles(t *testing.T) {
	onDisk, err := os.ReadFile("prompts.txt")
	require.NoError(t, err)
	listed := parseList(string(onDisk))
	require.NotEmpty(t, listed)

	for name, text := range listed {
		require.True(t, validName(name), "bad name %q in prompts.txt", name)
		_, ok := WAV(name)
		require.True(t, ok, "%s is listed in prompts.txt but has no en/%s.wav; run scripts/gen-prompts.sh", name, name)
		embedded, ok := Text(name)
		require.True(t, ok, name)
		require.Equal(t, text, embedded, name)
	}
	for _, name := range Names() {
		require.Contains(t, listed, name, "en/%s.wav is not listed in prompts.txt; run scripts/gen-prompts.sh", name)
	}
	require.Len(t, Names(), len(listed))
}

func TestNamesSortedAndCopied(t *testing.T) {
	names := Names()
	require.True(t, slices.IsSorted(names))
	names[0] = "changed"
	require.NotEqual(t, "changed", Names()[0])
}

func TestUnknownNames(t *testing.T) {
	for _, name := range []string{"", "nope", "../prompts", "en/one", "one.wav", "One", "-one", "one-", "new--message"} {
		_, ok := WAV(name)
		require.False(t, ok, name)
	}
	_, ok := Text("nope")
	require.False(t, ok)
}

// Every name a function here can return must be a prompt.
func TestEverySequenceHasAudio(t *testing.T) {
	used := make(map[string]bool)
	add := func(names []string) {
		for _, n := range names {
			used[n] = true
		}
	}
	for n := -1000; n <= 20_000; n++ {
		add(Number(n))
	}
	for n := 20_000; n < 1_000_000_000; n = n*3 + 7 {
		add(Number(n))
	}
	add(Number(-1_000_000_000))
	add(Number(1_000_000_000))
	for n := 0; n <= 40; n++ {
		add(Ordinal(n))
	}
	add(Digits("0123456789*#+- x"))
	add(Spell("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789*#"))

	start := time.Date(2026, time.January, 1, 0, 0, 0, 0, time.UTC)
	for m := 0; m < 24*60; m++ {
		add(Time(start.Add(time.Duration(m) * time.Minute)))
	}
	now := time.Date(2026, time.March, 4, 12, 0, 0, 0, time.UTC)
	for d := -400; d <= 40; d++ {
		add(Date(now.AddDate(0, 0, d), now))
	}
	// The nouns the menus count, singular and plural.
	for _, pair := range [][2]string{
		{"message", "messages"},
		{"new-message", "new-messages"},
		{"saved-message", "saved-messages"},
		{"greeting", "greetings"},
		{"match", "matches"},
	} {
		for n := 0; n <= 3; n++ {
			add(Count(n, pair[0], pair[1]))
		}
	}

	for name := range used {
		_, ok := WAV(name)
		require.True(t, ok, "%s has no prompt", name)
	}
}

func TestCheckWAVRejects(t *testing.T) {
	good, ok := WAV("one")
	require.True(t, ok)
	_, err := checkWAV(good)
	require.NoError(t, err)

	patch := func(off int, v uint32, width int) []byte {
		b := slices.Clone(good)
		if width == 2 {
			binary.LittleEndian.PutUint16(b[off:], uint16(v))
		} else {
			binary.LittleEndian.PutUint32(b[off:], v)
		}
		return b
	}
	noData := slices.Clone(good[:36])
	binary.LittleEndian.PutUint32(noData[4:], uint32(len(noData)-8))

	// Offsets into the 44-byte header sox writes.
	tests := []struct {
		name string
		b    []byte
	}{
		{"empty", nil},
		{"not RIFF", append([]byte("RIFX"), good[4:]...)},
		{"truncated", good[:len(good)-2]},
		{"A-law", patch(20, 6, 2)},
		{"stereo", patch(22, 2, 2)},
		{"16 kHz", patch(24, 16000, 4)},
		{"8-bit", patch(34, 8, 2)},
		{"data overruns", patch(40, uint32(len(good)), 4)},
		{"no data", noData},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := checkWAV(tt.b)
			require.Error(t, err)
		})
	}
}
