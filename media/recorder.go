package media

import (
	"math"
	"sync"
	"time"
)

// Level is the RMS level of pcm in dBFS, where 0 is a full-scale square
// wave and a full-scale sine is about -3; -100 for digital silence or no
// samples.
func Level(pcm []int16) float64 {
	if len(pcm) == 0 {
		return -100
	}
	var sum float64
	for _, s := range pcm {
		v := float64(s)
		sum += v * v
	}
	return levelOf(sum / float64(len(pcm)))
}

func levelOf(meanSquare float64) float64 {
	if meanSquare <= 0 {
		return -100
	}
	return math.Max(-100, 10*math.Log10(meanSquare/(32768.0*32768.0)))
}

// DefaultSilenceThreshold is the level below which audio counts as
// silence: well above the idle noise of a phone line or a G.711 channel,
// well below speech (around -20 to -30 dBFS).
const DefaultSilenceThreshold = -45.0

// SilenceDetector measures how long the audio written to it has been
// silent, judging windows of 20 ms by their energy: a window is silent when
// its RMS level is below the threshold. It is not safe for concurrent use.
type SilenceDetector struct {
	threshold float64 // mean square
	window    int

	// sum of the squared samples of the window so far, exact as an
	// integer (a window of int16 squares cannot overflow it) and cheaper
	// than float64: the detector sees every sample of every recording.
	sum    int64
	filled int
	run    int // samples in the current run of silent windows
	heard  bool
}

// NewSilenceDetector judges windows of window (0: 20 ms) against a level
// in dBFS (0: DefaultSilenceThreshold).
func NewSilenceDetector(thresholdDBFS float64, window time.Duration) *SilenceDetector {
	if thresholdDBFS == 0 {
		thresholdDBFS = DefaultSilenceThreshold
	}
	n := Samples(window)
	if n <= 0 {
		n = Samples(20 * time.Millisecond)
	}
	return &SilenceDetector{
		threshold: 32768.0 * 32768.0 * math.Pow(10, thresholdDBFS/10),
		window:    n,
	}
}

// Write takes the next samples.
func (d *SilenceDetector) Write(pcm []int16) {
	for len(pcm) > 0 {
		k := min(len(pcm), d.window-d.filled)
		// A local sum stays in a register; the field would be stored and
		// loaded again for every sample.
		sum := d.sum
		for _, s := range pcm[:k] {
			v := int64(s)
			sum += v * v
		}
		d.sum = sum
		d.filled += k
		pcm = pcm[k:]
		if d.filled == d.window {
			if float64(d.sum)/float64(d.window) < d.threshold {
				d.run += d.window
			} else {
				d.run, d.heard = 0, true
			}
			d.sum, d.filled = 0, 0
		}
	}
}

// SilentFor is the length of the current run of silence: 0 right after
// sound, everything written so far when nothing was ever heard.
func (d *SilenceDetector) SilentFor() time.Duration { return Duration(d.run) }

// Heard reports whether any window was above the threshold.
func (d *SilenceDetector) Heard() bool { return d.heard }

// RecordStop says why a Recorder stopped.
type RecordStop uint8

const (
	RecordStopUnknown     RecordStop = iota // still recording
	RecordStopMaxDuration                   // reached RecorderConfig.MaxDuration
	RecordStopSilence                       // silent for RecorderConfig.SilenceTimeout
	RecordStopError                         // the writer failed; see Recorder.Err
)

func (r RecordStop) String() string {
	switch r {
	case RecordStopMaxDuration:
		return "max_duration"
	case RecordStopSilence:
		return "silence"
	case RecordStopError:
		return "error"
	default:
		return "unknown"
	}
}

// RecorderConfig limits a recording; the zero value records until stopped
// from outside.
type RecorderConfig struct {
	// MaxDuration stops the recording once this much audio is written; the
	// audio is cut at exactly this length. 0: no limit.
	MaxDuration time.Duration
	// SilenceTimeout stops the recording after this long without sound.
	// 0: never.
	SilenceTimeout time.Duration
	// SilenceThreshold is the level in dBFS below which audio is silence
	// (0: DefaultSilenceThreshold).
	SilenceThreshold float64
}

// Recorder is a PCMWriter, meant as a Session's sink, that passes audio on
// to w (a WAVWriter) and stops by itself at a maximum length or after long
// silence. After it stops it discards what it is given. Its methods may be
// called from any goroutine.
type Recorder struct {
	w       PCMWriter
	max     int // samples; 0 no limit
	silence time.Duration
	done    chan struct{}

	mu       sync.Mutex // guards the fields below
	samples  int
	detector *SilenceDetector
	stop     RecordStop
	err      error
}

// NewRecorder records to w within cfg's limits.
func NewRecorder(w PCMWriter, cfg RecorderConfig) *Recorder {
	return &Recorder{
		w:        w,
		max:      Samples(cfg.MaxDuration),
		silence:  cfg.SilenceTimeout,
		done:     make(chan struct{}),
		detector: NewSilenceDetector(cfg.SilenceThreshold, 0),
	}
}

// WritePCM records pcm. It returns the writer's error, after which the
// recorder has stopped; once stopped it drops audio and returns nil.
func (r *Recorder) WritePCM(pcm []int16) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.stop != RecordStopUnknown {
		return nil
	}
	reason := RecordStopUnknown
	if r.max > 0 && r.samples+len(pcm) >= r.max {
		pcm = pcm[:r.max-r.samples]
		reason = RecordStopMaxDuration
	}
	if err := r.w.WritePCM(pcm); err != nil {
		r.err = err
		r.finish(RecordStopError)
		return err
	}
	r.samples += len(pcm)
	r.detector.Write(pcm)
	if reason == RecordStopUnknown && r.silence > 0 && r.detector.SilentFor() >= r.silence {
		reason = RecordStopSilence
	}
	if reason != RecordStopUnknown {
		r.finish(reason)
	}
	return nil
}

func (r *Recorder) finish(reason RecordStop) {
	r.stop = reason
	close(r.done)
}

// Done is closed when the recorder stops by itself.
func (r *Recorder) Done() <-chan struct{} { return r.done }

// Stopped says why the recorder stopped; RecordStopUnknown while it records.
func (r *Recorder) Stopped() RecordStop {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.stop
}

// Err is the writer's error that stopped the recording, if any.
func (r *Recorder) Err() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.err
}

// Duration is how much audio was written.
func (r *Recorder) Duration() time.Duration {
	r.mu.Lock()
	defer r.mu.Unlock()
	return Duration(r.samples)
}

// Heard reports whether anything louder than the silence threshold was
// recorded: a message of only silence may be discarded.
func (r *Recorder) Heard() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.detector.Heard()
}

// TrailingSilence is the length of silence at the end of the recording, to
// trim a message that stopped on silence.
func (r *Recorder) TrailingSilence() time.Duration {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.detector.SilentFor()
}
