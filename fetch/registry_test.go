package fetch

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/provaudit/provaudit/internal/registrytest"
)

// newRT starts the shared fake registry (internal/registrytest).
func newRT(t testing.TB, pkgs ...registrytest.Package) *registrytest.Registry {
	t.Helper()
	r := registrytest.New(registrytest.Options{Now: time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)})
	t.Cleanup(r.Close)
	if err := r.Add(pkgs...); err != nil {
		t.Fatal(err)
	}
	return r
}

var published = time.Date(2024, 3, 5, 6, 7, 8, 9e6, time.UTC)

func TestManifest(t *testing.T) {
	checkGoroutines(t)
	r := newRT(t,
		registrytest.Package{Name: "@scope/pkg", Version: "1.2.3", Signed: true, Attested: true},
		registrytest.Package{Name: "plain", Version: "0.1.0", Signed: true},
		registrytest.Package{Name: "unsigned", Version: "2.0.0"},
	)
	c := testClient(t, testConfig(t, r.URL(), ""), Options{})
	ctx := context.Background()

	m, err := c.Manifest(ctx, "@scope/pkg", "1.2.3", "")
	if err != nil {
		t.Fatalf("Manifest: %v", err)
	}
	if m.Name != "@scope/pkg" || m.Version != "1.2.3" || !strings.HasPrefix(m.Integrity, "sha512-") || m.Registry != r.URL() ||
		len(m.Signatures) != 1 || m.Signatures[0].KeyID == "" || m.Signatures[0].Sig == "" ||
		m.Attestations == nil || m.Attestations.URL == "" || m.Attestations.PredicateType == "" || m.Abbreviated || m.FromCache {
		t.Errorf("unexpected manifest %+v (attestations %+v)", m, m.Attestations)
	}
	if n := r.RequestsFor("/@scope/pkg/1.2.3"); n != 1 {
		t.Errorf("version document requests = %d, want 1", n)
	}

	m, err = c.Manifest(ctx, "plain", "0.1.0", "")
	if err != nil || len(m.Signatures) != 1 || m.Attestations != nil {
		t.Fatalf("plain: %+v, %v", m, err)
	}

	// an unsigned version: the packument is consulted once (it might be a
	// stripping proxy) and agrees there is no signature
	m, err = c.Manifest(ctx, "unsigned", "2.0.0", "")
	if err != nil || m.Signatures != nil || m.Abbreviated {
		t.Fatalf("unsigned: %+v, %v", m, err)
	}
	if n := r.RequestsFor("/unsigned"); n != 2 {
		t.Errorf("unsigned: %d requests, want version document + abbreviated packument", n)
	}

	_, err = c.Manifest(ctx, "plain", "9.9.9", "")
	if !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), "plain@9.9.9") {
		t.Errorf("missing version: %v, want ErrNotFound naming it", err)
	}
	_, err = c.Manifest(ctx, "no-such-package", "1.0.0", "")
	if !errors.Is(err, ErrNotFound) {
		t.Errorf("missing package: %v, want ErrNotFound", err)
	}
}

// TestEscapingAndPathPrefix checks the exact request paths: scoped names as
// @scope%2fname and a registry under a path prefix.
func TestEscapingAndPathPrefix(t *testing.T) {
	checkGoroutines(t)
	f := newFakeRegistry(t, withPrefix("/api/npm/repo"))
	f.add(&fakePkg{name: "@s/p", version: "1.0.0", attested: true}, &fakePkg{name: "q", version: "1.0.0-beta.1+build.5"})
	c := testClient(t, testConfig(t, f.URL(), ""), Options{NoCache: true})
	ctx := context.Background()
	m, err := c.Manifest(ctx, "@s/p", "1.0.0", "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Attestations(ctx, m); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Manifest(ctx, "q", "1.0.0-beta.1+build.5", ""); err != nil {
		t.Fatal(err)
	}
	if _, err := c.PublishInfo(ctx, "@s/p", "1.0.0"); err != nil {
		t.Fatal(err)
	}
	var paths []string
	for _, a := range f.authSeen() {
		paths = append(paths, strings.TrimSuffix(a, " "))
	}
	want := []string{"/@s%2fp/1.0.0", "/-/npm/v1/attestations/@s%2fp@1.0.0", "/q/1.0.0-beta.1+build.5", "/@s%2fp"}
	if fmt.Sprint(paths) != fmt.Sprint(want) {
		t.Errorf("request paths (under the prefix) = %q, want %q", paths, want)
	}
}

func TestManifestCache(t *testing.T) {
	checkGoroutines(t)
	r := newRT(t, registrytest.Package{Name: "cached", Version: "1.0.0", Signed: true})
	cfg := testConfig(t, r.URL(), "")
	dir := t.TempDir()
	c := testClient(t, cfg, Options{CacheDir: dir})
	ctx := context.Background()

	m1, err := c.Manifest(ctx, "cached", "1.0.0", "")
	if err != nil {
		t.Fatal(err)
	}
	lockSRI := m1.Integrity
	m2, err := c.Manifest(ctx, "cached", "1.0.0", lockSRI)
	if err != nil {
		t.Fatal(err)
	}
	if !m2.FromCache || r.Requests() != 1 {
		t.Errorf("second call: FromCache %v, %d requests; want a cache hit", m2.FromCache, r.Requests())
	}
	m2.FromCache = false
	if fmt.Sprint(m1) != fmt.Sprint(m2) {
		t.Errorf("cached manifest differs:\n%+v\n%+v", m1, m2)
	}
	if s := c.Stats(); s.CacheHits != 1 || s.CacheMisses != 1 || s.Requests != 1 {
		t.Errorf("stats %+v", s)
	}

	// a lockfile integrity that contradicts the cached entry: refetch
	other := "sha512-" + strings.Repeat("A", 86) + "=="
	m3, err := c.Manifest(ctx, "cached", "1.0.0", other)
	if err != nil {
		t.Fatal(err)
	}
	if m3.FromCache || r.Requests() != 2 {
		t.Errorf("integrity mismatch: FromCache %v after %d requests; want a refetch", m3.FromCache, r.Requests())
	}

	// a second client on the same directory (another run) hits
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	c2 := testClient(t, cfg, Options{CacheDir: dir, Transport: failTransport{t}})
	if m, err := c2.Manifest(ctx, "cached", "1.0.0", lockSRI); err != nil || !m.FromCache {
		t.Fatalf("second run: %+v, %v", m, err)
	}

	// corrupt every entry: each is detected and refetched
	corruptAll(t, dir)
	m4, err := c.Manifest(ctx, "cached", "1.0.0", lockSRI)
	if err != nil {
		t.Fatal(err)
	}
	if m4.FromCache || r.Requests() != 3 {
		t.Errorf("corrupted entry: FromCache %v after %d requests; want a refetch", m4.FromCache, r.Requests())
	}
	if m, err := c.Manifest(ctx, "cached", "1.0.0", lockSRI); err != nil || !m.FromCache {
		t.Errorf("the refetch was not cached again: %+v, %v", m, err)
	}
}

// corruptAll flips one byte in the data part of every cache file.
func corruptAll(t *testing.T, dir string) {
	t.Helper()
	n := 0
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		data[len(data)-2] ^= 0x20
		n++
		return os.WriteFile(p, data, 0o600)
	})
	if err != nil || n == 0 {
		t.Fatalf("corrupting %d cache files: %v", n, err)
	}
}

func TestNoCache(t *testing.T) {
	checkGoroutines(t)
	r := newRT(t, registrytest.Package{Name: "nc", Version: "1.0.0", Signed: true})
	c := testClient(t, testConfig(t, r.URL(), ""), Options{NoCache: true})
	for range 2 {
		if m, err := c.Manifest(context.Background(), "nc", "1.0.0", ""); err != nil || m.FromCache {
			t.Fatalf("%+v, %v", m, err)
		}
	}
	if r.Requests() != 2 {
		t.Errorf("%d requests, want 2 (no cache)", r.Requests())
	}
	if s := c.Stats(); s.CacheHits != 0 || s.CacheMisses != 0 {
		t.Errorf("stats %+v: a disabled cache counts nothing", s)
	}
	if c.Cache() == nil || c.Cache().Dir() != "" {
		t.Errorf("Cache() = %v, want a disabled cache", c.Cache())
	}
	if err := c.Cache().Put("k", []byte("v")); err != nil {
		t.Error(err)
	}
	if _, ok := c.Cache().Get("k"); ok {
		t.Error("disabled cache returned data")
	}
}

func TestAbbreviatedFallback(t *testing.T) {
	checkGoroutines(t)
	pkg := registrytest.Package{Name: "@fb/pkg", Version: "3.0.0", Signed: true, Attested: true, Versions: 20}
	tests := []struct {
		name         string
		setup        func(r *registrytest.Registry, c *Client)
		wantAbbrev   bool
		wantSigs     bool
		wantRequests int64
	}{
		{"no version endpoint", func(r *registrytest.Registry, c *Client) { r.SetNoVersionEndpoint(true) }, true, true, 2},
		{"405", func(r *registrytest.Registry, c *Client) {
			r.Fail("/@fb/pkg/3.0.0", 1, http.StatusMethodNotAllowed, "")
		}, true, true, 2},
		{"501", func(r *registrytest.Registry, c *Client) { r.Fail("/@fb/pkg/3.0.0", 1, http.StatusNotImplemented, "") }, true, true, 2},
		{"stripped signatures", func(r *registrytest.Registry, c *Client) { r.SetStripSignatures(true) }, true, true, 2},
		{"keyless registry: no fallback", func(r *registrytest.Registry, c *Client) {
			r.SetStripSignatures(true)
			r.SetNoKeys(true)
			if _, err := c.RegistryKeys(context.Background(), r.URL()); !errors.Is(err, ErrNoKeys) {
				t.Fatalf("RegistryKeys: %v", err)
			}
			r.ResetStats()
		}, false, false, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRT(t, pkg)
			c := testClient(t, testConfig(t, r.URL(), ""), Options{NoCache: true})
			tt.setup(r, c)
			m, err := c.Manifest(context.Background(), pkg.Name, pkg.Version, "")
			if err != nil {
				t.Fatalf("Manifest: %v", err)
			}
			if m.Abbreviated != tt.wantAbbrev || (len(m.Signatures) > 0) != tt.wantSigs || m.Attestations == nil {
				t.Errorf("Abbreviated %v, signatures %v, attestations %+v", m.Abbreviated, m.Signatures, m.Attestations)
			}
			if got := r.Requests(); got != tt.wantRequests {
				t.Errorf("%d requests, want %d", got, tt.wantRequests)
			}
		})
	}

	t.Run("version missing from the packument too", func(t *testing.T) {
		r := newRT(t, pkg)
		r.SetNoVersionEndpoint(true)
		c := testClient(t, testConfig(t, r.URL(), ""), Options{NoCache: true})
		_, err := c.Manifest(context.Background(), pkg.Name, "9.0.0", "")
		if !errors.Is(err, ErrNotFound) {
			t.Errorf("err = %v, want ErrNotFound", err)
		}
	})
	t.Run("abbreviated packument for another name", func(t *testing.T) {
		r := newRT(t, pkg)
		r.SetNoVersionEndpoint(true)
		r.Handle("/@fb/pkg", func(w http.ResponseWriter, _ *http.Request) {
			fmt.Fprint(w, `{"name":"@fb/other","versions":{}}`)
		})
		c := testClient(t, testConfig(t, r.URL(), ""), Options{NoCache: true})
		_, err := c.Manifest(context.Background(), pkg.Name, pkg.Version, "")
		if !errors.Is(err, ErrMalformed) {
			t.Errorf("err = %v, want ErrMalformed", err)
		}
	})
}

func TestMalformedResponses(t *testing.T) {
	checkGoroutines(t)
	r := newRT(t, registrytest.Package{Name: "m", Version: "1.0.0", Signed: true})
	c := testClient(t, testConfig(t, r.URL(), ""), Options{NoCache: true, Retries: 2})
	tests := []struct {
		name string
		body string
		want error
	}{
		{"not JSON", "Service temporarily unavailable", ErrMalformed},
		{"wrong name", `{"name":"evil","version":"1.0.0","dist":{"integrity":"sha512-x"}}`, ErrMalformed},
		{"wrong version", `{"name":"m","version":"1.0.1","dist":{"integrity":"sha512-x"}}`, ErrMalformed},
		{"no dist", `{"name":"m","version":"1.0.0"}`, ErrMalformed},
		{"empty dist", `{"name":"m","version":"1.0.0","dist":{}}`, ErrMalformed},
		{"signatures not a list", `{"name":"m","version":"1.0.0","dist":{"integrity":"x","signatures":{}}}`, ErrMalformed},
		{"attestations without url", `{"name":"m","version":"1.0.0","dist":{"integrity":"x","signatures":[{"keyid":"k","sig":"s"}],"attestations":{}}}`, ErrMalformed},
		{"duplicate name", `{"name":"m","name":"m","version":"1.0.0","dist":{"integrity":"x"}}`, ErrMalformed},
		{"array", `[]`, ErrMalformed},
		{"trailing data", `{"name":"m","version":"1.0.0","dist":{"integrity":"x","signatures":[{"keyid":"k","sig":"s"}]}} {}`, ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r.ResetStats()
			r.Handle("/m/1.0.0", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprint(w, tt.body) })
			_, err := c.Manifest(context.Background(), "m", "1.0.0", "")
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			if !strings.Contains(err.Error(), "m@1.0.0") || !strings.Contains(err.Error(), r.URL()+"m/1.0.0") {
				t.Errorf("err %q does not name the package and URL", err)
			}
			if n := r.RequestsFor("/m/1.0.0"); n != 1 {
				t.Errorf("malformed content was retried (%d requests)", n)
			}
		})
	}

	t.Run("HTML page", func(t *testing.T) {
		r.ClearFaults()
		r.SetHTML("/m/1.0.0")
		_, err := c.Manifest(context.Background(), "m", "1.0.0", "")
		if !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), "HTML") {
			t.Fatalf("err = %v, want ErrMalformed saying HTML", err)
		}
		if strings.Contains(err.Error(), "<") {
			t.Errorf("error quotes the page: %q", err)
		}
	})
	t.Run("truncated body retried then reported", func(t *testing.T) {
		r.ClearFaults()
		r.ResetStats()
		r.Truncate("/m/1.0.0")
		_, err := c.Manifest(context.Background(), "m", "1.0.0", "")
		if err == nil || !strings.Contains(err.Error(), "reading the body") || !strings.Contains(err.Error(), "after 3 attempts") {
			t.Fatalf("err = %v", err)
		}
		if n := r.RequestsFor("/m/1.0.0"); n != 3 {
			t.Errorf("%d requests, want 3", n)
		}
	})
	t.Run("oversized", func(t *testing.T) {
		r.ClearFaults()
		r.Oversize("/m/1.0.0", maxVersionDoc+10)
		_, err := c.Manifest(context.Background(), "m", "1.0.0", "")
		if !errors.Is(err, ErrTooLarge) {
			t.Fatalf("err = %v, want ErrTooLarge", err)
		}
	})
}

func TestErrorRate(t *testing.T) {
	checkGoroutines(t)
	var pkgs []registrytest.Package
	for i := range 100 {
		pkgs = append(pkgs, registrytest.Package{Name: fmt.Sprintf("e%d", i), Version: "1.0.0", Signed: true})
	}
	r := newRT(t, pkgs...)
	r.SetErrorRate(0.2, http.StatusServiceUnavailable)
	c := testClient(t, testConfig(t, r.URL(), ""), Options{NoCache: true, Retries: 8, Concurrency: 8})
	errs := make(chan error, len(pkgs))
	for _, p := range pkgs {
		go func() {
			_, err := c.Manifest(context.Background(), p.Name, p.Version, "")
			errs <- err
		}()
	}
	for range pkgs {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
	if s := c.Stats(); s.Retries == 0 || s.Requests != int64(len(pkgs))+s.Retries {
		t.Errorf("stats %+v: want retries, requests = packages + retries", s)
	}
}

func TestOffline(t *testing.T) {
	checkGoroutines(t)
	r := newRT(t,
		registrytest.Package{Name: "@o/warm", Version: "1.0.0", Signed: true, Attested: true, PublishTime: published, NpmUser: "alice"},
		registrytest.Package{Name: "cold", Version: "1.0.0", Signed: true, Attested: true},
	)
	cfg := testConfig(t, r.URL(), "")
	dir := t.TempDir()
	ctx := context.Background()
	secret := bytes.Repeat([]byte{1}, SecretSize)
	online := testClient(t, cfg, Options{CacheDir: dir, CacheSecret: secret})
	m, err := online.Manifest(ctx, "@o/warm", "1.0.0", "")
	if err != nil {
		t.Fatal(err)
	}
	att, err := online.Attestations(ctx, m)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := online.PublishInfo(ctx, "@o/warm", "1.0.0"); err != nil {
		t.Fatal(err)
	}
	keys, err := online.RegistryKeys(ctx, r.URL())
	if err != nil {
		t.Fatal(err)
	}
	// age the keys entry beyond KeysMaxAge: offline uses it anyway
	ageKeys(t, online.Cache(), r.URL(), 48*time.Hour)
	if err := online.Close(); err != nil {
		t.Fatal(err)
	}

	off := testClient(t, cfg, Options{CacheDir: dir, Offline: true, CacheSecret: secret, Transport: failTransport{t}})
	om, err := off.Manifest(ctx, "@o/warm", "1.0.0", m.Integrity)
	if err != nil || !om.FromCache {
		t.Fatalf("offline Manifest: %+v, %v", om, err)
	}
	if oatt, err := off.Attestations(ctx, om); err != nil || !bytes.Equal(oatt, att) {
		t.Fatalf("offline Attestations: %v", err)
	}
	if pi, err := off.PublishInfo(ctx, "@o/warm", "1.0.0"); err != nil || !pi.Time.Equal(published) || pi.NpmUser != "alice" {
		t.Fatalf("offline PublishInfo: %+v, %v", pi, err)
	}
	if okeys, err := off.RegistryKeys(ctx, r.URL()); err != nil || !bytes.Equal(okeys, keys) {
		t.Fatalf("offline RegistryKeys: %v", err)
	}

	// misses: ErrNotInCache, "not in cache", naming what is missing
	_, err1 := off.Manifest(ctx, "cold", "1.0.0", "")
	_, err2 := off.Attestations(ctx, &Manifest{Name: "cold", Version: "1.0.0", Registry: r.URL(), Attestations: &AttestationRef{URL: "u"}})
	_, err3 := off.PublishInfo(ctx, "cold", "1.0.0")
	_, err4 := off.RegistryKeys(ctx, "http://127.0.0.1:1/other/")
	for i, err := range []error{err1, err2, err3, err4} {
		if !errors.Is(err, ErrNotInCache) || !strings.Contains(err.Error(), "not in cache") {
			t.Errorf("miss %d: err = %v, want ErrNotInCache", i+1, err)
		}
	}
	for _, err := range []error{err1, err2, err3} {
		if !strings.Contains(err.Error(), "cold@1.0.0") {
			t.Errorf("err %q does not name the package", err)
		}
	}
	// Offline, a cached manifest contradicting the lockfile is what there
	// is: returned as served, for verification to report the mismatch.
	if cm, err := off.Manifest(ctx, "@o/warm", "1.0.0", "sha512-"+strings.Repeat("B", 85)+"A=="); err != nil || cm.Integrity != m.Integrity || !cm.FromCache {
		t.Errorf("integrity mismatch offline: %+v, %v; want the cached manifest", cm, err)
	}

	// What is derived from verification (the key list, publish facts) is
	// sealed: under another user's secret it is not there.
	other := testClient(t, cfg, Options{CacheDir: dir, Offline: true, CacheSecret: bytes.Repeat([]byte{2}, SecretSize), Transport: failTransport{t}})
	if _, err := other.RegistryKeys(ctx, r.URL()); !errors.Is(err, ErrNotInCache) {
		t.Errorf("keys under another secret: %v, want ErrNotInCache", err)
	}
	if _, err := other.PublishInfo(ctx, "@o/warm", "1.0.0"); !errors.Is(err, ErrNotInCache) {
		t.Errorf("publish info under another secret: %v, want ErrNotInCache", err)
	}
	// Raw registry responses are not sealed: verification judges them.
	if _, err := other.Manifest(ctx, "@o/warm", "1.0.0", m.Integrity); err != nil {
		t.Errorf("manifest under another secret: %v", err)
	}
}

// ageKeys rewrites the cached keys entry of registry as fetched age ago.
func ageKeys(t *testing.T, c *Cache, registry string, age time.Duration) {
	t.Helper()
	key := "fetch/keys\n" + registry
	data, ok := c.GetSealed(key)
	if !ok {
		t.Fatal("no cached keys")
	}
	var e keysEntry
	if err := json.Unmarshal(data, &e); err != nil {
		t.Fatal(err)
	}
	e.Fetched = time.Now().Add(-age)
	data, err := json.Marshal(e)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.PutSealed(key, data); err != nil {
		t.Fatal(err)
	}
}

func TestRegistryKeys(t *testing.T) {
	checkGoroutines(t)
	r := newRT(t)
	c := testClient(t, testConfig(t, r.URL(), ""), Options{})
	ctx := context.Background()
	body, err := c.RegistryKeys(ctx, strings.TrimSuffix(r.URL(), "/"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(body, r.Sigstore().NpmKeys()) {
		t.Errorf("body differs from the served keys")
	}
	if _, err := c.RegistryKeys(ctx, r.URL()); err != nil || r.Requests() != 1 {
		t.Errorf("second call: %v, %d requests; want a cache hit", err, r.Requests())
	}
	ageKeys(t, c.Cache(), r.URL(), KeysMaxAge+time.Minute)
	if _, err := c.RegistryKeys(ctx, r.URL()); err != nil || r.Requests() != 2 {
		t.Errorf("stale entry: %v, %d requests; want a refetch", err, r.Requests())
	}

	for _, status := range []int{http.StatusNotFound, http.StatusBadRequest} {
		r2 := newRT(t)
		r2.Fail("/-/npm/v1/keys", 1, status, "")
		c2 := testClient(t, testConfig(t, r2.URL(), ""), Options{})
		body, err := c2.RegistryKeys(ctx, r2.URL())
		if body != nil || !errors.Is(err, ErrNoKeys) {
			t.Errorf("%d: body %q, err %v; want ErrNoKeys", status, body, err)
		}
		if !c2.keyless(r2.URL()) {
			t.Errorf("%d: registry not remembered as keyless", status)
		}
		// the answer is cached too
		if _, err := c2.RegistryKeys(ctx, r2.URL()); !errors.Is(err, ErrNoKeys) || r2.Requests() != 1 {
			t.Errorf("%d: second call %v after %d requests", status, err, r2.Requests())
		}
	}

	r3 := newRT(t)
	c3 := testClient(t, testConfig(t, r3.URL(), ""), Options{})
	for _, body := range []string{`{"nokeys":[]}`, `not json`, `{"keys":{}}`} {
		r3.Handle("/-/npm/v1/keys", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprint(w, body) })
		if _, err := c3.RegistryKeys(ctx, r3.URL()); !errors.Is(err, ErrMalformed) {
			t.Errorf("body %q: err %v, want ErrMalformed", body, err)
		}
	}
	if _, err := c3.RegistryKeys(ctx, "ftp://x.invalid/"); !errors.Is(err, ErrConfig) {
		t.Errorf("bad registry URL: %v", err)
	}
}

func TestAttestations(t *testing.T) {
	checkGoroutines(t)
	r := newRT(t, registrytest.Package{Name: "@a/att", Version: "1.0.0", Signed: true, Attested: true})
	c := testClient(t, testConfig(t, r.URL(), ""), Options{})
	ctx := context.Background()
	m, err := c.Manifest(ctx, "@a/att", "1.0.0", "")
	if err != nil {
		t.Fatal(err)
	}
	body, err := c.Attestations(ctx, m)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Attestations []struct {
			PredicateType string          `json:"predicateType"`
			Bundle        json.RawMessage `json:"bundle"`
		} `json:"attestations"`
	}
	if err := json.Unmarshal(body, &doc); err != nil || len(doc.Attestations) != 2 {
		t.Fatalf("body: %v, %d attestations", err, len(doc.Attestations))
	}
	before := r.Requests()
	if again, err := c.Attestations(ctx, m); err != nil || !bytes.Equal(again, body) || r.Requests() != before {
		t.Errorf("second call: %v, %d new requests; want a cache hit", err, r.Requests()-before)
	}

	if _, err := c.Attestations(ctx, &Manifest{Name: "x", Version: "1.0.0"}); !errors.Is(err, ErrNoAttestations) {
		t.Errorf("no dist.attestations: %v", err)
	}
	if _, err := c.Attestations(ctx, nil); !errors.Is(err, ErrInvalidSpec) {
		t.Errorf("nil manifest: %v", err)
	}
	missing := &Manifest{Name: "gone", Version: "1.0.0", Registry: r.URL(), Attestations: &AttestationRef{URL: r.URL()}}
	if _, err := c.Attestations(ctx, missing); !errors.Is(err, ErrNotFound) {
		t.Errorf("404: %v, want ErrNotFound", err)
	}
	r.Handle("/-/npm/v1/attestations/bad@1.0.0", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprint(w, `{"bundles":[]}`) })
	bad := &Manifest{Name: "bad", Version: "1.0.0", Registry: r.URL(), Attestations: &AttestationRef{URL: "u"}}
	if _, err := c.Attestations(ctx, bad); !errors.Is(err, ErrMalformed) {
		t.Errorf("wrong shape: %v, want ErrMalformed", err)
	}
	r.Oversize("/-/npm/v1/attestations/@a/att@1.0.0", maxAttestations+1)
	fresh := testClient(t, testConfig(t, r.URL(), ""), Options{NoCache: true})
	if _, err := fresh.Attestations(ctx, m); !errors.Is(err, ErrTooLarge) {
		t.Errorf("oversized: %v, want ErrTooLarge", err)
	}
}

// TestAttestationsStayOnRegistry: dist.attestations.url pointing elsewhere
// is not followed; the body comes from the registry that served the version.
func TestAttestationsStayOnRegistry(t *testing.T) {
	checkGoroutines(t)
	f := newFakeRegistry(t)
	f.add(&fakePkg{name: "@x/y", version: "1.0.0", attested: true})
	hostport := strings.TrimPrefix(f.srv.URL, "http://")
	c := testClient(t, testConfig(t, f.URL(), "//"+hostport+"/:_authToken="+testToken+"\n"), Options{NoCache: true})
	m, err := c.Manifest(context.Background(), "@x/y", "1.0.0", "")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(m.Attestations.URL, "https://elsewhere.invalid/") {
		t.Fatalf("fixture: attestation URL %q", m.Attestations.URL)
	}
	if _, err := c.Attestations(context.Background(), m); err != nil {
		t.Fatalf("Attestations: %v", err)
	}
	if n := f.hitsFor("/-/npm/v1/attestations/@x%2fy@1.0.0"); n != 1 {
		t.Errorf("registry attestation requests = %d, want 1", n)
	}
}

func TestPublishInfo(t *testing.T) {
	checkGoroutines(t)
	r := newRT(t,
		registrytest.Package{Name: "@p/pub", Version: "2.1.0", Signed: true, PublishTime: published, NpmUser: "bob", Versions: 300},
		registrytest.Package{Name: "@p/pub", Version: "2.2.0", Signed: true, PublishTime: published.Add(time.Hour), TrustedPublisher: "github"},
	)
	c := testClient(t, testConfig(t, r.URL(), ""), Options{})
	ctx := context.Background()
	pi, err := c.PublishInfo(ctx, "@p/pub", "2.1.0")
	if err != nil {
		t.Fatal(err)
	}
	if !pi.Time.Equal(published) || pi.NpmUser != "bob" || pi.TrustedPublisher != "" {
		t.Errorf("2.1.0: %+v", pi)
	}
	pi, err = c.PublishInfo(ctx, "@p/pub", "2.2.0")
	if err != nil {
		t.Fatal(err)
	}
	if !pi.Time.Equal(published.Add(time.Hour)) || pi.NpmUser != "GitHub Actions" || pi.TrustedPublisher != "github" {
		t.Errorf("2.2.0: %+v", pi)
	}
	if r.Requests() != 2 {
		t.Errorf("%d requests, want 2", r.Requests())
	}
	if _, err := c.PublishInfo(ctx, "@p/pub", "2.1.0"); err != nil || r.Requests() != 2 {
		t.Errorf("cached call: %v after %d requests", err, r.Requests())
	}
	if s := c.Stats(); s.BytesRead < 300*1000 {
		t.Errorf("BytesRead = %d for a packument with 300 padding versions", s.BytesRead)
	}
	if _, err := c.PublishInfo(ctx, "@p/pub", "7.0.0"); !errors.Is(err, ErrNotFound) {
		t.Errorf("missing version: %v, want ErrNotFound", err)
	}
	if _, err := c.PublishInfo(ctx, "nope", "1.0.0"); !errors.Is(err, ErrNotFound) {
		t.Errorf("missing package: %v, want ErrNotFound", err)
	}
	small := testClient(t, testConfig(t, r.URL(), ""), Options{NoCache: true, MaxBody: 64 << 10})
	if _, err := small.PublishInfo(ctx, "@p/pub", "2.1.0"); !errors.Is(err, ErrTooLarge) {
		t.Errorf("packument over MaxBody: %v, want ErrTooLarge", err)
	}
}

// TestPublishInfoRecorded reads a real recorded packument.
func TestPublishInfoRecorded(t *testing.T) {
	checkGoroutines(t)
	r := newRT(t)
	if err := r.AddRecordedManifests("../testdata/manifests"); err != nil {
		t.Fatal(err)
	}
	c := testClient(t, testConfig(t, r.URL(), ""), Options{NoCache: true})
	ctx := context.Background()
	pi, err := c.PublishInfo(ctx, "has-package-exports", "1.3.0")
	if err != nil {
		t.Fatal(err)
	}
	if want := time.Date(2022, 4, 7, 13, 21, 32, 639e6, time.UTC); !pi.Time.Equal(want) || pi.NpmUser != "ljharb" {
		t.Errorf("got %+v", pi)
	}
	m, err := c.Manifest(ctx, "has-package-exports", "1.3.0", "sha512-e9OeXPQnmPhYoJ63lXC4wWe34TxEGZDZ3OQX9XRqp2VwsfLl3bQBy7VehLnd34g3ef8CmYlBLGqEMKXuz8YazQ==")
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Signatures) != 1 || m.Signatures[0].KeyID != "SHA256:jl3bwswu80PjjokCgh0o2w5c2U4LhQAE57gj9cz1kzA" || m.Shasum != "68ee0892a1616893b7e6daed46b74ffdb5079ed6" {
		t.Errorf("recorded manifest: %+v", m)
	}
}

// TestPublishInfoSiblings shows that one download of a full packument
// answers every version named as a sibling, that without siblings each
// version costs a download, and that a version outside the siblings is
// still answered (by a download of its own), never from a packument that
// did not keep it.
func TestPublishInfoSiblings(t *testing.T) {
	checkGoroutines(t)
	versions := []string{"1.0.0", "1.1.0", "2.0.0", "3.0.0"}
	var pkgs []registrytest.Package
	for i, v := range versions {
		pkgs = append(pkgs, registrytest.Package{Name: "@s/many", Version: v, Signed: true,
			PublishTime: published.Add(time.Duration(i) * time.Hour), NpmUser: "u" + v})
		pkgs = append(pkgs, registrytest.Package{Name: "alone", Version: v, Signed: true, PublishTime: published})
	}
	r := newRT(t, pkgs...)
	ctx := context.Background()
	check := func(c *Client, name, v string, siblings ...string) {
		t.Helper()
		pi, err := c.PublishInfo(ctx, name, v, siblings...)
		if err != nil {
			t.Fatalf("PublishInfo(%s@%s): %v", name, v, err)
		}
		if name == "@s/many" {
			i := slices.Index(versions, v)
			if !pi.Time.Equal(published.Add(time.Duration(i)*time.Hour)) || pi.NpmUser != "u"+v {
				t.Errorf("%s@%s: %+v", name, v, pi)
			}
		}
	}

	c := testClient(t, testConfig(t, r.URL(), ""), Options{NoCache: true})
	siblings := versions[:3]
	for _, v := range siblings {
		check(c, "@s/many", v, siblings...)
	}
	if n := r.RequestsFor("/@s/many"); n != 1 {
		t.Errorf("3 sibling versions: %d packument downloads, want 1", n)
	}
	check(c, "@s/many", "3.0.0", siblings...) // not kept: a download of its own
	if n := r.RequestsFor("/@s/many"); n != 2 {
		t.Errorf("a version outside the siblings: %d packument downloads in all, want 2", n)
	}
	check(c, "@s/many", "1.0.0") // the last download kept 3.0.0 and the siblings
	if n := r.RequestsFor("/@s/many"); n != 2 {
		t.Errorf("a sibling after the second download: %d packument downloads in all, want 2", n)
	}

	for _, v := range versions[:2] {
		check(c, "alone", v)
	}
	if n := r.RequestsFor("/alone"); n != 2 {
		t.Errorf("no siblings: %d packument downloads, want one per version (2)", n)
	}
	if _, err := c.PublishInfo(ctx, "alone", "9.9.9", "9.9.9", "1.0.0"); !errors.Is(err, ErrNotFound) {
		t.Errorf("a version the packument does not list: %v, want ErrNotFound", err)
	}
}
