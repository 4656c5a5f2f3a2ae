package registrytest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

const (
	docPath = "/left-pad/1.3.0"
	leftPad = "left-pad"
)

// withPackage returns a registry serving left-pad@1.3.0, signed.
func withPackage(t *testing.T, opts Options) *Registry {
	t.Helper()
	r := newRegistry(t, opts)
	if err := r.Add(Package{Name: leftPad, Version: "1.3.0", Signed: true}); err != nil {
		t.Fatal(err)
	}
	return r
}

func TestURLAndClient(t *testing.T) {
	for _, tls := range []bool{false, true} {
		r := withPackage(t, Options{TLS: tls})
		if !strings.HasSuffix(r.URL(), "/") {
			t.Errorf("URL %q has no trailing slash", r.URL())
		}
		wantScheme := map[bool]string{false: "http://", true: "https://"}[tls]
		if !strings.HasPrefix(r.URL(), wantScheme) {
			t.Errorf("URL %q, want scheme %s", r.URL(), wantScheme)
		}
		if got := (r.Certificate() != nil); got != tls {
			t.Errorf("TLS %v: certificate present = %v", tls, got)
		}
		doc := decode[testVersionDoc](t, mustGet(t, r, docPath))
		if doc.Name != leftPad {
			t.Errorf("TLS %v: name %q", tls, doc.Name)
		}
	}
}

func TestTLSServesHTTP2(t *testing.T) {
	r := withPackage(t, Options{TLS: true})
	resp, err := r.Client().Get(r.URL() + "left-pad/1.3.0")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.ProtoMajor != 2 {
		t.Errorf("protocol %s, want HTTP/2", resp.Proto)
	}
}

func TestAddrOption(t *testing.T) {
	r := newRegistry(t, Options{Addr: "127.0.0.1:0"})
	if !strings.HasPrefix(r.URL(), "http://127.0.0.1:") {
		t.Errorf("URL %q", r.URL())
	}
	if got := get(t, r, "/nothing").status; got != http.StatusNotFound {
		t.Errorf("status %d, want 404", got)
	}
}

func TestMethodNotAllowed(t *testing.T) {
	r := withPackage(t, Options{})
	resp := do(t, r, http.MethodPost, docPath)
	if resp.status != http.StatusMethodNotAllowed {
		t.Errorf("POST: status %d, want 405", resp.status)
	}
	head := do(t, r, http.MethodHead, docPath)
	if head.status != http.StatusOK || len(head.body) != 0 {
		t.Errorf("HEAD: status %d, %d body bytes", head.status, len(head.body))
	}
}

func TestNotFound(t *testing.T) {
	r := withPackage(t, Options{})
	for _, p := range []string{
		"/nope", "/nope/1.0.0", "/left-pad/9.9.9", "/left-pad/1.3.0/extra/x",
		"/-/npm/v1/attestations/left-pad@1.3.0", // not attested
		"/-/npm/v1/attestations/left-pad", "/-/npm/v2/keys", "/-/whoami",
		"/left-pad/-/left-pad-1.3.0.tgz", // no tarball given
		"/left-pad/-/other-1.3.0.tgz",
	} {
		resp := get(t, r, p)
		if resp.status != http.StatusNotFound {
			t.Errorf("GET %s: status %d, want 404", p, resp.status)
			continue
		}
		if e := decode[map[string]string](t, resp.body)["error"]; e == "" {
			t.Errorf("GET %s: 404 without an error message: %s", p, resp.body)
		}
	}
}

func TestLatency(t *testing.T) {
	const d = 60 * time.Millisecond
	r := withPackage(t, Options{Latency: d})
	start := time.Now()
	mustGet(t, r, docPath)
	if el := time.Since(start); el < d {
		t.Errorf("request took %v with latency %v", el, d)
	}
	r.SetLatency(0)
	r.SetLatency(2 * d)
	start = time.Now()
	mustGet(t, r, docPath)
	if el := time.Since(start); el < 2*d {
		t.Errorf("request took %v after SetLatency(%v)", el, 2*d)
	}
}

func TestLatencyHonoursClientCancel(t *testing.T) {
	r := withPackage(t, Options{Latency: time.Hour})
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, r.URL()+"left-pad/1.3.0", nil)
	if err != nil {
		t.Fatal(err)
	}
	_, err = r.Client().Do(req)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want deadline exceeded", err)
	}
	// The handler notices the cancellation and returns: nothing stays in flight.
	waitFor(t, "request to leave", func() bool { return r.Stats().InFlight == 0 })
}

// plainGet is a GET usable from any goroutine (no t.Fatal).
func plainGet(r *Registry, path string) (int, error) {
	resp, err := r.Client().Get(r.URL() + strings.TrimPrefix(path, "/"))
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	_, err = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, err
}

// waitFor polls cond for up to 10 seconds.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestErrorRate(t *testing.T) {
	sequence := func(seed int64, rate float64, status int) []int {
		r := withPackage(t, Options{Seed: seed})
		r.SetErrorRate(rate, status)
		var out []int
		for range 200 {
			out = append(out, get(t, r, docPath).status)
		}
		return out
	}
	count := func(s []int, status int) int {
		n := 0
		for _, v := range s {
			if v == status {
				n++
			}
		}
		return n
	}
	half := sequence(1, 0.5, http.StatusServiceUnavailable)
	if n := count(half, http.StatusServiceUnavailable); n < 60 || n > 140 {
		t.Errorf("rate 0.5: %d of 200 failed", n)
	}
	if n := count(half, http.StatusOK); n+count(half, http.StatusServiceUnavailable) != 200 {
		t.Errorf("rate 0.5: unexpected statuses %v", half)
	}
	if again := sequence(1, 0.5, http.StatusServiceUnavailable); !equalInts(half, again) {
		t.Error("same seed, different failure sequence")
	}
	if other := sequence(2, 0.5, http.StatusServiceUnavailable); equalInts(half, other) {
		t.Error("different seeds, same failure sequence")
	}
	if n := count(sequence(1, 1, 0), http.StatusInternalServerError); n != 200 {
		t.Errorf("rate 1, default status: %d of 200 were 500", n)
	}
	if n := count(sequence(1, 0, 502), http.StatusOK); n != 200 {
		t.Errorf("rate 0: %d of 200 succeeded", n)
	}
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestFailWithRetryAfter(t *testing.T) {
	r := withPackage(t, Options{})
	if err := r.Add(Package{Name: "@scope/pkg", Version: "1.0.0"}); err != nil {
		t.Fatal(err)
	}
	r.Fail(docPath, 2, http.StatusTooManyRequests, "3")
	r.Fail("/@scope%2fpkg/1.0.0", 1, http.StatusBadGateway, "")
	for i := range 2 {
		resp := get(t, r, docPath)
		if resp.status != http.StatusTooManyRequests || resp.header.Get("Retry-After") != "3" {
			t.Fatalf("request %d: status %d, Retry-After %q; want 429, 3", i, resp.status, resp.header.Get("Retry-After"))
		}
	}
	mustGet(t, r, docPath)
	mustGet(t, r, "/left-pad") // other paths never failed
	// The knob path was escaped, the request is not: still the same resource.
	if resp := get(t, r, "/@scope/pkg/1.0.0"); resp.status != http.StatusBadGateway || resp.header.Get("Retry-After") != "" {
		t.Errorf("scoped: status %d, Retry-After %q", resp.status, resp.header.Get("Retry-After"))
	}
	mustGet(t, r, "/@scope%2fpkg/1.0.0")

	r.Fail("/", 1, http.StatusServiceUnavailable, "Wed, 21 Oct 2015 07:28:00 GMT")
	if resp := get(t, r, "/anything"); resp.status != http.StatusServiceUnavailable || resp.header.Get("Retry-After") == "" {
		t.Errorf("prefix knob: status %d", resp.status)
	}
	r.Fail(docPath, 5, http.StatusInternalServerError, "")
	r.Fail(docPath, 0, 0, "")
	mustGet(t, r, docPath)
}

func TestTruncate(t *testing.T) {
	for _, tls := range []bool{false, true} { // HTTP/1.1 and HTTP/2
		r := withPackage(t, Options{TLS: tls})
		full := mustGet(t, r, docPath)
		r.Truncate(docPath)
		resp := get(t, r, docPath)
		if !errors.Is(resp.err, io.ErrUnexpectedEOF) {
			t.Errorf("TLS %v: reading a truncated body: err = %v, want unexpected EOF", tls, resp.err)
		}
		if resp.status != http.StatusOK {
			t.Errorf("TLS %v: status %d", tls, resp.status)
		}
		if len(resp.body) != len(full)/2 || !bytes.Equal(resp.body, full[:len(full)/2]) {
			t.Errorf("TLS %v: got %d bytes, want the first %d of %d", tls, len(resp.body), len(full)/2, len(full))
		}
		// Other paths still work on a fresh connection.
		mustGet(t, r, "/left-pad")
		r.ClearFaults()
		if got := mustGet(t, r, docPath); !bytes.Equal(got, full) {
			t.Errorf("TLS %v: ClearFaults did not restore the body", tls)
		}
	}
}

func TestOversize(t *testing.T) {
	r := withPackage(t, Options{})
	full := mustGet(t, r, docPath)
	const n = 5 << 20
	r.Oversize(docPath, n)
	resp := get(t, r, docPath)
	if resp.err != nil || resp.status != http.StatusOK {
		t.Fatalf("status %d, err %v", resp.status, resp.err)
	}
	if resp.header.Get("Content-Length") != "" {
		t.Errorf("oversized body announces Content-Length %s", resp.header.Get("Content-Length"))
	}
	if len(resp.body) != n {
		t.Errorf("got %d bytes, want %d", len(resp.body), n)
	}
	if !bytes.HasPrefix(resp.body, full) || len(bytes.TrimSpace(resp.body[len(full):])) != 0 {
		t.Error("body is not the document padded with whitespace")
	}
	if doc := decode[testVersionDoc](t, resp.body); doc.Name != leftPad {
		t.Errorf("padded document decodes to name %q", doc.Name)
	}
	// A client that stops reading early does not block the server.
	req, err := http.NewRequest(http.MethodGet, r.URL()+"left-pad/1.3.0", nil)
	if err != nil {
		t.Fatal(err)
	}
	r.Oversize(docPath, 1<<30)
	res, err := r.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.CopyN(io.Discard, res.Body, 1<<20); err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	waitFor(t, "the oversized response to stop", func() bool { return r.Stats().InFlight == 0 })
	r.Oversize(docPath, 0)
	if got := mustGet(t, r, docPath); !bytes.Equal(got, full) {
		t.Error("Oversize(path, 0) did not restore the body")
	}
}

func TestHTML(t *testing.T) {
	r := withPackage(t, Options{})
	r.SetHTML(docPath)
	resp := get(t, r, docPath)
	if resp.status != http.StatusOK || !strings.HasPrefix(resp.header.Get("Content-Type"), "text/html") {
		t.Fatalf("status %d, Content-Type %q", resp.status, resp.header.Get("Content-Type"))
	}
	if !bytes.HasPrefix(resp.body, []byte("<!DOCTYPE html>")) || json.Valid(resp.body) {
		t.Errorf("body is not an HTML page: %.80s", resp.body)
	}
	mustGet(t, r, "/left-pad") // only that path
}

func TestRequireTokenAndAuthHeaders(t *testing.T) {
	r := withPackage(t, Options{})
	r.RequireToken("s3cret")
	for _, h := range []string{"", "Bearer wrong", "s3cret", "Basic czNjcmV0"} {
		var resp response
		if h == "" {
			resp = get(t, r, docPath)
		} else {
			resp = get(t, r, docPath, "Authorization", h)
		}
		if resp.status != http.StatusUnauthorized {
			t.Errorf("Authorization %q: status %d, want 401", h, resp.status)
		}
	}
	mustGet(t, r, docPath, "Authorization", "Bearer s3cret")
	want := []string{"Bearer wrong", "s3cret", "Basic czNjcmV0", "Bearer s3cret"}
	if got := r.AuthHeaders(); strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("AuthHeaders = %q, want %q", got, want)
	}
	r.RequireToken("")
	mustGet(t, r, docPath)
}

func TestMaxInFlight(t *testing.T) {
	r := withPackage(t, Options{})
	const n = 16
	// The override holds every request until n are inside: they all overlap.
	var arrived atomic.Int64
	release := make(chan struct{})
	r.Handle("/hold", func(w http.ResponseWriter, _ *http.Request) {
		if arrived.Add(1) == n {
			close(release)
		}
		<-release
		w.WriteHeader(http.StatusNoContent)
	})
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			if s, err := plainGet(r, "/hold"); err != nil || s != http.StatusNoContent {
				t.Errorf("status %d, err %v", s, err)
			}
		})
	}
	wg.Wait()
	if got := r.MaxInFlight(); got != n {
		t.Errorf("MaxInFlight = %d, want %d", got, n)
	}

	// A client limited to 3 at a time never has more in flight.
	r.ResetStats()
	r.SetLatency(5 * time.Millisecond)
	sem := make(chan struct{}, 3)
	for range 30 {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			if s, err := plainGet(r, docPath); err != nil || s != http.StatusOK {
				t.Errorf("status %d, err %v", s, err)
			}
		})
	}
	wg.Wait()
	if got := r.MaxInFlight(); got < 1 || got > 3 {
		t.Errorf("limited client: MaxInFlight = %d, want 1..3", got)
	}
	if got := r.Requests(); got != 30 {
		t.Errorf("Requests = %d, want 30", got)
	}
}

func TestStatsAndReset(t *testing.T) {
	r := withPackage(t, Options{})
	if err := r.Add(Package{Name: "@scope/pkg", Version: "1.0.0"}); err != nil {
		t.Fatal(err)
	}
	mustGet(t, r, docPath, "Authorization", "Bearer x")
	mustGet(t, r, "/left-pad")
	mustGet(t, r, "/@scope%2fpkg/1.0.0")
	mustGet(t, r, "/@scope/pkg")
	get(t, r, "/missing")
	for prefix, want := range map[string]int64{
		"/":             5,
		"/left-pad":     2,
		docPath:         1,
		"/@scope/pkg":   2,
		"/@scope%2fpkg": 2,
		"/missing":      1,
		"/-/npm":        0,
	} {
		if got := r.RequestsFor(prefix); got != want {
			t.Errorf("RequestsFor(%q) = %d, want %d", prefix, got, want)
		}
	}
	if r.Requests() != 5 || r.MaxInFlight() < 1 || len(r.AuthHeaders()) != 1 {
		t.Errorf("Requests %d, MaxInFlight %d, AuthHeaders %q", r.Requests(), r.MaxInFlight(), r.AuthHeaders())
	}

	// The control endpoint reports without counting itself.
	st := decode[Stats](t, mustGet(t, r, "/-/registrytest/stats"))
	if st.Requests != 5 || st.Packages != 2 {
		t.Errorf("stats endpoint: %+v", st)
	}
	if resp := do(t, r, http.MethodPost, "/-/registrytest/reset"); resp.status != http.StatusOK {
		t.Fatalf("reset: status %d", resp.status)
	}
	if r.Requests() != 0 || r.RequestsFor("/") != 0 || r.MaxInFlight() != 0 || len(r.AuthHeaders()) != 0 {
		t.Errorf("after reset: Requests %d, RequestsFor %d, MaxInFlight %d, AuthHeaders %q",
			r.Requests(), r.RequestsFor("/"), r.MaxInFlight(), r.AuthHeaders())
	}
	mustGet(t, r, docPath)
	r.ResetStats()
	if r.Requests() != 0 || r.MaxInFlight() != 0 {
		t.Errorf("after ResetStats: Requests %d, MaxInFlight %d", r.Requests(), r.MaxInFlight())
	}
	if resp := get(t, r, "/-/registrytest/nope"); resp.status != http.StatusNotFound {
		t.Errorf("unknown control path: status %d", resp.status)
	}
}

func TestHandleOverride(t *testing.T) {
	r := withPackage(t, Options{})
	r.Handle(docPath, func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusTeapot)
	})
	r.Handle("/-/npm/v1/", func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusGone)
	})
	r.Handle("/-/npm/v1/keys", func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusAccepted)
	})
	for path, want := range map[string]int{
		docPath:                      http.StatusTeapot,
		"/left-pad":                  http.StatusOK,
		"/-/npm/v1/keys":             http.StatusAccepted, // the longest pattern wins
		"/-/npm/v1/attestations/x@1": http.StatusGone,
	} {
		if got := get(t, r, path).status; got != want {
			t.Errorf("GET %s: status %d, want %d", path, got, want)
		}
	}
	r.Handle(docPath, nil)
	mustGet(t, r, docPath)
	if r.RequestsFor(docPath) != 2 {
		t.Errorf("overridden requests are not counted: %d", r.RequestsFor(docPath))
	}
}

func TestKnobOrder(t *testing.T) {
	// Token before Fail before HTML before overrides.
	r := withPackage(t, Options{})
	r.Handle(docPath, func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusTeapot) })
	r.SetHTML(docPath)
	r.Fail(docPath, 1, http.StatusBadGateway, "")
	r.RequireToken("t")
	auth := []string{"Authorization", "Bearer t"}
	if s := get(t, r, docPath).status; s != http.StatusUnauthorized {
		t.Errorf("no token: %d", s)
	}
	if s := get(t, r, docPath, auth...).status; s != http.StatusBadGateway {
		t.Errorf("with token: %d, want the Fail status", s)
	}
	if resp := get(t, r, docPath, auth...); !strings.HasPrefix(resp.header.Get("Content-Type"), "text/html") {
		t.Errorf("after Fail: %d %s, want the HTML page", resp.status, resp.header.Get("Content-Type"))
	}
}

func TestCloseWhileServingLeaksNothing(t *testing.T) {
	before := runtime.NumGoroutine()
	for _, tls := range []bool{false, true} {
		r := New(Options{TLS: tls, Latency: time.Hour})
		if err := r.Add(Package{Name: leftPad, Version: "1.3.0"}); err != nil {
			t.Fatal(err)
		}
		errs := make(chan error, 2)
		go func() {
			_, err := r.Client().Get(r.URL() + "left-pad/1.3.0") // waits an hour
			errs <- err
		}()
		waitFor(t, "the request to arrive", func() bool { return r.Stats().InFlight == 1 })
		r.Close()
		r.Close() // idempotent
		if err := <-errs; err == nil {
			t.Error("request in flight at Close succeeded")
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for runtime.NumGoroutine() > before {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			t.Fatalf("%d goroutines before, %d after Close:\n%s", before, runtime.NumGoroutine(), buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(10 * time.Millisecond)
	}
}
