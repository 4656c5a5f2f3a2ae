package rig

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"

	"github.com/provaudit/provaudit/audit"
	"github.com/provaudit/provaudit/internal/verdictstore"
)

// webAppLockfile is the largest real lockfile of testdata: one npm wrote for
// a web application's dependencies (1,750 entries; see testdata/MANIFEST.md,
// "generated/web-app"), the size the issues' performance targets name.
const webAppLockfile = "../../testdata/lockfiles/generated/web-app/package-lock.json"

// BenchmarkVerdictStore measures what a shared verdict store saves a CI job
// that starts from an empty cache: the largest real lockfile
// (webAppLockfile) against the fake registry (20 ms latency, in a helper
// process), audited in-process as the CLI does:
//
//   - cold: an empty cache directory, no store (the baseline);
//   - warm-store-file: an empty cache directory and a store (fileblob)
//     that a writer run filled beforehand, untimed;
//   - warm-store-s3: the same with the store on an in-process S3 (gofakes3
//     over HTTP on 127.0.0.1), whose server CPU is counted in cpu-s/op;
//   - warm-store-s3-20ms: the same S3 answering after 20 ms, like a
//     store in another building.
//
// Besides ns/op it reports cpu-s/op (user + system CPU of this process, the
// registry being in another) and registry-requests/op.
//
//	(in bench/) go test -run '^$' -bench VerdictStore -benchtime 3x ./rig
func BenchmarkVerdictStore(b *testing.B) {
	dir := b.TempDir()
	data, err := os.ReadFile(webAppLockfile)
	if err != nil {
		b.Fatal(err)
	}
	path := filepath.Join(dir, "package-lock.json")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		b.Fatal(err)
	}
	env, exp := startBenchEnv(b, path, 20*time.Millisecond)
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		b.Fatal(err)
	}

	fileStore := "file://" + filepath.ToSlash(filepath.Join(dir, "store"))
	if err := os.Mkdir(filepath.Join(dir, "store"), 0o755); err != nil {
		b.Fatal(err)
	}
	s3Store := startFakeS3(b, 0)
	s3Slow := startFakeS3(b, 20*time.Millisecond)

	i := 0
	run := func(b *testing.B, url string, store bool) {
		b.Helper()
		var cpu time.Duration
		var requests int64
		for b.Loop() {
			i++
			cache := filepath.Join(dir, "cache-"+strconv.Itoa(i))
			resetRegistry(b, env.url)
			start := SelfCPU()
			var st *verdictstore.Store
			if store {
				if st, err = verdictstore.Open(context.Background(), url, verdictstore.Options{PublicKey: pub}); err != nil {
					b.Fatal(err)
				}
			}
			res := env.audit(b, cache, optionalStore(st))
			if st != nil {
				if err := st.Close(); err != nil {
					b.Fatal(err)
				}
				if n := st.Stats(); n.Found != exp.Audited {
					b.Fatalf("the store held %d of %d verdicts", n.Found, exp.Audited)
				}
			}
			cpu += SelfCPU() - start
			requests += registryRequests(b, env.url)
			if s := res.Summary; s.Audited != exp.Audited || s.Verified != exp.Verified || s.Signed != exp.Signed {
				b.Fatalf("not clean: %+v, want %+v", s, exp)
			}
		}
		b.ReportMetric(cpu.Seconds()/float64(b.N), "cpu-s/op")
		b.ReportMetric(float64(requests)/float64(b.N), "registry-requests/op")
		b.ReportMetric(float64(exp.Audited), "packages")
	}
	b.Run("cold", func(b *testing.B) { run(b, "", false) })
	for _, c := range []struct{ name, url string }{{"warm-store-file", fileStore}, {"warm-store-s3", s3Store}, {"warm-store-s3-20ms", s3Slow}} {
		// Fill the store: a writer run from an empty cache, untimed.
		w, err := verdictstore.Open(context.Background(), c.url, verdictstore.Options{SigningKey: priv,
			Warn: func(msg string) { b.Log(msg) }})
		if err != nil {
			b.Fatal(err)
		}
		env.audit(b, filepath.Join(dir, "cache-writer-"+c.name), w)
		if err := w.Close(); err != nil {
			b.Fatal(err)
		}
		if n := w.Stats(); n.Written != exp.Audited {
			b.Fatalf("%s: the writer wrote %d of %d verdicts", c.name, n.Written, exp.Audited)
		}
		b.Run(c.name, func(b *testing.B) { run(b, c.url, true) })
	}
}

// optionalStore is st as an audit.VerdictStore, nil when st is nil.
func optionalStore(st *verdictstore.Store) audit.VerdictStore {
	if st == nil {
		return nil
	}
	return st
}

// startFakeS3 serves an in-process S3 with one bucket on 127.0.0.1, each
// answer delayed by latency, and returns the bucket's store URL; the AWS SDK gets dummy credentials and no
// configuration files, and never asks an instance metadata service.
func startFakeS3(b *testing.B, latency time.Duration) string {
	b.Helper()
	be := s3mem.New()
	if err := be.CreateBucket("verdicts"); err != nil {
		b.Fatal(err)
	}
	h := gofakes3.New(be).Server()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(latency)
		h.ServeHTTP(w, r)
	}))
	b.Cleanup(srv.Close)
	none := filepath.Join(b.TempDir(), "none")
	for k, v := range map[string]string{
		"AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench", "AWS_SESSION_TOKEN": "", "AWS_PROFILE": "",
		"AWS_CONFIG_FILE": none, "AWS_SHARED_CREDENTIALS_FILE": none, "AWS_EC2_METADATA_DISABLED": "true",
	} {
		b.Setenv(k, v)
	}
	return "s3://verdicts?endpoint=" + srv.URL + "&region=us-east-1&use_path_style=true"
}

// resetRegistry zeroes the helper registry's request counts.
func resetRegistry(b *testing.B, url string) {
	b.Helper()
	resp, err := http.Post(url+"-/registrytest/reset", "application/json", nil)
	if err != nil {
		b.Fatal(err)
	}
	resp.Body.Close()
}

// registryRequests is the number of requests the helper registry served
// since its last reset.
func registryRequests(b *testing.B, url string) int64 {
	b.Helper()
	resp, err := http.Get(url + "-/registrytest/stats")
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	var st struct {
		Requests int64 `json:"requests"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		b.Fatal(err)
	}
	return st.Requests
}
