package main

import (
	"flag"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestRunRefusesBadCommandLines(t *testing.T) {
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"no command", nil, "expected the command 'serve'"},
		{"unknown command", []string{"start"}, "expected the command 'serve'"},
		{"unknown flag", []string{"serve", "--nope"}, "flag provided but not defined"},
		{"stray argument", []string{"serve", "extra"}, `unexpected argument "extra"`},
		{"bad digest", []string{"serve", "--digest", "SHA-1"}, `--digest: unknown algorithm "SHA-1"`},
		{"bad log level", []string{"serve", "--log-level", "loud"}, "--log-level"},
		{"debug address not loopback", []string{"serve", "--debug-addr", "0.0.0.0:6060"}, "loopback"},
		{"bad memory limit", []string{"serve", "--memory-limit", "lots"}, "--memory-limit"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := run(tc.args)
			require.Error(t, err)
			require.Contains(t, err.Error(), tc.want)
		})
	}
}

func TestEnvironmentSetsFlagsAndCommandLineWins(t *testing.T) {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	db := fs.String("db", "switchboard.db", "")
	token := fs.String("admin-token", "", "")
	demo := fs.Bool("demo", false, "")
	t.Setenv("SWITCHBOARD_DB", "/var/lib/pbx.db")
	t.Setenv("SWITCHBOARD_ADMIN_TOKEN", "from-env")
	t.Setenv("SWITCHBOARD_DEMO", "true")
	require.NoError(t, applyEnv(fs))
	require.NoError(t, fs.Parse([]string{"--admin-token", "from-flag"}))
	require.Equal(t, "/var/lib/pbx.db", *db)
	require.Equal(t, "from-flag", *token)
	require.True(t, *demo)

	t.Setenv("SWITCHBOARD_DEMO", "maybe")
	require.ErrorContains(t, applyEnv(fs), "SWITCHBOARD_DEMO")
}

func TestParseSize(t *testing.T) {
	for in, want := range map[string]int64{"0": 0, "1048576": 1 << 20, "400MiB": 400 << 20, "1 GiB": 1 << 30, "512MB": 512e6, "64KiB": 64 << 10, "10B": 10} {
		got, err := parseSize(in)
		require.NoError(t, err, in)
		require.Equal(t, want, got, in)
	}
	for _, in := range []string{"", "MiB", "-1MiB", "1.5GiB", "1TiB", "lots"} {
		_, err := parseSize(in)
		require.Error(t, err, in)
	}
}
