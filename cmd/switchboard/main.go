// Command switchboard runs the Switchboard PBX.
//
//	switchboard serve [flags]
//
// Every flag has an environment equivalent: --db is SWITCHBOARD_DB,
// --admin-token is SWITCHBOARD_ADMIN_TOKEN, and so on.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"os/signal"
	"runtime/debug"
	"strconv"
	"strings"
	"syscall"

	"github.com/emiago/sipgo/sip"

	"switchboard"
	sbsip "switchboard/sip"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(0)
		}
		fmt.Fprintln(os.Stderr, "switchboard:", err)
		os.Exit(1)
	}
}

const usage = `Usage: switchboard serve [flags]

Runs the PBX: SIP registrar on UDP and TCP, admin API over HTTP.
Every flag can also be set in the environment as SWITCHBOARD_<NAME>,
upper-case with dashes as underscores (--admin-token: SWITCHBOARD_ADMIN_TOKEN).
`

func run(args []string) error {
	if len(args) == 0 || args[0] != "serve" {
		fmt.Fprint(os.Stderr, usage)
		return errors.New("expected the command 'serve'")
	}
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.Usage = func() { fmt.Fprint(fs.Output(), usage, "\nFlags:\n"); fs.PrintDefaults() }

	var cfg switchboard.Config
	fs.StringVar(&cfg.DBPath, "db", "switchboard.db", "SQLite database file")
	fs.StringVar(&cfg.DataDir, "data-dir", "data", "directory for audio and other files")
	fs.StringVar(&cfg.SIPAddr, "sip", "0.0.0.0:5060", "SIP listen address, UDP and TCP")
	fs.StringVar(&cfg.HTTPAddr, "http", "127.0.0.1:8080", "admin API listen address")
	fs.StringVar(&cfg.Domain, "domain", "", "SIP domain and digest realm (default: this host's first IPv4 address)")
	fs.StringVar(&cfg.Advertise, "advertise", "", "host[:port] to put in SIP headers (default: the listening address)")
	fs.StringVar(&cfg.RTPPorts, "rtp-ports", "10000-20000", "UDP port range for the audio of calls the engine answers (voicemail), min-max")
	fs.StringVar(&cfg.MediaAddress, "media-address", "", "IP address put in SDP for the engine's audio (default: the advertised or listening address, else the one facing the caller)")
	fs.StringVar(&cfg.AdminToken, "admin-token", "", "admin API bearer token (default: generated on first start and printed once)")
	fs.BoolVar(&cfg.Demo, "demo", false, "create demo users 1001/1002 with phones 1001a/1002a on an empty database and print their credentials")
	minExp := fs.Duration("min-expires", sbsip.DefaultConfig.MinExpires, "shortest registration accepted (shorter: 423)")
	maxExp := fs.Duration("max-expires", sbsip.DefaultConfig.MaxExpires, "longest registration granted (longer is shortened)")
	keepalive := fs.Duration("keepalive", sbsip.DefaultConfig.KeepaliveInterval, "OPTIONS ping interval to registered contacts (0 disables)")
	maxContacts := fs.Int("max-contacts", sbsip.DefaultConfig.MaxContactsPerPhone, "registered contacts per phone; the oldest is replaced beyond it")
	digest := fs.String("digest", "MD5", "digest algorithms offered, preferred first: MD5, SHA-256 or both (\"SHA-256,MD5\"); some phones fail when SHA-256 is offered")
	blockAfter := fs.Int("block-after", sbsip.DefaultGuardConfig.BlockAfter, "authentication failures from one address within 10 minutes before it is blocked")
	blockFor := fs.Duration("block-for", sbsip.DefaultGuardConfig.BlockFor, "how long a failing address stays blocked")
	maxSetups := fs.Int("max-call-setups", sbsip.DefaultConfig.MaxCallSetups, "calls being set up (ringing) at once; beyond it new calls are refused with 503 (negative: no limit)")
	resyncDelay := fs.Duration("provision-resync-delay", switchboard.DefaultProvisionResyncDelay,
		"after an admin change to what a registered desk phone's provisioning file says, how long to wait for more before telling the phone to fetch it again (0 disables)")
	debugAddr := fs.String("debug-addr", "", "serve Go profiling (net/http/pprof) on this loopback address, e.g. 127.0.0.1:6060")
	logLevel := fs.String("log-level", "info", "debug, info, warn or error")
	logFormat := fs.String("log-format", "text", "text or json")
	memoryLimit := fs.String("memory-limit", "", "soft limit of the Go runtime's memory, e.g. 400MiB (default: none, or GOMEMLIMIT); "+
		"keep it well above what the load needs: a limit under the working set makes the collector run without pause and calls fail")

	if err := applyEnv(fs); err != nil {
		return err
	}
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}

	var level slog.Level
	if err := level.UnmarshalText([]byte(*logLevel)); err != nil {
		return fmt.Errorf("--log-level: %w", err)
	}
	opts := &slog.HandlerOptions{Level: level}
	var h slog.Handler = slog.NewTextHandler(os.Stderr, opts)
	if *logFormat == "json" {
		h = slog.NewJSONHandler(os.Stderr, opts)
	}
	logger := slog.New(h)
	slog.SetDefault(logger)
	sip.SetDefaultLogger(logger)
	if *memoryLimit != "" {
		n, err := parseSize(*memoryLimit)
		if err != nil {
			return fmt.Errorf("--memory-limit: %w", err)
		}
		if n > 0 {
			debug.SetMemoryLimit(n)
		}
	}

	cfg.Logger = logger
	cfg.SIP.MinExpires = *minExp
	cfg.SIP.MaxExpires = *maxExp
	cfg.SIP.KeepaliveInterval = *keepalive
	if *keepalive == 0 {
		cfg.SIP.KeepaliveInterval = -1
	}
	cfg.SIP.MaxContactsPerPhone = *maxContacts
	for _, name := range strings.Split(*digest, ",") {
		alg := sbsip.ParseAlgorithm(strings.TrimSpace(name))
		if alg == sbsip.AlgorithmUnknown || strings.TrimSpace(name) == "" {
			return fmt.Errorf("--digest: unknown algorithm %q (MD5 or SHA-256)", name)
		}
		cfg.SIP.Algorithms = append(cfg.SIP.Algorithms, alg)
	}
	cfg.SIP.Guard = sbsip.DefaultGuardConfig
	cfg.SIP.Guard.BlockAfter = *blockAfter
	cfg.SIP.Guard.BlockFor = *blockFor
	cfg.SIP.MaxCallSetups = *maxSetups
	cfg.ProvisionResyncDelay = *resyncDelay
	if *resyncDelay <= 0 {
		cfg.ProvisionResyncDelay = -1
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	done := make(chan struct{})
	defer close(done)
	go func() {
		// The first signal drains; a second one stops at once.
		select {
		case <-ctx.Done():
		case <-done:
			return
		}
		stop()
		sig := make(chan os.Signal, 1)
		signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
		defer signal.Stop(sig)
		select {
		case <-sig:
			fmt.Fprintln(os.Stderr, "switchboard: second signal, stopping now")
			os.Exit(1)
		case <-done:
		}
	}()

	if *debugAddr != "" {
		if err := serveDebug(*debugAddr); err != nil {
			return err
		}
	}
	eng, err := switchboard.New(ctx, cfg)
	if err != nil {
		return err
	}
	return eng.Run(ctx)
}

// applyEnv sets flags from SWITCHBOARD_* variables before the command line
// is parsed, so the command line wins.
func applyEnv(fs *flag.FlagSet) error {
	var err error
	fs.VisitAll(func(f *flag.Flag) {
		name := "SWITCHBOARD_" + strings.ToUpper(strings.ReplaceAll(f.Name, "-", "_"))
		v, ok := os.LookupEnv(name)
		if !ok || err != nil {
			return
		}
		if e := f.Value.Set(v); e != nil {
			err = fmt.Errorf("%s=%q: %w", name, v, e)
		}
	})
	return err
}

// serveDebug serves net/http/pprof, on loopback only: profiles reveal
// memory contents.
func serveDebug(addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("--debug-addr: %w", err)
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("--debug-addr must be a loopback address, not %q", addr)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("--debug-addr: %w", err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	go func() { _ = http.Serve(ln, mux) }()
	return nil
}

// parseSize reads a byte count with an optional unit: B, KiB, MiB, GiB
// (powers of 1024) or KB, MB, GB (powers of 1000).
func parseSize(v string) (int64, error) {
	v = strings.TrimSpace(v)
	units := []struct {
		suffix string
		mult   int64
	}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"KB", 1e3}, {"MB", 1e6}, {"GB", 1e9}, {"B", 1}}
	mult := int64(1)
	for _, u := range units {
		if strings.HasSuffix(v, u.suffix) {
			v, mult = strings.TrimSpace(strings.TrimSuffix(v, u.suffix)), u.mult
			break
		}
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 || n > (1<<62)/mult {
		return 0, fmt.Errorf("%q is not a size such as 400MiB", v)
	}
	return n * mult, nil
}
