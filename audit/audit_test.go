package audit

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/provaudit/provaudit/fetch"
	"github.com/provaudit/provaudit/internal/registrytest"
	"github.com/provaudit/provaudit/lockfile"
	"github.com/provaudit/provaudit/verify"
)

// testLockfile builds a v3 lockfile of n registry packages, the first
// attested ones named att-*, the others plain-*.
func testLockfile(t *testing.T, attested, plain int) (*lockfile.Lockfile, []registrytest.Package) {
	t.Helper()
	var b strings.Builder
	b.WriteString(`{"name": "t", "version": "1.0.0", "lockfileVersion": 3, "packages": {"": {"name": "t", "version": "1.0.0"}`)
	var pkgs []registrytest.Package
	add := func(name string, att bool) {
		integ := registrytestSRI(name)
		fmt.Fprintf(&b, `,
"node_modules/%s": {"version": "1.0.0", "resolved": "https://registry.invalid/%s/-/%s-1.0.0.tgz", "integrity": %q}`, name, name, name, integ)
		pkgs = append(pkgs, registrytest.Package{Name: name, Version: "1.0.0", Integrity: integ, Signed: true, Attested: att})
	}
	for i := range attested {
		add(fmt.Sprintf("att-%03d", i), true)
	}
	for i := range plain {
		add(fmt.Sprintf("plain-%03d", i), false)
	}
	b.WriteString("}}")
	lf, err := lockfile.Parse("package-lock.json", []byte(b.String()))
	if err != nil {
		t.Fatal(err)
	}
	return lf, pkgs
}

// registrytestSRI is a valid, distinct sha512 SRI per name.
func registrytestSRI(name string) string {
	sum := make([]byte, 64)
	copy(sum, name)
	return "sha512-" + b64(sum)
}

type setup struct {
	reg   *registrytest.Registry
	lf    *lockfile.Lockfile
	trust *verify.Trust
	cfg   *fetch.Config
	// secret is the user's cache secret: every client of the setup shares
	// it, as runs of one user do.
	secret []byte
}

func newSetup(t *testing.T, attested, plain int) *setup {
	t.Helper()
	lf, pkgs := testLockfile(t, attested, plain)
	return newSetupFor(t, lf, pkgs...)
}

// newSetupFor serves pkgs from a fake registry and returns what auditing lf
// against it needs.
func newSetupFor(t *testing.T, lf *lockfile.Lockfile, pkgs ...registrytest.Package) *setup {
	t.Helper()
	reg := registrytest.New(registrytest.Options{})
	t.Cleanup(reg.Close)
	return newSetupOn(t, reg, lf, pkgs...)
}

// newSetupOn serves pkgs from reg, named by the person running the audit
// (as --registry does), with reg's Sigstore as the trusted root.
func newSetupOn(t *testing.T, reg *registrytest.Registry, lf *lockfile.Lockfile, pkgs ...registrytest.Package) *setup {
	t.Helper()
	if err := reg.Add(pkgs...); err != nil {
		t.Fatal(err)
	}
	trust, err := verify.NewTrust(verify.TrustOptions{TrustedRoot: reg.Sigstore().TrustedRoot()})
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := fetch.LoadConfig(fetch.ConfigOptions{Registry: reg.URL(), Env: []string{"HOME=" + t.TempDir()}})
	if err != nil {
		t.Fatal(err)
	}
	return &setup{reg: reg, lf: lf, trust: trust, cfg: cfg, secret: bytes.Repeat([]byte{7}, fetch.SecretSize)}
}

func (s *setup) client(t *testing.T, cacheDir string) *fetch.Client {
	t.Helper()
	return s.clientWithSecret(t, cacheDir, s.secret)
}

// clientWithSecret is a client of another user (another cache secret).
func (s *setup) clientWithSecret(t *testing.T, cacheDir string, secret []byte) *fetch.Client {
	t.Helper()
	opts := fetch.Options{CacheDir: cacheDir, NoCache: cacheDir == "", CacheSecret: secret}
	c, err := fetch.NewClient(s.cfg, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func TestRunStatusesAndProgress(t *testing.T) {
	s := newSetup(t, 4, 6)
	var mu sync.Mutex
	last := map[Phase]Event{}
	res, err := Run(context.Background(), Options{
		Lockfile: s.lf, Config: s.cfg, Client: s.client(t, ""), Trust: s.trust,
		Concurrency: 3,
		Progress: func(e Event) {
			mu.Lock()
			defer mu.Unlock()
			if prev, ok := last[e.Phase]; ok && e.Done != prev.Done+1 {
				t.Errorf("%s progress jumped from %d to %d", e.Phase, prev.Done, e.Done)
			}
			last[e.Phase] = e
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if res.Summary.Verified != 4 || res.Summary.Signed != 6 || res.Summary.Packages != 10 || res.Summary.Findings != 0 {
		t.Errorf("summary %+v", res.Summary)
	}
	for _, ph := range []Phase{PhaseFetch, PhaseVerify} {
		if e := last[ph]; e.Done != 10 || e.Total != 10 {
			t.Errorf("last %s event %+v, want 10/10", ph, e)
		}
	}
	if m := s.reg.MaxInFlight(); m > 3 {
		t.Errorf("%d requests in flight with Concurrency 3", m)
	}
	for _, p := range res.Packages {
		if p.RegistrySignature == nil || p.Attestations == nil || p.Findings == nil || p.Reason == "" {
			t.Errorf("%s: incomplete result %+v", p.Name, p)
		}
	}
}

// A cancelled audit never reports a package as checked that was not.
func TestRunCancelled(t *testing.T) {
	s := newSetup(t, 2, 8)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	res, err := Run(ctx, Options{Lockfile: s.lf, Config: s.cfg, Client: s.client(t, ""), Trust: s.trust})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if res == nil || res.Summary.Error != 10 {
		t.Fatalf("want every package with status error, got %+v", res)
	}
	for _, p := range res.Packages {
		if p.Status != StatusError || p.Reason == "" {
			t.Errorf("%s: %s %q", p.Name, p.Status, p.Reason)
		}
	}
}

// A warm cache gives the same verdicts without any request; a cached
// verdict is bound to the bytes it was computed from.
func TestRunWarmCache(t *testing.T) {
	s := newSetup(t, 3, 3)
	dir := t.TempDir()
	client := s.client(t, dir)
	opts := Options{Lockfile: s.lf, Config: s.cfg, Client: client, Trust: s.trust}
	cold, err := Run(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := client.Close(); err != nil {
		t.Fatal(err)
	}
	s.reg.ResetStats()
	opts.Client = s.client(t, dir)
	warm, err := Run(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	if n := s.reg.Requests(); n != 0 {
		t.Errorf("warm run made %d requests", n)
	}
	for i := range cold.Packages {
		c, w := cold.Packages[i], warm.Packages[i]
		if c.Status != w.Status || c.Reason != w.Reason || c.RegistrySignature.Status != w.RegistrySignature.Status || c.Attestations.Status != w.Attestations.Status {
			t.Errorf("%s: cold %s %q, warm %s %q", c.Name, c.Status, c.Reason, w.Status, w.Reason)
		}
	}
	if warm.Summary.Verified != 3 || warm.Summary.Signed != 3 {
		t.Errorf("warm summary %+v", warm.Summary)
	}

	// Other trust material (another fake Sigstore) must not reuse the
	// verdicts: the attestations no longer verify.
	other := registrytest.New(registrytest.Options{})
	defer other.Close()
	otherTrust, err := verify.NewTrust(verify.TrustOptions{TrustedRoot: other.Sigstore().TrustedRoot()})
	if err != nil {
		t.Fatal(err)
	}
	opts.Trust, opts.Client = otherTrust, s.client(t, dir)
	res, err := Run(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	if res.Summary.Invalid != 3 {
		t.Errorf("with other trust material: summary %+v, want the 3 attested packages invalid", res.Summary)
	}
}

func TestRunNeedsOptions(t *testing.T) {
	if _, err := Run(context.Background(), Options{}); !errors.Is(err, ErrOptions) {
		t.Errorf("empty options: %v", err)
	}
	s := newSetup(t, 0, 1)
	if _, err := Run(context.Background(), Options{Lockfile: s.lf, Trust: s.trust}); !errors.Is(err, ErrOptions) {
		t.Errorf("registry packages without a client: %v", err)
	}
}

func b64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

// TestRunBundled: the project's own bundleDependencies are installed from
// the registry and audited; a dependency's bundled packages come inside its
// tarball and are skipped with a reason that names it.
func TestRunBundled(t *testing.T) {
	own, parent := registrytestSRI("own"), registrytestSRI("parent")
	doc := `{"name": "t", "version": "1.0.0", "lockfileVersion": 3, "packages": {
  "": {"name": "t", "version": "1.0.0", "bundleDependencies": ["own"]},
  "node_modules/own": {"version": "1.0.0", "resolved": "https://registry.invalid/own/-/own-1.0.0.tgz", "integrity": "` + own + `", "inBundle": true},
  "node_modules/parent": {"version": "1.0.0", "resolved": "https://registry.invalid/parent/-/parent-1.0.0.tgz", "integrity": "` + parent + `"},
  "node_modules/parent/node_modules/inside": {"version": "2.0.0", "inBundle": true}
}}`
	lf, err := lockfile.Parse("package-lock.json", []byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	s := newSetupFor(t, lf,
		registrytest.Package{Name: "own", Version: "1.0.0", Integrity: own, Signed: true, Attested: true},
		registrytest.Package{Name: "parent", Version: "1.0.0", Integrity: parent, Signed: true},
	)
	res, err := Run(context.Background(), Options{Lockfile: lf, Config: s.cfg, Client: s.client(t, ""), Trust: s.trust})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]Package{}
	for _, p := range res.Packages {
		got[p.Name] = p
	}
	if p := got["own"]; p.Status != StatusVerified {
		t.Errorf("the project's bundled dependency: %s (%s), want verified", p.Status, p.Reason)
	}
	if p := got["parent"]; p.Status != StatusSigned {
		t.Errorf("parent: %s (%s), want signed", p.Status, p.Reason)
	}
	if p := got["inside"]; p.Status != StatusSkipped || !strings.Contains(p.Reason, "node_modules/parent") {
		t.Errorf("a dependency's bundled package: %s (%q), want skipped naming node_modules/parent", p.Status, p.Reason)
	}
	if n := s.reg.RequestsFor("/inside"); n != 0 {
		t.Errorf("%d requests for the bundled package", n)
	}
}

// TestRunInvalidEntries: hostile or malformed lockfile entries are each an
// error of their own that names the lockfile line; every other package is
// still audited, nothing is requested for the bad ones, and the cache
// writes nothing outside its directory.
func TestRunInvalidEntries(t *testing.T) {
	goodA, goodB := registrytestSRI("good-a"), registrytestSRI("good-b")
	upper := "SHA512" + strings.TrimPrefix(registrytestSRI("upper"), "sha512")
	doc := `{"name": "t", "version": "1.0.0", "lockfileVersion": 3, "packages": {
  "": {"name": "t", "version": "1.0.0"},
  "node_modules/good-a": {"version": "1.0.0", "resolved": "https://registry.invalid/good-a/-/good-a-1.0.0.tgz", "integrity": "` + goodA + `"},
  "node_modules/../../evil": {"version": "1.0.0", "resolved": "https://registry.invalid/evil/-/evil-1.0.0.tgz", "integrity": "` + goodA + `"},
  "/abs/evil": {"version": "1.0.0", "integrity": "` + goodA + `"},
  "node_modules/nul\u0000": {"version": "1.0.0", "integrity": "` + goodA + `"},
  "node_modules/ctl": {"name": "ctl\u001b[2J", "version": "1.0.0", "integrity": "` + goodA + `"},
  "node_modules/climb": {"name": "../../../etc", "version": "1.0.0", "integrity": "` + goodA + `"},
  "node_modules/upper": {"version": "1.0.0", "integrity": "` + upper + `"},
  "node_modules/short": {"version": "1.0.0", "integrity": "sha512-AAAA"},
  "node_modules/ver": {"version": "1.0.0/../../x"},
  "node_modules/good-b": {"version": "1.0.0", "integrity": "` + goodB + `"}
}}`
	lf, err := lockfile.Parse("package-lock.json", []byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	s := newSetupFor(t, lf,
		registrytest.Package{Name: "good-a", Version: "1.0.0", Integrity: goodA, Signed: true, Attested: true},
		registrytest.Package{Name: "good-b", Version: "1.0.0", Integrity: goodB, Signed: true},
	)
	parent := t.TempDir()
	cacheDir := filepath.Join(parent, "cache")
	c := s.client(t, cacheDir)
	res, err := Run(context.Background(), Options{Lockfile: lf, Config: s.cfg, Client: c, Trust: s.trust})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	wantLine := map[string]int{
		"node_modules/../../evil": 4, "/abs/evil": 5, "node_modules/nul\x00": 6, "node_modules/ctl": 7,
		"node_modules/climb": 8, "node_modules/upper": 9, "node_modules/short": 10, "node_modules/ver": 11,
	}
	for _, p := range res.Packages {
		switch line, bad := wantLine[p.Paths[0]]; {
		case bad:
			if p.Status != StatusError || p.Line != line || p.Kind != lockfile.KindInvalid ||
				!strings.HasPrefix(p.Reason, fmt.Sprintf("package-lock.json:%d: invalid entry: ", line)) || len(p.Findings) != 0 {
				t.Errorf("%q: %s line %d (%q), want error at line %d", p.Paths[0], p.Status, p.Line, p.Reason, line)
			}
			delete(wantLine, p.Paths[0])
		case p.Name == "good-a":
			if p.Status != StatusVerified {
				t.Errorf("good-a: %s (%s)", p.Status, p.Reason)
			}
		case p.Name == "good-b":
			if p.Status != StatusSigned {
				t.Errorf("good-b: %s (%s)", p.Status, p.Reason)
			}
		default:
			t.Errorf("unexpected package %+v", p)
		}
	}
	if len(wantLine) != 0 {
		t.Errorf("no result for %v", wantLine)
	}
	if res.Summary.Error != 8 || res.Summary.Packages != 10 {
		t.Errorf("summary %+v, want 8 errors of 10", res.Summary)
	}
	// Only the good packages and the keys were asked for.
	if n, good := s.reg.Requests(), s.reg.RequestsFor("/good-")+s.reg.RequestsFor("/-/npm/v1/attestations/good-")+s.reg.RequestsFor("/-/npm/v1/keys"); n != good || n == 0 {
		t.Errorf("%d requests, %d of them for the good packages and the keys", n, good)
	}
	var inCache int
	err = filepath.WalkDir(parent, func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == parent || p == cacheDir {
			return err
		}
		if rel, rerr := filepath.Rel(cacheDir, p); rerr != nil || !filepath.IsLocal(rel) {
			t.Errorf("the audit wrote %s, outside the cache directory %s", p, cacheDir)
		} else if !d.IsDir() {
			inCache++
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if inCache == 0 {
		t.Error("nothing was cached: the check above proves nothing")
	}
}
