package voicemail

import (
	"fmt"
	"sync"

	"github.com/prometheus/client_golang/prometheus"

	"switchboard/ivr"
	"switchboard/media"
)

// metrics are the runner's Prometheus series. The RTP counters are the
// totals of the calls that ended plus what the calls in progress have
// counted so far, read when scraped, so they move while a long message is
// recorded.
type metrics struct {
	deposits  *prometheus.CounterVec // outcome
	depositBy map[ivr.DepositOutcome]prometheus.Counter

	active, packetsIn, packetsOut, lost, late *prometheus.Desc

	mu    sync.Mutex // guards live and ended
	live  map[*liveRun]struct{}
	ended media.Stats // of the runs that ended, their share only
}

// liveRun is one Run's session and its counters when the Run began: a
// session may serve several applications in turn.
type liveRun struct {
	sess *media.Session
	base media.Stats
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	desc := func(name, help string) *prometheus.Desc {
		return prometheus.NewDesc(prometheus.BuildFQName("switchboard", "voicemail", name), help, nil, nil)
	}
	m := &metrics{
		deposits: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "switchboard", Subsystem: "voicemail", Name: "deposits_total",
			Help: "Callers who reached a mailbox, by how leaving the message ended (filed, too_short, mailbox_full, transferred, abandoned, unavailable, failed).",
		}, []string{"outcome"}),
		depositBy:  map[ivr.DepositOutcome]prometheus.Counter{},
		active:     desc("calls_active", "Calls a voicemail application is running on now."),
		packetsIn:  desc("rtp_packets_received_total", "RTP packets received from callers on voicemail calls."),
		packetsOut: desc("rtp_packets_sent_total", "RTP packets sent to callers on voicemail calls."),
		lost:       desc("rtp_packets_lost_total", "RTP packets of callers never received in time on voicemail calls."),
		late:       desc("rtp_packets_late_total", "RTP packets of callers that came after their turn on voicemail calls, dropped."),
		live:       map[*liveRun]struct{}{},
	}
	for o := ivr.OutcomeFiled; o <= ivr.OutcomeFailed; o++ {
		m.depositBy[o] = m.deposits.WithLabelValues(o.String())
	}
	if reg == nil {
		return m, nil
	}
	if err := reg.Register(m.deposits); err != nil {
		return nil, fmt.Errorf("voicemail: register metrics: %w", err)
	}
	if err := reg.Register(m); err != nil {
		reg.Unregister(m.deposits)
		return nil, fmt.Errorf("voicemail: register metrics: %w", err)
	}
	return m, nil
}

// deposited counts how a deposit ended.
func (m *metrics) deposited(o ivr.DepositOutcome) {
	if c, ok := m.depositBy[o]; ok {
		c.Inc()
	}
}

// begin counts a Run starting on sess.
func (m *metrics) begin(sess *media.Session) *liveRun {
	l := &liveRun{sess: sess, base: sess.Stats()}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.live[l] = struct{}{}
	return l
}

// end moves a Run's counts to the totals.
func (m *metrics) end(l *liveRun) {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.live, l)
	addStats(&m.ended, l.sess.Stats(), l.base)
}

// addStats adds to t the counters of s beyond base.
func addStats(t *media.Stats, s, base media.Stats) {
	t.PacketsIn += s.PacketsIn - base.PacketsIn
	t.PacketsOut += s.PacketsOut - base.PacketsOut
	t.Lost += s.Lost - base.Lost
	t.Late += s.Late - base.Late
}

func (m *metrics) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{m.active, m.packetsIn, m.packetsOut, m.lost, m.late} {
		ch <- d
	}
}

func (m *metrics) Collect(ch chan<- prometheus.Metric) {
	m.mu.Lock()
	t, n := m.ended, len(m.live)
	for l := range m.live {
		addStats(&t, l.sess.Stats(), l.base)
	}
	m.mu.Unlock()
	ch <- prometheus.MustNewConstMetric(m.active, prometheus.GaugeValue, float64(n))
	ch <- prometheus.MustNewConstMetric(m.packetsIn, prometheus.CounterValue, float64(t.PacketsIn))
	ch <- prometheus.MustNewConstMetric(m.packetsOut, prometheus.CounterValue, float64(t.PacketsOut))
	ch <- prometheus.MustNewConstMetric(m.lost, prometheus.CounterValue, float64(t.Lost))
	ch <- prometheus.MustNewConstMetric(m.late, prometheus.CounterValue, float64(t.Late))
}
