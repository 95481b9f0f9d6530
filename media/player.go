package media

import (
	"context"
	"fmt"
	"io"
	"math"
	"time"
)

// Source yields 16-bit PCM at 8 kHz, like an io.Reader of samples: ReadPCM
// fills up to len(p) samples and returns how many, and io.EOF at the end.
type Source interface {
	ReadPCM(p []int16) (int, error)
}

// Play sends src to the peer in real time, one packet per ptime, until src
// ends, ctx is done or the session ends. Each frame's send time is computed
// from the instant playing started (never by adding sleeps, which would
// drift), and the RTP timestamps follow the same clock. Play returns once
// the last frame's time has elapsed; a Play that starts within one frame of
// the previous one's end continues its timing and timestamps, so pieces
// played one after another have no gap (Concat does the same within one
// call). A short last frame is padded with silence.
//
// When the negotiated direction has us not sending (hold), Play still takes
// the time the audio lasts but sends nothing. Only one Play runs at a time;
// another waits for it, and a Play on a session a Bridge holds waits for the
// bridge to end (its sequence numbers and timestamps then continue the
// bridge's).
//
// Play returns nil when src ended, ctx.Err(), the session's Err, or src's
// read error.
func (s *Session) Play(ctx context.Context, src Source) error {
	_, err := s.play(ctx, src, false)
	return err
}

// PlayUntilDigit is Play that also stops when the peer presses a key
// (barge-in): it returns that digit, taken from DTMF, with a nil error. A
// digit that was already waiting stops it at once, so a caller can type
// ahead of a prompt. When src plays to its end it returns a zero DTMF.
func (s *Session) PlayUntilDigit(ctx context.Context, src Source) (DTMF, error) {
	return s.play(ctx, src, true)
}

func (s *Session) play(ctx context.Context, src Source, bargeIn bool) (DTMF, error) {
	s.txMu.Lock()
	defer s.txMu.Unlock()
	if err := s.Err(); err != nil {
		return DTMF{}, err
	}
	if err := ctx.Err(); err != nil {
		return DTMF{}, err
	}
	p := s.Params()
	frame := p.FrameSamples()
	if cap(s.txPCM) < frame {
		s.txPCM = make([]int16, frame)
	}
	pcm := s.txPCM[:frame]

	now := time.Now()
	anchor, ts, marker := s.nextDue, s.nextOut, false
	if !s.haveNext || now.Sub(s.nextDue) >= p.Ptime {
		// A new talkspurt: timestamps jump by the time nothing was sent
		// and the marker bit says so (RFC 3551 §4.1).
		anchor, marker = now, true
		ts = s.ts0 + uint32(Samples(now.Sub(s.start)))
		if s.haveNext && int32(ts-s.nextOut) < 0 {
			ts = s.nextOut
		}
	}
	var digits <-chan DTMF
	if bargeIn {
		digits = s.dtmf
	}

	sent := 0
	commit := func() {
		s.haveNext = true
		s.nextDue = anchor.Add(time.Duration(sent) * p.Ptime)
		s.nextOut = ts + uint32(sent*frame)
	}
	defer commit()
	for {
		n, eof, err := readFrame(src, pcm)
		if err != nil {
			return DTMF{}, fmt.Errorf("media: play: %w", err)
		}
		if n == 0 && eof {
			break
		}
		if d, err := s.waitUntil(ctx, anchor.Add(time.Duration(sent)*p.Ptime), digits); err != nil || d.Digit != 0 {
			return d, err
		}
		s.sendFrame(&p, pcm, ts+uint32(sent*frame), marker && sent == 0)
		sent++
		if eof {
			break
		}
	}
	return s.waitUntil(ctx, anchor.Add(time.Duration(sent)*p.Ptime), digits)
}

// waitUntil sleeps until t, unless ctx is done, the session ends or a digit
// arrives on digits (nil: never). The caller holds txMu, which owns timer.
func (s *Session) waitUntil(ctx context.Context, t time.Time, digits <-chan DTMF) (DTMF, error) {
	select {
	case d := <-digits:
		return d, nil
	case <-ctx.Done():
		return DTMF{}, ctx.Err()
	case <-s.done:
		return DTMF{}, s.err
	default:
	}
	wait := time.Until(t)
	if wait <= 0 {
		return DTMF{}, nil
	}
	s.timer.Reset(wait)
	defer s.timer.Stop()
	select {
	case <-s.timer.C:
		return DTMF{}, nil
	case d := <-digits:
		return d, nil
	case <-ctx.Done():
		return DTMF{}, ctx.Err()
	case <-s.done:
		return DTMF{}, s.err
	}
}

// PCM is a Source that plays samples once.
func PCM(samples []int16) Source { return &pcmSource{samples: samples} }

type pcmSource struct {
	samples []int16
	pos     int
}

func (p *pcmSource) ReadPCM(dst []int16) (int, error) {
	if p.pos >= len(p.samples) {
		return 0, io.EOF
	}
	n := copy(dst, p.samples[p.pos:])
	p.pos += n
	return n, nil
}

// Silence is a Source of d of silence.
func Silence(d time.Duration) Source { return &silenceSource{left: Samples(d)} }

type silenceSource struct{ left int }

func (s *silenceSource) ReadPCM(dst []int16) (int, error) {
	if s.left <= 0 {
		return 0, io.EOF
	}
	n := min(len(dst), s.left)
	clear(dst[:n])
	s.left -= n
	return n, nil
}

// Tone is a Source of a sine wave at freq Hz lasting d, with a peak of
// amplitude times full scale (0 to 1; 0.5 is about -9 dBFS RMS). The first
// and last 5 ms fade in and out so the tone starts and stops without a click.
func Tone(freq float64, d time.Duration, amplitude float64) Source {
	amplitude = math.Max(0, math.Min(1, amplitude))
	return &toneSource{
		step:  2 * math.Pi * freq / SampleRate,
		peak:  amplitude * math.MaxInt16,
		total: Samples(d),
		ramp:  Samples(5 * time.Millisecond),
	}
}

// Beep is the tone before a recording: 1 kHz for 400 ms, at half scale.
func Beep() Source { return Tone(1000, 400*time.Millisecond, 0.5) }

type toneSource struct {
	step, peak  float64
	total, ramp int
	pos         int
}

func (t *toneSource) ReadPCM(dst []int16) (int, error) {
	if t.pos >= t.total {
		return 0, io.EOF
	}
	n := min(len(dst), t.total-t.pos)
	for i := range n {
		k := t.pos + i
		v := t.peak * math.Sin(t.step*float64(k))
		if edge := min(k, t.total-1-k); edge < t.ramp {
			v *= 0.5 - 0.5*math.Cos(math.Pi*float64(edge)/float64(t.ramp))
		}
		dst[i] = int16(math.Round(v))
	}
	t.pos += n
	return n, nil
}

// Concat plays sources one after another, as one Source: a frame may hold
// the end of one and the start of the next.
func Concat(sources ...Source) Source { return &concatSource{sources: sources} }

type concatSource struct{ sources []Source }

func (c *concatSource) ReadPCM(dst []int16) (int, error) {
	for len(c.sources) > 0 {
		n, err := c.sources[0].ReadPCM(dst)
		if err == io.EOF {
			c.sources = c.sources[1:]
			if n > 0 {
				return n, nil
			}
			continue
		}
		return n, err
	}
	return 0, io.EOF
}

// ReadAll reads src to its end, at most max samples (max <= 0: no limit).
func ReadAll(src Source, max int) ([]int16, error) {
	var out []int16
	buf := make([]int16, 1024)
	for {
		n, err := src.ReadPCM(buf)
		out = append(out, buf[:n]...)
		if max > 0 && len(out) > max {
			return out[:max], fmt.Errorf("media: audio longer than %d samples", max)
		}
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		if n == 0 {
			return out, io.ErrNoProgress
		}
	}
}
