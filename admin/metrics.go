package admin

import (
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the admin API's own request metrics. Labels are bounded: the
// method is one of the standard ones or "other", the route is a registered
// pattern or "unmatched", never the raw path.
type metrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "switchboard",
			Subsystem: "admin",
			Name:      "requests_total",
			Help:      "Admin HTTP requests answered, by method and status code.",
		}, []string{"method", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: "switchboard",
			Subsystem: "admin",
			Name:      "request_duration_seconds",
			Help:      "Time to answer admin HTTP requests, by route pattern.",
			Buckets:   prometheus.DefBuckets,
		}, []string{"route"}),
	}
	if reg == nil {
		return m, nil
	}
	var err, err2 error
	m.requests, err = register(reg, m.requests)
	m.duration, err2 = register(reg, m.duration)
	return m, errors.Join(err, err2)
}

// register registers c, or returns the equal collector a previous handler
// on the same registry already registered, so that several handlers share
// one set of series.
func register[C prometheus.Collector](reg prometheus.Registerer, c C) (C, error) {
	err := reg.Register(c)
	if err == nil {
		return c, nil
	}
	if are, ok := errors.AsType[prometheus.AlreadyRegisteredError](err); ok {
		if existing, ok := are.ExistingCollector.(C); ok {
			return existing, nil
		}
	}
	return c, err
}

func (m *metrics) observe(method string, code int, route string, d time.Duration) {
	if route == "" {
		route = "unmatched"
	}
	m.requests.WithLabelValues(methodLabel(method), strconv.Itoa(code)).Inc()
	m.duration.WithLabelValues(route).Observe(d.Seconds())
}

// methodLabel folds the request method into a bounded set: a client may send
// any token as a method.
func methodLabel(method string) string {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodOptions, http.MethodConnect, http.MethodTrace:
		return method
	}
	return "other"
}
