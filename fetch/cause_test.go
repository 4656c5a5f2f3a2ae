package fetch

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

// refusedURL is a loopback URL nothing listens on: connecting to it is
// refused.
func refusedURL(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return "http://" + addr + "/"
}

// TestCause: each registry-wide failure, as the client really reports it,
// has one sentence that names the host and no package; failures of one
// package have none.
func TestCause(t *testing.T) {
	checkGoroutines(t)
	manifestErr := func(t *testing.T, registry, name string) error {
		t.Helper()
		c := testClient(t, testConfig(t, registry, ""), Options{NoCache: true, Retries: 1})
		_, err := c.Manifest(context.Background(), name, "1.0.0", "")
		if err == nil {
			t.Fatal("no error")
		}
		return err
	}

	t.Run("refused", func(t *testing.T) {
		reg := refusedURL(t)
		cause, ok := Cause(manifestErr(t, reg, "left-pad"))
		host := strings.TrimSuffix(reg, "/")
		if !ok || !strings.HasPrefix(cause, host+" refused the connection") || strings.Contains(cause, "left-pad") {
			t.Errorf("Cause = %q, %v", cause, ok)
		}
	})
	t.Run("untrusted certificate", func(t *testing.T) {
		srv := httptest.NewTLSServer(http.NotFoundHandler())
		t.Cleanup(srv.Close)
		cause, ok := Cause(manifestErr(t, srv.URL+"/", "left-pad"))
		if !ok || !strings.Contains(cause, "TLS certificate of "+srv.URL+" is not trusted") || strings.Contains(cause, "left-pad") {
			t.Errorf("Cause = %q, %v", cause, ok)
		}
	})
	for _, code := range []int{http.StatusUnauthorized, http.StatusForbidden, http.StatusProxyAuthRequired} {
		t.Run(fmt.Sprint(code), func(t *testing.T) {
			r := newRT(t)
			r.Handle("/", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(code) })
			cause, ok := Cause(manifestErr(t, r.URL(), "left-pad"))
			want := fmt.Sprintf("%s answered HTTP %d", strings.TrimSuffix(r.URL(), "/"), code)
			if !ok || !strings.HasPrefix(cause, want) || strings.Contains(cause, "left-pad") {
				t.Errorf("Cause = %q, %v; want it to start with %q", cause, ok, want)
			}
		})
	}
	t.Run("name does not resolve", func(t *testing.T) {
		// Built by hand: resolving a name would touch the network.
		err := fmt.Errorf("manifest of left-pad@1.0.0: %w", &url.Error{Op: "Get", URL: "https://registry.invalid/left-pad/1.0.0",
			Err: &net.OpError{Op: "dial", Net: "tcp", Err: &net.DNSError{Err: "no such host", Name: "registry.invalid", IsNotFound: true}}})
		cause, ok := Cause(err)
		if !ok || !strings.HasPrefix(cause, "cannot resolve https://registry.invalid: ") || strings.Contains(cause, "left-pad") {
			t.Errorf("Cause = %q, %v", cause, ok)
		}
	})

	// One package's failure is not the registry's.
	for _, code := range []int{http.StatusNotFound, http.StatusInternalServerError} {
		t.Run(fmt.Sprint("package ", code), func(t *testing.T) {
			r := newRT(t)
			r.Handle("/", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(code) })
			if cause, ok := Cause(manifestErr(t, r.URL(), "left-pad")); ok {
				t.Errorf("Cause = %q, want none", cause)
			}
		})
	}
	for _, err := range []error{nil, errors.New("boom"), ErrNotInCache, context.Canceled} {
		if cause, ok := Cause(err); ok {
			t.Errorf("Cause(%v) = %q, want none", err, cause)
		}
	}
}

// TestUnreachableOpensBreaker: once one request found, in all its
// attempts, that the registry refuses connections, the next ones fail at
// once with ErrHostUnresponsive instead of each spending its own retries;
// all of them have the same cause.
func TestUnreachableOpensBreaker(t *testing.T) {
	checkGoroutines(t)
	reg := refusedURL(t)
	c := testClient(t, testConfig(t, reg, ""), Options{NoCache: true, Retries: 2})
	causes := map[string]int{}
	for i := range 20 {
		_, err := c.Manifest(context.Background(), fmt.Sprint("p", i), "1.0.0", "")
		if err == nil {
			t.Fatalf("p%d: no error", i)
		}
		if fast := errors.Is(err, ErrHostUnresponsive); fast != (i > 0) {
			t.Errorf("p%d: failed at once = %v: %v", i, fast, err)
		}
		cause, ok := Cause(err)
		if !ok {
			t.Errorf("p%d: no cause in %v", i, err)
		}
		causes[cause]++
	}
	if len(causes) != 1 {
		t.Errorf("causes = %v, want one", causes)
	}
	if n := c.Stats().Requests; n != 3 {
		t.Errorf("%d attempts, want the first request's 3 only", n)
	}
}
