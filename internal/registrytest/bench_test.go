package registrytest

import (
	"fmt"
	"io"
	"net/http"
	"testing"
	"time"
)

// benchLocked is n lockfile units with sha512 integrities, a few scoped.
func benchLocked(n int) []Locked {
	out := make([]Locked, n)
	for i := range out {
		name := fmt.Sprintf("pkg-%d", i)
		if i%5 == 0 {
			name = fmt.Sprintf("@scope-%d/pkg-%d", i%50, i)
		}
		out[i] = Locked{Name: name, Version: fmt.Sprintf("1.%d.0", i%7), Integrity: sriSHA512(fmt.Appendf(nil, "tarball %d", i))}
	}
	return out
}

// BenchmarkAdd10k measures generating 10,000 packages, a third attested
// (registry signatures for all, two bundles for each attested one). The
// cpu-s/op metric is the process CPU time Add used (0 where not measured).
func BenchmarkAdd10k(b *testing.B) {
	pkgs := Packages(benchLocked(10000), 1.0/3, published)
	attested := 0
	for _, p := range pkgs {
		if p.Attested {
			attested++
		}
	}
	var cpu time.Duration
	for b.Loop() {
		r := New(Options{})
		start := processCPU()
		if err := r.Add(pkgs...); err != nil {
			b.Fatal(err)
		}
		cpu += processCPU() - start
		r.Close()
	}
	// CPU time tells the cost on a busy machine, where wall time does not.
	b.ReportMetric(cpu.Seconds()/float64(b.N), "cpu-s/op")
	b.ReportMetric(float64(attested), "attested")
}

// BenchmarkPackument measures serving one full packument padded with 500
// versions (about 1.8 MB) over loopback, client read included.
func BenchmarkPackument(b *testing.B) {
	r := New(Options{})
	defer r.Close()
	if err := r.Add(Package{Name: "popular", Version: "4.17.21", Signed: true, Versions: 500}); err != nil {
		b.Fatal(err)
	}
	c := r.Client()
	var size int64
	for b.Loop() {
		resp, err := c.Get(r.URL() + "popular")
		if err != nil {
			b.Fatal(err)
		}
		n, err := io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if err != nil || resp.StatusCode != http.StatusOK {
			b.Fatal(resp.StatusCode, err)
		}
		size = n
	}
	b.SetBytes(size)
}

// BenchmarkVersionDocument measures one small GET of a version document.
func BenchmarkVersionDocument(b *testing.B) {
	r := New(Options{})
	defer r.Close()
	if err := r.Add(Package{Name: "small", Version: "1.0.0", Signed: true, Attested: true}); err != nil {
		b.Fatal(err)
	}
	c := r.Client()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			resp, err := c.Get(r.URL() + "small/1.0.0")
			if err != nil {
				b.Error(err)
				return
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
	})
}
