package fetch

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestRetries(t *testing.T) {
	checkGoroutines(t)
	tests := []struct {
		name         string
		failures     int
		status       int
		retries      int
		wantErr      error // nil = success
		wantRequests int
	}{
		{"500 then success", 2, http.StatusInternalServerError, 3, nil, 3},
		{"502", 1, http.StatusBadGateway, 3, nil, 2},
		{"503", 3, http.StatusServiceUnavailable, 3, nil, 4},
		{"504 exhausts retries", 10, http.StatusGatewayTimeout, 2, ErrHTTPStatus, 3},
		{"429", 1, http.StatusTooManyRequests, 3, nil, 2},
		{"408", 1, http.StatusRequestTimeout, 3, nil, 2},
		{"retries disabled", 1, http.StatusInternalServerError, -1, ErrHTTPStatus, 1},
		{"403 not retried", 1, http.StatusForbidden, 3, ErrHTTPStatus, 1},
		{"401 not retried", 1, http.StatusUnauthorized, 3, ErrHTTPStatus, 1},
		{"400 not retried", 1, http.StatusBadRequest, 3, ErrHTTPStatus, 1},
		{"501 not retried", 1, http.StatusNotImplemented, 3, ErrHTTPStatus, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reg := newFakeRegistry(t)
			reg.add(&fakePkg{name: "r", version: "1.0.0"})
			reg.fail("/r/1.0.0", tt.failures, tt.status, "")
			if tt.status == http.StatusNotImplemented {
				reg.fail("/r", 1, http.StatusForbidden, "") // the packument fallback fails too
			}
			c := testClient(t, testConfig(t, reg.URL(), ""), Options{NoCache: true, Retries: tt.retries})
			_, err := c.Manifest(context.Background(), "r", "1.0.0", "")
			if tt.wantErr == nil && err != nil || tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if got := reg.hitsFor("/r/1.0.0"); got != tt.wantRequests {
				t.Errorf("requests = %d, want %d", got, tt.wantRequests)
			}
			if got, want := c.Stats().Retries, int64(tt.wantRequests-1); got != want {
				t.Errorf("Stats.Retries = %d, want %d", got, want)
			}
			var se *StatusError
			if err != nil && (!errors.As(err, &se) || se.StatusCode != tt.status && tt.status != http.StatusNotImplemented) {
				t.Errorf("err %v does not carry status %d", err, tt.status)
			}
			if err != nil && !strings.Contains(err.Error(), "r@1.0.0") {
				t.Errorf("err %q does not name the package", err)
			}
		})
	}
}

func TestRetryAfter(t *testing.T) {
	checkGoroutines(t)
	reg := newFakeRegistry(t)
	reg.add(&fakePkg{name: "ra", version: "1.0.0"})
	reg.fail("/ra/1.0.0", 1, http.StatusTooManyRequests, "1")
	c := testClient(t, testConfig(t, reg.URL(), ""), Options{NoCache: true})
	start := time.Now()
	if _, err := c.Manifest(context.Background(), "ra", "1.0.0", ""); err != nil {
		t.Fatal(err)
	}
	// a lower bound only: the client must have waited what the server asked
	if waited := time.Since(start); waited < time.Second {
		t.Errorf("retried after %v, before Retry-After: 1", waited)
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		in     string
		want   time.Duration
		wantOK bool
	}{
		{"", 0, false},
		{"0", 0, true},
		{"5", 5 * time.Second, true},
		{"-3", 0, true},
		{"3600", maxRetryAfter, true},
		{"99999999999999999", maxRetryAfter, true},
		{now.Add(10 * time.Second).Format(http.TimeFormat), 10 * time.Second, true},
		{now.Add(-10 * time.Second).Format(http.TimeFormat), 0, true},
		{now.Add(time.Hour).Format(http.TimeFormat), maxRetryAfter, true},
		{"soon", 0, false},
	}
	for _, tt := range tests {
		got, ok := parseRetryAfter(tt.in, now)
		if got != tt.want || ok != tt.wantOK {
			t.Errorf("parseRetryAfter(%q) = %v, %v; want %v, %v", tt.in, got, ok, tt.want, tt.wantOK)
		}
	}
}

func TestBackoffGrowsWithJitter(t *testing.T) {
	c := &Client{opts: Options{RetryBackoff: 100 * time.Millisecond}}
	for attempt, base := range []time.Duration{100, 200, 400, 800} {
		base *= time.Millisecond
		for range 50 {
			d := c.backoff(attempt)
			if d < base/2 || d > base {
				t.Fatalf("backoff(%d) = %v, want within [%v, %v]", attempt, d, base/2, base)
			}
		}
	}
	if d := c.backoff(40); d > maxBackoff || d < maxBackoff/2 {
		t.Errorf("backoff(40) = %v, want capped at %v", d, maxBackoff)
	}
}

func TestSizeCap(t *testing.T) {
	checkGoroutines(t)
	reg := newFakeRegistry(t)
	reg.handle("/big/1.0.0", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, `{"name":"big","version":"1.0.0","dist":{"integrity":"sha512-x"},"pad":"%s"}`, strings.Repeat("x", 5000))
	})
	c := testClient(t, testConfig(t, reg.URL(), ""), Options{NoCache: true, MaxBody: 4096})
	_, err := c.Manifest(context.Background(), "big", "1.0.0", "")
	if !errors.Is(err, ErrTooLarge) {
		t.Fatalf("err = %v, want ErrTooLarge", err)
	}
	if reg.hitsFor("/big/1.0.0") != 1 {
		t.Errorf("an oversized body was retried")
	}
	if !strings.Contains(err.Error(), "big@1.0.0") || !strings.Contains(err.Error(), reg.URL()+"big/1.0.0") {
		t.Errorf("err %q does not name the package and URL", err)
	}
}

func TestTimeout(t *testing.T) {
	checkGoroutines(t)
	reg := newFakeRegistry(t)
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	reg.handle("/slow/1.0.0", func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	})
	reg.handle("/slowbody/1.0.0", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "1000")
		fmt.Fprint(w, `{"name":"slowbody",`)
		w.(http.Flusher).Flush()
		select {
		case <-release:
		case <-r.Context().Done():
		}
	})
	for _, name := range []string{"slow", "slowbody"} {
		// a Client each: two timeouts of one would open the breaker of
		// the host for the other (TestCircuitBreaker)
		c := testClient(t, testConfig(t, reg.URL(), ""), Options{NoCache: true, Timeout: 50 * time.Millisecond, Retries: 1})
		_, err := c.Manifest(context.Background(), name, "1.0.0", "")
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("%s: err = %v, want a deadline error", name, err)
		}
		if !strings.Contains(err.Error(), "within 50ms") || !strings.Contains(err.Error(), "after 2 attempts") {
			t.Errorf("%s: err = %q", name, err)
		}
		if got := reg.hitsFor("/" + name + "/1.0.0"); got != 2 {
			t.Errorf("%s: %d requests, want 2 (timeouts are retried)", name, got)
		}
	}
}

func TestTruncatedBodyRetried(t *testing.T) {
	checkGoroutines(t)
	reg := newFakeRegistry(t)
	reg.add(&fakePkg{name: "trunc", version: "1.0.0"})
	var mu sync.Mutex
	calls := 0
	reg.handle("/trunc/1.0.0", func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		calls++
		n := calls
		mu.Unlock()
		if n == 1 {
			w.Header().Set("Content-Length", "500")
			fmt.Fprint(w, `{"name":"trunc","version":"1.0.0"`) // the server closes the connection short
			return
		}
		writeJSON(w, reg.versionDoc(reg.lookup("trunc", "1.0.0"), false, false))
	})
	c := testClient(t, testConfig(t, reg.URL(), ""), Options{NoCache: true})
	m, err := c.Manifest(context.Background(), "trunc", "1.0.0", "")
	if err != nil {
		t.Fatalf("Manifest: %v", err)
	}
	if m.Integrity == "" || reg.hitsFor("/trunc/1.0.0") != 2 {
		t.Errorf("m = %+v after %d requests", m, reg.hitsFor("/trunc/1.0.0"))
	}
}

func TestCancelAbortsPromptly(t *testing.T) {
	checkGoroutines(t)
	reg := newFakeRegistry(t)
	reg.add(&fakePkg{name: "c", version: "1.0.0"})
	reg.fail("/c/1.0.0", 100, http.StatusServiceUnavailable, "60") // long Retry-After
	aborted := make(chan struct{})
	reg.handle("/hang/1.0.0", func(w http.ResponseWriter, r *http.Request) {
		<-r.Context().Done()
		close(aborted)
	})
	c := testClient(t, testConfig(t, reg.URL(), ""), Options{NoCache: true})
	// cancel once the request reached the server: during the backoff wait
	// ("c") and while the request is in flight ("hang")
	for _, name := range []string{"c", "hang"} {
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() {
			_, err := c.Manifest(ctx, name, "1.0.0", "")
			done <- err
		}()
		for deadline := time.Now().Add(10 * time.Second); reg.hitsFor("/"+name+"/1.0.0") == 0; time.Sleep(time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("%s: the request never reached the server", name)
			}
		}
		time.Sleep(20 * time.Millisecond)
		cancel()
		select {
		case err := <-done:
			if !errors.Is(err, context.Canceled) {
				t.Errorf("%s: err = %v, want context.Canceled", name, err)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("%s: Manifest did not return after cancel", name)
		}
	}
	select {
	case <-aborted: // the server saw the in-flight request go away
	case <-time.After(10 * time.Second):
		t.Fatal("the in-flight request was not aborted")
	}
}

func TestConcurrencyLimit(t *testing.T) {
	checkGoroutines(t)
	reg := newFakeRegistry(t)
	reg.set(func(f *fakeRegistry) { f.latency = 5 * time.Millisecond })
	const n = 200
	for i := range n {
		reg.add(&fakePkg{name: fmt.Sprintf("p%d", i), version: "1.0.0"})
	}
	for _, limit := range []int{1, 4, 16} {
		t.Run(fmt.Sprint(limit), func(t *testing.T) {
			reg.maxInFlight.Store(0)
			c := testClient(t, testConfig(t, reg.URL(), ""), Options{NoCache: true, Concurrency: limit})
			var wg sync.WaitGroup
			errs := make(chan error, n)
			for i := range n {
				wg.Go(func() {
					if _, err := c.Manifest(context.Background(), fmt.Sprintf("p%d", i), "1.0.0", ""); err != nil {
						errs <- err
					}
				})
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Fatal(err)
			}
			if got := reg.maxInFlight.Load(); got > int64(limit) || got < 1 {
				t.Errorf("max in flight = %d, limit %d", got, limit)
			}
			if limit > 1 && reg.maxInFlight.Load() < 2 {
				t.Errorf("requests never overlapped (max in flight %d)", reg.maxInFlight.Load())
			}
		})
	}
}

func TestNewClientOptions(t *testing.T) {
	cfg := testConfig(t, "https://r.invalid/", "")
	if _, err := NewClient(nil, Options{}); !errors.Is(err, ErrConfig) {
		t.Errorf("nil config: %v", err)
	}
	if _, err := NewClient(cfg, Options{Offline: true, NoCache: true}); !errors.Is(err, ErrConfig) {
		t.Errorf("offline without cache: %v", err)
	}
	c, err := NewClient(cfg, Options{CacheDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	if c.opts.Concurrency != DefaultConcurrency || c.opts.Timeout != DefaultTimeout || c.opts.Retries != DefaultRetries ||
		c.opts.MaxBody != DefaultMaxBody || c.opts.UserAgent != DefaultUserAgent || cap(c.sem) != DefaultConcurrency {
		t.Errorf("defaults not applied: %+v", c.opts)
	}
	tr := c.hc.Transport.(*authTransport).base.(*http.Transport)
	if !tr.ForceAttemptHTTP2 || tr.MaxIdleConnsPerHost < DefaultConcurrency {
		t.Errorf("transport: HTTP/2 %v, idle per host %d", tr.ForceAttemptHTTP2, tr.MaxIdleConnsPerHost)
	}
}

func TestInvalidSpec(t *testing.T) {
	c := testClient(t, testConfig(t, "https://r.invalid/", ""), Options{Transport: failTransport{t}})
	for _, spec := range [][2]string{
		{"", "1.0.0"}, {"a", ""}, {"../etc", "1.0.0"}, {"a/b", "1.0.0"}, {"@s", "1.0.0"}, {"@s/", "1.0.0"},
		{"@/x", "1.0.0"}, {"a b", "1.0.0"}, {"a?x", "1.0.0"}, {"a#x", "1.0.0"}, {"a%2f", "1.0.0"},
		{"a", "1.0.0/../../x"}, {"a", "1.0.0?x"}, {"a", ".."}, {"@s/..", "1.0.0"},
		{"a\x00", "1.0.0"}, {"a\n", "1.0.0"}, {"a", "v1.0.0"}, {"a", "1.0"}, {"..", "1.0.0"}, {"@../x", "1.0.0"},
	} {
		if _, err := c.Manifest(context.Background(), spec[0], spec[1], ""); !errors.Is(err, ErrInvalidSpec) {
			t.Errorf("Manifest(%q, %q) err = %v, want ErrInvalidSpec", spec[0], spec[1], err)
		}
		if _, err := c.PublishInfo(context.Background(), spec[0], spec[1]); !errors.Is(err, ErrInvalidSpec) {
			t.Errorf("PublishInfo(%q, %q) err = %v, want ErrInvalidSpec", spec[0], spec[1], err)
		}
	}
}

func TestRedirectDowngradeRefused(t *testing.T) {
	checkGoroutines(t)
	plain := newFakeRegistry(t)
	plain.add(&fakePkg{name: "d", version: "1.0.0"})
	secure := newFakeRegistry(t, withTLS())
	secure.handle("/d/1.0.0", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, plain.URL()+"d/1.0.0", http.StatusFound)
	})
	c := testClient(t, testConfig(t, secure.URL(), "strict-ssl=false\n"), Options{NoCache: true, Retries: -1})
	_, err := c.Manifest(context.Background(), "d", "1.0.0", "")
	if err == nil || !strings.Contains(err.Error(), "refusing a redirect from https") {
		t.Fatalf("err = %v, want the downgrade refused", err)
	}
	if plain.requests.Load() != 0 {
		t.Errorf("the http target was contacted")
	}
}
