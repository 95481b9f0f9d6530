package voicemail

import (
	"bytes"
	"context"
	"errors"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"switchboard/ivr"
	"switchboard/media"
)

func tone(d time.Duration) media.Source { return media.Tone(440, d, 0.5) }

// The caller's audio is recorded to a WAV file until a stop key, the
// maximum length or a long silence, which is trimmed.
func TestRecord(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		record ivr.Record
		say    media.Source
		keys   string // pressed once the caller has spoken
		reason ivr.StopReason
		key    rune
		length time.Duration // of the recording
		tone   time.Duration // of the tone in it
		silent bool
	}{
		{
			name:   "max duration",
			record: ivr.Record{MaxDuration: 600 * time.Millisecond, StopKeys: "#"},
			say:    tone(time.Second),
			reason: ivr.StopMaxDuration, length: 600 * time.Millisecond, tone: 600 * time.Millisecond,
		},
		{
			name:   "key",
			record: ivr.Record{MaxDuration: 10 * time.Second, StopKeys: "#"},
			say:    tone(600 * time.Millisecond),
			keys:   "1#",
			reason: ivr.StopKey, key: '#', length: 600 * time.Millisecond, tone: 600 * time.Millisecond,
		},
		{
			name:   "silence is trimmed",
			record: ivr.Record{MaxDuration: 10 * time.Second, SilenceTimeout: 600 * time.Millisecond, StopKeys: "#"},
			say:    media.Concat(tone(500*time.Millisecond), media.Silence(time.Second)),
			reason: ivr.StopSilence, length: 500*time.Millisecond + DefaultSilenceTail, tone: 500 * time.Millisecond,
		},
		{
			// Silence suppression: no packets, yet the caller is silent.
			name:   "audio stops coming",
			record: ivr.Record{MaxDuration: 10 * time.Second, SilenceTimeout: 500 * time.Millisecond, StopKeys: "#"},
			say:    tone(400 * time.Millisecond),
			reason: ivr.StopSilence, length: 400 * time.Millisecond, tone: 400 * time.Millisecond,
		},
		{
			// The wall clock's silence limit moves with the audio: still
			// talking when it is first checked, the caller is not cut off.
			name:   "audio stops coming after the silence timeout",
			record: ivr.Record{MaxDuration: 10 * time.Second, SilenceTimeout: 500 * time.Millisecond, StopKeys: "#"},
			say:    tone(900 * time.Millisecond),
			reason: ivr.StopSilence, length: 900 * time.Millisecond, tone: 900 * time.Millisecond,
		},
		{
			name:   "nothing said",
			record: ivr.Record{MaxDuration: 10 * time.Second, SilenceTimeout: 500 * time.Millisecond, StopKeys: "#"},
			say:    media.Silence(800 * time.Millisecond),
			reason: ivr.StopSilence, length: 500 * time.Millisecond, silent: true,
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, Config{})
			l := newLine(t, quiet)
			call := newFakeCall()
			app := &scriptApp{batches: [][]ivr.Action{{c.record}}}
			// Keys typed before the recording starts do not stop it.
			l.press(t, "#")
			done := f.start(t, context.Background(), app, l, call)
			handle := f.recs.waitCreated(t)
			l.say(t, c.say)
			l.press(t, c.keys)

			require.NoError(t, result(t, done))
			events, _ := app.got()
			require.Len(t, events, 1)
			rd := events[0].(ivr.RecordDone)
			require.Equal(t, c.reason, rd.Reason)
			require.Equal(t, c.key, rd.Key)
			require.Equal(t, c.silent, rd.Silent)
			require.Equal(t, handle, rd.Recording)
			require.InDelta(t, c.length.Seconds(), rd.Duration.Seconds(), 0.1)

			pcm := f.recs.read(t, handle)
			require.Equal(t, media.Samples(rd.Duration), len(pcm))
			require.InDelta(t, c.tone.Seconds(), media.ToneDuration(pcm, 440).Seconds(), 0.1)
			if c.tone > 0 {
				require.Greater(t, media.Goertzel(pcm[:media.Samples(c.tone-200*time.Millisecond)], 440), 0.9)
			}
		})
	}
}

// The caller hanging up ends a recording: the application gets what was
// recorded, under a context that outlives the call, and nobody hangs up.
func TestRecordHangUp(t *testing.T) {
	t.Parallel()
	f := newFixture(t, Config{})
	l := newLine(t, quiet)
	call := newFakeCall()
	app := &scriptApp{batches: [][]ivr.Action{{ivr.Record{MaxDuration: 10 * time.Second, SilenceTimeout: 5 * time.Second, StopKeys: "#"}}}}
	done := f.start(t, context.Background(), app, l, call)
	handle := f.recs.waitCreated(t)
	l.say(t, tone(600*time.Millisecond))
	call.callerHangsUp()

	require.NoError(t, result(t, done))
	events, live := app.got()
	require.Len(t, events, 1)
	rd := events[0].(ivr.RecordDone)
	require.Equal(t, ivr.StopHangUp, rd.Reason)
	require.Equal(t, handle, rd.Recording)
	require.False(t, rd.Silent)
	require.InDelta(t, 0.6, rd.Duration.Seconds(), 0.1)
	require.Equal(t, []bool{true}, live)
	pcm := f.recs.read(t, handle)
	require.InDelta(t, 0.6, media.ToneDuration(pcm, 440).Seconds(), 0.1)
	hangUps, _ := call.counts()
	require.Zero(t, hangUps)
}

// brokenRecordings cannot create recordings.
type brokenRecordings struct{ *dirRecordings }

func (brokenRecordings) Create() (string, *os.File, error) { return "", nil, errors.New("disk full") }

// A recording that cannot be created is reported as failed, and Run says
// why.
func TestRecordCreateFails(t *testing.T) {
	t.Parallel()
	r, err := NewRunner(Config{Recordings: brokenRecordings{newDirRecordings(t)}, Audio: mapAudio{}})
	require.NoError(t, err)
	f := &fixture{r: r}
	l := newLine(t, quiet)
	call := newFakeCall()
	app := &scriptApp{batches: [][]ivr.Action{{ivr.Record{MaxDuration: time.Second}}}}
	err = result(t, f.start(t, context.Background(), app, l, call))
	require.ErrorContains(t, err, "create recording: disk full")
	events, _ := app.got()
	require.Equal(t, []ivr.Event{ivr.RecordDone{Reason: ivr.StopError}}, events)
	hangUps, _ := call.counts()
	require.Equal(t, 1, hangUps)
}

// depositStore is a mailbox that files messages in memory, taking the
// recording's audio and removing its file as the real store does.
type depositStore struct {
	box  ivr.Mailbox
	recs *dirRecordings

	mu    sync.Mutex
	filed []filedMessage
}

var _ ivr.DepositStore = (*depositStore)(nil)

type filedMessage struct {
	msg  ivr.NewMessage
	live bool // the context was live and bounded
	pcm  []int16
	err  error
}

func (s *depositStore) Mailbox(context.Context, string) (ivr.Mailbox, error) { return s.box, nil }

func (s *depositStore) AddMessage(ctx context.Context, _ string, m ivr.NewMessage) error {
	_, bounded := ctx.Deadline()
	fm := filedMessage{msg: m, live: ctx.Err() == nil && bounded}
	b, err := os.ReadFile(s.recs.Path(m.Recording.Handle))
	if err == nil {
		fm.pcm, err = media.ReadWAV(bytes.NewReader(b), 0)
	}
	fm.err = err
	_ = s.recs.Remove(m.Recording.Handle)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.filed = append(s.filed, fm)
	return nil
}

func (s *depositStore) messages() []filedMessage {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]filedMessage(nil), s.filed...)
}

// A caller who hangs up after speaking leaves a message: the greeting and
// the beep are heard, the message is filed after the hang-up.
func TestDepositHangUp(t *testing.T) {
	t.Parallel()
	reg := prometheus.NewRegistry()
	f := newFixture(t, Config{Registerer: reg})
	f.audio["greet"] = toneWAV(t, 600, 300*time.Millisecond)
	st := &depositStore{box: ivr.Mailbox{Extension: "100", Enabled: true, GreetingKey: "greet", LimitBytes: 100 << 20}, recs: f.recs}
	app := ivr.NewDeposit(st, ivr.DepositConfig{Extension: "100", CallerNumber: "5551234", ReceivedAt: time.Now(),
		MinMessage: 300 * time.Millisecond})
	l := newLine(t, quiet)
	call := newFakeCall()
	done := f.start(t, context.Background(), app, l, call)
	handle := f.recs.waitCreated(t)
	l.say(t, tone(700*time.Millisecond))
	call.callerHangsUp()

	require.NoError(t, result(t, done))
	require.Equal(t, ivr.OutcomeFiled, app.Outcome())
	msgs := st.messages()
	require.Len(t, msgs, 1)
	m := msgs[0]
	require.NoError(t, m.err)
	require.True(t, m.live)
	require.Equal(t, handle, m.msg.Recording.Handle)
	require.Equal(t, "5551234", m.msg.CallerNumber)
	require.InDelta(t, 0.7, m.msg.Recording.Duration.Seconds(), 0.1)
	require.InDelta(t, 0.7, media.ToneDuration(m.pcm, 440).Seconds(), 0.1)
	require.NoFileExists(t, f.recs.Path(handle))
	hangUps, _ := call.counts()
	require.Zero(t, hangUps)

	heard := l.allHeard(t)
	require.InDelta(t, 0.3, media.ToneDuration(heard, 600).Seconds(), 0.05, "greeting")
	require.InDelta(t, 0.4, media.ToneDuration(heard, 1000).Seconds(), 0.05, "beep")
	require.Equal(t, 1.0, metricValue(t, reg, "switchboard_voicemail_deposits_total", "outcome", "filed"))
}

// 0 during the greeting goes to the operator.
func TestDepositOperator(t *testing.T) {
	t.Parallel()
	f := newFixture(t, Config{})
	f.audio["greet"] = toneWAV(t, 600, 5*time.Second)
	st := &depositStore{box: ivr.Mailbox{Extension: "100", Enabled: true, GreetingKey: "greet", LimitBytes: 100 << 20,
		OperatorForward: "200"}, recs: f.recs}
	app := ivr.NewDeposit(st, ivr.DepositConfig{Extension: "100", ReceivedAt: time.Now()})
	l := newLine(t, quiet)
	call := newFakeCall()
	done := f.start(t, context.Background(), app, l, call)
	waitFor(t, "the greeting plays", func() bool { return l.phone.Stats().PacketsIn >= 3 })
	l.press(t, "0")

	require.NoError(t, result(t, done))
	require.Equal(t, ivr.OutcomeTransferred, app.Outcome())
	hangUps, transfers := call.counts()
	require.Zero(t, hangUps)
	require.Equal(t, []string{"200"}, transfers)
	require.Empty(t, st.messages())
}
