package npmrig

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"
)

// generatedTree is an n-location tree shaped like a real one: unscoped and
// scoped (every fifth) top-level packages, and every tenth location a
// package nested under another one because it needs a second version of a
// top-level name.
func generatedTree(n int) (rootDeps, rootDevDeps map[string]string, pkgs []testPkg) {
	rootDeps = map[string]string{}
	rootDevDeps = map[string]string{}
	name := func(i int) string {
		if i%5 == 4 {
			return fmt.Sprintf("@scope%d/pkg-%04d", i%7, i)
		}
		return fmt.Sprintf("pkg-%04d", i)
	}
	var top []int // indexes into pkgs of top-level packages
	for i := 0; len(pkgs) < n; i++ {
		if i%10 == 9 && len(top) >= 2 {
			parent, other := top[len(top)-1], top[len(top)-2]
			p := testPkg{
				path:    pkgs[parent].path + "/node_modules/" + pkgs[other].name,
				name:    pkgs[other].name,
				version: "2.0.0",
			}
			pkgs[parent].deps = map[string]string{p.name: "^2.0.0"}
			pkgs = append(pkgs, p)
			continue
		}
		p := testPkg{path: "node_modules/" + name(i), name: name(i), version: fmt.Sprintf("1.%d.0", i%13)}
		rootDeps[p.name] = "^" + p.version
		top = append(top, len(pkgs))
		pkgs = append(pkgs, p)
	}
	return rootDeps, rootDevDeps, pkgs
}

// BenchmarkNPMAuditSignatures measures one cold `npm audit signatures` run
// (signatures on every package, attestations on a third or on all) for
// generated trees of 20 and 400 install locations and a real 319-location
// lockfile.
// Run with: go test -run '^$' -bench NPMAuditSignatures -benchtime 3x ./npmrig (in bench/)
func BenchmarkNPMAuditSignatures(b *testing.B) {
	needNPM(b)
	type lockSource func(b *testing.B) string
	generated := func(n int) lockSource {
		return func(b *testing.B) string {
			rootDeps, devDeps, pkgs := generatedTree(n)
			if n == 20 {
				rootDeps, devDeps, pkgs = smallTree()
			}
			return writeLockfile(b, b.TempDir(), rootDeps, devDeps, pkgs)
		}
	}
	real := func(path string) lockSource {
		return func(*testing.B) string { return filepath.FromSlash(path) }
	}
	cases := []struct {
		name string
		lock lockSource
		// attestEvery: every attestEvery-th unit is attested.
		attestEvery int
	}{
		{"generated-20", generated(20), 3},
		{"generated-20-all-attested", generated(20), 1},
		{"generated-400", generated(400), 3},
		{"generated-400-all-attested", generated(400), 1},
		{"real-319", real("../../testdata/lockfiles/real-projects/slsa-verifier-actions-installer/package-lock.json"), 3},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			lock := c.lock(b)
			reg, attested := registryFor(b, lock, c.attestEvery)
			rig := prepare(b, reg, lock, 10*time.Minute)
			var cpu time.Duration
			var maxRSS int64
			var res *Result
			runs := 0
			for b.Loop() {
				var err error
				res, err = rig.Run(context.Background())
				if err != nil {
					b.Fatal(err)
				}
				if res.ExitCode != 0 || res.Audited != rig.Installed() || res.VerifiedSignatures != res.Audited || res.VerifiedAttestations < attested {
					b.Fatalf("npm did not verify the whole tree (%d folders, %d attested units): %+v\n%s", rig.Installed(), attested, countsOf(res), res.Output)
				}
				cpu += res.User + res.Sys
				maxRSS = max(maxRSS, res.MaxRSSKB)
				runs++
			}
			b.ReportMetric(float64(cpu.Milliseconds())/float64(runs), "cpu-ms/op")
			b.ReportMetric(float64(maxRSS)/1024, "maxrss-MB")
			b.ReportMetric(float64(res.Audited), "audited")
			b.ReportMetric(float64(res.VerifiedAttestations), "attested")
		})
	}
}
