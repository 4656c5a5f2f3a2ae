package npmrig

import (
	"bytes"
	"crypto/tls"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/theupdateframework/go-tuf/v2/metadata"
	"github.com/theupdateframework/go-tuf/v2/metadata/config"
	"github.com/theupdateframework/go-tuf/v2/metadata/fetcher"
	"github.com/theupdateframework/go-tuf/v2/metadata/updater"
)

var testTargets = map[string][]byte{
	"trusted_root.json":             []byte(`{"mediaType":"application/vnd.dev.sigstore.trustedroot+json;version=0.1"}`),
	"127.0.0.1:4873/keys.json":      []byte(`{"keys":[{"keyId":"SHA256:a"}]}`),
	"localhost:5000/npm/keys.json":  []byte(`{"keys":[]}`),
	"127.0.0.1:4873/deep/x/y/z.txt": []byte("z"),
}

// newUpdater makes a go-tuf client for the repository at remote trusting
// root, fetching through rt.
func newUpdater(t *testing.T, remote string, root []byte, rt http.RoundTripper) *updater.Updater {
	t.Helper()
	cfg, err := config.New(remote, root)
	if err != nil {
		t.Fatal(err)
	}
	cfg.LocalMetadataDir = t.TempDir()
	cfg.LocalTargetsDir = t.TempDir()
	f := fetcher.NewDefaultFetcher()
	if err := f.SetTransport(rt); err != nil {
		t.Fatal(err)
	}
	f.SetRetry(time.Millisecond, 1)
	cfg.Fetcher = f
	up, err := updater.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return up
}

// checkTargets refreshes up and downloads every target, comparing it with
// want.
func checkTargets(t *testing.T, up *updater.Updater, want map[string][]byte) {
	t.Helper()
	if err := up.Refresh(); err != nil {
		t.Fatalf("go-tuf Refresh: %v", err)
	}
	for name, data := range want {
		ti, err := up.GetTargetInfo(name)
		if err != nil {
			t.Fatalf("GetTargetInfo(%q): %v", name, err)
		}
		_, got, err := up.DownloadTarget(ti, "", "")
		if err != nil {
			t.Fatalf("DownloadTarget(%q): %v", name, err)
		}
		if !bytes.Equal(got, data) {
			t.Errorf("target %q = %q, want %q", name, got, data)
		}
	}
	if _, err := up.GetTargetInfo("no-such-target.json"); err == nil {
		t.Error("GetTargetInfo of an unknown target succeeded")
	}
}

// TestTUFRepoGoTUFClient checks the repository with go-tuf's own client:
// root, timestamp, snapshot and targets verify, consistent-snapshot target
// paths resolve and every target downloads with its hash checked.
func TestTUFRepoGoTUFClient(t *testing.T) {
	repo, err := newTUFRepo(testTargets, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(repo)
	defer srv.Close()
	up := newUpdater(t, srv.URL, repo.root, srv.Client().Transport)
	checkTargets(t, up, testTargets)

	root, err := metadata.Root().FromBytes(repo.root)
	if err != nil {
		t.Fatal(err)
	}
	if !root.Signed.ConsistentSnapshot {
		t.Error("root does not use consistent snapshots")
	}
	if exp := root.Signed.Expires; exp.Before(time.Now().AddDate(5, 0, 0)) {
		t.Errorf("root expires %v: want a long expiry", exp)
	}
	if len(root.Signed.Keys) != 1 {
		t.Errorf("root lists %d keys, want one for every role", len(root.Signed.Keys))
	}
	if repo.requestCounts()["2.root.json"] == 0 {
		t.Error("the client did not look for a newer root")
	}
}

// TestTUFRepoTampered checks that go-tuf rejects the repository when a
// served file is changed: the rig must not serve something a real client
// would accept only because it checks nothing.
func TestTUFRepoTampered(t *testing.T) {
	tests := []struct {
		name string
		file func(r *tufRepo) string
		// target, when set, is downloaded after a successful refresh.
		target string
	}{
		{"timestamp", func(*tufRepo) string { return "timestamp.json" }, ""},
		{"snapshot", func(*tufRepo) string { return "1.snapshot.json" }, ""},
		{"targets", func(*tufRepo) string { return "1.targets.json" }, ""},
		{"target file", func(r *tufRepo) string {
			for p := range r.files {
				if strings.HasSuffix(p, ".trusted_root.json") {
					return p
				}
			}
			return ""
		}, "trusted_root.json"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			repo, err := newTUFRepo(testTargets, time.Now())
			if err != nil {
				t.Fatal(err)
			}
			p := tt.file(repo)
			body, ok := repo.files[p]
			if !ok {
				t.Fatalf("no served file for %s", tt.name)
			}
			// Change one byte inside a JSON string: the file still parses.
			i := bytes.LastIndexByte(body, '"') - 1
			bad := append([]byte(nil), body...)
			bad[i] ^= 1
			repo.files[p] = bad
			srv := httptest.NewServer(repo)
			defer srv.Close()
			up := newUpdater(t, srv.URL, repo.root, srv.Client().Transport)
			err = up.Refresh()
			if tt.target == "" {
				if err == nil {
					t.Fatalf("go-tuf accepted a tampered %s", p)
				}
				return
			}
			if err != nil {
				t.Fatalf("Refresh: %v", err)
			}
			ti, err := up.GetTargetInfo(tt.target)
			if err != nil {
				t.Fatal(err)
			}
			if _, _, err := up.DownloadTarget(ti, "", ""); err == nil {
				t.Fatalf("go-tuf accepted a tampered target %s", p)
			}
		})
	}
}

func TestTUFRepoRejects(t *testing.T) {
	tests := []struct {
		name    string
		targets map[string][]byte
	}{
		{"no targets", nil},
		{"absolute name", map[string][]byte{"/keys.json": nil}},
		{"dot dot", map[string][]byte{"a/../keys.json": nil}},
		{"trailing slash", map[string][]byte{"a/": nil}},
		{"percent", map[string][]byte{"a%2fb": nil}},
		{"query", map[string][]byte{"a?b": nil}},
		{"empty", map[string][]byte{"": nil}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := newTUFRepo(tt.targets, time.Now()); !errors.Is(err, ErrSetup) {
				t.Fatalf("err = %v, want ErrSetup", err)
			}
		})
	}
}

func TestTUFRepoServeHTTP(t *testing.T) {
	repo, err := newTUFRepo(testTargets, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		method, path string
		status       int
	}{
		{http.MethodGet, "/1.root.json", http.StatusOK},
		{http.MethodHead, "/timestamp.json", http.StatusOK},
		{http.MethodGet, "/2.root.json", http.StatusNotFound},
		{http.MethodGet, "/root.json", http.StatusNotFound},
		{http.MethodGet, "/targets/trusted_root.json", http.StatusNotFound}, // only hash-prefixed names
		{http.MethodPost, "/1.root.json", http.StatusMethodNotAllowed},
	}
	for _, tt := range tests {
		rec := httptest.NewRecorder()
		repo.ServeHTTP(rec, httptest.NewRequest(tt.method, tt.path, nil))
		if rec.Code != tt.status {
			t.Errorf("%s %s = %d, want %d", tt.method, tt.path, rec.Code, tt.status)
		}
		if tt.method == http.MethodHead && rec.Body.Len() != 0 {
			t.Errorf("HEAD %s returned a body", tt.path)
		}
	}
}

// TestProxyServesTUF runs go-tuf's client against TUFHost through the
// proxy, as npm does: the CONNECT tunnel, the TLS certificate from the
// rig's CA and the repository all have to work together.
func TestProxyServesTUF(t *testing.T) {
	repo, err := newTUFRepo(testTargets, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	ca, err := newCertAuthority(time.Now())
	if err != nil {
		t.Fatal(err)
	}
	p, err := startProxy(TUFHost+":443", ca, repo)
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := p.Close(); err != nil {
			t.Error(err)
		}
	}()
	proxyURL, err := url.Parse(p.URL())
	if err != nil {
		t.Fatal(err)
	}
	tr := &http.Transport{
		Proxy:           http.ProxyURL(proxyURL),
		TLSClientConfig: &tls.Config{RootCAs: ca.pool(), MinVersion: tls.VersionTLS12},
	}
	defer tr.CloseIdleConnections()
	up := newUpdater(t, "https://"+TUFHost, repo.root, tr)
	checkTargets(t, up, testTargets)
	if p.connects.Load() == 0 {
		t.Error("no CONNECT tunnel was used")
	}

	// A client that does not trust the rig's CA gets no answer.
	plain := &http.Transport{Proxy: http.ProxyURL(proxyURL), TLSClientConfig: &tls.Config{RootCAs: newEmptyPool(t), MinVersion: tls.VersionTLS12}}
	defer plain.CloseIdleConnections()
	resp, err := (&http.Client{Transport: plain}).Get("https://" + TUFHost + "/timestamp.json")
	if err == nil {
		resp.Body.Close()
		t.Fatal("a client without the rig's CA accepted the proxy's certificate")
	}
}
