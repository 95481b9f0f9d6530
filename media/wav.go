package media

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"time"
)

// WAV format tags (RFC 2361 appendix A).
const (
	wavPCM        = 1
	wavALaw       = 6
	wavULaw       = 7
	wavExtensible = 0xFFFE
)

const (
	wavHeaderSize = 44
	// maxWAVData is the most a RIFF file's 32-bit sizes can describe.
	maxWAVData = maxUint32 - 36
	maxUint32  = 1<<32 - 1
	// DefaultMaxWAVSamples bounds ReadWAV when given no limit: 30 minutes.
	DefaultMaxWAVSamples = 30 * 60 * SampleRate
)

// WAVWriter writes 16-bit PCM at 8 kHz, mono, as a WAV file. The RIFF and
// data sizes in the header are written by Flush, Sync and Close, so a file
// synced now and then stays playable up to its last sync even if the
// process dies. Not safe for concurrent use.
type WAVWriter struct {
	w     io.WriteSeeker
	start int64 // offset of the header in w
	buf   []byte
	data  int64 // bytes of samples, buffered ones included
	err   error
	done  bool
}

// NewWAVWriter writes a WAV header at w's current offset, to be completed
// as samples are written. Close completes the file but does not close w.
func NewWAVWriter(w io.WriteSeeker) (*WAVWriter, error) {
	start, err := w.Seek(0, io.SeekCurrent)
	if err != nil {
		return nil, fmt.Errorf("media: wav: %w", err)
	}
	ww := &WAVWriter{w: w, start: start, buf: make([]byte, 0, 8192)}
	if _, err := w.Write(wavHeader(0)); err != nil {
		return nil, fmt.Errorf("media: wav: %w", err)
	}
	return ww, nil
}

// wavHeader is the 44-byte header of a PCM file with data bytes of samples.
func wavHeader(data uint32) []byte {
	h := make([]byte, wavHeaderSize)
	copy(h[0:], "RIFF")
	binary.LittleEndian.PutUint32(h[4:], 36+data)
	copy(h[8:], "WAVEfmt ")
	binary.LittleEndian.PutUint32(h[16:], 16)
	binary.LittleEndian.PutUint16(h[20:], wavPCM)
	binary.LittleEndian.PutUint16(h[22:], 1) // channels
	binary.LittleEndian.PutUint32(h[24:], SampleRate)
	binary.LittleEndian.PutUint32(h[28:], SampleRate*2) // byte rate
	binary.LittleEndian.PutUint16(h[32:], 2)            // block align
	binary.LittleEndian.PutUint16(h[34:], 16)           // bits per sample
	copy(h[36:], "data")
	binary.LittleEndian.PutUint32(h[40:], data)
	return h
}

// WritePCM appends samples. It allocates nothing; samples are written to w
// 8 KiB at a time.
func (w *WAVWriter) WritePCM(pcm []int16) error {
	if w.err != nil {
		return w.err
	}
	if w.done {
		return errors.New("media: wav: write after close")
	}
	if w.data+2*int64(len(pcm)) > maxWAVData {
		w.err = errors.New("media: wav: file would exceed 4 GiB")
		return w.err
	}
	for len(pcm) > 0 {
		k := min(len(pcm), (cap(w.buf)-len(w.buf))/2)
		// Encoded in place into the buffer's spare capacity: appending
		// sample by sample would check the capacity for each one.
		n := len(w.buf)
		w.buf = w.buf[:n+2*k]
		out := w.buf[n:]
		for i, s := range pcm[:k] {
			binary.LittleEndian.PutUint16(out[2*i:], uint16(s))
		}
		pcm = pcm[k:]
		w.data += 2 * int64(k)
		if len(w.buf) == cap(w.buf) {
			if err := w.writeBuf(); err != nil {
				return err
			}
		}
	}
	return nil
}

func (w *WAVWriter) writeBuf() error {
	if len(w.buf) == 0 {
		return nil
	}
	if _, err := w.w.Write(w.buf); err != nil {
		w.err = fmt.Errorf("media: wav: %w", err)
		return w.err
	}
	w.buf = w.buf[:0]
	return nil
}

// Duration is the audio written so far.
func (w *WAVWriter) Duration() time.Duration { return Duration(int(w.data / 2)) }

// Flush writes buffered samples and the sizes they make to the header.
func (w *WAVWriter) Flush() error {
	if w.err != nil {
		return w.err
	}
	if err := w.writeBuf(); err != nil {
		return err
	}
	return w.writeSizes()
}

func (w *WAVWriter) writeSizes() error {
	var b [4]byte
	for _, f := range []struct {
		off int64
		v   uint32
	}{{4, uint32(36 + w.data)}, {40, uint32(w.data)}} {
		binary.LittleEndian.PutUint32(b[:], f.v)
		if _, err := w.w.Seek(w.start+f.off, io.SeekStart); err != nil {
			w.err = fmt.Errorf("media: wav: %w", err)
			return w.err
		}
		if _, err := w.w.Write(b[:]); err != nil {
			w.err = fmt.Errorf("media: wav: %w", err)
			return w.err
		}
	}
	if _, err := w.w.Seek(w.start+wavHeaderSize+w.data, io.SeekStart); err != nil {
		w.err = fmt.Errorf("media: wav: %w", err)
		return w.err
	}
	return nil
}

// Sync flushes, then commits the file to stable storage when w can
// (an *os.File can).
func (w *WAVWriter) Sync() error {
	if err := w.Flush(); err != nil {
		return err
	}
	if f, ok := w.w.(interface{ Sync() error }); ok {
		if err := f.Sync(); err != nil {
			w.err = fmt.Errorf("media: wav: sync: %w", err)
			return w.err
		}
	}
	return nil
}

// Truncate keeps only the first d of audio (to drop trailing silence).
// When w can be truncated (an *os.File can), the bytes beyond go too;
// otherwise they stay behind the data chunk, where players ignore them.
func (w *WAVWriter) Truncate(d time.Duration) error {
	if w.err != nil {
		return w.err
	}
	keep := 2 * int64(Samples(d))
	if keep < 0 || keep >= w.data {
		return nil
	}
	if err := w.writeBuf(); err != nil {
		return err
	}
	w.data = keep
	if t, ok := w.w.(interface{ Truncate(int64) error }); ok {
		if err := t.Truncate(w.start + wavHeaderSize + keep); err != nil {
			w.err = fmt.Errorf("media: wav: truncate: %w", err)
			return w.err
		}
	}
	return w.writeSizes()
}

// Close flushes and completes the header. It does not close w (nor sync
// it: call Sync first for that).
func (w *WAVWriter) Close() error {
	if w.done {
		return w.err
	}
	err := w.Flush()
	w.done = true
	return err
}

// EncodeWAV is a complete WAV file of pcm.
func EncodeWAV(pcm []int16) []byte {
	out := wavHeader(uint32(2 * len(pcm)))
	for _, s := range pcm {
		out = binary.LittleEndian.AppendUint16(out, uint16(s))
	}
	return out
}

// ReadWAV reads a WAV file of 8 kHz mono audio, 16-bit PCM, µ-law or A-law
// (plain or WAVE_FORMAT_EXTENSIBLE), and returns its samples as 16-bit PCM.
// Another format is ErrUnsupportedWAV; a damaged file, or one whose data
// exceeds maxSamples (<= 0: DefaultMaxWAVSamples), is ErrInvalidWAV. Memory
// grows with the data actually read, never with the sizes a file claims.
func ReadWAV(r io.Reader, maxSamples int) ([]int16, error) {
	if maxSamples <= 0 {
		maxSamples = DefaultMaxWAVSamples
	}
	var hdr [12]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return nil, fmt.Errorf("%w: truncated RIFF header", ErrInvalidWAV)
	}
	if string(hdr[0:4]) != "RIFF" || string(hdr[8:12]) != "WAVE" {
		return nil, fmt.Errorf("%w: not a RIFF WAVE file", ErrInvalidWAV)
	}
	var format uint16
	haveFormat := false
	for {
		var ch [8]byte
		if _, err := io.ReadFull(r, ch[:]); err != nil {
			if haveFormat {
				return nil, fmt.Errorf("%w: no data chunk", ErrInvalidWAV)
			}
			return nil, fmt.Errorf("%w: no fmt chunk", ErrInvalidWAV)
		}
		id := string(ch[0:4])
		size := int64(binary.LittleEndian.Uint32(ch[4:]))
		switch id {
		case "fmt ":
			f, err := readFormat(r, size)
			if err != nil {
				return nil, err
			}
			format, haveFormat = f, true
		case "data":
			if !haveFormat {
				return nil, fmt.Errorf("%w: data chunk before fmt chunk", ErrInvalidWAV)
			}
			return readData(r, size, format, maxSamples)
		default:
			if _, err := io.CopyN(io.Discard, r, size+size%2); err != nil {
				return nil, fmt.Errorf("%w: truncated %q chunk", ErrInvalidWAV, id)
			}
		}
	}
}

// readFormat reads a fmt chunk of size bytes and returns the format tag.
func readFormat(r io.Reader, size int64) (uint16, error) {
	if size < 16 {
		return 0, fmt.Errorf("%w: fmt chunk of %d bytes", ErrInvalidWAV, size)
	}
	var b [40]byte
	n := min(size, int64(len(b)))
	if _, err := io.ReadFull(r, b[:n]); err != nil {
		return 0, fmt.Errorf("%w: truncated fmt chunk", ErrInvalidWAV)
	}
	if _, err := io.CopyN(io.Discard, r, size-n+size%2); err != nil {
		return 0, fmt.Errorf("%w: truncated fmt chunk", ErrInvalidWAV)
	}
	tag := binary.LittleEndian.Uint16(b[0:])
	channels := binary.LittleEndian.Uint16(b[2:])
	rate := binary.LittleEndian.Uint32(b[4:])
	bits := binary.LittleEndian.Uint16(b[14:])
	if tag == wavExtensible {
		// WAVEFORMATEXTENSIBLE: the real tag opens the SubFormat GUID.
		if n < 40 || binary.LittleEndian.Uint16(b[16:]) < 22 {
			return 0, fmt.Errorf("%w: short WAVE_FORMAT_EXTENSIBLE fmt chunk", ErrInvalidWAV)
		}
		if !bytes.Equal(b[26:40], ksDataFormatTail[:]) {
			return 0, fmt.Errorf("%w: unknown WAVE_FORMAT_EXTENSIBLE subformat", ErrUnsupportedWAV)
		}
		tag = binary.LittleEndian.Uint16(b[24:])
	}
	switch {
	case tag != wavPCM && tag != wavULaw && tag != wavALaw:
		return 0, fmt.Errorf("%w: format 0x%04x, want PCM, µ-law or A-law", ErrUnsupportedWAV, tag)
	case channels != 1:
		return 0, fmt.Errorf("%w: %d channels, want mono", ErrUnsupportedWAV, channels)
	case rate != SampleRate:
		return 0, fmt.Errorf("%w: %d Hz, want %d", ErrUnsupportedWAV, rate, SampleRate)
	case tag == wavPCM && bits != 16:
		return 0, fmt.Errorf("%w: %d-bit PCM, want 16-bit", ErrUnsupportedWAV, bits)
	case tag != wavPCM && bits != 8:
		return 0, fmt.Errorf("%w: %d-bit G.711, want 8-bit", ErrUnsupportedWAV, bits)
	}
	return tag, nil
}

// ksDataFormatTail is the part of the KSDATAFORMAT_SUBTYPE_* GUIDs after the
// format tag: {xxxx0000-0000-0010-8000-00aa00389b71}.
var ksDataFormatTail = [14]byte{0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x80, 0x00, 0x00, 0xaa, 0x00, 0x38, 0x9b, 0x71}

func readData(r io.Reader, size int64, format uint16, maxSamples int) ([]int16, error) {
	width := int64(1)
	if format == wavPCM {
		width = 2
	}
	limit := int64(maxSamples) * width
	toEOF := size == maxUint32 // written by a streaming encoder that never knew the size
	if !toEOF && size > limit {
		return nil, fmt.Errorf("%w: data chunk of %d bytes exceeds the limit of %d samples", ErrInvalidWAV, size, maxSamples)
	}
	want := size
	if toEOF {
		want = limit + 1
	}
	// Grow with what arrives rather than trusting the claimed size.
	data, err := io.ReadAll(io.LimitReader(r, want))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidWAV, err)
	}
	n := int64(len(data))
	switch {
	case toEOF && n > limit:
		return nil, fmt.Errorf("%w: data exceeds the limit of %d samples", ErrInvalidWAV, maxSamples)
	case !toEOF && n < size:
		return nil, fmt.Errorf("%w: truncated data chunk (%d of %d bytes)", ErrInvalidWAV, n, size)
	case n%width != 0:
		return nil, fmt.Errorf("%w: data chunk of %d bytes holds a partial sample", ErrInvalidWAV, n)
	}
	switch format {
	case wavULaw:
		return CodecPCMU.Decode(make([]int16, 0, n), data), nil
	case wavALaw:
		return CodecPCMA.Decode(make([]int16, 0, n), data), nil
	}
	out := make([]int16, n/2)
	for i := range out {
		out[i] = int16(binary.LittleEndian.Uint16(data[2*i:]))
	}
	return out, nil
}
