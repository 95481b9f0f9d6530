// Package switchboard is the embedding API of the Switchboard PBX engine:
// Config, New, (*Engine).Run and Close. It wires the store, the SIP server
// and the admin API together; cmd/switchboard is a thin command line over
// it, and another Go program can embed the whole PBX the same way.
package switchboard

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"switchboard/admin"
	"switchboard/blob"
	"switchboard/provision"
	"switchboard/routing"
	"switchboard/sip"
	"switchboard/store"
)

// Config is everything an Engine needs. Zero values take the defaults
// documented on each field.
type Config struct {
	// DBPath is the SQLite database file (default "switchboard.db").
	DBPath string
	// DataDir holds audio and other files (default "data").
	DataDir string
	// SIPAddr is where SIP is served, on both UDP and TCP
	// (default "0.0.0.0:5060"; port 0 picks free ports).
	SIPAddr string
	// HTTPAddr is where the admin API is served (default "127.0.0.1:8080").
	HTTPAddr string
	// Domain is the SIP domain and digest realm (default: this host's
	// first non-loopback IPv4 address, else 127.0.0.1).
	Domain string
	// Advertise is the host[:port] put in SIP headers this engine writes
	// (default: the listening address).
	Advertise string
	// RTPPorts is the UDP port range, "min-max", for the audio of calls the
	// engine answers itself (default "10000-20000").
	RTPPorts string
	// MediaAddress is the IP address the SDP of those calls gives for
	// their audio (default: the advertised or listening address when it is
	// an IP, else the address facing each caller). Behind NAT it must be
	// the public address.
	MediaAddress string
	// AdminToken is the bearer token of the admin API; its hash replaces
	// the stored one. When empty, the stored hash is used, and on first
	// start a token is generated, printed once to Out, and only its hash
	// is kept.
	AdminToken string
	// Demo creates users 1001 and 1002 with phones 1001a and 1002a when
	// the database has no users, and prints their SIP credentials.
	Demo bool
	// ProvisionResyncDelay is how long after the last admin change to what
	// a desk phone's provisioning file says the phone, when registered,
	// is told to fetch it again (default DefaultProvisionResyncDelay; a
	// negative delay turns the automatic resync off).
	ProvisionResyncDelay time.Duration
	// SIP tunes the registrar; zero fields take sip.DefaultConfig's.
	SIP sip.Config
	// Logger receives structured logs (default slog.Default()).
	Logger *slog.Logger
	// Out receives the one-time messages meant for the operator: the
	// generated admin token and the demo credentials (default os.Stdout).
	Out io.Writer
	// Now is the clock (default time.Now).
	Now func() time.Time
}

func (c Config) withDefaults() Config {
	if c.DBPath == "" {
		c.DBPath = "switchboard.db"
	}
	if c.DataDir == "" {
		c.DataDir = "data"
	}
	if c.SIPAddr == "" {
		c.SIPAddr = "0.0.0.0:5060"
	}
	if c.HTTPAddr == "" {
		c.HTTPAddr = "127.0.0.1:8080"
	}
	if c.Domain == "" {
		c.Domain = defaultDomain()
	}
	if c.RTPPorts == "" {
		c.RTPPorts = "10000-20000"
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.Out == nil {
		c.Out = os.Stdout
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.ProvisionResyncDelay == 0 {
		c.ProvisionResyncDelay = DefaultProvisionResyncDelay
	}
	return c
}

// Engine is a running PBX.
type Engine struct {
	cfg      Config
	log      *slog.Logger
	db       *store.DB
	phones   *phoneDirectory
	router   *callRouter
	sip      *sip.Server
	resync   *provisionResyncer
	audio    *audioStore
	mailer   *voicemailMailer
	registry *prometheus.Registry
	http     *http.Server

	udp    net.PacketConn
	tcp    net.Listener
	httpLn net.Listener

	tokenHash [sha256.Size]byte

	closeOnce sync.Once
	closeErr  error
}

// New opens the database, applies migrations, prepares the admin token and
// the demo users, and binds the listeners. Nothing is served until Run.
func New(ctx context.Context, cfg Config) (*Engine, error) {
	cfg = cfg.withDefaults()
	e := &Engine{cfg: cfg, log: cfg.Logger, registry: prometheus.NewRegistry()}
	e.registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))

	if err := os.MkdirAll(cfg.DataDir, 0o750); err != nil {
		return nil, fmt.Errorf("data dir: %w", err)
	}
	db, err := store.Open(ctx, cfg.DBPath)
	if err != nil {
		return nil, err
	}
	e.db = db
	ok := false
	defer func() {
		if !ok {
			e.Close()
		}
	}()

	if err := e.prepareAdminToken(ctx); err != nil {
		return nil, err
	}
	if cfg.Demo {
		if err := e.prepareDemo(ctx); err != nil {
			return nil, err
		}
	}
	if err := e.seedDenyList(ctx); err != nil {
		return nil, err
	}
	secret, err := e.settingSecret(ctx, "sip_nonce_secret")
	if err != nil {
		return nil, err
	}

	sipCfg := cfg.SIP
	sipCfg.Realm = cfg.Domain
	sipCfg.Advertise = cfg.Advertise
	sipCfg.NonceSecret = secret
	e.phones = newPhoneDirectory(db.Phones(), cfg.Now)
	apps := &voiceApps{now: cfg.Now, log: e.log}
	bridges := &callBridges{apps: apps, db: db, now: cfg.Now, log: e.log, metrics: newBridgeMetrics(e.registry)}
	apps.db, apps.bridges = db, bridges
	router := &callRouter{snaps: routingSnapshots{db: db, cache: newConfigCache(db.ConfigVersion)}, now: cfg.Now, log: e.log}
	e.router = router
	e.sip, err = sip.NewServer(sipCfg, e.phones, bindingStore{db.Registrations()},
		sip.WithLogger(e.log), sip.WithClock(cfg.Now), sip.WithRegisterer(e.registry), sip.WithRouter(router), sip.WithTrunk(router),
		sip.WithMailboxes(mailboxes{db: db}), sip.WithApplications(apps), sip.WithBridging(bridges))
	if err != nil {
		return nil, err
	}
	router.snaps.sip = e.sip
	apps.dialer = e.sip
	apps.settings, bridges.settings = router.snaps.settings, router.snaps.settings
	router.snaps.cache.log = e.log
	router.snaps.cache.loadAll = router.snaps.loadDirectory

	blobs, err := blob.NewDir(filepath.Join(cfg.DataDir, "audio"))
	if err != nil {
		return nil, err
	}
	e.audio = newAudioStore(blobs, db, e.log)
	linkSecret, err := e.settingSecret(ctx, "voicemail_link_secret")
	if err != nil {
		return nil, err
	}
	e.mailer, err = newVoicemailMailer(db, e.audio.blobs, linkSecret, e.registry, e.log, cfg.Now)
	if err != nil {
		return nil, err
	}
	if err := e.prepareVoicemail(apps); err != nil {
		return nil, err
	}
	bridges.audio, bridges.recordings = e.audio, apps.store.recordings

	if err := e.listen(); err != nil {
		return nil, err
	}
	provisionKey, err := e.settingSecret(ctx, "provision_nonce_secret")
	if err != nil {
		return nil, err
	}
	provisioning, err := provision.NewHandler(provisionDirectory{db: db}, e.provisionSite,
		provision.WithClock(cfg.Now), provision.WithLogger(e.log), provision.WithRegisterer(e.registry),
		provision.WithNonceKey(provisionKey), provision.WithRealm(cfg.Domain), provision.WithSiteCredentials(e.siteCredential))
	if err != nil {
		return nil, err
	}
	e.resync = newProvisionResyncer(cfg.ProvisionResyncDelay, e.resyncPhone, e.log)
	e.http = &http.Server{
		Handler: withVoicemailLinks(e.mailer.links, admin.NewHandler(admin.Config{
			Backend: &adminBackend{db: db, phones: e.phones, sip: e.sip, snaps: router.snaps, audio: e.audio,
				site: e.provisionSite, resync: e.resync},
			Provision:  provisioning,
			CheckToken: e.checkToken,
			Gatherer:   e.registry,
			Registerer: e.registry,
			Health:     e.health,
			Logger:     e.log,
			Now:        cfg.Now,
		})),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(e.log.Handler(), slog.LevelWarn),
	}
	// Every user's routing configuration in memory before the first call
	// (and again in bulk after each change, see configCache.warm).
	router.snaps.cache.warmNow()
	ok = true
	return e, nil
}

func (e *Engine) listen() error {
	// UDP and TCP share one port. When the port is 0 the free UDP port
	// may be taken on TCP: then try another.
	var err error
	for range 20 {
		if err = e.listenSIP(); err == nil {
			break
		}
		if _, port, _ := net.SplitHostPort(e.cfg.SIPAddr); port != "0" {
			return err
		}
	}
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", e.cfg.HTTPAddr)
	if err != nil {
		return fmt.Errorf("listen http %s: %w", e.cfg.HTTPAddr, err)
	}
	e.httpLn = ln
	return nil
}

func (e *Engine) listenSIP() error {
	udp, err := net.ListenPacket("udp", e.cfg.SIPAddr)
	if err != nil {
		return fmt.Errorf("listen sip udp %s: %w", e.cfg.SIPAddr, err)
	}
	host, _, _ := net.SplitHostPort(e.cfg.SIPAddr)
	tcpAddr := net.JoinHostPort(host, fmt.Sprint(udp.LocalAddr().(*net.UDPAddr).Port))
	tcp, err := net.Listen("tcp", tcpAddr)
	if err != nil {
		udp.Close()
		return fmt.Errorf("listen sip tcp %s: %w", tcpAddr, err)
	}
	e.udp, e.tcp = udp, tcp
	return nil
}

// SIPAddr is the address SIP is served on (UDP and TCP share the port).
func (e *Engine) SIPAddr() net.Addr { return e.udp.LocalAddr() }

// HTTPAddr is the address the admin API is served on.
func (e *Engine) HTTPAddr() net.Addr { return e.httpLn.Addr() }

// Domain is the SIP domain and digest realm in use.
func (e *Engine) Domain() string { return e.cfg.Domain }

// Run serves SIP and HTTP until ctx is done, then shuts down gracefully:
// the listeners close, in-flight HTTP requests finish, and binding changes
// are saved. It returns the first serving error, if any.
func (e *Engine) Run(ctx context.Context) error {
	if err := e.sip.Start(ctx); err != nil {
		return err
	}
	sweepCtx, stopSweep := context.WithCancel(context.WithoutCancel(ctx))
	sweepDone := make(chan struct{})
	go func() {
		defer close(sweepDone)
		e.audio.run(sweepCtx)
	}()
	errc := make(chan error, 3)
	go func() { errc <- e.sip.ServeUDP(e.udp) }()
	go func() { errc <- e.sip.ServeTCP(e.tcp) }()
	go func() {
		err := e.http.Serve(e.httpLn)
		if errors.Is(err, http.ErrServerClosed) {
			err = nil
		}
		errc <- err
	}()
	e.log.Info("switchboard running", "sip", e.SIPAddr().String(), "http", e.HTTPAddr().String(), "domain", e.cfg.Domain)

	var runErr error
	select {
	case <-ctx.Done():
	case runErr = <-errc:
		if runErr != nil {
			runErr = fmt.Errorf("serve: %w", runErr)
		}
	}
	e.log.Info("switchboard stopping")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := e.http.Shutdown(shutdownCtx); err != nil {
		e.log.Warn("http shutdown", "error", err)
	}
	_ = e.udp.Close()
	_ = e.tcp.Close()
	stopSweep()
	<-sweepDone
	if err := e.Close(); err != nil && runErr == nil {
		runErr = err
	}
	e.log.Info("switchboard stopped")
	return runErr
}

// Close releases everything: SIP stack (after saving bindings),
// listeners and the database. It is safe to call more than once.
func (e *Engine) Close() error {
	e.closeOnce.Do(func() {
		var errs []error
		if e.resync != nil {
			// Before the SIP server and the database it sends with.
			e.resync.close()
		}
		if e.sip != nil {
			errs = append(errs, e.sip.Close())
		}
		if e.router != nil {
			e.router.snaps.cache.close()
		}
		if e.mailer != nil {
			e.mailer.Close()
		}
		for _, c := range []io.Closer{e.udp, e.tcp, e.httpLn} {
			if c != nil && !isNil(c) {
				if err := c.Close(); err != nil && !errors.Is(err, net.ErrClosed) {
					errs = append(errs, err)
				}
			}
		}
		if e.db != nil {
			errs = append(errs, e.db.Close())
		}
		e.closeErr = errors.Join(errs...)
	})
	return e.closeErr
}

func isNil(c io.Closer) bool {
	switch v := c.(type) {
	case net.PacketConn:
		return v == nil
	case net.Listener:
		return v == nil
	}
	return false
}

func (e *Engine) health(ctx context.Context) error {
	if _, err := e.db.Users().Count(ctx); err != nil {
		e.log.Error("health check", "error", err)
		return errors.New("database unavailable")
	}
	return nil
}

// prepareAdminToken keeps only a hash of the admin token. A token given in
// the configuration is used as is; otherwise the first start generates one
// and prints it once.
func (e *Engine) prepareAdminToken(ctx context.Context) error {
	if e.cfg.AdminToken != "" {
		// A configured token replaces the stored one, also for later
		// starts without it: the way back in when the token is lost.
		e.tokenHash = sha256.Sum256([]byte(e.cfg.AdminToken))
		if err := e.db.Settings().Set(ctx, "admin_token_sha256", hex.EncodeToString(e.tokenHash[:])); err != nil {
			return fmt.Errorf("admin token: %w", err)
		}
		return nil
	}
	token := rand.Text()
	h := sha256.Sum256([]byte(token))
	stored, err := e.db.Settings().SetIfAbsent(ctx, "admin_token_sha256", hex.EncodeToString(h[:]))
	if err != nil {
		return fmt.Errorf("admin token: %w", err)
	}
	b, err := hex.DecodeString(stored)
	if err != nil || len(b) != sha256.Size {
		return fmt.Errorf("admin token: stored hash is corrupt")
	}
	copy(e.tokenHash[:], b)
	if subtle.ConstantTimeCompare(b, h[:]) == 1 {
		fmt.Fprintf(e.cfg.Out, "\nAdmin API token (shown once; only its hash is stored):\n  %s\n\n", token)
	}
	return nil
}

func (e *Engine) checkToken(token string) bool {
	h := sha256.Sum256([]byte(token))
	return subtle.ConstantTimeCompare(h[:], e.tokenHash[:]) == 1
}

// seedDenyList fills the toll-fraud deny list with the default premium-rate
// and satellite ranges, once: an admin who later empties it keeps it empty.
func (e *Engine) seedDenyList(ctx context.Context) error {
	const key = "deny_list_seeded"
	if stored, err := e.db.Settings().SetIfAbsent(ctx, key, "seeding"); err != nil || stored != "seeding" {
		return err
	}
	list := make([]store.DeniedPrefix, len(routing.DefaultDenyList))
	for i, p := range routing.DefaultDenyList {
		list[i] = store.DeniedPrefix{Prefix: p, Note: "default"}
	}
	if _, err := e.db.DeniedPrefixes().Replace(ctx, list); err != nil {
		return fmt.Errorf("seed deny list: %w", err)
	}
	return e.db.Settings().Set(ctx, key, "done")
}

// settingSecret returns a 32-byte secret kept in settings, creating it on
// first use. Engines sharing a database share it.
func (e *Engine) settingSecret(ctx context.Context, key string) ([]byte, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return nil, err
	}
	stored, err := e.db.Settings().SetIfAbsent(ctx, key, hex.EncodeToString(b))
	if err != nil {
		return nil, fmt.Errorf("setting %s: %w", key, err)
	}
	out, err := hex.DecodeString(stored)
	if err != nil || len(out) < 16 {
		return nil, fmt.Errorf("setting %s is corrupt", key)
	}
	return out, nil
}

// defaultDomain is the address phones on this machine's network reach it
// by: its first non-loopback IPv4 address.
func defaultDomain() string {
	addrs, err := net.InterfaceAddrs()
	if err == nil {
		for _, a := range addrs {
			if n, ok := a.(*net.IPNet); ok && n.IP.To4() != nil && !n.IP.IsLoopback() && !n.IP.IsLinkLocalUnicast() {
				return n.IP.String()
			}
		}
	}
	return "127.0.0.1"
}
