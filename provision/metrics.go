package provision

import (
	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the provisioning handler's Prometheus series. Labels take
// values from fixed sets (results, reasons, model IDs), so their number is
// bounded whatever is requested.
type metrics struct {
	requests   *prometheus.CounterVec // result
	served     *prometheus.CounterVec // model, kind
	authFail   *prometheus.CounterVec // reason
	blockedTot prometheus.Counter
}

// Request results.
const (
	resultServed       = "served"
	resultChallenged   = "challenged"
	resultUnauthorized = "unauthorized"
	resultStale        = "stale"
	resultNotFound     = "not_found"
	resultThrottled    = "throttled"
	resultBlocked      = "blocked"
	resultBadMethod    = "bad_method"
	resultError        = "error"
)

var requestResults = []string{resultServed, resultChallenged, resultUnauthorized, resultStale,
	resultNotFound, resultThrottled, resultBlocked, resultBadMethod, resultError}

// Authentication failure reasons.
const (
	reasonMalformed     = "malformed"
	reasonBadParameters = "bad_parameters"
	reasonBadPassword   = "bad_password"
	reasonUnknownDevice = "unknown_device"
	reasonWrongUser     = "wrong_user"
)

var failReasons = []string{reasonMalformed, reasonBadParameters, reasonBadPassword, reasonUnknownDevice, reasonWrongUser}

func newMetrics(reg prometheus.Registerer, blockedSources func() int) (*metrics, error) {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "switchboard", Subsystem: "provision", Name: "requests_total",
			Help: "Provisioning requests, by result: served, challenged, unauthorized, stale, not_found, throttled, blocked, bad_method, error.",
		}, []string{"result"}),
		served: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "switchboard", Subsystem: "provision", Name: "files_served_total",
			Help: "Provisioning files served, by model and kind (phone: per-phone file, common: shared file).",
		}, []string{"model", "kind"}),
		authFail: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "switchboard", Subsystem: "provision", Name: "auth_failures_total",
			Help: "Failed digest authentications, by reason: malformed, bad_parameters, bad_password, unknown_device, wrong_user.",
		}, []string{"reason"}),
		blockedTot: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "switchboard", Subsystem: "provision", Name: "sources_blocked_total",
			Help: "Times a source address was blocked after repeated provisioning authentication failures.",
		}),
	}
	blocked := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Namespace: "switchboard", Subsystem: "provision", Name: "blocked_sources",
		Help: "Source addresses (IPv6: /64 prefixes) blocked from provisioning now.",
	}, func() float64 { return float64(blockedSources()) })
	for _, r := range requestResults {
		m.requests.WithLabelValues(r)
	}
	for _, r := range failReasons {
		m.authFail.WithLabelValues(r)
	}
	for _, c := range []prometheus.Collector{m.requests, m.served, m.authFail, m.blockedTot, blocked} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}
