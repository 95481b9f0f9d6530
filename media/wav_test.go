package media

import (
	"bytes"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// memFile is an in-memory io.WriteSeeker.
type memFile struct {
	buf []byte
	pos int64
}

func (m *memFile) Write(p []byte) (int, error) {
	if need := int(m.pos) + len(p); need > len(m.buf) {
		m.buf = append(m.buf, make([]byte, need-len(m.buf))...)
	}
	copy(m.buf[m.pos:], p)
	m.pos += int64(len(p))
	return len(p), nil
}

func (m *memFile) Seek(off int64, whence int) (int64, error) {
	switch whence {
	case 0:
		m.pos = off
	case 1:
		m.pos += off
	case 2:
		m.pos = int64(len(m.buf)) + off
	}
	return m.pos, nil
}

func TestWAVWriter(t *testing.T) {
	tone, _ := ReadAll(Tone(1000, 1500*time.Millisecond, 0.5), 0)
	m := &memFile{}
	w, err := NewWAVWriter(m)
	require.NoError(t, err)
	for i := 0; i < len(tone); i += 160 {
		require.NoError(t, w.WritePCM(tone[i:i+160]))
	}
	require.Equal(t, 1500*time.Millisecond, w.Duration())
	require.NoError(t, w.Close())
	require.NoError(t, w.Close())
	require.Error(t, w.WritePCM(tone[:1]))

	b := m.buf
	require.Len(t, b, 44+2*len(tone))
	require.Equal(t, "RIFF", string(b[0:4]))
	require.Equal(t, uint32(36+2*len(tone)), binary.LittleEndian.Uint32(b[4:]))
	require.Equal(t, "WAVEfmt ", string(b[8:16]))
	require.Equal(t, uint16(1), binary.LittleEndian.Uint16(b[20:]))
	require.Equal(t, uint32(8000), binary.LittleEndian.Uint32(b[24:]))
	require.Equal(t, "data", string(b[36:40]))
	require.Equal(t, uint32(2*len(tone)), binary.LittleEndian.Uint32(b[40:]))
	require.Equal(t, EncodeWAV(tone), b)

	pcm, err := ReadWAV(bytes.NewReader(b), 0)
	require.NoError(t, err)
	require.Equal(t, tone, pcm)
}

// A file synced mid-recording is complete up to that point; Truncate drops
// trailing silence from the file itself.
func TestWAVWriterFileSyncTruncate(t *testing.T) {
	path := filepath.Join(t.TempDir(), "vm.wav")
	f, err := os.Create(path)
	require.NoError(t, err)
	defer f.Close()
	w, err := NewWAVWriter(f)
	require.NoError(t, err)
	tone, _ := ReadAll(Tone(440, time.Second, 0.5), 0)
	require.NoError(t, w.WritePCM(tone))
	require.NoError(t, w.Sync())

	b, err := os.ReadFile(path)
	require.NoError(t, err)
	pcm, err := ReadWAV(bytes.NewReader(b), 0)
	require.NoError(t, err)
	require.Equal(t, tone, pcm)

	require.NoError(t, w.WritePCM(make([]int16, 16000))) // 2 s of silence
	require.NoError(t, w.Truncate(1200*time.Millisecond))
	require.NoError(t, w.WritePCM(tone[:800]))
	require.NoError(t, w.Close())
	b, err = os.ReadFile(path)
	require.NoError(t, err)
	require.Len(t, b, 44+2*(9600+800))
	pcm, err = ReadWAV(bytes.NewReader(b), 0)
	require.NoError(t, err)
	require.Len(t, pcm, 9600+800)
	require.Equal(t, tone, pcm[:8000])
}

type failingWriter struct{ memFile }

func (f *failingWriter) Write(p []byte) (int, error) {
	if f.pos > 0 {
		return 0, errors.New("disk full")
	}
	return f.memFile.Write(p)
}

func TestWAVWriterError(t *testing.T) {
	w, err := NewWAVWriter(&failingWriter{})
	require.NoError(t, err)
	require.NoError(t, w.WritePCM(make([]int16, 100))) // buffered
	err = w.WritePCM(make([]int16, 8000))
	require.ErrorContains(t, err, "disk full")
	require.ErrorContains(t, w.Close(), "disk full")
}

// wavBytes builds a WAV file with the given fmt fields and data.
func wavBytes(tag, channels uint16, rate uint32, bits uint16, data []byte, extra ...[]byte) []byte {
	le := binary.LittleEndian
	fmtChunk := make([]byte, 16)
	le.PutUint16(fmtChunk[0:], tag)
	le.PutUint16(fmtChunk[2:], channels)
	le.PutUint32(fmtChunk[4:], rate)
	le.PutUint32(fmtChunk[8:], rate*uint32(channels)*uint32(bits/8))
	le.PutUint16(fmtChunk[12:], channels*bits/8)
	le.PutUint16(fmtChunk[14:], bits)
	return riff(append(append([][]byte{chunk("fmt ", fmtChunk)}, extra...), chunk("data", data))...)
}

func chunk(id string, body []byte) []byte {
	b := append([]byte(id), 0, 0, 0, 0)
	binary.LittleEndian.PutUint32(b[4:], uint32(len(body)))
	b = append(b, body...)
	if len(body)%2 == 1 {
		b = append(b, 0)
	}
	return b
}

func riff(chunks ...[]byte) []byte {
	body := []byte("WAVE")
	for _, c := range chunks {
		body = append(body, c...)
	}
	b := append([]byte("RIFF"), 0, 0, 0, 0)
	binary.LittleEndian.PutUint32(b[4:], uint32(len(body)))
	return append(b, body...)
}

func extensible(sub uint16, bits uint16) []byte {
	le := binary.LittleEndian
	f := make([]byte, 40)
	le.PutUint16(f[0:], wavExtensible)
	le.PutUint16(f[2:], 1)
	le.PutUint32(f[4:], 8000)
	le.PutUint32(f[8:], 8000*uint32(bits/8))
	le.PutUint16(f[12:], bits/8)
	le.PutUint16(f[14:], bits)
	le.PutUint16(f[16:], 22)
	le.PutUint16(f[18:], bits)
	le.PutUint32(f[20:], 4) // channel mask: front centre
	le.PutUint16(f[24:], sub)
	copy(f[26:], ksDataFormatTail[:])
	return f
}

func TestReadWAV(t *testing.T) {
	tone, _ := ReadAll(Tone(1000, 100*time.Millisecond, 0.5), 0)
	ulaw := CodecPCMU.Encode(nil, tone)
	alaw := CodecPCMA.Encode(nil, tone)
	pcm16 := EncodeWAV(tone)[44:]
	streamed := EncodeWAV(tone)
	binary.LittleEndian.PutUint32(streamed[40:], 0xFFFFFFFF)

	tests := []struct {
		name string
		file []byte
		want []int16
	}{
		{"PCM", EncodeWAV(tone), tone},
		{"µ-law", wavBytes(wavULaw, 1, 8000, 8, ulaw), CodecPCMU.Decode(nil, ulaw)},
		{"A-law", wavBytes(wavALaw, 1, 8000, 8, alaw), CodecPCMA.Decode(nil, alaw)},
		{"extra chunks, odd sized", wavBytes(wavPCM, 1, 8000, 16, pcm16, chunk("LIST", []byte("INFOISFT\x03\x00\x00\x00sox")), chunk("fact", []byte{1, 0, 0, 0})), tone},
		{"chunk before fmt", riff(chunk("junk", make([]byte, 7)), chunk("fmt ", EncodeWAV(nil)[20:36]), chunk("data", pcm16)), tone},
		{"extensible PCM", riff(chunk("fmt ", extensible(wavPCM, 16)), chunk("data", pcm16)), tone},
		{"extensible µ-law", riff(chunk("fmt ", extensible(wavULaw, 8)), chunk("data", ulaw)), CodecPCMU.Decode(nil, ulaw)},
		{"streamed, size unknown", streamed, tone},
		{"empty data", EncodeWAV(nil), []int16{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pcm, err := ReadWAV(bytes.NewReader(tt.file), 0)
			require.NoError(t, err)
			require.Equal(t, len(tt.want), len(pcm))
			if len(tt.want) > 0 {
				require.Equal(t, tt.want, pcm)
			}
		})
	}
}

func TestReadWAVErrors(t *testing.T) {
	tone, _ := ReadAll(Tone(1000, 100*time.Millisecond, 0.5), 0)
	pcm16 := EncodeWAV(tone)[44:]
	good := EncodeWAV(tone)
	huge := EncodeWAV(tone)
	binary.LittleEndian.PutUint32(huge[40:], 0xFFFFFFF0)
	shortData := EncodeWAV(tone)
	binary.LittleEndian.PutUint32(shortData[40:], uint32(len(pcm16)+100))
	bigFmt := append([]byte("RIFF\x00\x00\x00\x00WAVEfmt "), 0xff, 0xff, 0xff, 0x7f)
	bigFmt = append(bigFmt, EncodeWAV(nil)[20:36]...)

	tests := []struct {
		name string
		file []byte
		max  int
		is   error
		msg  string
	}{
		{"empty", nil, 0, ErrInvalidWAV, "truncated RIFF header"},
		{"not RIFF", []byte("RIFX\x00\x00\x00\x00WAVE"), 0, ErrInvalidWAV, "not a RIFF WAVE"},
		{"not WAVE", []byte("RIFF\x00\x00\x00\x00AVI "), 0, ErrInvalidWAV, "not a RIFF WAVE"},
		{"truncated header", good[:30], 0, ErrInvalidWAV, "truncated fmt"},
		{"header without data", good[:36], 0, ErrInvalidWAV, "no data chunk"},
		{"no fmt", riff(chunk("data", pcm16)), 0, ErrInvalidWAV, "data chunk before fmt"},
		{"nothing", riff(), 0, ErrInvalidWAV, "no fmt chunk"},
		{"tiny fmt", riff(chunk("fmt ", make([]byte, 8))), 0, ErrInvalidWAV, "fmt chunk of 8 bytes"},
		{"huge fmt claimed", bigFmt, 0, ErrInvalidWAV, "truncated fmt"},
		{"huge data claimed", huge, 0, ErrInvalidWAV, "exceeds the limit"},
		{"over the caller's limit", good, 100, ErrInvalidWAV, "exceeds the limit"},
		{"streamed over the limit", func() []byte {
			b := EncodeWAV(tone)
			binary.LittleEndian.PutUint32(b[40:], 0xFFFFFFFF)
			return b
		}(), 100, ErrInvalidWAV, "exceeds the limit"},
		{"truncated data", shortData, 0, ErrInvalidWAV, "truncated data chunk"},
		{"half a sample", wavBytes(wavPCM, 1, 8000, 16, pcm16[:11]), 0, ErrInvalidWAV, "partial sample"},
		{"skipped chunk runs past the end", append(good[:12:12], []byte("LIST\xff\xff\xff\x00abc")...), 0, ErrInvalidWAV, "truncated \"LIST\" chunk"},
		{"stereo", wavBytes(wavPCM, 2, 8000, 16, pcm16), 0, ErrUnsupportedWAV, "2 channels"},
		{"44.1 kHz", wavBytes(wavPCM, 1, 44100, 16, pcm16), 0, ErrUnsupportedWAV, "44100 Hz"},
		{"8-bit PCM", wavBytes(wavPCM, 1, 8000, 8, pcm16), 0, ErrUnsupportedWAV, "8-bit PCM"},
		{"24-bit PCM", wavBytes(wavPCM, 1, 8000, 24, pcm16[:30]), 0, ErrUnsupportedWAV, "24-bit PCM"},
		{"16-bit µ-law", wavBytes(wavULaw, 1, 8000, 16, pcm16), 0, ErrUnsupportedWAV, "16-bit G.711"},
		{"float", wavBytes(3, 1, 8000, 32, pcm16), 0, ErrUnsupportedWAV, "format 0x0003"},
		{"GSM", wavBytes(0x31, 1, 8000, 0, pcm16), 0, ErrUnsupportedWAV, "format 0x0031"},
		{"extensible float", riff(chunk("fmt ", func() []byte { f := extensible(3, 32); return f }()), chunk("data", pcm16)), 0, ErrUnsupportedWAV, "format 0x0003"},
		{"extensible unknown GUID", riff(chunk("fmt ", func() []byte { f := extensible(1, 16); f[39] = 0; return f }()), chunk("data", pcm16)), 0, ErrUnsupportedWAV, "subformat"},
		{"extensible too short", riff(chunk("fmt ", extensible(1, 16)[:18])), 0, ErrInvalidWAV, "short WAVE_FORMAT_EXTENSIBLE"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ReadWAV(bytes.NewReader(tt.file), tt.max)
			require.ErrorIs(t, err, tt.is)
			require.ErrorContains(t, err, tt.msg)
		})
	}
}
