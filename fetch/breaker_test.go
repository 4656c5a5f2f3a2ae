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

	"github.com/provaudit/provaudit/internal/registrytest"
)

// TestCircuitBreaker: 150 packages on a registry that stalls, in each of the
// three shapes, all end as errors well within a bound that, without the
// breaker, several waves of timed-out attempts and retries would exceed;
// most of them fail at once with ErrHostUnresponsive and say why.
func TestCircuitBreaker(t *testing.T) {
	checkGoroutines(t)
	shapes := map[string]func(r *registrytest.Registry) http.HandlerFunc{
		"never answers": func(r *registrytest.Registry) http.HandlerFunc { return r.NeverAnswer() },
		"stalls the body": func(r *registrytest.Registry) http.HandlerFunc {
			return r.StallBody([]byte(`{"name":`))
		},
		"trickles": func(r *registrytest.Registry) http.HandlerFunc {
			return r.Trickle([]byte(`{"name":"x","version":"1.0.0"}`), time.Second)
		},
	}
	for name, shape := range shapes {
		t.Run(name, func(t *testing.T) {
			r := newRT(t)
			r.Handle("/", shape(r))
			c := testClient(t, testConfig(t, r.URL(), ""), Options{NoCache: true, Concurrency: 8, Timeout: 300 * time.Millisecond, HeaderTimeout: 150 * time.Millisecond})
			start := time.Now()
			errs := make([]error, 150)
			var wg sync.WaitGroup
			for i := range errs {
				wg.Go(func() {
					_, errs[i] = c.Manifest(context.Background(), fmt.Sprint("p", i), "1.0.0", "")
				})
			}
			wg.Wait()
			took := time.Since(start)
			// Without the breaker: 150 / 8 waves of two attempts of up to
			// 300 ms each, about 11 s.
			if took > 3*time.Second {
				t.Errorf("150 packages took %s", took)
			}
			fast := 0
			for i, err := range errs {
				if err == nil {
					t.Fatalf("p%d: no error", i)
				}
				if errors.Is(err, ErrHostUnresponsive) {
					fast++
					if !strings.Contains(err.Error(), "in a row timed out") || !strings.Contains(err.Error(), fmt.Sprintf("p%d@1.0.0", i)) {
						t.Errorf("p%d: %v", i, err)
					}
				}
			}
			if fast < 100 {
				t.Errorf("%d of 150 failed at once; want most", fast)
			}
			if n := r.Requests(); n > 40 {
				t.Errorf("the stalled registry got %d requests", n)
			}
			t.Logf("%s: 150 packages in %s, %d requests", name, took.Round(time.Millisecond), r.Requests())
		})
	}
}

// TestBreakerResetsAndIsPerHost: timeouts separated by answers never open
// the breaker, and an open breaker of one host leaves another host alone.
func TestBreakerResetsAndIsPerHost(t *testing.T) {
	checkGoroutines(t)
	r := newRT(t, registrytest.Package{Name: "ok", Version: "1.0.0", Signed: true})
	r.Handle("/slow/", r.NeverAnswer())
	other := newRT(t, registrytest.Package{Name: "@s/fine", Version: "1.0.0", Signed: true})
	cfg := testConfig(t, r.URL(), "@s:registry="+other.URL()+"\n")
	c := testClient(t, cfg, Options{NoCache: true, Timeout: 200 * time.Millisecond, HeaderTimeout: 100 * time.Millisecond, Retries: -1})
	ctx := context.Background()
	for i := range 2 * breakerThreshold {
		if _, err := c.Manifest(ctx, "slow", "1.0.0", ""); err == nil || errors.Is(err, ErrHostUnresponsive) {
			t.Fatalf("round %d: slow: %v, want a timeout", i, err)
		}
		if _, err := c.Manifest(ctx, "ok", "1.0.0", ""); err != nil {
			t.Fatalf("round %d: ok: %v", i, err)
		}
	}
	for range breakerThreshold {
		_, _ = c.Manifest(ctx, "slow", "1.0.0", "")
	}
	if _, err := c.Manifest(ctx, "ok", "1.0.0", ""); !errors.Is(err, ErrHostUnresponsive) {
		t.Fatalf("after %d timeouts in a row: %v, want ErrHostUnresponsive", breakerThreshold, err)
	}
	if _, err := c.Manifest(ctx, "@s/fine", "1.0.0", ""); err != nil {
		t.Fatalf("another host: %v", err)
	}
}

// TestSlowBodyCutOff: a body that trickles, or stalls after its headers,
// ends its attempt once a window passes with less than minProgress bytes,
// long before Timeout, and counts as a timeout; a slow but steady body is
// left alone.
func TestSlowBodyCutOff(t *testing.T) {
	checkGoroutines(t)
	r := newRT(t)
	r.Handle("/trickle/", r.Trickle([]byte(`{"name":"trickle","version":"1.0.0"}`), 20*time.Millisecond))
	r.Handle("/stall/", r.StallBody([]byte(`{"name":`)))
	r.Handle("/steady/1.0.0", func(w http.ResponseWriter, req *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"name":"steady","version":"1.0.0","dist":{"integrity":"sha512-x"},"readme":"`)
		for range 10 {
			fmt.Fprint(w, strings.Repeat("a", 2<<10))
			w.(http.Flusher).Flush()
			time.Sleep(30 * time.Millisecond)
		}
		fmt.Fprint(w, `"}`)
	})
	c := testClient(t, testConfig(t, r.URL(), ""), Options{NoCache: true, Timeout: 10 * time.Second, Retries: -1})
	c.progressWindow = 100 * time.Millisecond
	for _, name := range []string{"trickle", "stall"} {
		start := time.Now()
		_, err := c.Manifest(context.Background(), name, "1.0.0", "")
		if took := time.Since(start); !errors.Is(err, errTooSlow) || !errors.Is(err, context.DeadlineExceeded) || took > 2*time.Second {
			t.Fatalf("%s: %v after %s, want cut off as too slow within a few windows", name, err, took)
		}
	}
	if _, err := c.Manifest(context.Background(), "steady", "1.0.0", ""); err != nil {
		t.Fatalf("a slow but steady body: %v", err)
	}
}
