package evidence

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/provaudit/provaudit/verify"
)

// recordedAt is the recording time of test bundles.
var recordedAt = time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC)

// testServer answers the paths of a small registry, a redirect and a
// failure, and counts requests.
func testServer(t testing.TB) (*httptest.Server, *atomic.Int64) {
	t.Helper()
	n := new(atomic.Int64)
	mux := http.NewServeMux()
	mux.HandleFunc("/doc", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Retry-After", "5")
		w.Header().Set("X-Secret", "not recorded")
		io.WriteString(w, `{"accept":"`+r.Header.Get("Accept")+`"}`)
	})
	mux.HandleFunc("/missing", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusNotFound)
		io.WriteString(w, `{"error":"Not found"}`)
	})
	mux.HandleFunc("/moved", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/doc", http.StatusFound)
	})
	mux.HandleFunc("/big", func(w http.ResponseWriter, _ *http.Request) {
		io.WriteString(w, strings.Repeat("x", 100_000))
	})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		mux.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv, n
}

// get makes a request through rt and returns the status, the
// Content-Type and the body (reading at most limit bytes when limit > 0).
func get(t testing.TB, rt http.RoundTripper, url, accept string, limit int64) (int, string, []byte, error) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	req.Header.Set("Authorization", "Bearer secret-token")
	resp, err := (&http.Client{Transport: rt}).Do(req)
	if err != nil {
		return 0, "", nil, err
	}
	defer resp.Body.Close()
	var r io.Reader = resp.Body
	if limit > 0 {
		r = io.LimitReader(r, limit)
	}
	body, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header.Get("Content-Type"), body, nil
}

// testManifest is a manifest for srv with embedded trust material.
func testManifest(registry string) *Manifest {
	return &Manifest{
		Format:     Format,
		Tool:       "provaudit test",
		Recorded:   recordedAt,
		Lockfile:   Lockfile{Path: "package-lock.json", SHA256: strings.Repeat("ab", 32)},
		Registries: Registries{Default: registry, Used: []Registry{{URL: registry, NamedBy: NamedByUser, Source: "--registry"}}},
		Trust: Trust{
			TrustedRoot: TrustPiece{Member: TrustedRootMember, Kind: TrustEmbedded, Source: "embedded"},
			NpmKeys:     TrustPiece{Member: NpmKeysMember, Kind: TrustEmbedded, Source: "embedded"},
		},
	}
}

func embeddedTrust() map[string][]byte {
	return map[string][]byte{TrustedRootMember: verify.EmbeddedTrustedRoot(), NpmKeysMember: verify.EmbeddedNpmKeys()}
}

// testBundle records a few requests to a test server (answers, a 404, a
// redirect, a partly read body, a refused connection) and returns the
// bundle's bytes and the server's URL.
func testBundle(t testing.TB) ([]byte, string) {
	t.Helper()
	srv, _ := testServer(t)
	rec, err := NewRecorder(http.DefaultTransport, RecorderOptions{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range []struct {
		path, accept string
		limit        int64
	}{{"/doc", "application/json", 0}, {"/doc", "text/plain", 0}, {"/missing", "", 0}, {"/moved", "", 0}, {"/big", "", 1000}} {
		if _, _, _, err := get(t, rec, srv.URL+r.path, r.accept, r.limit); err != nil {
			t.Fatal(err)
		}
	}
	if _, _, _, err := get(t, rec, "http://127.0.0.1:1/refused", "", 0); err == nil {
		t.Fatal("a request to port 1 got an answer")
	}
	var buf bytes.Buffer
	if _, err := rec.WriteBundle(&buf, testManifest(srv.URL+"/"), embeddedTrust()); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes(), srv.URL
}

// memberError returns the MemberError naming member in err's tree.
func memberError(err error, member string) *MemberError {
	var found *MemberError
	walk(err, func(e error) bool {
		if me, ok := e.(*MemberError); ok && me.Member == member {
			found = me
			return true
		}
		return false
	})
	return found
}

func walk(err error, fn func(error) bool) bool {
	if err == nil {
		return false
	}
	if fn(err) {
		return true
	}
	switch u := err.(type) {
	case interface{ Unwrap() []error }:
		for _, e := range u.Unwrap() {
			if walk(e, fn) {
				return true
			}
		}
	case interface{ Unwrap() error }:
		return walk(u.Unwrap(), fn)
	}
	return false
}
