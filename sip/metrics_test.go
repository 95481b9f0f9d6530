package sip

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil/promlint"
	dto "github.com/prometheus/client_model/go"
	"github.com/stretchr/testify/require"
)

func TestMetricNames(t *testing.T) {
	reg := prometheus.NewRegistry()
	s, err := NewServer(Config{Realm: testRealm, KeepaliveInterval: -1}, fakePhones{}, newMemStore(), WithRegisterer(reg))
	require.NoError(t, err)
	defer s.Close()
	// Touch every vector so that it is exported.
	s.metrics.responses.WithLabelValues("REGISTER", "2xx").Inc()
	s.metrics.latency.WithLabelValues("REGISTER").Observe(0.001)
	s.metrics.authFail.WithLabelValues("bad_credentials").Inc()
	s.metrics.pings.WithLabelValues("answered").Inc()
	problems, err := promlint.NewWithMetricFamilies(mustGather(t, reg)).Lint()
	require.NoError(t, err)
	require.Empty(t, problems)
}

func mustGather(t *testing.T, g prometheus.Gatherer) []*dto.MetricFamily {
	t.Helper()
	mfs, err := g.Gather()
	require.NoError(t, err)
	return mfs
}
