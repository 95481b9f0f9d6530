package sip

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/emiago/sipgo"
	"github.com/prometheus/client_golang/prometheus"

	gosip "github.com/emiago/sipgo/sip"
)

// Phone is what the registrar knows of a device that may register: its auth
// name, its SIP secret, and the extension of the user it belongs to.
type Phone struct {
	Name      string
	Password  string
	Extension string
}

// PhoneDirectory finds phones by auth name. It is on the REGISTER path, so
// implementations cache.
type PhoneDirectory interface {
	LookupPhone(ctx context.Context, name string) (Phone, bool, error)
}

// Config sets the registrar's behaviour. Zero values take the defaults of
// DefaultConfig.
type Config struct {
	// Realm is the SIP domain, used as the digest realm.
	Realm string
	// Advertise is the host[:port] this engine puts in the headers it
	// writes (Via of its own requests, later Record-Route); empty means the
	// listening socket's address. Behind NAT or a SIP edge it must be set.
	Advertise string
	// MinExpires, MaxExpires and DefaultExpires clamp registration
	// lifetimes (RFC 3261 §10.3 step 7): below the minimum is 423.
	MinExpires, MaxExpires, DefaultExpires time.Duration
	// MaxContactsPerPhone bounds one phone's bindings; the oldest is
	// replaced by a new one.
	MaxContactsPerPhone int
	// KeepaliveInterval is how often every registered contact gets an
	// OPTIONS; contacts that miss two count as offline. Negative turns it
	// off.
	KeepaliveInterval time.Duration
	// NonceLifetime is how long a digest nonce is accepted.
	NonceLifetime time.Duration
	// NonceSecret signs nonces. A nonce signed with it by another engine
	// (or before a restart) is answered with stale=true, never counted as
	// a failure.
	NonceSecret []byte
	// Algorithms lists the digest algorithms offered, in order of
	// preference (RFC 8760 §2.4: one challenge each).
	Algorithms []Algorithm
	// FlushInterval is how often binding changes are written to the store.
	FlushInterval time.Duration
	// Guard sets the throttling and blocking of failing sources.
	Guard GuardConfig
	// MaxCallSetups bounds the calls being set up at once (ringing, or
	// waiting for a phone's first answer); beyond it new calls get 503
	// with Retry-After. Negative: no bound.
	MaxCallSetups int
}

// DefaultConfig holds the defaults.
var DefaultConfig = Config{
	Realm:               "switchboard.local",
	MinExpires:          60 * time.Second,
	MaxExpires:          3600 * time.Second,
	DefaultExpires:      3600 * time.Second,
	MaxContactsPerPhone: 5,
	KeepaliveInterval:   30 * time.Second,
	NonceLifetime:       5 * time.Minute,
	// MD5 alone by default: some phones (baresip 1.0 among them) give up
	// on a challenge that also names SHA-256.
	Algorithms:    []Algorithm{AlgorithmMD5},
	FlushInterval: 500 * time.Millisecond,
	Guard:         DefaultGuardConfig,
	MaxCallSetups: 1000,
}

func (c Config) withDefaults() Config {
	d := DefaultConfig
	if c.Realm == "" {
		c.Realm = d.Realm
	}
	if c.MinExpires <= 0 {
		c.MinExpires = d.MinExpires
	}
	if c.MaxExpires <= 0 {
		c.MaxExpires = d.MaxExpires
	}
	if c.DefaultExpires <= 0 {
		c.DefaultExpires = d.DefaultExpires
	}
	if c.MaxContactsPerPhone <= 0 {
		c.MaxContactsPerPhone = d.MaxContactsPerPhone
	}
	switch {
	case c.KeepaliveInterval == 0:
		c.KeepaliveInterval = d.KeepaliveInterval
	case c.KeepaliveInterval < 0:
		c.KeepaliveInterval = 0
	}
	if c.NonceLifetime <= 0 {
		c.NonceLifetime = d.NonceLifetime
	}
	if len(c.Algorithms) == 0 {
		c.Algorithms = d.Algorithms
	}
	if c.FlushInterval <= 0 {
		c.FlushInterval = d.FlushInterval
	}
	if c.Guard == (GuardConfig{}) {
		c.Guard = d.Guard
	}
	if c.MaxCallSetups == 0 {
		c.MaxCallSetups = d.MaxCallSetups
	}
	return c
}

// Option sets an injectable of the Server.
type Option func(*Server)

// WithLogger sets the logger (default slog.Default()).
func WithLogger(l *slog.Logger) Option { return func(s *Server) { s.log = l } }

// WithClock sets the clock (default time.Now).
func WithClock(now func() time.Time) Option { return func(s *Server) { s.now = now } }

// WithRegisterer registers the Server's metrics.
func WithRegisterer(r prometheus.Registerer) Option { return func(s *Server) { s.reg = r } }

// Server is the SIP endpoint: it validates every request, answers REGISTER
// and OPTIONS itself, keeps the bindings, and pings registered contacts.
//
// On UDP, REGISTER and OPTIONS are answered statelessly from the socket's
// read path, with a short cache of responses for retransmissions, instead of
// a sipgo transaction each: a transaction pins its parsed messages and a
// timer for 32 s, which at registration rates costs gigabytes.
type Server struct {
	cfg      Config
	phones   PhoneDirectory
	store    BindingStore
	log      *slog.Logger
	now      func() time.Time
	reg      prometheus.Registerer
	metrics  *metrics
	bindings *bindingTable
	guard    *guard
	nonces   *Nonces
	cache    *responseCache
	// answers and surplus stand in for sipgo's transactions of answered
	// INVITEs (see answerRetention).
	answers  *responseCache
	surplus  surplusAnswers
	memory   memoryReturn
	parser   *gosip.Parser
	parseLog *ParseErrorLog
	pings    *keepalive
	router   Router
	trunk    TrunkSource
	// apps answers voicemail and mailbox access; appDialogs are the calls
	// it answered (see app.go).
	apps       Applications
	bridging   Bridging
	appDialogs appDialogs
	proxy      *proxy
	trunkReg   *trunkRegistrar
	// mailboxes, mwiSlots and mwi serve message-waiting (see mwi.go and
	// mwi_refresh.go).
	mailboxes Mailboxes
	mwiSlots  chan struct{}
	mwi       *mwiTracker
	// serving is closed once a listener serves: requests of our own
	// (NOTIFYs after a restart) wait for it.
	serving     chan struct{}
	servingOnce sync.Once

	advertiseHost string
	advertisePort int

	ua  *sipgo.UserAgent
	srv *sipgo.Server

	connMu sync.RWMutex // guards udpConns
	// udpConns are the UDP listeners by local address, for answering from
	// the socket a request came in on.
	udpConns map[string]net.PacketConn
	udpWork  chan datagram

	flushMu sync.Mutex // serialises flush

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// NewServer builds a Server. Start must be called before serving.
func NewServer(cfg Config, phones PhoneDirectory, store BindingStore, opts ...Option) (*Server, error) {
	transactionRetention.Do(shortenTransactionRetention)
	cfg = cfg.withDefaults()
	s := &Server{
		cfg:      cfg,
		phones:   phones,
		store:    store,
		log:      slog.Default(),
		now:      time.Now,
		bindings: newBindingTable(),
		guard:    newGuard(cfg.Guard),
		cache:    newResponseCache(2*time.Second, 100_000),
		answers:  newResponseCache(answerRetention, 200_000),
		parser:   gosip.NewParser(),
		udpConns: make(map[string]net.PacketConn),
		udpWork:  make(chan datagram, 4096),
	}
	for _, o := range opts {
		o(s)
	}
	if cfg.Advertise != "" {
		host, port, err := gosip.ParseAddr(cfg.Advertise)
		if err != nil {
			// A host without a port: the port stays implicit (5060).
			host, port = strings.Trim(cfg.Advertise, "[]"), 0
		}
		s.advertiseHost, s.advertisePort = host, port
	}
	secret := cfg.NonceSecret
	if len(secret) == 0 {
		secret = make([]byte, 32)
		if _, err := rand.Read(secret); err != nil {
			return nil, fmt.Errorf("nonce secret: %w", err)
		}
	}
	s.nonces = NewNonces(secret, cfg.NonceLifetime, 1<<20, s.now)
	s.metrics = newMetrics(s.reg, s)
	s.parseLog = NewParseErrorLog(s.log, 5)
	s.pings = newKeepalive(s)

	sipgoLog := slog.New(newLimitedHandler(s.log.Handler(), 5))
	ua, err := sipgo.NewUA(
		sipgo.WithUserAgentParser(gosip.NewParser()),
		sipgo.WithUserAgentTransportLayerOptions(
			gosip.WithTransportLayerLogger(sipgoLog),
			gosip.WithTransportLayerReadFilter(s.readFilter),
		),
		sipgo.WithUserAgentTransactionLayerOptions(
			gosip.WithTransactionLayerLogger(sipgoLog),
			gosip.WithTransactionLayerUnhandledResponseHandler(s.onStrayResponse),
		),
	)
	if err != nil {
		return nil, fmt.Errorf("sip user agent: %w", err)
	}
	srv, err := sipgo.NewServer(ua, sipgo.WithServerLogger(sipgoLog))
	if err != nil {
		ua.Close()
		return nil, fmt.Errorf("sip server: %w", err)
	}
	s.ua, s.srv = ua, srv
	s.trunkReg = &trunkRegistrar{s: s, status: TrunkRegistration{State: TrunkRegOff}}
	s.mwiSlots = make(chan struct{}, mwiConcurrency)
	s.mwi = newMWITracker()
	s.serving = make(chan struct{})
	if s.proxy, err = newProxy(ua, s.reg, secret); err != nil {
		ua.Close()
		return nil, fmt.Errorf("sip proxy: %w", err)
	}
	if s.router == nil {
		s.router = defaultRouter{s}
	}
	srv.OnRegister(s.onTransactionRequest)
	srv.OnOptions(s.onTransactionRequest)
	srv.OnNoRoute(s.onTransactionRequest)
	return s, nil
}

// transactionRetention shortens, once per process, how long sipgo keeps a
// finished transaction to absorb retransmissions: 32 s (64×T1) by default,
// which at a few thousand calls a second pins gigabytes of parsed messages
// and timers. A lost final response is retransmitted by the client within
// 4 s (T2), so 5 s still answers every retransmission that matters. These
// are sipgo package variables: the Once makes every server of the process
// see the value written before its first transaction.
var transactionRetention sync.Once

func shortenTransactionRetention() {
	const retain = 5 * time.Second
	gosip.Timer_J = retain // non-INVITE server, after the final response
	// INVITE server and client, after a 2xx: none. The proxy absorbs
	// retransmitted INVITEs and relays retransmitted 2xx itself, from a
	// key and an address per call (see answerRetention).
	gosip.Timer_L = 0
	gosip.Timer_M = 0
	gosip.Timer_D = retain // INVITE client, after a failure response
	// INVITE server, waiting for the ACK of a failure response (which
	// Timer G retransmits meanwhile): a caller that never acknowledges
	// one, as load generators do not, kept each 32 s.
	gosip.Timer_H = retain
}

// Start restores the persisted bindings and starts the background work
// (write-behind, expiry sweep, keepalives, message-waiting). It returns
// once bindings are loaded.
func (s *Server) Start(ctx context.Context) error {
	bs, err := s.store.LoadBindings(ctx, s.now())
	if err != nil {
		return fmt.Errorf("load bindings: %w", err)
	}
	s.bindings.load(bs)
	s.log.Info("bindings restored", "count", len(bs))

	s.ctx, s.cancel = context.WithCancel(context.WithoutCancel(ctx))
	s.wg.Add(2)
	go s.flushLoop()
	go s.sweepLoop()
	for range max(runtime.GOMAXPROCS(0), 2) {
		s.wg.Add(1)
		go s.udpWorker()
	}
	if s.cfg.KeepaliveInterval > 0 {
		s.wg.Add(1)
		go s.pings.run(s.ctx, &s.wg)
	}
	if s.trunk != nil {
		s.wg.Add(1)
		go s.trunkReg.run()
	}
	if s.mailboxes != nil {
		s.wg.Add(2)
		go s.mwiWorker()
		go s.mwiRestart()
	}
	return nil
}

// markServing notes that a listener serves.
func (s *Server) markServing() { s.servingOnce.Do(func() { close(s.serving) }) }

// ServeUDP serves SIP on a UDP socket until it is closed.
func (s *Server) ServeUDP(conn net.PacketConn) error {
	// Bursts of registrations (every phone of a site after a power cut)
	// overflow the default socket buffer long before the workers are
	// busy; the kernel caps this at net.core.rmem_max.
	if b, ok := conn.(interface{ SetReadBuffer(int) error }); ok {
		_ = b.SetReadBuffer(udpSocketBuffer)
	}
	if b, ok := conn.(interface{ SetWriteBuffer(int) error }); ok {
		_ = b.SetWriteBuffer(udpSocketBuffer)
	}
	w := newUDPWriter(conn)
	defer w.stop()
	key := conn.LocalAddr().String()
	s.connMu.Lock()
	s.udpConns[key] = w
	s.connMu.Unlock()
	s.markServing()
	defer func() {
		s.connMu.Lock()
		delete(s.udpConns, key)
		s.connMu.Unlock()
	}()
	// Several readers share the socket. The read path parses every
	// datagram and serves much of it itself (in-dialog forwarding,
	// challenges, relayed responses): one reader descheduled for a moment
	// (a GC assist, another process on the core) lets the socket buffer
	// overflow, and the retransmissions that follow add to the load.
	// sipgo hands each message on to a goroutine of its own, so one reader
	// kept no order anyway.
	n := udpReaders()
	errc := make(chan error, n)
	for range n {
		go func() { errc <- s.srv.ServeUDP(w) }()
	}
	var err error
	for range n {
		if e := <-errc; e != nil && !errors.Is(e, net.ErrClosed) && err == nil {
			err = e
		}
	}
	return err
}

// udpReaders is how many goroutines read each UDP socket.
func udpReaders() int { return max(runtime.GOMAXPROCS(0), 2) }

// ServeTCP serves SIP on a TCP listener until it is closed.
func (s *Server) ServeTCP(l net.Listener) error {
	s.markServing()
	err := s.srv.ServeTCP(l)
	if errors.Is(err, net.ErrClosed) {
		return nil
	}
	return err
}

// Close stops the background work, saves what is unsaved and closes the
// SIP stack. The listeners are the caller's to close.
func (s *Server) Close() error {
	if s.cancel != nil {
		s.cancel()
	}
	s.wg.Wait()
	s.proxy.close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	errs := []error{s.flush(ctx), s.ua.Close()}
	return errors.Join(errs...)
}

// Lookup returns the reachable, unexpired bindings of an extension.
func (s *Server) Lookup(extension string) []Binding {
	return s.bindings.lookup(extension, s.now())
}

// Bindings returns every live binding.
func (s *Server) Bindings() []Binding { return s.bindings.all() }

// Flush writes the pending binding changes to the store now.
func (s *Server) Flush(ctx context.Context) error { return s.flush(ctx) }

func (s *Server) flush(ctx context.Context) error {
	// One flush at a time: a later batch must not commit before an
	// earlier one (a delete overtaken by an older upsert would bring a
	// binding back), and a caller asking for a flush must find its
	// changes written when it returns.
	s.flushMu.Lock()
	defer s.flushMu.Unlock()
	ups, dels := s.bindings.takeChanges()
	if len(ups) == 0 && len(dels) == 0 {
		return nil
	}
	if err := s.store.SaveBindings(ctx, ups, dels); err != nil {
		s.bindings.restoreChanges(ups, dels)
		return fmt.Errorf("save %d bindings: %w", len(ups)+len(dels), err)
	}
	return nil
}

func (s *Server) flushLoop() {
	defer s.wg.Done()
	t := time.NewTicker(s.cfg.FlushInterval)
	defer t.Stop()
	for {
		select {
		case <-s.ctx.Done():
			return
		case <-t.C:
			if err := s.flush(s.ctx); err != nil && s.ctx.Err() == nil {
				s.log.Error("binding write-behind", "error", err)
			}
		}
	}
}

// sweepLoop expires bindings on time, in memory every second and in the
// store with an idempotent query every 30 s, and ages the caches.
func (s *Server) sweepLoop() {
	defer s.wg.Done()
	t := time.NewTicker(time.Second)
	defer t.Stop()
	var ticks int
	for {
		select {
		case <-s.ctx.Done():
			return
		case <-t.C:
			now := s.now()
			if n := s.bindings.expire(now); n > 0 {
				s.log.Debug("bindings expired", "count", n)
			}
			s.cache.tick(now)
			s.answers.tick(now)
			s.memory.tick()
			ticks++
			if ticks%30 == 0 {
				s.guard.sweep(now)
				s.mwi.sweep(now)
				if n := s.proxy.calls.sweep(time.Now(), maxCallAge); n > 0 {
					s.log.Warn("calls without a BYE ended in the call table", "count", n, "older_than", maxCallAge.String())
				}
				if _, err := s.store.DeleteExpiredBindings(s.ctx, now); err != nil && s.ctx.Err() == nil {
					s.log.Error("sweep expired bindings", "error", err)
				}
			}
		}
	}
}

// readFilter sees every UDP datagram before sipgo parses it. It handles
// what the registrar answers itself and passes the rest on to sipgo.
func (s *Server) readFilter(p gosip.TransportReadProps, data []byte) ([]byte, error) {
	if p.Transport != "UDP" {
		return data, nil
	}
	s.memory.datagrams.Add(1)
	// Never return an error: sipgo stops reading the socket on one.
	if bytes.HasPrefix(data, registerPrefix) {
		// REGISTERs, the bulk of the traffic, are parsed and answered by
		// a pool of workers: the socket's read goroutine only copies.
		select {
		case s.udpWork <- datagram{laddr: p.LocalAddr, raddr: p.RemoteAddr, data: bytes.Clone(data), start: time.Now()}:
		default:
			// Overloaded: drop, the phone retransmits (RFC 3261 §17.1.2).
			s.metrics.shed.Inc()
		}
		return nil, nil
	}
	return s.handleDatagram(p.LocalAddr, p.RemoteAddr, data, time.Now()), nil
}

var registerPrefix = []byte("REGISTER ")

const udpSocketBuffer = 4 << 20

// datagram is one UDP request waiting for a worker.
type datagram struct {
	laddr, raddr net.Addr
	data         []byte
	start        time.Time
}

// udpWorker handles queued datagrams until the server closes.
func (s *Server) udpWorker() {
	defer s.wg.Done()
	for {
		select {
		case <-s.ctx.Done():
			return
		case d := <-s.udpWork:
			s.handleDatagram(d.laddr, d.raddr, d.data, d.start)
		}
	}
}

func isKeepaliveCRLF(data []byte) bool {
	if len(data) > 4 {
		return false
	}
	for _, c := range data {
		if c != '\r' && c != '\n' {
			return false
		}
	}
	return true
}

// handleDatagram parses and serves one UDP message, and returns the bytes
// to hand on to sipgo (responses to requests it sent), or nil.
func (s *Server) handleDatagram(laddr, raddr net.Addr, data []byte, start time.Time) []byte {
	if isKeepaliveCRLF(data) {
		return nil
	}
	src := raddr.String()
	msg, err := s.parser.ParseSIP(data)
	if err != nil {
		s.metrics.unparsable.Inc()
		s.parseLog.Log(src, data, err)
		// Headers that parsed but a body shorter than Content-Length
		// says: the request can still be answered (RFC 3261 §18.3).
		if req, ok := msg.(*gosip.Request); ok && errors.Is(err, gosip.ErrParseReadBodyIncomplete) && !req.IsAck() {
			req.SetSource(src)
			req.SetTransport("UDP")
			s.writeUDP(laddr, raddr, req, RejectionResponse(req, &Rejection{Code: 400, Reason: "Bad Request (Content-Length)"}), "", start)
		}
		return nil
	}
	switch m := msg.(type) {
	case *gosip.Response:
		if s.pings.isKeepalive(m) {
			s.pings.answered(m)
			return nil
		}
		if isStatelessResponse(m) {
			s.relayResponse(m)
			return nil
		}
		if s.relayAnswerRetransmission(m) {
			return nil
		}
		return data
	case *gosip.Request:
		m.SetSource(src)
		m.SetTransport("UDP")
		if s.guard.blocked(sourceIP(src), s.now()) {
			return nil
		}
		s.metrics.request(m.Method)
		if rej := ValidateRequest(m, true); rej != nil {
			if !m.IsAck() {
				s.writeUDP(laddr, raddr, m, RejectionResponse(m, rej), "", start)
			}
			return nil
		}
		switch {
		case m.Method == gosip.REGISTER:
			key := retransmissionKey(m)
			if b, seen := s.cache.begin(key, s.now()); seen {
				// A retransmission: resend the answer, or wait for the
				// worker still handling the original.
				if b != nil {
					s.writeRaw(laddr, raddr, b)
				}
				return nil
			}
			res := s.register(m)
			if res == nil || res.StatusCode == 401 {
				// A lost challenge is answered afresh (any nonce will
				// do): only answers to authenticated requests are kept
				// for retransmissions.
				s.cache.abandon(key)
				key = ""
			}
			if res != nil {
				s.writeUDP(laddr, raddr, m, res, key, start)
			}
			return nil
		}
		switch {
		case m.Method == gosip.SUBSCRIBE && s.isOurURI(&m.Recipient) || m.Method == gosip.SUBSCRIBE && !hasToTag(m):
			// A phone's subscription (or its refresh) to its mailbox:
			// this engine is the notifier.
			if res := s.subscribe(m); res != nil {
				s.writeUDP(laddr, raddr, m, res, "", start)
			}
			return nil
		case m.Method == gosip.OPTIONS && !hasToTag(m):
		case hasToTag(m) && !m.IsAck():
			// Inside a dialog: forwarded statelessly, no transaction.
			if res := s.forwardInDialog(m); res != nil {
				s.writeUDP(laddr, raddr, m, res, "", start)
			}
			return nil
		case m.Method == gosip.INVITE && s.isAnsweredInvite(m):
			return nil
		case m.Method == gosip.INVITE && s.challengeInvite(laddr, raddr, m, start):
			return nil
		case m.IsAck() && isChallengeAck(m):
			return nil
		case m.IsAck() && hasToTag(m) && s.isAppRequest(m):
			// The ACK of a 200 a voice application sent.
			s.appRequest(m)
			return nil
		case m.IsAck() && hasToTag(m) && s.isRecordRouted(m):
			// The ACK of a 2xx, in a dialog this engine record-routed:
			// forwarded like the rest of the dialog, without the server
			// transaction sipgo would make for it and end at once.
			s.forwardInDialog(m)
			return nil
		case m.Method == gosip.INVITE || m.Method == gosip.ACK || m.Method == gosip.CANCEL:
			// The proxy's transactions are sipgo's. An ACK may belong to
			// an INVITE transaction (after a non-2xx) or start none
			// (after a 2xx): sipgo tells them apart.
			return data
		}
		// Everything else is answered statelessly: no sipgo transaction
		// (and its 32 s of retained state) for a scanner's flood.
		if res := s.answer(m); res != nil {
			s.writeUDP(laddr, raddr, m, res, "", start)
		}
		return nil
	}
	return nil
}

// onTransactionRequest serves requests that came through sipgo's
// transaction layer: everything on TCP, and on UDP what the read path
// passed on.
func (s *Server) onTransactionRequest(req *gosip.Request, tx gosip.ServerTransaction) {
	start := time.Now()
	udp := req.Transport() == "UDP"
	if !udp {
		if s.guard.blocked(sourceIP(req.Source()), s.now()) {
			return
		}
		s.metrics.request(req.Method)
	}
	var res *gosip.Response
	if rej := ValidateRequest(req, udp); rej != nil {
		res = RejectionResponse(req, rej)
	} else {
		switch {
		case req.Method == gosip.REGISTER:
			res = s.register(req)
		case req.Method == gosip.SUBSCRIBE && (s.isOurURI(&req.Recipient) || !hasToTag(req)):
			res = s.subscribe(req)
		case req.Method == gosip.OPTIONS && !hasToTag(req):
			res = s.answer(req)
		case hasToTag(req) || req.IsAck():
			// Inside a dialog (or an ACK no INVITE transaction took, which
			// acknowledges a 2xx): forwarded statelessly.
			res = s.forwardInDialog(req)
		case req.Method == gosip.INVITE:
			s.proxyInvite(req, tx)
			return
		case req.Method == gosip.CANCEL:
			// sipgo matched no INVITE transaction (RFC 3261 §9.2).
			res = gosip.NewResponseFromRequest(req, 481, "Call/Transaction Does Not Exist", nil)
		default:
			res = s.answer(req)
		}
	}
	if res == nil {
		return
	}
	markReceived(req, res)
	if err := tx.Respond(res); err != nil {
		s.log.Debug("respond", "method", req.Method, "source", req.Source(), "error", err)
		return
	}
	s.observe(req, res, start)
}

func (s *Server) observe(req *gosip.Request, res *gosip.Response, start time.Time) {
	method := methodLabel(req.Method)
	s.metrics.responses.WithLabelValues(method, statusClass(res.StatusCode)).Inc()
	s.metrics.latency.WithLabelValues(method).Observe(time.Since(start).Seconds())
}

// writeUDP sends a response from the socket the request arrived on, to the
// address it came from (RFC 3581 §4: symmetric response routing), and
// caches it for retransmissions when key is set.
func (s *Server) writeUDP(laddr, raddr net.Addr, req *gosip.Request, res *gosip.Response, key string, start time.Time) {
	markReceived(req, res)
	buf := messageBuffer(res)
	if key != "" {
		s.cache.finish(key, bytes.Clone(buf.Bytes()))
	}
	s.writeRaw(laddr, raddr, buf.Bytes())
	messageBuffers.Put(buf)
	s.observe(req, res, start)
}

func (s *Server) writeRaw(laddr, raddr net.Addr, b []byte) {
	conn := s.udpConn(laddr)
	if conn == nil {
		return
	}
	if _, err := conn.WriteTo(b, raddr); err != nil {
		s.log.Debug("udp write", "to", raddr.String(), "error", err)
	}
}

func (s *Server) udpConn(laddr net.Addr) net.PacketConn {
	s.connMu.RLock()
	defer s.connMu.RUnlock()
	if len(s.udpConns) == 1 {
		for _, c := range s.udpConns {
			return c
		}
	}
	return s.udpConns[laddr.String()]
}

var allowHeader = gosip.NewHeader("Allow", "INVITE, ACK, CANCEL, BYE, REGISTER, OPTIONS, INFO, UPDATE, REFER, NOTIFY, PRACK")

// answer answers a validated request other than REGISTER; nil for an ACK,
// which is never answered.
func (s *Server) answer(req *gosip.Request) *gosip.Response {
	var res *gosip.Response
	switch {
	case req.Method == gosip.OPTIONS && !hasToTag(req):
		return s.options(req)
	case req.IsAck():
		return nil
	case methodLabel(req.Method) == "other":
		// A method this server does not know at all (RFC 3261 §21.5.2).
		res = gosip.NewResponseFromRequest(req, 501, "Not Implemented", nil)
	default:
		res = gosip.NewResponseFromRequest(req, 405, "Method Not Allowed", nil)
	}
	res.AppendHeader(allowHeader)
	return res
}

// options answers an out-of-dialog OPTIONS (RFC 3261 §11.2).
func (s *Server) options(req *gosip.Request) *gosip.Response {
	res := gosip.NewResponseFromRequest(req, 200, "OK", nil)
	res.AppendHeader(allowHeader)
	res.AppendHeader(gosip.NewHeader("Accept", "application/sdp"))
	res.AppendHeader(gosip.NewHeader("Supported", "path, outbound"))
	return res
}

// retransmissionKey identifies a request and its retransmissions
// (RFC 3261 §17.2.3: the top Via branch, plus Call-ID and CSeq so that a
// pre-RFC 3261 client without a unique branch still matches correctly).
func retransmissionKey(req *gosip.Request) string {
	var branch string
	if v := req.Via(); v != nil {
		branch, _ = v.Params.Get("branch")
	}
	cseq := req.CSeq()
	callID := req.CallID()
	n := 0
	if cseq != nil {
		n = int(cseq.SeqNo)
	}
	id := ""
	if callID != nil {
		id = string(*callID)
	}
	return branch + "\x00" + id + "\x00" + itoa(n) + "\x00" + req.Source()
}

func itoa(n int) string {
	var b [20]byte
	i := len(b)
	if n == 0 {
		return "0"
	}
	for n > 0 {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
	}
	return string(b[i:])
}

// markReceived adds received= to the top Via of a response when the
// request's sent-by differs from its source address (RFC 3261 §18.2.1);
// sipgo adds it only along with rport (RFC 3581).
func markReceived(req *gosip.Request, res *gosip.Response) {
	v := res.Via()
	if v == nil || v.Params.Has("received") {
		return
	}
	if ip := sourceIP(req.Source()); ip != "" && strings.Trim(v.Host, "[]") != ip {
		v.Params.Add("received", ip)
	}
}

func hasToTag(req *gosip.Request) bool {
	to := req.To()
	return to != nil && to.Params.Has("tag")
}

// sourceIP strips the port from an ip:port source address.
func sourceIP(src string) string {
	host, _, err := net.SplitHostPort(src)
	if err != nil {
		return src
	}
	return host
}

// ForgetPhone drops a deleted phone's bindings at once.
func (s *Server) ForgetPhone(name string) { s.bindings.removePhone(name) }

// MoveExtension re-files the bindings of an extension that was renumbered.
func (s *Server) MoveExtension(from, to string) { s.bindings.moveAOR(from, to) }
