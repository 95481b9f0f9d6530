package voicemail

import (
	"context"
	"fmt"
	"os"
	"sync/atomic"
	"time"

	"switchboard/ivr"
	"switchboard/media"
)

const (
	// maxDurationGrace is how far past Record.MaxDuration the wall clock
	// may run before a recording whose audio stopped coming ends anyway.
	maxDurationGrace = 2 * time.Second
)

// record records the caller to a new file of Recordings and reports how it
// ended. Keys typed before the recording starts (during the prompts and
// the beep before it) are dropped: a second # meant to skip the greeting
// must not end the message before it begins.
//
// A recording without audio is removed and reported without a handle. A
// recording that fails is reported as StopError with its handle, for the
// application to discard, and the cause is returned by Run; if the caller
// hung up meanwhile it is removed here and reported as StopHangUp, so the
// application sees the hang-up.
func (c *callRun) record(ctx context.Context, a ivr.Record) ivr.Event {
	if c.checkGone(ctx) {
		return ivr.RecordDone{Reason: ivr.StopHangUp}
	}
	handle, f, err := c.r.cfg.Recordings.Create()
	if err != nil {
		c.fail(fmt.Errorf("voicemail: create recording: %w", err))
		return ivr.RecordDone{Reason: ivr.StopError}
	}
	rd, err := c.recordTo(ctx, f, a)
	if cerr := f.Close(); err == nil && cerr != nil {
		err = cerr
	}
	rd.Recording = handle
	switch {
	case err != nil:
		c.fail(fmt.Errorf("voicemail: record %s: %w", handle, err))
		if !c.gone {
			rd.Reason = ivr.StopError
			return rd
		}
		c.discard(handle)
		return ivr.RecordDone{Reason: ivr.StopHangUp, Silent: true}
	case rd.Duration == 0:
		c.discard(handle)
		rd.Recording = ""
	}
	return rd
}

// recordTo records into f, a WAV file, and completes its header.
func (c *callRun) recordTo(ctx context.Context, f *os.File, a ivr.Record) (ivr.RecordDone, error) {
	w, err := media.NewWAVWriter(f)
	if err != nil {
		return ivr.RecordDone{}, err
	}
	rec := media.NewRecorder(w, media.RecorderConfig{
		MaxDuration:      a.MaxDuration,
		SilenceTimeout:   a.SilenceTimeout,
		SilenceThreshold: c.r.cfg.SilenceThreshold,
	})
	sink := newRecordSink(rec)
	c.takeWaiting("") // drops them all
	if err := c.sess.SetSink(sink); err != nil {
		c.log.Debug("voicemail: earlier sink failed", "err", err)
	}
	reason, key := c.waitRecording(ctx, a, rec, sink)
	// From here on the session no longer writes to the recorder.
	err = c.sess.SetSink(nil)
	if err == nil {
		err = rec.Err()
	}
	if err == nil && reason == ivr.StopSilence && rec.Heard() {
		keep := rec.Duration() - rec.TrailingSilence() + c.r.cfg.SilenceTail
		err = w.Truncate(keep) // nothing to do when keep is all of it
	}
	if cerr := w.Close(); err == nil {
		err = cerr
	}
	return ivr.RecordDone{Reason: reason, Key: key, Duration: w.Duration(), Silent: !rec.Heard()}, err
}

// waitRecording waits for the end of a recording.
func (c *callRun) waitRecording(ctx context.Context, a ivr.Record, rec *media.Recorder, sink *recordSink) (ivr.StopReason, rune) {
	// The recorder counts the audio it is given; audio that stops coming
	// (silence suppression, a phone putting us on hold) never takes it to
	// its limits, so the wall clock stands in: one timer, set to the
	// earliest moment the clock could end the recording. While audio flows
	// it fires once per silence timeout; a periodic check would wake every
	// recording several times a second, thousands of wake-ups a second on
	// a busy server.
	var timer *time.Timer
	var clock <-chan time.Time // nil (never ready) when a has no limit
	if d, ok := wallLimit(a, sink, time.Now()); ok {
		timer = time.NewTimer(d)
		defer timer.Stop()
		clock = timer.C
	}
	for {
		select {
		case d := <-c.sess.DTMF():
			if isKey(d.Digit, a.StopKeys) {
				return ivr.StopKey, d.Digit
			}
		case <-rec.Done():
			switch rec.Stopped() {
			case media.RecordStopMaxDuration:
				return ivr.StopMaxDuration, 0
			case media.RecordStopSilence:
				return ivr.StopSilence, 0
			}
			return ivr.StopError, 0
		case <-ctx.Done():
			c.checkGone(ctx)
			return ivr.StopHangUp, 0
		case now := <-clock:
			if a.MaxDuration > 0 && now.Sub(sink.started) >= a.MaxDuration+maxDurationGrace {
				return ivr.StopMaxDuration, 0
			}
			if a.SilenceTimeout > 0 && now.Sub(sink.lastWrite()) >= a.SilenceTimeout {
				return ivr.StopSilence, 0
			}
			// Audio came since the timer was set: the silence limit moved.
			d, _ := wallLimit(a, sink, now)
			timer.Reset(d)
		}
	}
}

// wallLimit is how long after now the wall clock could end a recording:
// at its maximum length plus maxDurationGrace, or SilenceTimeout after the
// last audio, whichever comes first; false when a has neither limit.
func wallLimit(a ivr.Record, sink *recordSink, now time.Time) (time.Duration, bool) {
	var at time.Time
	if a.MaxDuration > 0 {
		at = sink.started.Add(a.MaxDuration + maxDurationGrace)
	}
	if a.SilenceTimeout > 0 {
		if quiet := sink.lastWrite().Add(a.SilenceTimeout); at.IsZero() || quiet.Before(at) {
			at = quiet
		}
	}
	if at.IsZero() {
		return 0, false
	}
	// At least a millisecond: a limit reached already is seen when the
	// timer fires.
	return max(at.Sub(now), time.Millisecond), true
}

// recordSink passes the caller's audio to a recorder and notes when audio
// last came.
type recordSink struct {
	rec     *media.Recorder
	started time.Time
	last    atomic.Int64 // time since started of the last write
}

func newRecordSink(rec *media.Recorder) *recordSink {
	return &recordSink{rec: rec, started: time.Now()}
}

func (s *recordSink) WritePCM(pcm []int16) error {
	s.last.Store(int64(time.Since(s.started)))
	return s.rec.WritePCM(pcm)
}

func (s *recordSink) lastWrite() time.Time {
	return s.started.Add(time.Duration(s.last.Load()))
}
