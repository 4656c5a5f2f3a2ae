package rig

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/provaudit/provaudit/audit"
	"github.com/provaudit/provaudit/bench/lockgen"
	"github.com/provaudit/provaudit/fetch"
	"github.com/provaudit/provaudit/lockfile"
	"github.com/provaudit/provaudit/verify"
)

// Environment of the registry helper process (see TestHelperRegistry).
const (
	helperEnv        = "PROVAUDIT_BENCH_HELPER_REGISTRY"
	helperLatencyEnv = "PROVAUDIT_BENCH_HELPER_LATENCY"
	helperTrustEnv   = "PROVAUDIT_BENCH_HELPER_TRUST"
	// helperBaselinesEnv, when set, serves ServeOptions.Baselines.
	helperBaselinesEnv = "PROVAUDIT_BENCH_HELPER_BASELINES"
)

// TestHelperRegistry is not a test: BenchmarkAudit10k runs the test binary
// again with this test selected and the lockfile path in the environment,
// so that the fake registry runs in a process of its own and neither its
// CPU time nor its allocations show in the benchmark's profile. It serves
// until its stdin is closed.
func TestHelperRegistry(t *testing.T) {
	path := os.Getenv(helperEnv)
	if path == "" {
		t.Skip("helper process of BenchmarkAudit10k")
	}
	lat, err := time.ParseDuration(os.Getenv(helperLatencyEnv))
	if err != nil {
		t.Fatal(err)
	}
	lf, err := lockfile.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	s, err := Serve(context.Background(), ServeOptions{Lockfile: lf, Attested: 0.33, Latency: lat, Baselines: os.Getenv(helperBaselinesEnv) != ""})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.WriteTrust(os.Getenv(helperTrustEnv)); err != nil {
		t.Fatal(err)
	}
	exp, err := json.Marshal(s.Expect)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Printf("REGISTRY %s %s\n", s.Registry.URL(), exp)
	_, _ = io.Copy(io.Discard, os.Stdin)
}

// helperRegistry starts the registry helper for the lockfile at path.
func helperRegistry(b *testing.B, path string, latency time.Duration) (url string, trust TrustFiles, exp Expect) {
	b.Helper()
	dir := b.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperRegistry$", "-test.v")
	cmd.Env = append(os.Environ(), helperEnv+"="+path, helperLatencyEnv+"="+latency.String(), helperTrustEnv+"="+dir)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		b.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		stdin.Close()
		_ = cmd.Wait()
	})
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) == 3 && f[0] == "REGISTRY" {
			if err := json.Unmarshal([]byte(f[2]), &exp); err != nil {
				b.Fatal(err)
			}
			go func() { _, _ = io.Copy(io.Discard, stdout) }()
			return f[1], TrustFiles{TrustedRoot: filepath.Join(dir, "trusted_root.json"), NpmKeys: filepath.Join(dir, "npm-keys.json")}, exp
		}
	}
	b.Fatalf("the registry helper ended without a URL: %v", sc.Err())
	return "", TrustFiles{}, Expect{}
}

// BenchmarkAudit10k runs provaudit's pipeline in-process (audit.Run with
// the fetch client and verifier the CLI builds) on the generated
// 10,000-package lockfile against the fake registry (20 ms latency) in a
// helper process: what a cold (fresh cache directory each iteration) and a
// warm (the same directory again) provaudit run does, minus process start
// and report rendering. Besides ns/op it reports cpu-s/op, this process's
// user + system CPU per audit (the registry runs in another), which a busy
// machine disturbs less than wall time. For profiles:
//
//	(in bench/) go test -run '^$' -bench 'Audit10k/cold' -benchtime 1x -cpuprofile cpu.out ./rig
//	go tool pprof -top rig.test cpu.out
func BenchmarkAudit10k(b *testing.B) {
	files, err := filepath.Glob("../../testdata/lockfiles/real-projects/*/package-lock.json")
	if err != nil || len(files) == 0 {
		b.Fatal("no real-project lockfiles in testdata")
	}
	srcs, err := lockgen.LoadSources(files...)
	if err != nil {
		b.Fatal(err)
	}
	gen, err := lockgen.Generate(lockgen.Options{Sources: srcs, Packages: 10000, Seed: 1})
	if err != nil {
		b.Fatal(err)
	}
	dir := b.TempDir()
	path := filepath.Join(dir, "package-lock.json")
	if err := os.WriteFile(path, gen.JSON, 0o644); err != nil {
		b.Fatal(err)
	}
	env, exp := startBenchEnv(b, path, 20*time.Millisecond)
	var cpu time.Duration // this process's CPU time in the timed audits
	auditOnce := func(b *testing.B, cacheDir string) {
		b.Helper()
		start := SelfCPU()
		if s := env.audit(b, cacheDir, nil).Summary; s.Audited != exp.Audited || s.Verified != exp.Verified || s.Signed != exp.Signed {
			b.Fatalf("not clean: %+v, want %+v", s, exp)
		}
		cpu += SelfCPU() - start
	}
	report := func(b *testing.B) {
		b.ReportMetric(float64(exp.Audited), "packages")
		b.ReportMetric(cpu.Seconds()/float64(b.N), "cpu-s/op")
	}
	b.Run("cold", func(b *testing.B) {
		i := 0
		cpu = 0
		for b.Loop() {
			i++
			auditOnce(b, filepath.Join(dir, "cache-cold-"+strconv.Itoa(i)))
		}
		report(b)
	})
	b.Run("warm", func(b *testing.B) {
		cache := filepath.Join(dir, "cache-warm")
		auditOnce(b, cache) // fill it, untimed
		cpu = 0
		for b.Loop() {
			auditOnce(b, cache)
		}
		report(b)
	})
}

// benchEnv is what an in-process audit against the helper registry needs.
type benchEnv struct {
	lf         *lockfile.Lockfile
	dir, url   string
	root, keys []byte
	// secret seals the cache's derived entries, the same for every audit
	// of the benchmark as the per-user secret is for every provaudit run
	// (a fresh one per audit would make a warm cache verify everything
	// again).
	secret []byte
}

// startBenchEnv serves the lockfile at path from the helper registry with
// latency and reads it and the trust material back.
func startBenchEnv(b *testing.B, path string, latency time.Duration) (benchEnv, Expect) {
	b.Helper()
	url, tf, exp := helperRegistry(b, path, latency)
	lf, err := lockfile.Load(path)
	if err != nil {
		b.Fatal(err)
	}
	root, err := os.ReadFile(tf.TrustedRoot)
	if err != nil {
		b.Fatal(err)
	}
	keys, err := os.ReadFile(tf.NpmKeys)
	if err != nil {
		b.Fatal(err)
	}
	secret := make([]byte, fetch.SecretSize)
	if _, err := rand.Read(secret); err != nil {
		b.Fatal(err)
	}
	return benchEnv{lf: lf, dir: filepath.Dir(path), url: url, root: root, keys: keys, secret: secret}, exp
}

// audit runs audit.Run as the CLI builds it (the trust given, the keys
// pinned as --npm-keys does) with the cache in cacheDir and store (nil:
// none); set changes the options further.
func (e benchEnv) audit(b *testing.B, cacheDir string, store audit.VerdictStore, set ...func(*audit.Options)) *audit.Result {
	b.Helper()
	trust, err := verify.NewTrust(verify.TrustOptions{TrustedRoot: e.root, NpmKeys: e.keys})
	if err != nil {
		b.Fatal(err)
	}
	cfg, err := fetch.LoadConfig(fetch.ConfigOptions{ProjectDir: e.dir, Registry: e.url, Env: []string{"HOME=" + e.dir}})
	if err != nil {
		b.Fatal(err)
	}
	client, err := fetch.NewClient(cfg, fetch.Options{CacheDir: cacheDir, CacheSecret: e.secret})
	if err != nil {
		b.Fatal(err)
	}
	defer client.Close()
	opts := audit.Options{
		Lockfile: e.lf, Config: cfg, Client: client, Trust: trust, PinnedKeysOnly: true,
		Tool: audit.Tool{Name: "provaudit", Version: "bench"},
	}
	if store != nil {
		opts.VerdictStore = store
	}
	for _, f := range set {
		f(&opts)
	}
	res, err := audit.Run(context.Background(), opts)
	if err != nil {
		b.Fatal(err)
	}
	return res
}
