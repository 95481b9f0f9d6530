package admin

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil/promlint"
	dto "github.com/prometheus/client_model/go"
	"github.com/stretchr/testify/require"
)

func TestMetricNames(t *testing.T) {
	e := newTestEnv(t)
	// Vectors show up once they have a series.
	e.do(t, "GET", "/api/v1/users", "")

	families, err := e.reg.Gather()
	require.NoError(t, err)
	names := map[string]bool{}
	for _, mf := range families {
		names[mf.GetName()] = true
	}
	require.True(t, names["switchboard_admin_requests_total"], "got %v", names)
	require.True(t, names["switchboard_admin_request_duration_seconds"], "got %v", names)

	problems, err := promlint.NewWithMetricFamilies(families).Lint()
	require.NoError(t, err)
	require.Empty(t, problems)
}

func TestMetricsCountRequests(t *testing.T) {
	tests := []struct {
		name      string
		method    string
		path      string
		body      string
		wantLabel map[string]string // of switchboard_admin_requests_total
		wantRoute string            // of switchboard_admin_request_duration_seconds
	}{
		{"get user", "GET", "/api/v1/users/101", "", map[string]string{"method": "GET", "code": "404"},
			"GET /api/v1/users/{extension}"},
		{"create user", "POST", "/api/v1/users", `{"first_name": "Ada", "extension": "101"}`,
			map[string]string{"method": "POST", "code": "201"}, "POST /api/v1/users"},
		{"phone", "GET", "/api/v1/users/101/phones/101a", "", map[string]string{"method": "GET", "code": "404"},
			"GET /api/v1/users/{extension}/phones/{name}"},
		{"unmatched", "GET", "/no/such/thing", "", map[string]string{"method": "GET", "code": "404"}, "unmatched"},
		{"odd method", "BREW", "/api/v1/users", "", map[string]string{"method": "other", "code": "405"}, "unmatched"},
		{"healthz", "GET", "/healthz", "", map[string]string{"method": "GET", "code": "200"}, "GET /healthz"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newTestEnv(t)
			before := counterValue(t, e.reg, "switchboard_admin_requests_total", tt.wantLabel)
			e.do(t, tt.method, tt.path, tt.body)
			after := counterValue(t, e.reg, "switchboard_admin_requests_total", tt.wantLabel)
			require.Equal(t, before+1, after)

			h := findMetric(t, e.reg, "switchboard_admin_request_duration_seconds", map[string]string{"route": tt.wantRoute})
			require.NotNil(t, h, "no histogram for route %q", tt.wantRoute)
			require.EqualValues(t, 1, h.GetHistogram().GetSampleCount())
		})
	}
}

func TestMetricsRouteLabelIsThePattern(t *testing.T) {
	e := newTestEnv(t)
	for _, ext := range []string{"101", "102", "103", "104"} {
		e.do(t, "GET", "/api/v1/users/"+ext, "")
	}
	families, err := e.reg.Gather()
	require.NoError(t, err)
	for _, mf := range families {
		if mf.GetName() != "switchboard_admin_request_duration_seconds" {
			continue
		}
		require.Len(t, mf.GetMetric(), 1, "one series for four extensions")
		require.Equal(t, "GET /api/v1/users/{extension}", mf.GetMetric()[0].GetLabel()[0].GetValue())
	}
}

func TestMetricsSharedRegistry(t *testing.T) {
	// Two handlers on one registry share their series instead of failing.
	reg := prometheus.NewRegistry()
	a := &testEnv{backend: newFakeBackend()}
	_ = NewHandler(Config{Backend: a.backend, Registerer: reg})
	_ = NewHandler(Config{Backend: a.backend, Registerer: reg})
	_, err := reg.Gather()
	require.NoError(t, err)
}

func counterValue(t *testing.T, g prometheus.Gatherer, name string, labels map[string]string) float64 {
	t.Helper()
	m := findMetric(t, g, name, labels)
	if m == nil {
		return 0
	}
	return m.GetCounter().GetValue()
}

func findMetric(t *testing.T, g prometheus.Gatherer, name string, labels map[string]string) *dto.Metric {
	t.Helper()
	families, err := g.Gather()
	require.NoError(t, err)
	for _, mf := range families {
		if mf.GetName() != name {
			continue
		}
	next:
		for _, m := range mf.GetMetric() {
			for _, lp := range m.GetLabel() {
				if want, ok := labels[lp.GetName()]; ok && want != lp.GetValue() {
					continue next
				}
			}
			return m
		}
	}
	return nil
}
