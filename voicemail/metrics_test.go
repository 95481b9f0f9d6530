package voicemail

import (
	"context"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil/promlint"
	"github.com/stretchr/testify/require"

	"switchboard/ivr"
	"switchboard/media"
)

// metricValue is the value of the series of family name with the label
// pair (none: the sum of the family's series).
func metricValue(t *testing.T, g prometheus.Gatherer, name string, label ...string) float64 {
	t.Helper()
	mfs, err := g.Gather()
	require.NoError(t, err)
	var sum float64
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	series:
		for _, m := range mf.GetMetric() {
			if len(label) == 2 {
				for _, lp := range m.GetLabel() {
					if lp.GetName() == label[0] && lp.GetValue() != label[1] {
						continue series
					}
				}
			}
			sum += m.GetGauge().GetValue() + m.GetCounter().GetValue()
		}
		return sum
	}
	t.Fatalf("no metric %s", name)
	return 0
}

// The RTP counters move while a call goes on and keep its counts after.
func TestMetrics(t *testing.T) {
	t.Parallel()
	reg := prometheus.NewRegistry()
	f := newFixture(t, Config{Registerer: reg})
	l := newLine(t, quiet)
	call := newFakeCall()
	app := &scriptApp{batches: [][]ivr.Action{{ivr.Play{Items: []ivr.Item{ivr.Silence(100 * time.Millisecond)}}, ivr.WaitDigit{Timeout: 5 * time.Second}}}}
	done := f.start(t, context.Background(), app, l, call)

	waitFor(t, "packets counted", func() bool {
		return metricValue(t, reg, "switchboard_voicemail_rtp_packets_sent_total") >= 5
	})
	require.Equal(t, 1.0, metricValue(t, reg, "switchboard_voicemail_calls_active"))
	l.say(t, media.Silence(100*time.Millisecond))
	waitFor(t, "packets received", func() bool {
		return metricValue(t, reg, "switchboard_voicemail_rtp_packets_received_total") >= 5
	})
	l.press(t, "1")
	require.NoError(t, result(t, done))

	st := l.sess.Stats()
	require.Equal(t, 0.0, metricValue(t, reg, "switchboard_voicemail_calls_active"))
	require.Equal(t, float64(st.PacketsOut), metricValue(t, reg, "switchboard_voicemail_rtp_packets_sent_total"))
	require.Equal(t, float64(st.PacketsIn), metricValue(t, reg, "switchboard_voicemail_rtp_packets_received_total"))
	require.Equal(t, 0.0, metricValue(t, reg, "switchboard_voicemail_rtp_packets_lost_total"))
	require.Equal(t, 0.0, metricValue(t, reg, "switchboard_voicemail_deposits_total"))

	mfs, err := reg.Gather()
	require.NoError(t, err)
	problems, err := promlint.NewWithMetricFamilies(mfs).Lint()
	require.NoError(t, err)
	require.Empty(t, problems)

	_, err = NewRunner(Config{Recordings: f.recs, Audio: f.audio, Registerer: reg})
	require.Error(t, err, "registered twice")
}
