package registrytest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/provaudit/provaudit/internal/registrytest/fakesigstore"
)

// Sentinel errors of package registrytest.
var (
	// ErrInvalidPackage reports a Package that cannot be served (bad name,
	// version, integrity or key index).
	ErrInvalidPackage = errors.New("registrytest: invalid package")
	// ErrFixture reports a recorded fixture that cannot be loaded or served.
	ErrFixture = errors.New("registrytest: bad fixture")
	// ErrSigstore reports a failure of the fake Sigstore while generating data.
	ErrSigstore = errors.New("registrytest: fake sigstore failed")
)

// Options configures a Registry.
type Options struct {
	// Sigstore mints registry signatures and attestations. nil: New makes
	// one with Now as its base time and a single npm key valid from nine
	// years before Now with no end, so that recorded data of any recent year
	// can carry a valid fake registry signature.
	Sigstore *fakesigstore.Sigstore
	// Latency is injected before every response (see SetLatency).
	Latency time.Duration
	// TLS serves HTTPS (with HTTP/2) from a test certificate; use Client.
	TLS bool
	// Seed makes the random failures of SetErrorRate deterministic.
	Seed int64
	// Now is the base time: the publish time of packages added without one
	// and the packuments' "modified". Zero: the Sigstore's Now when one is
	// given, else the current time; truncated to the second.
	Now time.Time
	// Addr is the address to listen on; "" means 127.0.0.1 on a free port.
	Addr string
}

// Registry is a running fake npm registry. Its methods are safe for
// concurrent use, also while requests are being served.
type Registry struct {
	srv       *httptest.Server
	url       string
	ss        *fakesigstore.Sigstore
	npmKeys   int // number of npm keys of ss
	now       time.Time
	done      chan struct{}
	closeOnce sync.Once

	mu        sync.RWMutex
	pkgs      map[string]*pkgEntry
	overrides map[string]http.HandlerFunc
	fails     map[string]*failSpec
	truncate  map[string]bool
	oversize  map[string]int64
	html      map[string]bool
	keysBody  []byte // SetKeys: served instead of the Sigstore's keys
	token     string
	stripSigs bool
	// abbrevNoAtt: abbreviated packuments without dist.attestations.
	abbrevNoAtt bool
	noKeys      bool
	noVersion   bool
	errRate     float64
	errStatus   int

	rngMu sync.Mutex
	rng   *rand.Rand

	latency atomic.Int64

	requests    atomic.Int64
	inFlight    atomic.Int64
	maxInFlight atomic.Int64
	statMu      sync.Mutex
	perPath     map[string]int64
	auth        []string
}

type failSpec struct {
	left       int
	status     int
	retryAfter string
}

// New starts a fake registry. It panics if the server cannot listen or the
// fake Sigstore cannot be made, as httptest.NewServer does.
func New(opts Options) *Registry {
	now := opts.Now
	if now.IsZero() && opts.Sigstore != nil {
		now = opts.Sigstore.Now()
	}
	if now.IsZero() {
		now = time.Now()
	}
	now = now.UTC().Truncate(time.Second)
	ss := opts.Sigstore
	if ss == nil {
		var err error
		ss, err = fakesigstore.New(fakesigstore.Options{
			Now:     now,
			NpmKeys: []fakesigstore.KeySpec{{Start: now.AddDate(-9, 0, 0)}},
		})
		if err != nil {
			panic(fmt.Sprintf("registrytest: new fake sigstore: %v", err))
		}
	}
	if ss.NpmKeyCount() == 0 {
		panic(fmt.Sprintf("registrytest: %v: the fake sigstore has no npm keys", ErrSigstore))
	}
	r := &Registry{
		ss:        ss,
		npmKeys:   ss.NpmKeyCount(),
		now:       now,
		done:      make(chan struct{}),
		pkgs:      map[string]*pkgEntry{},
		overrides: map[string]http.HandlerFunc{},
		fails:     map[string]*failSpec{},
		truncate:  map[string]bool{},
		oversize:  map[string]int64{},
		html:      map[string]bool{},
		rng:       rand.New(rand.NewPCG(uint64(opts.Seed), 0x70726f7661756469)),
		perPath:   map[string]int64{},
	}
	r.latency.Store(int64(opts.Latency))
	srv := httptest.NewUnstartedServer(http.HandlerFunc(r.serveHTTP))
	if opts.Addr != "" {
		l, err := net.Listen("tcp", opts.Addr)
		if err != nil {
			panic(fmt.Sprintf("registrytest: listen on %s: %v", opts.Addr, err))
		}
		srv.Listener.Close()
		srv.Listener = l
	}
	if opts.TLS {
		srv.EnableHTTP2 = true
		srv.StartTLS()
	} else {
		srv.Start()
	}
	r.srv = srv
	r.url = srv.URL + "/"
	return r
}

// URL is the registry's base URL, with a trailing slash.
func (r *Registry) URL() string { return r.url }

// Client is an HTTP client that trusts the server's certificate (TLS) and
// whose idle connections Close closes.
func (r *Registry) Client() *http.Client { return r.srv.Client() }

// Certificate returns the DER of the TLS certificate (nil without TLS).
func (r *Registry) Certificate() []byte {
	if c := r.srv.Certificate(); c != nil {
		return c.Raw
	}
	return nil
}

// Close stops the server: requests waiting in injected latency or writing an
// oversized body end at once, and Close waits for every handler to return.
// Close may be called more than once.
func (r *Registry) Close() {
	r.closeOnce.Do(func() {
		close(r.done)
		r.srv.Close()
	})
}

// Sigstore is the fake Sigstore that signs and attests generated data.
func (r *Registry) Sigstore() *fakesigstore.Sigstore { return r.ss }

// Handle installs h for requests whose decoded path equals pattern, or
// starts with it when pattern ends in "/"; the longest pattern wins and
// overrides win over the built-in routes. A nil h removes the override.
func (r *Registry) Handle(pattern string, h http.HandlerFunc) {
	p := canonical(pattern)
	r.mu.Lock()
	defer r.mu.Unlock()
	if h == nil {
		delete(r.overrides, p)
		return
	}
	r.overrides[p] = h
}

// SetLatency sets the delay injected before every response.
func (r *Registry) SetLatency(d time.Duration) { r.latency.Store(int64(d)) }

// SetErrorRate makes each request fail with status (500 when 0) with
// probability rate (0 turns it off), drawn from the Options.Seed sequence.
func (r *Registry) SetErrorRate(rate float64, status int) {
	if status == 0 {
		status = http.StatusInternalServerError
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.errRate, r.errStatus = rate, status
}

// Fail makes the next n requests to path fail with status, carrying a
// Retry-After header when retryAfter is not empty. n <= 0 removes it.
func (r *Registry) Fail(path string, n int, status int, retryAfter string) {
	p := canonical(path)
	r.mu.Lock()
	defer r.mu.Unlock()
	if n <= 0 {
		delete(r.fails, p)
		return
	}
	r.fails[p] = &failSpec{left: n, status: status, retryAfter: retryAfter}
}

// Truncate makes responses to path stop after half of their body, the way
// a dropped connection does: the Content-Length announces the whole body,
// so clients see an unexpected EOF.
func (r *Registry) Truncate(path string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.truncate[canonical(path)] = true
}

// Oversize pads responses to path with JSON whitespace up to n bytes
// (bodies keep their meaning), sent chunked without a Content-Length, so a
// client has to count what it reads. n <= 0 removes it.
func (r *Registry) Oversize(path string, n int64) {
	p := canonical(path)
	r.mu.Lock()
	defer r.mu.Unlock()
	if n <= 0 {
		delete(r.oversize, p)
		return
	}
	r.oversize[p] = n
}

// SetHTML makes path answer 200 with an HTML page (as a captive portal or
// a misconfigured proxy does) instead of JSON.
func (r *Registry) SetHTML(path string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.html[canonical(path)] = true
}

// ClearFaults removes every Fail, Truncate, Oversize, SetHTML and Handle
// setting and the error rate. Latency and the other switches stay.
func (r *Registry) ClearFaults() {
	r.mu.Lock()
	defer r.mu.Unlock()
	clear(r.fails)
	clear(r.truncate)
	clear(r.oversize)
	clear(r.html)
	clear(r.overrides)
	r.errRate = 0
}

// SetStripSignatures serves version documents without dist.signatures, as
// some proxies do; packuments keep them.
func (r *Registry) SetStripSignatures(on bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.stripSigs = on
}

// SetAbbreviatedWithoutAttestations serves abbreviated packuments whose
// versions lack dist.attestations (version documents keep them), as a
// registry or proxy whose abbreviated form predates attestations does.
func (r *Registry) SetAbbreviatedWithoutAttestations(on bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.abbrevNoAtt = on
}

// SetNoKeys makes /-/npm/v1/keys answer 404: a registry without keys.
func (r *Registry) SetNoKeys(on bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.noKeys = on
}

// SetKeys serves body at /-/npm/v1/keys instead of the fake Sigstore's
// keys (for example the recorded real keys, to check recorded signatures).
// nil restores the fake keys.
func (r *Registry) SetKeys(body []byte) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.keysBody = body
}

// SetNoVersionEndpoint makes /<name>/<version> answer 404, as registries
// without a version endpoint do, which forces the packument fallback.
func (r *Registry) SetNoVersionEndpoint(on bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.noVersion = on
}

// RequireToken makes every request without "Authorization: Bearer <token>"
// fail with 401. An empty token turns the check off.
func (r *Registry) RequireToken(token string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.token = token
}

// Requests is the number of requests received (stats endpoints excluded).
func (r *Registry) Requests() int64 { return r.requests.Load() }

// RequestsFor is the number of requests whose decoded path starts with
// pathPrefix (escaped and unescaped scoped names count alike).
func (r *Registry) RequestsFor(pathPrefix string) int64 {
	p := canonical(pathPrefix)
	r.statMu.Lock()
	defer r.statMu.Unlock()
	var n int64
	for path, c := range r.perPath {
		if strings.HasPrefix(path, p) {
			n += c
		}
	}
	return n
}

// MaxInFlight is the largest number of requests that were being handled at
// the same time (latency included) since the start or ResetStats.
func (r *Registry) MaxInFlight() int64 { return r.maxInFlight.Load() }

// AuthHeaders returns every non-empty Authorization header received, in
// order of arrival.
func (r *Registry) AuthHeaders() []string {
	r.statMu.Lock()
	defer r.statMu.Unlock()
	return append([]string(nil), r.auth...)
}

// ResetStats zeroes the request counts and the recorded Authorization
// headers; the maximum in flight restarts from the requests in flight now.
func (r *Registry) ResetStats() {
	r.statMu.Lock()
	defer r.statMu.Unlock()
	r.requests.Store(0)
	clear(r.perPath)
	r.auth = nil
	r.maxInFlight.Store(r.inFlight.Load())
}

// Stats is the JSON body of GET /-/registrytest/stats: the counts of
// Requests and MaxInFlight, the requests in flight now and the number of
// package names served.
type Stats struct {
	Requests    int64 `json:"requests"`
	MaxInFlight int64 `json:"maxInFlight"`
	InFlight    int64 `json:"inFlight"`
	Packages    int   `json:"packages"`
}

// Stats returns a snapshot of the request statistics.
func (r *Registry) Stats() Stats {
	r.mu.RLock()
	n := len(r.pkgs)
	r.mu.RUnlock()
	return Stats{
		Requests:    r.requests.Load(),
		MaxInFlight: r.maxInFlight.Load(),
		InFlight:    r.inFlight.Load(),
		Packages:    n,
	}
}

// canonical is the form knob paths and request paths are compared in: the
// percent-decoded path (so @scope%2fname and @scope/name are one path).
func canonical(p string) string {
	if u, err := url.PathUnescape(p); err == nil {
		p = u
	}
	if !strings.HasPrefix(p, "/") {
		p = "/" + p
	}
	return p
}

// lookupPath finds the value for path in m: an exact key, else the longest
// key ending in "/" that prefixes path.
func lookupPath[V any](m map[string]V, path string) (V, bool) {
	if v, ok := m[path]; ok {
		return v, true
	}
	var best string
	var found bool
	var val V
	for k, v := range m {
		if strings.HasSuffix(k, "/") && strings.HasPrefix(path, k) && (!found || len(k) > len(best)) {
			best, val, found = k, v, true
		}
	}
	return val, found
}

const controlPrefix = "/-/registrytest/"

func (r *Registry) serveHTTP(w http.ResponseWriter, req *http.Request) {
	path := req.URL.Path
	if strings.HasPrefix(path, controlPrefix) {
		r.serveControl(w, req)
		return
	}
	r.countRequest(path, req.Header.Get("Authorization"))
	n := r.inFlight.Add(1)
	defer r.inFlight.Add(-1)
	for {
		m := r.maxInFlight.Load()
		if n <= m || r.maxInFlight.CompareAndSwap(m, n) {
			break
		}
	}

	if d := time.Duration(r.latency.Load()); d > 0 {
		t := time.NewTimer(d)
		select {
		case <-t.C:
		case <-req.Context().Done():
			t.Stop()
			panic(http.ErrAbortHandler) // the client is gone
		case <-r.done:
			t.Stop()
			// Closing: drop the connection rather than answer 200 empty.
			panic(http.ErrAbortHandler)
		}
	}

	if req.Method != http.MethodGet && req.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		writeError(w, http.StatusMethodNotAllowed, "method not allowed")
		return
	}

	r.mu.Lock()
	if r.token != "" && req.Header.Get("Authorization") != "Bearer "+r.token {
		r.mu.Unlock()
		w.Header().Set("WWW-Authenticate", `Bearer realm="registrytest"`)
		writeError(w, http.StatusUnauthorized, "authentication required")
		return
	}
	var fail *failSpec
	if f, ok := lookupPath(r.fails, path); ok && f.left > 0 {
		f.left--
		cp := *f
		fail = &cp
	}
	errRate, errStatus := r.errRate, r.errStatus
	_, html := lookupPath(r.html, path)
	override, hasOverride := lookupPath(r.overrides, path)
	_, trunc := lookupPath(r.truncate, path)
	over, hasOver := lookupPath(r.oversize, path)
	r.mu.Unlock()

	if fail != nil {
		if fail.retryAfter != "" {
			w.Header().Set("Retry-After", fail.retryAfter)
		}
		writeError(w, fail.status, http.StatusText(fail.status))
		return
	}
	if errRate > 0 {
		r.rngMu.Lock()
		hit := r.rng.Float64() < errRate
		r.rngMu.Unlock()
		if hit {
			writeError(w, errStatus, http.StatusText(errStatus))
			return
		}
	}
	if html {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write([]byte(htmlPage))
		return
	}

	handler := r.route
	if hasOverride {
		handler = override
	}
	if !trunc && !hasOver {
		handler(w, req)
		return
	}
	bw := newBufferedWriter()
	handler(bw, req)
	for k, v := range bw.header {
		w.Header()[k] = v
	}
	body := bw.body.Bytes()
	if req.Method == http.MethodHead {
		w.WriteHeader(bw.status)
		return
	}
	if trunc {
		w.Header().Set("Content-Length", fmt.Sprint(len(body)))
		w.WriteHeader(bw.status)
		_, _ = w.Write(body[:len(body)/2])
		return
	}
	w.Header().Del("Content-Length")
	w.WriteHeader(bw.status)
	r.writePadded(w, req, body, over)
}

// writePadded writes body followed by spaces up to n bytes in all.
func (r *Registry) writePadded(w http.ResponseWriter, req *http.Request, body []byte, n int64) {
	if _, err := w.Write(body); err != nil {
		return
	}
	pad := make([]byte, 64<<10)
	for i := range pad {
		pad[i] = ' '
	}
	flusher, _ := w.(http.Flusher)
	for left := n - int64(len(body)); left > 0; {
		select {
		case <-req.Context().Done():
			return
		case <-r.done:
			return
		default:
		}
		chunk := pad
		if int64(len(chunk)) > left {
			chunk = chunk[:left]
		}
		if _, err := w.Write(chunk); err != nil {
			return
		}
		left -= int64(len(chunk))
		if flusher != nil {
			flusher.Flush()
		}
	}
}

func (r *Registry) countRequest(path, auth string) {
	r.statMu.Lock()
	defer r.statMu.Unlock()
	r.requests.Add(1)
	r.perPath[path]++
	if auth != "" {
		r.auth = append(r.auth, auth)
	}
}

func (r *Registry) serveControl(w http.ResponseWriter, req *http.Request) {
	switch {
	case req.URL.Path == controlPrefix+"stats" && (req.Method == http.MethodGet || req.Method == http.MethodHead):
		writeJSON(w, http.StatusOK, "application/json", mustJSON(r.Stats()))
	case req.URL.Path == controlPrefix+"reset" && req.Method == http.MethodPost:
		r.ResetStats()
		writeJSON(w, http.StatusOK, "application/json", mustJSON(r.Stats()))
	default:
		writeError(w, http.StatusNotFound, "Not found")
	}
}

const htmlPage = `<!DOCTYPE html>
<html><head><title>Sign in to continue</title></head>
<body><h1>Network login required</h1><p>Please sign in to access this network.</p></body></html>
`

func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, "application/json", mustJSON(map[string]string{"error": msg}))
}

func writeJSON(w http.ResponseWriter, status int, contentType string, body []byte) {
	w.Header().Set("Content-Type", contentType)
	w.Header().Set("Content-Length", fmt.Sprint(len(body)))
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("registrytest: marshal %T: %v", v, err))
	}
	return b
}

// bufferedWriter collects a response so a body fault can rewrite it.
type bufferedWriter struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func newBufferedWriter() *bufferedWriter {
	return &bufferedWriter{header: http.Header{}, status: http.StatusOK}
}

func (b *bufferedWriter) Header() http.Header { return b.header }
func (b *bufferedWriter) WriteHeader(status int) {
	b.status = status
}
func (b *bufferedWriter) Write(p []byte) (int, error) { return b.body.Write(p) }
