package fetch

import (
	"crypto/sha1"
	"crypto/sha512"
	"crypto/tls"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// fakePkg is one version served by fakeRegistry.
type fakePkg struct {
	name, version    string
	integrity        string // "" = derived from name@version
	shasum           string
	unsigned         bool
	attested         bool
	published        time.Time
	npmUser          string
	trustedPublisher string // "" = none
}

func (p *fakePkg) sri() string {
	if p.integrity != "" {
		return p.integrity
	}
	sum := sha512.Sum512([]byte(p.name + "@" + p.version))
	return "sha512-" + base64.StdEncoding.EncodeToString(sum[:])
}

func (p *fakePkg) sha1hex() string {
	if p.shasum != "" {
		return p.shasum
	}
	sum := sha1.Sum([]byte(p.name + "@" + p.version))
	return hex.EncodeToString(sum[:])
}

type failSpec struct {
	remaining  int
	status     int
	retryAfter string
}

// fakeRegistry is a small npm registry for this package's tests: version
// documents, abbreviated and full packuments, attestations and keys, with
// knobs for latency, failures, stripped signatures, missing endpoints,
// and counters for requests, Authorization headers and requests in flight.
type fakeRegistry struct {
	t      testing.TB
	srv    *httptest.Server
	prefix string // path prefix, e.g. "/api/npm/repo" ("" = root)

	mu                sync.Mutex
	pkgs              map[string]map[string]*fakePkg
	fails             map[string]*failSpec // by escaped path (without prefix)
	override          map[string]http.HandlerFunc
	hits              map[string]int
	auth              []string // "path authorization" of every request
	latency           time.Duration
	noVersionEndpoint int // status for version paths, 0 = served
	stripSignatures   bool
	noKeys            bool
	padVersions       int // extra versions in packuments

	requests, inFlight, maxInFlight atomic.Int64
}

type fakeOpt func(*fakeRegistry)

func withPrefix(p string) fakeOpt { return func(f *fakeRegistry) { f.prefix = p } }
func withTLS() fakeOpt {
	return func(f *fakeRegistry) {
		f.srv = httptest.NewUnstartedServer(nil)
		f.srv.Config.ErrorLog = log.New(io.Discard, "", 0) // expected handshake failures
	}
}

// withTLSCert serves HTTPS, HTTP/2 included, with cert.
func withTLSCert(cert tls.Certificate) fakeOpt {
	return func(f *fakeRegistry) {
		withTLS()(f)
		f.srv.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
		f.srv.EnableHTTP2 = true
	}
}

func newFakeRegistry(t testing.TB, opts ...fakeOpt) *fakeRegistry {
	t.Helper()
	f := &fakeRegistry{
		t: t, pkgs: map[string]map[string]*fakePkg{}, fails: map[string]*failSpec{},
		override: map[string]http.HandlerFunc{}, hits: map[string]int{},
	}
	for _, o := range opts {
		o(f)
	}
	if f.srv != nil {
		f.srv.Config.Handler = http.HandlerFunc(f.serve)
		f.srv.StartTLS()
	} else {
		f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	}
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeRegistry) URL() string { return f.srv.URL + f.prefix + "/" }

func (f *fakeRegistry) add(pkgs ...*fakePkg) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, p := range pkgs {
		if f.pkgs[p.name] == nil {
			f.pkgs[p.name] = map[string]*fakePkg{}
		}
		if p.published.IsZero() {
			p.published = time.Date(2023, 5, 1, 12, 0, 0, 0, time.UTC)
		}
		f.pkgs[p.name][p.version] = p
	}
}

// fail makes the next n requests for path (escaped, without prefix) answer
// status, with a Retry-After header when retryAfter != "".
func (f *fakeRegistry) fail(path string, n, status int, retryAfter string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.fails[path] = &failSpec{remaining: n, status: status, retryAfter: retryAfter}
}

func (f *fakeRegistry) handle(path string, h http.HandlerFunc) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.override[path] = h
}

func (f *fakeRegistry) set(fn func(f *fakeRegistry)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fn(f)
}

func (f *fakeRegistry) hitsFor(path string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.hits[path]
}

func (f *fakeRegistry) authSeen() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.auth...)
}

func (f *fakeRegistry) serve(w http.ResponseWriter, r *http.Request) {
	n := f.inFlight.Add(1)
	defer f.inFlight.Add(-1)
	for {
		m := f.maxInFlight.Load()
		if n <= m || f.maxInFlight.CompareAndSwap(m, n) {
			break
		}
	}
	f.requests.Add(1)
	path := strings.TrimPrefix(r.URL.EscapedPath(), f.prefix)

	f.mu.Lock()
	f.hits[path]++
	f.auth = append(f.auth, path+" "+r.Header.Get("Authorization"))
	latency := f.latency
	h := f.override[path]
	var fs failSpec
	if spec := f.fails[path]; spec != nil && spec.remaining > 0 {
		spec.remaining--
		fs = *spec
	}
	f.mu.Unlock()

	if latency > 0 {
		time.Sleep(latency)
	}
	if h != nil {
		h(w, r)
		return
	}
	if fs.status != 0 {
		if fs.retryAfter != "" {
			w.Header().Set("Retry-After", fs.retryAfter)
		}
		http.Error(w, "injected failure", fs.status)
		return
	}
	if !strings.HasPrefix(r.URL.EscapedPath(), f.prefix+"/") {
		http.NotFound(w, r)
		return
	}
	f.route(w, r, path)
}

func (f *fakeRegistry) route(w http.ResponseWriter, r *http.Request, path string) {
	switch {
	case path == "/-/npm/v1/keys":
		if locked(f, func() bool { return f.noKeys }) {
			http.NotFound(w, r)
			return
		}
		writeJSON(w, map[string]any{"keys": []any{map[string]any{"keyid": "SHA256:test", "key": "MFkw"}}})
		return
	case strings.HasPrefix(path, "/-/npm/v1/attestations/"):
		spec, _ := url.PathUnescape(strings.TrimPrefix(path, "/-/npm/v1/attestations/"))
		i := strings.LastIndexByte(spec, '@')
		if i <= 0 {
			http.NotFound(w, r)
			return
		}
		p := f.lookup(spec[:i], spec[i+1:])
		if p == nil || !p.attested {
			http.NotFound(w, r)
			return
		}
		writeJSON(w, map[string]any{"attestations": []any{map[string]any{"predicateType": "https://slsa.dev/provenance/v1", "bundle": map[string]any{"for": spec}}}})
		return
	}
	segs := strings.Split(strings.TrimPrefix(path, "/"), "/")
	name, err := url.PathUnescape(segs[0])
	if err != nil {
		http.NotFound(w, r)
		return
	}
	switch len(segs) {
	case 1:
		f.mu.Lock()
		versions := f.pkgs[name]
		f.mu.Unlock()
		if versions == nil {
			http.NotFound(w, r)
			return
		}
		corgi := strings.Contains(r.Header.Get("Accept"), "application/vnd.npm.install-v1+json")
		writeJSON(w, f.packument(name, versions, corgi))
	case 2:
		if st := locked(f, func() int { return f.noVersionEndpoint }); st != 0 {
			http.Error(w, "no version endpoint", st)
			return
		}
		p := f.lookup(name, segs[1])
		if p == nil {
			http.NotFound(w, r)
			return
		}
		writeJSON(w, f.versionDoc(p, locked(f, func() bool { return f.stripSignatures }), false))
	default:
		http.NotFound(w, r)
	}
}

// locked reads fields of f under its lock.
func locked[T any](f *fakeRegistry, fn func() T) T {
	f.mu.Lock()
	defer f.mu.Unlock()
	return fn()
}

func (f *fakeRegistry) lookup(name, version string) *fakePkg {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.pkgs[name][version]
}

func (f *fakeRegistry) versionDoc(p *fakePkg, strip, full bool) map[string]any {
	dist := map[string]any{
		"integrity": p.sri(),
		"shasum":    p.sha1hex(),
		"tarball":   f.URL() + p.name + "/-/" + p.name[strings.LastIndexByte(p.name, '/')+1:] + "-" + p.version + ".tgz",
	}
	if !p.unsigned && !strip {
		dist["signatures"] = []any{map[string]any{"keyid": "SHA256:test", "sig": "MEUCIQ" + strconv.Itoa(len(p.name))}}
	}
	if p.attested {
		dist["attestations"] = map[string]any{
			"url":        "https://elsewhere.invalid/-/npm/v1/attestations/" + strings.Replace(p.name, "/", "%2f", 1) + "@" + p.version,
			"provenance": map[string]any{"predicateType": "https://slsa.dev/provenance/v1"},
		}
	}
	doc := map[string]any{"name": p.name, "version": p.version, "dist": dist, "description": "a package"}
	if full {
		u := map[string]any{"name": p.npmUser, "email": "x@example.invalid"}
		if p.npmUser == "" {
			u["name"] = "someone"
		}
		if p.trustedPublisher != "" {
			u["trustedPublisher"] = map[string]any{"id": p.trustedPublisher, "oidcConfigId": "oidc:1"}
		}
		doc["_npmUser"] = u
		doc["readme"] = strings.Repeat("readme text ", 20)
	}
	return doc
}

func (f *fakeRegistry) packument(name string, versions map[string]*fakePkg, corgi bool) map[string]any {
	f.mu.Lock()
	pad := f.padVersions
	f.mu.Unlock()
	vs := map[string]any{}
	times := map[string]any{"created": "2020-01-01T00:00:00.000Z", "modified": "2024-01-01T00:00:00.000Z"}
	for i := 0; i < pad; i++ {
		p := &fakePkg{name: name, version: fmt.Sprintf("0.0.%d", i), published: time.Date(2020, 1, 1, 0, 0, i, 0, time.UTC)}
		vs[p.version] = f.versionDoc(p, false, !corgi)
		times[p.version] = p.published.Format(time.RFC3339Nano)
	}
	for v, p := range versions {
		vs[v] = f.versionDoc(p, false, !corgi) // a stripping proxy strips version documents only
		times[v] = p.published.Format("2006-01-02T15:04:05.000Z07:00")
	}
	doc := map[string]any{"name": name, "versions": vs, "dist-tags": map[string]any{"latest": "1.0.0"}}
	if !corgi {
		doc["time"] = times
		doc["readme"] = strings.Repeat("long readme ", 100)
	}
	return doc
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

// testConfig loads a Config for registry with extra npmrc text in a
// project directory (and an empty HOME).
func testConfig(t testing.TB, registry, npmrc string, env ...string) *Config {
	t.Helper()
	dir := t.TempDir()
	if npmrc != "" {
		if err := os.WriteFile(filepath.Join(dir, ".npmrc"), []byte(npmrc), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	home := t.TempDir()
	cfg, err := LoadConfig(ConfigOptions{ProjectDir: dir, Registry: registry, Env: append([]string{"HOME=" + home}, env...)})
	if err != nil {
		t.Fatalf("LoadConfig: %v", err)
	}
	return cfg
}

// testClient returns a Client with a private cache directory and fast
// retries; it is closed at cleanup.
func testClient(t testing.TB, cfg *Config, opts Options) *Client {
	t.Helper()
	if opts.CacheDir == "" && !opts.NoCache {
		opts.CacheDir = t.TempDir()
	}
	if opts.RetryBackoff == 0 {
		opts.RetryBackoff = time.Millisecond
	}
	c, err := NewClient(cfg, opts)
	if err != nil {
		t.Fatalf("NewClient: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// checkGoroutines fails the test if goroutines started during it are still
// running shortly after its cleanups (servers and clients closed). Call it
// first in a test so that its cleanup runs last.
func checkGoroutines(t *testing.T) {
	t.Helper()
	before := runtime.NumGoroutine()
	t.Cleanup(func() {
		deadline := time.Now().Add(5 * time.Second)
		for {
			n := runtime.NumGoroutine()
			if n <= before {
				return
			}
			if time.Now().After(deadline) {
				buf := make([]byte, 1<<20)
				buf = buf[:runtime.Stack(buf, true)]
				t.Errorf("goroutine leak: %d goroutines, %d before the test\n%s", n, before, buf)
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
	})
}

// failTransport fails the test if any request is attempted.
type failTransport struct{ t testing.TB }

func (f failTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	f.t.Errorf("network access in offline mode: %s %s", r.Method, r.URL.Redacted())
	return nil, fmt.Errorf("network forbidden")
}
