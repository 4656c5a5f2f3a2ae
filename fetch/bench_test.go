package fetch

import (
	"bytes"
	"context"
	"crypto/sha512"
	"encoding/base64"
	"fmt"
	"runtime"
	"runtime/metrics"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/provaudit/provaudit/internal/registrytest"
)

// benchLatency is the latency the fake registry injects per request.
const benchLatency = 20 * time.Millisecond

// heapPeak samples the live heap (whole process: client and fake registry)
// until stop is called and returns the maximum in MB.
func heapPeak() (stop func() float64) {
	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	var peak uint64
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(5 * time.Millisecond)
		defer t.Stop()
		for {
			metrics.Read(sample)
			peak = max(peak, sample[0].Value.Uint64())
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	})
	return func() float64 {
		close(done)
		wg.Wait()
		return float64(peak) / (1 << 20)
	}
}

// benchUnits returns n distinct units, a fraction of them attested, with a
// mix of scoped and unscoped names.
func benchUnits(n int) []registrytest.Locked {
	out := make([]registrytest.Locked, n)
	for i := range out {
		name := fmt.Sprintf("bench-pkg-%05d", i)
		if i%5 == 0 {
			name = fmt.Sprintf("@bench-scope-%d/pkg-%05d", i%37, i)
		}
		version := fmt.Sprintf("%d.%d.%d", i%7+1, i%11, i%13)
		sum := sha512.Sum512([]byte(name + "@" + version))
		out[i] = registrytest.Locked{Name: name, Version: version, Integrity: "sha512-" + base64.StdEncoding.EncodeToString(sum[:])}
	}
	return out
}

// fetchAll audits units the way package audit does: bounded fan-out, one
// unit's failure recorded and never cancelling the others. With publish it
// also reads every unit's publish facts from its full packument.
func fetchAll(ctx context.Context, c *Client, units []registrytest.Locked, publish bool) (failed int) {
	var g errgroup.Group
	g.SetLimit(2 * c.opts.Concurrency)
	errs := make([]error, len(units))
	for i, u := range units {
		g.Go(func() error {
			m, err := c.Manifest(ctx, u.Name, u.Version, u.Integrity)
			if err == nil && m.Attestations != nil {
				_, err = c.Attestations(ctx, m)
			}
			if err == nil && publish {
				_, err = c.PublishInfo(ctx, u.Name, u.Version)
			}
			errs[i] = err
			return nil
		})
	}
	_ = g.Wait()
	for _, err := range errs {
		if err != nil {
			failed++
		}
	}
	return failed
}

// BenchmarkFetch10k fetches 10,000 units (signed, 10% attested) from the
// fake registry with 20 ms latency per request, at the default concurrency.
// The timed part is the fetch: until every unit has its result. Writing
// the cache entries continues in the background (write-behind) and is
// reported apart as "flush-s", the wait in Client.Close after the fetch.
//
//   - cold: empty cache; reports the fetch time against the bound
//     requests x latency / concurrency ("x-bound", must stay under 1.3);
//   - cold-nocache: the same without a cache;
//   - warm: a cache filled by a previous run; must make zero requests;
//   - cold-publish: cold, plus PublishInfo of every unit from a full
//     packument padded with 40 versions (about 150 kB each).
func BenchmarkFetch10k(b *testing.B) {
	const n = 10000
	locked := benchUnits(n)
	pkgs := registrytest.Packages(locked, 0.1, time.Date(2023, 1, 2, 3, 4, 5, 0, time.UTC))
	r := registrytest.New(registrytest.Options{Now: time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)})
	defer r.Close()
	if err := r.Add(pkgs...); err != nil {
		b.Fatal(err)
	}
	attested := 0
	for i := range pkgs {
		if pkgs[i].Attested {
			attested++
		}
	}
	cfg := testConfig(b, r.URL(), "")
	ctx := context.Background()

	run := func(b *testing.B, opts Options, publish bool, wantRequests int) {
		r.SetLatency(benchLatency)
		b.ReportAllocs()
		var wall, flush, cpu time.Duration
		var peak float64
		var requests int64
		for b.Loop() {
			b.StopTimer()
			o := opts
			if o.CacheDir == "" && !o.NoCache {
				o.CacheDir = b.TempDir()
			}
			c, err := NewClient(cfg, o)
			if err != nil {
				b.Fatal(err)
			}
			r.ResetStats()
			runtime.GC()
			stop := heapPeak()
			start, cpu0 := time.Now(), processCPU()
			b.StartTimer()
			failed := fetchAll(ctx, c, locked, publish)
			b.StopTimer()
			wall += time.Since(start)
			cpu += processCPU() - cpu0
			requests = r.Requests()
			fstart := time.Now()
			if err := c.Close(); err != nil {
				b.Fatal(err)
			}
			flush += time.Since(fstart)
			peak = max(peak, stop())
			if failed != 0 {
				b.Fatalf("%d units failed", failed)
			}
			if wantRequests >= 0 && requests != int64(wantRequests) {
				b.Fatalf("%d requests, want %d", requests, wantRequests)
			}
			b.StartTimer()
		}
		perRun := wall / time.Duration(b.N)
		conc := opts.Concurrency
		if conc == 0 {
			conc = DefaultConcurrency
		}
		b.ReportMetric(float64(requests), "requests/op")
		b.ReportMetric((flush / time.Duration(b.N)).Seconds(), "flush-s")
		// CPU seconds of the whole process (client and fake registry) during
		// the fetch: with wall time far above the bound and CPU far below
		// wall x cores, the process was waiting for a busy machine.
		b.ReportMetric((cpu / time.Duration(b.N)).Seconds(), "cpu-s")
		b.ReportMetric(peak, "peak-heap-MB")
		if requests > 0 {
			bound := time.Duration(requests) * benchLatency / time.Duration(conc)
			b.ReportMetric(perRun.Seconds()/bound.Seconds(), "x-bound")
			b.ReportMetric(bound.Seconds(), "bound-s")
		}
		if r.MaxInFlight() > int64(conc) {
			b.Fatalf("max in flight %d over the limit %d", r.MaxInFlight(), conc)
		}
	}

	b.Run("cold", func(b *testing.B) { run(b, Options{}, false, n+attested) })
	b.Run("cold-nocache", func(b *testing.B) { run(b, Options{NoCache: true}, false, n+attested) })
	b.Run("warm", func(b *testing.B) {
		dir := b.TempDir()
		c, err := NewClient(cfg, Options{CacheDir: dir})
		if err != nil {
			b.Fatal(err)
		}
		r.SetLatency(0)
		if failed := fetchAll(ctx, c, locked, false); failed != 0 {
			b.Fatalf("%d units failed filling the cache", failed)
		}
		if err := c.Close(); err != nil {
			b.Fatal(err)
		}
		run(b, Options{CacheDir: dir}, false, 0)
	})
	b.Run("cold-publish", func(b *testing.B) {
		padded := make([]registrytest.Package, len(pkgs))
		copy(padded, pkgs)
		for i := range padded {
			padded[i].Versions = 40
		}
		if err := r.Add(padded...); err != nil {
			b.Fatal(err)
		}
		run(b, Options{}, true, 2*n+attested)
	})
}

// BenchmarkPublishInfo decodes the publish facts of one version from a full
// packument of realistic size (1,000 versions, about 3.5 MB) served without
// latency; every iteration fetches and stream-decodes the whole document.
func BenchmarkPublishInfo(b *testing.B) {
	r := registrytest.New(registrytest.Options{Now: time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)})
	defer r.Close()
	pub := time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)
	if err := r.Add(registrytest.Package{Name: "@big/packument", Version: "9.9.9", Signed: true, Versions: 1000, PublishTime: pub, NpmUser: "pat"}); err != nil {
		b.Fatal(err)
	}
	c := testClient(b, testConfig(b, r.URL(), ""), Options{NoCache: true})
	ctx := context.Background()
	pi, err := c.PublishInfo(ctx, "@big/packument", "9.9.9")
	if err != nil || !pi.Time.Equal(pub) || pi.NpmUser != "pat" {
		b.Fatalf("%+v, %v", pi, err)
	}
	size := c.Stats().BytesRead
	b.SetBytes(size)
	b.ReportAllocs()
	runtime.GC()
	stop := heapPeak()
	for b.Loop() {
		if _, err := c.PublishInfo(ctx, "@big/packument", "9.9.9"); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(stop(), "peak-heap-MB")
	b.ReportMetric(float64(size)/(1<<20), "packument-MB")
}

// BenchmarkDecodePublishFacts is the decoder alone on the same packument.
func BenchmarkDecodePublishFacts(b *testing.B) {
	r := registrytest.New(registrytest.Options{Now: time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)})
	defer r.Close()
	if err := r.Add(registrytest.Package{Name: "big", Version: "9.9.9", Versions: 1000}); err != nil {
		b.Fatal(err)
	}
	resp, err := r.Client().Get(r.URL() + "big")
	if err != nil {
		b.Fatal(err)
	}
	var buf bytes.Buffer
	_, err = buf.ReadFrom(resp.Body)
	resp.Body.Close()
	if err != nil || !strings.HasPrefix(buf.String(), "{") {
		b.Fatalf("packument: %v", err)
	}
	data := buf.Bytes()
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		pf, err := decodePublishFacts(bytes.NewReader(data), "big", "u", nil, nil)
		if err != nil || len(pf.versions) != 1001 {
			b.Fatalf("%v", err)
		}
	}
}
