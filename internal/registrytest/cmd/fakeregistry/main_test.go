package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/provaudit/provaudit/lockfile"
)

const (
	largeLock = "../../../../testdata/lockfiles/real-projects/npm-cli-v10.9.0/package-lock.json"
)

// syncBuffer is a goroutine-safe stderr.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// start runs the command until the test ends and returns the URL it printed.
func start(t *testing.T, args ...string) (url string, stderr *syncBuffer) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	stderr = &syncBuffer{}
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, append([]string{"fakeregistry"}, args...), pw, stderr)
		pw.Close()
	}()
	t.Cleanup(func() {
		cancel()
		if code := <-done; code != 0 {
			t.Errorf("exit code %d, stderr:\n%s", code, stderr)
		}
		if !strings.Contains(stderr.String(), `"requests"`) {
			t.Errorf("no final stats on stderr:\n%s", stderr)
		}
	})
	line, err := bufio.NewReader(pr).ReadString('\n')
	if err != nil {
		t.Fatalf("reading the URL: %v; stderr:\n%s", err, stderr)
	}
	go func() { _, _ = io.Copy(io.Discard, pr) }()
	return strings.TrimSpace(line), stderr
}

func fetch(t *testing.T, c *http.Client, url string) []byte {
	t.Helper()
	resp, err := c.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %v %.200s", url, resp.StatusCode, err, body)
	}
	return body
}

type versionDoc struct {
	Dist struct {
		Integrity  string `json:"integrity"`
		Signatures []struct {
			KeyID string `json:"keyid"`
			Sig   string `json:"sig"`
		} `json:"signatures"`
	} `json:"dist"`
}

// smallLock is a v3 lockfile with a plain, a scoped and an aliased package.
const smallLock = `{
  "name": "demo", "version": "1.0.0", "lockfileVersion": 3, "requires": true,
  "packages": {
    "": {"name": "demo", "version": "1.0.0", "dependencies": {"ms": "^2.1.3", "@sigstore/core": "^1.0.0", "old-ms": "npm:ms@2.0.0"}},
    "node_modules/ms": {"version": "2.1.3", "resolved": "https://registry.invalid/ms/-/ms-2.1.3.tgz",
      "integrity": "sha512-6FlzubTLZG3J2a/NVCAleEhjzq5oxgHyaCU9yYXvcLsvoVaHJq/s5xXI6/XXP6tz7R9xAOtHnSO/tXtF3WRTlA=="},
    "node_modules/old-ms": {"name": "ms", "version": "2.0.0", "resolved": "https://registry.invalid/ms/-/ms-2.0.0.tgz",
      "integrity": "sha512-Tpp60P6IUJDTuOq/5Z8cdskzJujfwqfOTkrwIwj7IRISpnkJnT6SyJ4PCPnGMoFjC9ddhal5KVIYtAt97ix05A=="},
    "node_modules/@sigstore/core": {"version": "1.1.0", "resolved": "https://registry.invalid/@sigstore/core/-/core-1.1.0.tgz",
      "integrity": "sha512-JzBqdVIyqm2FRQCulY6nbQzMpJJpSiJ8XXWMhtOX9eKgaXXpfNOF53lzQEjIydlStnd/eFtuC1dW4VYdD93oRg=="},
    "node_modules/linked": {"resolved": "../linked", "link": true}
  }
}`

func writeLock(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "package-lock.json"), []byte(smallLock), 0o600); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestServesLockfileWithTrust(t *testing.T) {
	dir := t.TempDir()
	lock := writeLock(t)
	url, stderr := start(t, "-lockfile", lock, "-write-trust", dir, "-latency", "1ms", "-attested", "1")
	if !strings.HasPrefix(url, "http://127.0.0.1:") || !strings.HasSuffix(url, "/") {
		t.Fatalf("URL %q", url)
	}
	if !strings.Contains(stderr.String(), "3 packages (3 attested)") {
		t.Errorf("summary: %s", stderr)
	}
	for _, f := range []string{"trusted_root.json", "npm-keys.json", "keys.json"} {
		data, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil || !json.Valid(data) {
			t.Errorf("%s: %v", f, err)
		}
	}
	keys, err := os.ReadFile(filepath.Join(dir, "npm-keys.json"))
	if err != nil {
		t.Fatal(err)
	}
	if served := fetch(t, http.DefaultClient, url+"-/npm/v1/keys"); !bytes.Equal(served, keys) {
		t.Error("npm-keys.json is not what the registry serves")
	}
	// Each unit is served under its registry name (the alias resolved) with
	// its lockfile integrity and a signature that verifies with the written
	// key, and has attestations.
	for _, u := range []struct{ path, name, version, integrity string }{
		{"ms/2.1.3", "ms", "2.1.3", "sha512-6FlzubTLZG3J2a/NVCAleEhjzq5oxgHyaCU9yYXvcLsvoVaHJq/s5xXI6/XXP6tz7R9xAOtHnSO/tXtF3WRTlA=="},
		{"ms/2.0.0", "ms", "2.0.0", "sha512-Tpp60P6IUJDTuOq/5Z8cdskzJujfwqfOTkrwIwj7IRISpnkJnT6SyJ4PCPnGMoFjC9ddhal5KVIYtAt97ix05A=="},
		{"@sigstore%2fcore/1.1.0", "@sigstore/core", "1.1.0", "sha512-JzBqdVIyqm2FRQCulY6nbQzMpJJpSiJ8XXWMhtOX9eKgaXXpfNOF53lzQEjIydlStnd/eFtuC1dW4VYdD93oRg=="},
	} {
		var doc versionDoc
		if err := json.Unmarshal(fetch(t, http.DefaultClient, url+u.path), &doc); err != nil {
			t.Fatal(err)
		}
		if doc.Dist.Integrity != u.integrity || len(doc.Dist.Signatures) != 1 {
			t.Fatalf("%s: dist %+v", u.path, doc.Dist)
		}
		if !verifies(t, keys, doc.Dist.Signatures[0].KeyID, doc.Dist.Signatures[0].Sig, u.name+"@"+u.version+":"+u.integrity) {
			t.Errorf("%s: signature does not verify with npm-keys.json", u.path)
		}
	}
	fetch(t, http.DefaultClient, url+"-/npm/v1/attestations/@sigstore%2fcore@1.1.0")
	var st struct{ Requests int64 }
	if err := json.Unmarshal(fetch(t, http.DefaultClient, url+"-/registrytest/stats"), &st); err != nil || st.Requests != 5 {
		t.Errorf("stats: %+v %v, want 5 requests", st, err)
	}
}

func verifies(t *testing.T, keysBody []byte, keyid, sig, msg string) bool {
	t.Helper()
	var doc struct {
		Keys []struct{ KeyID, Key string }
	}
	if err := json.Unmarshal(keysBody, &doc); err != nil {
		t.Fatal(err)
	}
	for _, k := range doc.Keys {
		if k.KeyID != keyid {
			continue
		}
		der, _ := base64.StdEncoding.DecodeString(k.Key)
		pub, err := x509.ParsePKIXPublicKey(der)
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := base64.StdEncoding.DecodeString(sig)
		h := sha256.Sum256([]byte(msg))
		return ecdsa.VerifyASN1(pub.(*ecdsa.PublicKey), h[:], raw)
	}
	return false
}

func TestRotatedKeysAndSpread(t *testing.T) {
	dir := t.TempDir()
	url, _ := start(t, "-lockfile", largeLock, "-keys", "rotated", "-published", "spread", "-attested", "0.33", "-versions", "20", "-tls", "-write-trust", dir)
	pemData, err := os.ReadFile(filepath.Join(dir, "registry-cert.pem"))
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(pemData)
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig.RootCAs = pool
	c := &http.Client{Transport: tr}
	defer tr.CloseIdleConnections()
	keys := fetch(t, c, url+"-/npm/v1/keys")
	var kd struct {
		Keys []struct {
			KeyID   string  `json:"keyid"`
			Expires *string `json:"expires"`
		} `json:"keys"`
	}
	if err := json.Unmarshal(keys, &kd); err != nil || len(kd.Keys) != 2 || kd.Keys[0].Expires == nil || kd.Keys[1].Expires != nil {
		t.Fatalf("keys %s (%v), want an expired and a current key", keys, err)
	}
	// Each version is signed by the key valid at its publish time.
	lf, err := lockfile.Load(largeLock)
	if err != nil {
		t.Fatal(err)
	}
	old, current, checked := 0, 0, 0
	for _, u := range lockfile.Units(lf) {
		if u.Kind != lockfile.KindRegistry || checked == 120 {
			continue
		}
		checked++
		esc := strings.Replace(u.Name, "/", "%2f", 1)
		var pk struct {
			Time     map[string]string     `json:"time"`
			Versions map[string]versionDoc `json:"versions"`
		}
		if err := json.Unmarshal(fetch(t, c, url+esc), &pk); err != nil {
			t.Fatal(err)
		}
		if len(pk.Versions) < 21 {
			t.Errorf("%s: %d versions, want the 20 padding ones too", u.Name, len(pk.Versions))
		}
		when, err := time.Parse(time.RFC3339, pk.Time[u.Version])
		if err != nil {
			t.Fatalf("%s@%s: time %q: %v", u.Name, u.Version, pk.Time[u.Version], err)
		}
		var d versionDoc
		if err := json.Unmarshal(fetch(t, c, url+esc+"/"+u.Version), &d); err != nil {
			t.Fatal(err)
		}
		want := kd.Keys[1].KeyID
		if when.Before(rotatedStart) {
			want = kd.Keys[0].KeyID
			old++
		} else {
			current++
		}
		if len(d.Dist.Signatures) != 1 || d.Dist.Signatures[0].KeyID != want {
			t.Fatalf("%s@%s published %s: signatures %+v, want one by %s", u.Name, u.Version, when, d.Dist.Signatures, want)
		}
		if !verifies(t, keys, want, d.Dist.Signatures[0].Sig, u.Name+"@"+u.Version+":"+u.Integrity) {
			t.Errorf("%s@%s: signature does not verify", u.Name, u.Version)
		}
	}
	if old == 0 || current == 0 {
		t.Errorf("%d versions signed by the expired key, %d by the current one: want both", old, current)
	}
}

func TestPublishTimeSpread(t *testing.T) {
	now := time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC)
	before := 0
	for i := range 1000 {
		id := "pkg-" + string(rune('a'+i%26)) + "@1." + time.Duration(i).String()
		p := publishTime("spread", now, id)
		if p.Before(spreadFrom) || !p.Before(now.Add(-24*time.Hour)) {
			t.Fatalf("%s: %v outside the spread", id, p)
		}
		if p != publishTime("spread", now, id) {
			t.Fatal("not deterministic")
		}
		if p.Before(rotatedStart) {
			before++
		}
	}
	if before < 650 || before > 850 {
		t.Errorf("%d of 1000 before 2025-01-13, want about 3 in 4", before)
	}
	if got := publishTime("2023-05-01T00:00:00Z", now, "x"); !got.Equal(time.Date(2023, 5, 1, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("fixed time: %v", got)
	}
	if got := publishTime("now", now, "x"); !got.Equal(now) {
		t.Errorf("now: %v", got)
	}
}

func TestUsageAndInputErrors(t *testing.T) {
	lock := writeLock(t)
	noRegistry := t.TempDir()
	if err := os.WriteFile(filepath.Join(noRegistry, "package-lock.json"), []byte(`{"lockfileVersion":3,"packages":{"":{"name":"x"}}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		code int
		msg  string
	}{
		{nil, 2, "-lockfile is required"},
		{[]string{"-lockfile", lock, "extra"}, 2, "unexpected arguments"},
		{[]string{"-lockfile", lock, "-attested", "1.5"}, 2, "-attested"},
		{[]string{"-lockfile", lock, "-versions", "-1"}, 2, "-versions"},
		{[]string{"-lockfile", lock, "-keys", "many"}, 2, "-keys"},
		{[]string{"-lockfile", lock, "-published", "yesterday"}, 2, "-published"},
		{[]string{"-nope"}, 2, "flag provided but not defined"},
		{[]string{"-lockfile", filepath.Join(t.TempDir(), "missing")}, 1, "not found"},
		{[]string{"-lockfile", "../../../../testdata/lockfiles/npm-cli-arborist/ancient-lockfile-invalid"}, 1, ""},
		{[]string{"-lockfile", noRegistry}, 1, "no registry packages"},
	} {
		var out, errOut bytes.Buffer
		code := run(context.Background(), append([]string{"fakeregistry"}, tc.args...), &out, &errOut)
		if code != tc.code || !strings.Contains(errOut.String(), tc.msg) || out.Len() != 0 {
			t.Errorf("%q: exit %d, stdout %q, stderr %q; want exit %d mentioning %q", tc.args, code, out.String(), errOut.String(), tc.code, tc.msg)
		}
	}
	var out, errOut bytes.Buffer
	if code := run(context.Background(), []string{"fakeregistry", "-h"}, &out, &errOut); code != 0 || !strings.Contains(errOut.String(), "-write-trust") {
		t.Errorf("-h: exit %d, %s", code, errOut.String())
	}
}
