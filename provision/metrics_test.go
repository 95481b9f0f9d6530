package provision

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil/promlint"
	"github.com/stretchr/testify/require"
)

// TestMetricNames lints the provisioning series' names and help.
func TestMetricNames(t *testing.T) {
	reg := prometheus.NewRegistry()
	h, err := NewHandler(newFakeDirectory(), func() Site { return testSite() }, WithRegisterer(reg))
	require.NoError(t, err)
	h.metrics.served.WithLabelValues("snom", "phone").Inc()
	mfs, err := reg.Gather()
	require.NoError(t, err)
	names := map[string]bool{}
	for _, mf := range mfs {
		names[mf.GetName()] = true
	}
	for _, want := range []string{
		"switchboard_provision_requests_total", "switchboard_provision_files_served_total",
		"switchboard_provision_auth_failures_total", "switchboard_provision_sources_blocked_total",
		"switchboard_provision_blocked_sources",
	} {
		require.True(t, names[want], want)
	}
	problems, err := promlint.NewWithMetricFamilies(mfs).Lint()
	require.NoError(t, err)
	require.Empty(t, problems)
}
