//go:build unix

package rig

import (
	"syscall"
	"testing"
	"time"

	"github.com/provaudit/provaudit/audit"
)

// BenchmarkHistory measures what the release-history rules cost on the
// largest real lockfile of testdata (webAppLockfile, 1,750 entries)
// against the fake registry at 20 ms in a helper process, next to a plain
// audit (--no-history) in the same run: cold (a fresh cache
// directory each iteration) and warm (the same directory again). Every
// attested version has an earlier attested version on its release line
// (ServeOptions.Baselines), so each attested package costs the history its
// baseline's attestations and their verification. It reports the
// registry's requests and the audit's CPU time per run; the history must
// add at most one packument per package name and one attestation body per
// attested package, and nothing warm. history-without-identity (the
// identity-drift rule off) separates what the packuments cost from what
// verifying the baselines does.
//
//	go test -run '^$' -bench History -benchtime 3x -count 3 ./bench/rig
func BenchmarkHistory(b *testing.B) {
	path := webAppLockfile
	b.Setenv(helperBaselinesEnv, "1")
	env, exp := startBenchEnv(b, path, 20*time.Millisecond)
	for _, mode := range []struct {
		name string
		set  func(*audit.Options)
	}{
		{"plain", func(o *audit.Options) { o.NoHistory = true }},
		// the packuments alone: no baseline is fetched or verified
		{"history-without-identity", func(o *audit.Options) { o.DisabledRules = []audit.Rule{audit.RuleIdentityDrift} }},
		{"history", func(*audit.Options) {}},
	} {
		auditOnce := func(b *testing.B, cacheDir string) {
			b.Helper()
			res := env.audit(b, cacheDir, nil, mode.set)
			if s := res.Summary; s.Audited != exp.Audited || s.Verified != exp.Verified || s.Signed != exp.Signed || s.Findings != 0 {
				b.Fatalf("%s: not clean: %+v, want %+v", mode.name, s, exp)
			}
		}
		// measured runs auditOnce on cacheDir() every iteration and
		// reports the registry's requests and this process's CPU time.
		measured := func(b *testing.B, cacheDir func() string) {
			i, requests, cpu := 0, int64(0), selfCPU()
			for b.Loop() {
				i++
				resetRegistry(b, env.url)
				auditOnce(b, cacheDir())
				requests += registryRequests(b, env.url)
			}
			b.ReportMetric(float64(requests)/float64(i), "requests/op")
			b.ReportMetric((selfCPU()-cpu).Seconds()*1000/float64(i), "cpu-ms/op")
		}
		b.Run(mode.name+"/cold", func(b *testing.B) { measured(b, b.TempDir) })
		b.Run(mode.name+"/warm", func(b *testing.B) {
			cache := b.TempDir()
			auditOnce(b, cache) // fill it, untimed
			measured(b, func() string { return cache })
		})
	}
}

// selfCPU is the CPU time (user and system) this process has used: the
// audit's, not the registry helper's.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
