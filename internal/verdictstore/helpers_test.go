package verdictstore

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha512"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
	"gocloud.dev/blob"

	"github.com/provaudit/provaudit/audit"
	"github.com/provaudit/provaudit/fetch"
	"github.com/provaudit/provaudit/internal/registrytest"
	"github.com/provaudit/provaudit/internal/registrytest/fakesigstore"
	"github.com/provaudit/provaudit/lockfile"
	"github.com/provaudit/provaudit/verify"
)

// newKey makes an Ed25519 key pair.
func newKey(t testing.TB) (ed25519.PublicKey, ed25519.PrivateKey) {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return pub, priv
}

// warnings collects a store's warnings.
type warnings struct {
	mu   sync.Mutex
	msgs []string
}

func (w *warnings) add(msg string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.msgs = append(w.msgs, msg)
}

func (w *warnings) list() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]string(nil), w.msgs...)
}

// count is the number of warnings containing sub.
func (w *warnings) count(sub string) int {
	n := 0
	for _, m := range w.list() {
		if strings.Contains(m, sub) {
			n++
		}
	}
	return n
}

// s3Fake is an in-process S3 (gofakes3 on 127.0.0.1) behind a handler that
// counts requests and can be made slow or to fail.
type s3Fake struct {
	srv      *httptest.Server
	backend  *s3mem.Backend
	bucket   string
	requests atomic.Int64
	gets     atomic.Int64
	delay    atomic.Int64 // nanoseconds before every answer
	fail     atomic.Bool  // answer 500 to everything
}

// newS3Fake starts the fake with one bucket. The AWS SDK gets dummy
// credentials and no configuration files from the environment, and never
// asks an instance metadata service.
func newS3Fake(t *testing.T) *s3Fake {
	t.Helper()
	setAWSEnv(t)
	f := &s3Fake{backend: s3mem.New(), bucket: "verdicts"}
	if err := f.backend.CreateBucket(f.bucket); err != nil {
		t.Fatal(err)
	}
	faker := gofakes3.New(f.backend)
	h := faker.Server()
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.requests.Add(1)
		if r.Method == http.MethodGet {
			f.gets.Add(1)
		}
		if d := time.Duration(f.delay.Load()); d > 0 {
			select {
			case <-time.After(d):
			case <-r.Context().Done():
				return
			}
		}
		if f.fail.Load() {
			http.Error(w, "down", http.StatusInternalServerError)
			return
		}
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(f.srv.Close)
	return f
}

// setAWSEnv gives the AWS SDK dummy credentials and nothing else.
func setAWSEnv(t *testing.T) {
	t.Helper()
	none := filepath.Join(t.TempDir(), "none")
	for k, v := range map[string]string{
		"AWS_ACCESS_KEY_ID":           "test",
		"AWS_SECRET_ACCESS_KEY":       "test",
		"AWS_SESSION_TOKEN":           "",
		"AWS_PROFILE":                 "",
		"AWS_REGION":                  "us-east-1",
		"AWS_CONFIG_FILE":             none,
		"AWS_SHARED_CREDENTIALS_FILE": none,
		"AWS_EC2_METADATA_DISABLED":   "true",
	} {
		t.Setenv(k, v)
	}
}

// url is the store URL of the fake's bucket.
func (f *s3Fake) url() string {
	return s3URL(f.bucket, f.srv.URL)
}

func s3URL(bucket, endpoint string) string {
	return "s3://" + bucket + "?endpoint=" + endpoint + "&region=us-east-1&use_path_style=true"
}

// listKeys lists every key of the bucket at url.
func listKeys(t *testing.T, url string) []string {
	t.Helper()
	b, err := blob.OpenBucket(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	var keys []string
	it := b.List(nil)
	for {
		o, err := it.Next(context.Background())
		if err != nil {
			break
		}
		keys = append(keys, o.Key)
	}
	return keys
}

// writeObject replaces the object at key of the bucket at url.
func writeObject(t *testing.T, url, key string, data []byte) {
	t.Helper()
	b, err := blob.OpenBucket(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if err := b.WriteAll(context.Background(), key, data, nil); err != nil {
		t.Fatal(err)
	}
}

func readObject(t *testing.T, url, key string) []byte {
	t.Helper()
	b, err := blob.OpenBucket(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	data, err := b.ReadAll(context.Background(), key)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// fileURL is the store URL of a new folder.
func fileURL(t *testing.T) string {
	t.Helper()
	return "file://" + filepath.ToSlash(t.TempDir())
}

// auditEnv is a fake registry serving a small lockfile: attested packages
// (publish attestation and SLSA provenance), publish-only ones (a publish
// attestation without provenance) and plain ones (a registry signature
// only), all valid.
type auditEnv struct {
	reg   *registrytest.Registry
	lf    *lockfile.Lockfile
	json  []byte // the lockfile's text
	pkgs  []registrytest.Package
	trust *verify.Trust
	cfg   *fetch.Config
}

// names of the test lockfile's packages, in lockfile order.
func lockNames(attested, publishOnly, plain int) (names []string, kinds []string) {
	for _, g := range []struct {
		prefix string
		n      int
	}{{"att", attested}, {"pub", publishOnly}, {"plain", plain}} {
		for i := range g.n {
			names = append(names, fmt.Sprintf("%s-%03d", g.prefix, i))
			kinds = append(kinds, g.prefix)
		}
	}
	return names, kinds
}

func integrityOf(name string) string {
	sum := sha512.Sum512([]byte("verdictstore test " + name))
	return "sha512-" + base64.StdEncoding.EncodeToString(sum[:])
}

func newAuditEnv(t *testing.T, attested, publishOnly, plain int) *auditEnv {
	t.Helper()
	reg := registrytest.New(registrytest.Options{})
	t.Cleanup(reg.Close)
	names, kinds := lockNames(attested, publishOnly, plain)
	var b strings.Builder
	b.WriteString(`{"name": "t", "version": "1.0.0", "lockfileVersion": 3, "packages": {"": {"name": "t", "version": "1.0.0"}`)
	var pkgs []registrytest.Package
	for i, name := range names {
		integ := integrityOf(name)
		fmt.Fprintf(&b, `,
"node_modules/%s": {"version": "1.0.0", "resolved": "https://registry.invalid/%s/-/%s-1.0.0.tgz", "integrity": %q}`, name, name, name, integ)
		p := registrytest.Package{Name: name, Version: "1.0.0", Integrity: integ, Signed: true}
		switch kinds[i] {
		case "att":
			p.Attested = true
		case "pub":
			p.Attested, p.Attest = true, &fakesigstore.Attest{OmitProvenance: true}
		}
		pkgs = append(pkgs, p)
	}
	b.WriteString("}}")
	lf, err := lockfile.Parse("package-lock.json", []byte(b.String()))
	if err != nil {
		t.Fatal(err)
	}
	if err := reg.Add(pkgs...); err != nil {
		t.Fatal(err)
	}
	trust, err := verify.NewTrust(verify.TrustOptions{TrustedRoot: reg.Sigstore().TrustedRoot()})
	if err != nil {
		t.Fatal(err)
	}
	return &auditEnv{reg: reg, lf: lf, json: []byte(b.String()), pkgs: pkgs, trust: trust, cfg: registryConfig(t, reg.URL())}
}

// registryConfig names registry as --registry does.
func registryConfig(t *testing.T, registry string) *fetch.Config {
	t.Helper()
	cfg, err := fetch.LoadConfig(fetch.ConfigOptions{Registry: registry, Env: []string{"HOME=" + t.TempDir()}})
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// run audits the lockfile with store (nil: none) and no local cache, as a
// CI job on a fresh machine does. mod adjusts the options.
func (e *auditEnv) run(t *testing.T, store audit.VerdictStore, mod ...func(*audit.Options)) *audit.Result {
	t.Helper()
	client, err := fetch.NewClient(e.cfg, fetch.Options{NoCache: true})
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	// Without the release-history rules, by default: these tests are
	// about the verdicts the store saves and serves
	// (TestSecondRunWithHistory and audit.TestStoredVerdictHistory cover
	// the histories its records carry).
	opts := audit.Options{Lockfile: e.lf, Config: e.cfg, Client: client, Trust: e.trust, NoHistory: true,
		Tool: audit.Tool{Name: "provaudit", Version: "test"}}
	if store != nil {
		opts.VerdictStore = store
	}
	for _, m := range mod {
		m(&opts)
	}
	res, err := audit.Run(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// openStore opens a store at url, failing the test on error; its warnings
// go to w (may be nil). It is closed at the end of the test.
func openStore(t *testing.T, url string, opts Options, w *warnings) *Store {
	t.Helper()
	if w != nil {
		opts.Warn = w.add
	}
	s, err := Open(context.Background(), url, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// attestationRequests counts the requests for attestations the registry
// served since its last reset.
func attestationRequests(reg *registrytest.Registry) int64 {
	return reg.RequestsFor("/-/npm/v1/attestations/")
}
