package sip

import (
	"github.com/prometheus/client_golang/prometheus"

	gosip "github.com/emiago/sipgo/sip"
)

// metrics are the SIP side's Prometheus series. Labels take values from
// fixed sets only (methodLabel folds unknown methods), so their number is
// bounded whatever arrives on the wire.
type metrics struct {
	requests   *prometheus.CounterVec   // method
	responses  *prometheus.CounterVec   // method, class
	latency    *prometheus.HistogramVec // method
	register   *prometheus.CounterVec   // outcome
	authFail   *prometheus.CounterVec   // reason
	blockedTot prometheus.Counter
	unparsable prometheus.Counter
	shed       prometheus.Counter
	pings      *prometheus.CounterVec // result
	notifies   *prometheus.CounterVec // result: 2xx..6xx, timeout

	// Children resolved once: WithLabelValues hashes and locks on every
	// call, and these are counted per message.
	registerBy map[string]prometheus.Counter
	requestBy  map[string]prometheus.Counter
}

var registerOutcomes = []string{"challenged", "registered", "unregistered", "auth_failed", "stale_nonce",
	"forbidden", "interval_too_brief", "invalid", "out_of_order", "throttled", "blocked"}

var metricMethods = []string{"INVITE", "ACK", "CANCEL", "BYE", "REGISTER", "OPTIONS", "SUBSCRIBE", "NOTIFY",
	"REFER", "INFO", "MESSAGE", "PRACK", "UPDATE", "PUBLISH", "other"}

// registered counts one REGISTER outcome.
func (m *metrics) registered(outcome string) { m.registerBy[outcome].Inc() }

// request counts one request received.
func (m *metrics) request(method gosip.RequestMethod) { m.requestBy[methodLabel(method)].Inc() }

func newMetrics(reg prometheus.Registerer, s *Server) *metrics {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "switchboard", Subsystem: "sip", Name: "requests_total",
			Help: "SIP requests received, by method.",
		}, []string{"method"}),
		responses: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "switchboard", Subsystem: "sip", Name: "responses_total",
			Help: "SIP responses sent, by request method and status class (1xx..6xx).",
		}, []string{"method", "class"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: "switchboard", Subsystem: "sip", Name: "handler_duration_seconds",
			Help:    "Time from a request's arrival to its final response, by method.",
			Buckets: []float64{.00005, .0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .5},
		}, []string{"method"}),
		register: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "switchboard", Subsystem: "sip", Name: "register_total",
			Help: "REGISTER outcomes: challenged, registered, unregistered, auth_failed, stale_nonce, forbidden, interval_too_brief, invalid, out_of_order, throttled, blocked.",
		}, []string{"outcome"}),
		authFail: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "switchboard", Subsystem: "sip", Name: "auth_failures_total",
			Help: "Digest authentication failures, by reason (bad_credentials, replay, malformed).",
		}, []string{"reason"}),
		blockedTot: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "switchboard", Subsystem: "sip", Name: "sources_blocked_total",
			Help: "Times a source address was blocked after repeated authentication failures.",
		}),
		unparsable: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "switchboard", Subsystem: "sip", Name: "unparsable_messages_total",
			Help: "Datagrams and stream messages that could not be parsed as SIP.",
		}),
		shed: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "switchboard", Subsystem: "sip", Name: "shed_messages_total",
			Help: "UDP requests dropped unanswered because the workers were saturated.",
		}),
		pings: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "switchboard", Subsystem: "sip", Name: "keepalives_total",
			Help: "OPTIONS keepalives sent to registered contacts, by result (answered, timeout, error).",
		}, []string{"result"}),
		notifies: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "switchboard", Subsystem: "sip", Name: "notifies_total",
			Help: "NOTIFYs sent to phones (message-waiting, provisioning resync), by the class of their answer or timeout.",
		}, []string{"result"}),
	}
	m.registerBy = make(map[string]prometheus.Counter, len(registerOutcomes))
	for _, o := range registerOutcomes {
		m.registerBy[o] = m.register.WithLabelValues(o)
	}
	m.requestBy = make(map[string]prometheus.Counter, len(metricMethods))
	for _, k := range metricMethods {
		m.requestBy[k] = m.requests.WithLabelValues(k)
	}
	if reg == nil {
		return m
	}
	reg.MustRegister(m.requests, m.responses, m.latency, m.register, m.authFail, m.blockedTot, m.unparsable, m.shed, m.pings, m.notifies,
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Namespace: "switchboard", Subsystem: "sip", Name: "registrations",
			Help: "Registered contacts (bindings) now.",
		}, func() float64 { return float64(s.bindings.len()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Namespace: "switchboard", Subsystem: "sip", Name: "blocked_sources",
			Help: "Source addresses blocked now after repeated authentication failures.",
		}, func() float64 { return float64(s.guard.blockedCount(s.now())) }),
	)
	return m
}

// methodLabel bounds the method label to the methods SIP defines.
func methodLabel(m gosip.RequestMethod) string {
	switch m {
	case gosip.INVITE, gosip.ACK, gosip.CANCEL, gosip.BYE, gosip.REGISTER, gosip.OPTIONS,
		gosip.SUBSCRIBE, gosip.NOTIFY, gosip.REFER, gosip.INFO, gosip.MESSAGE, gosip.PRACK,
		gosip.UPDATE, gosip.PUBLISH:
		return string(m)
	}
	return "other"
}

var statusClasses = [...]string{"other", "1xx", "2xx", "3xx", "4xx", "5xx", "6xx"}

func statusClass(code int) string {
	if c := code / 100; c >= 1 && c <= 6 {
		return statusClasses[c]
	}
	return statusClasses[0]
}

// proxyMetrics are the call series.
type proxyMetrics struct {
	inProgress prometheus.GaugeFunc
	calls      *prometheus.CounterVec // outcome
	started    prometheus.Counter
	cancelled  prometheus.Counter
	callsBy    map[string]prometheus.Counter
	// postDial is the time from a caller's authenticated INVITE to the
	// first ringing (or early media) or, when nothing rings, the final
	// answer.
	postDial prometheus.Histogram
}

func newProxyMetrics(reg prometheus.Registerer, inProgress func() float64) *proxyMetrics {
	m := &proxyMetrics{
		inProgress: prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Namespace: "switchboard", Subsystem: "sip", Name: "calls_in_progress",
			Help: "Calls being set up, ringing or connected now.",
		}, inProgress),
		calls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "switchboard", Subsystem: "sip", Name: "calls_total",
			Help: "Calls by outcome: answered, forwarded (answered at a forward target), voicemail, busy, no_answer, rejected, cancelled, failed.",
		}, []string{"outcome"}),
		postDial: prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: "switchboard", Subsystem: "sip", Name: "post_dial_delay_seconds",
			Help:    "Time from a caller's authenticated INVITE to ringing, or to the final answer when nothing rang.",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}),
		started: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "switchboard", Subsystem: "sip", Name: "branches_started_total",
			Help: "INVITE branches the proxy forked to phones.",
		}),
		cancelled: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "switchboard", Subsystem: "sip", Name: "branches_cancelled_total",
			Help: "INVITE branches the proxy cancelled.",
		}),
	}
	m.callsBy = make(map[string]prometheus.Counter, len(callOutcomes))
	for _, o := range callOutcomes {
		m.callsBy[o] = m.calls.WithLabelValues(o)
	}
	if reg != nil {
		reg.MustRegister(m.inProgress, m.calls, m.started, m.cancelled, m.postDial)
	}
	return m
}
