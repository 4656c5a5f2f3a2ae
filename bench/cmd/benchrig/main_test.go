package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/provaudit/provaudit/audit"
	"github.com/provaudit/provaudit/bench/lockgen"
	"github.com/provaudit/provaudit/bench/npmrig"
	"github.com/provaudit/provaudit/bench/rig"
)

func TestParseFlags(t *testing.T) {
	c, err := parseFlags([]string{"benchrig", "-provaudit", "/bin/p", "-sizes", "1k, 5000", "-latency", "0,20ms,5", "-npm", "-real", "-real-lockfiles", "a.json, b.json"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(c.sizes, []int{1000, 5000}) || !slices.Equal(c.latencies, []time.Duration{0, 20 * time.Millisecond, 5 * time.Millisecond}) ||
		!c.npm || !slices.Equal(c.realFiles, []string{"a.json", "b.json"}) || c.runs != 3 || c.command == "" {
		t.Fatalf("%+v", c)
	}
	for _, tc := range []struct {
		name string
		args []string
	}{
		{"no provaudit", []string{}},
		{"bad size", []string{"-provaudit", "p", "-sizes", "ten"}},
		{"zero size", []string{"-provaudit", "p", "-sizes", "0"}},
		{"huge size", []string{"-provaudit", "p", "-sizes", "2000k"}},
		{"nothing to do", []string{"-provaudit", "p", "-sizes", ""}},
		{"bad latency", []string{"-provaudit", "p", "-latency", "soon"}},
		{"negative latency", []string{"-provaudit", "p", "-latency", "-1ms"}},
		{"no latency", []string{"-provaudit", "p", "-latency", ","}},
		{"zero runs", []string{"-provaudit", "p", "-runs", "0"}},
		{"attested", []string{"-provaudit", "p", "-attested", "2"}},
		{"concurrency", []string{"-provaudit", "p", "-concurrency", "-1"}},
		{"timeout", []string{"-provaudit", "p", "-npm-timeout", "0s"}},
		{"argument", []string{"-provaudit", "p", "extra"}},
		{"unknown flag", []string{"-provaudit", "p", "-fast"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := parseFlags(append([]string{"benchrig"}, tc.args...), io.Discard); !errors.Is(err, errUsage) {
				t.Fatalf("got %v, want a usage error", err)
			}
		})
	}
	var stderr bytes.Buffer
	if code := run(context.Background(), []string{"benchrig", "-sizes", "x"}, io.Discard, &stderr); code != 2 || !strings.Contains(stderr.String(), "-sizes") {
		t.Fatalf("exit %d, stderr %q", code, stderr.String())
	}
	if code := run(context.Background(), []string{"benchrig", "-h"}, io.Discard, io.Discard); code != 0 {
		t.Fatalf("-h: exit %d", code)
	}
}

func FuzzParseSizes(f *testing.F) {
	f.Add("1000,5k, 10000")
	f.Fuzz(func(t *testing.T, s string) {
		sizes, err := parseSizes(s)
		if err != nil {
			if !errors.Is(err, errUsage) {
				t.Fatal(err)
			}
			return
		}
		for _, n := range sizes {
			if n < 1 || n > 1_000_000 {
				t.Fatalf("accepted size %d from %q", n, s)
			}
		}
	})
}

func FuzzParseLatencies(f *testing.F) {
	f.Add("0,20ms,5")
	f.Fuzz(func(t *testing.T, s string) {
		ls, err := parseLatencies(s)
		if err != nil {
			if !errors.Is(err, errUsage) {
				t.Fatal(err)
			}
			return
		}
		if len(ls) == 0 {
			t.Fatalf("no latency accepted from %q", s)
		}
		for _, d := range ls {
			if d < 0 || d > time.Minute {
				t.Fatalf("accepted latency %v from %q", d, s)
			}
		}
	})
}

func TestThousands(t *testing.T) {
	for n, want := range map[int]string{0: "0", 7: "7", 999: "999", 1000: "1,000", 12345: "12,345", 1234567: "1,234,567", -1500: "-1,500"} {
		if got := thousands(n); got != want {
			t.Errorf("thousands(%d) = %q, want %q", n, got, want)
		}
	}
}

func TestSpread(t *testing.T) {
	xs := []float64{3, 1, 2}
	if got := spread(xs, func(x float64) float64 { return x }, 1); got != "2.0 (1.0-3.0)" {
		t.Fatalf("got %q", got)
	}
	if got := spread(xs[:1], func(x float64) float64 { return x }, 0); got != "3" {
		t.Fatalf("got %q", got)
	}
	if got := medianDur(xs, func(x float64) time.Duration { return time.Duration(x) }); got != 2 {
		t.Fatalf("median %v", got)
	}
}

// fakeReport is a report with one generated 10k dataset, as a session
// would fill it, without running anything.
func fakeReport(clean bool, npm *npmSample) *report {
	run := func(wall time.Duration, exit int, sum audit.Summary) *rig.Run {
		return &rig.Run{Wall: wall, User: wall / 2, Sys: wall / 10, MaxRSSKB: 200 << 10, ExitCode: exit, Summary: sum,
			SignatureLocations: 12000, AttestationLocations: 4000}
	}
	good := audit.Summary{Packages: 10000, Audited: 10000, Verified: 3300, Signed: 6700, SignaturesVerified: 10000, AttestationsVerified: 3300}
	d := &dataset{label: "generated 10,000", gen: &lockgen.Stats{Packages: 10000, Entries: 12000}, packages: 10000, entries: 12000,
		served:     &rig.Served{Names: 2000, Expect: rig.Expect{Audited: 10000, Verified: 3300, Signed: 6700, Locations: 12000, LocationsAttested: 4000}},
		servedProv: 2 * time.Millisecond, servedPub: 300 * time.Microsecond}
	rw := &row{ds: d, latency: 20 * time.Millisecond, npm: npm}
	for i := range 3 {
		rw.cold = append(rw.cold, &sample{run: run(time.Duration(9+i)*time.Second, 0, good), requests: 18000, maxInFlight: 48, clean: true})
		rw.warm = append(rw.warm, &sample{run: run(time.Duration(400+i)*time.Millisecond, 0, good), clean: true})
	}
	if !clean {
		bad := good
		bad.Invalid, bad.Signed = 2, 6698
		rw.cold[1] = &sample{run: run(10*time.Second, 1, bad), requests: 18000, maxInFlight: 48, clean: false}
		rw.cold[1].run.Unclean = []string{"x@1.0.0: invalid: tampered"}
	}
	d.rows = []*row{rw}
	return &report{date: time.Date(2026, 11, 26, 0, 0, 0, 0, time.UTC), command: "bench/run.sh -npm", cores: 2, concurrency: 48, runs: 3, attested: 0.33,
		floor:    &rig.Floor{Provenance: 2 * time.Millisecond, Publish: 300 * time.Microsecond, Signature: 50 * time.Microsecond, Metric: "cpu-ns/op"},
		datasets: []*dataset{d}}
}

func TestMarkdown(t *testing.T) {
	r := fakeReport(true, &npmSample{res: &npmrig.Result{Wall: 300 * time.Second, Audited: 12000, VerifiedSignatures: 12000, VerifiedAttestations: 4000}})
	if !r.allClean() {
		t.Fatal("clean report judged unclean")
	}
	md := r.markdown()
	// CPU floor: (3300 × (2 + 0.3) ms + 10000 × 0.05 ms) / 2 = 4.045 s (the
	// served bundles cost the same here);
	// network bound 18000 × 20 ms / 48 = 7.5 s; median wall 10 s.
	for _, want := range []string{
		"| generated 10,000 | 20 ms | cold | 10.00 (9.00-11.00) |",
		"| 4.04 (4.04) | 7.50 | 1.33 (1.33) | clean (3,300 verified, 6,700 signed) |",
		"| generated 10,000 | 20 ms | warm | 0.40 (0.40-0.40) |",
		"| 300.0 |", "| 30.0 |", "| 12,000 / 12,000 / 12,000 | 4,000 / 4,000 / 4,000 | 0 / 0 / 0 | 0 / 0 / 0 | agree |",
		"| 10,000 packages, 20 ms, cold: wall ÷ max(CPU floor, network bound) | 1.33 | ≤ 1.3 | **no** |",
		"| 10,000 packages, 20 ms, warm wall | 0.40 s | < 1 s | yes |",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("report lacks %q:\n%s", want, md)
		}
	}
	if strings.Contains(md, "NOT CLEAN") {
		t.Fatalf("clean report says NOT CLEAN:\n%s", md)
	}

	r = fakeReport(false, &npmSample{res: &npmrig.Result{Wall: 600 * time.Second, TimedOut: true}})
	if r.allClean() {
		t.Fatal("unclean report judged clean")
	}
	md = r.markdown()
	for _, want := range []string{"**NOT CLEAN in 1 of 3 runs**", "exit 0,1,0", "## NOT CLEAN", "x@1.0.0: invalid: tampered", "npm: >600s (stopped)"} {
		if !strings.Contains(md, want) {
			t.Errorf("report lacks %q:\n%s", want, md)
		}
	}

	r = fakeReport(true, &npmSample{res: &npmrig.Result{Wall: 300 * time.Second, Audited: 12000, VerifiedSignatures: 11990, VerifiedAttestations: 4000, Invalid: 10}})
	if md := r.markdown(); !strings.Contains(md, "**DIFFER**") {
		t.Errorf("a verdict difference is not shown:\n%s", md)
	}
	r = fakeReport(true, &npmSample{err: errors.New("npm exploded | badly")})
	if md := r.markdown(); !strings.Contains(md, `npm failed: npm exploded \| badly`) {
		t.Errorf("an npm failure is not shown:\n%s", md)
	}
}

func TestNPMHelperErrors(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		code     int
		want     string
	}{
		{"no configuration", "", 2, "no configuration"},
		{"bad configuration", "{\n", 2, "configuration"},
		{"missing trusted root", `{"trustedRootFile": "/nonexistent/trusted_root.json"}` + "\n", 1, "nonexistent"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			if code := npmMain(strings.NewReader(tc.in), &out); code != tc.code {
				t.Fatalf("exit %d, want %d", code, tc.code)
			}
			if !strings.Contains(out.String(), tc.want) || !strings.Contains(out.String(), `"error"`) {
				t.Fatalf("reply %q lacks %q", out.String(), tc.want)
			}
		})
	}
}

func TestNPMVerdict(t *testing.T) {
	e := rig.Expect{Audited: 90, Verified: 30, Signed: 60, Locations: 100, LocationsAttested: 40}
	pa := &rig.Run{SignatureLocations: 100, AttestationLocations: 40}
	eb := e
	eb.BundledLocations, eb.BundledAttestedLocations = 20, 5
	for _, tc := range []struct {
		name string
		npm  npmrig.Result
		e    rig.Expect
		want string
	}{
		{"agree", npmrig.Result{Audited: 100, VerifiedSignatures: 100, VerifiedAttestations: 40}, e, "agree"},
		{"npm finds an invalid one", npmrig.Result{Audited: 100, VerifiedSignatures: 99, VerifiedAttestations: 40, Invalid: 1}, e, "**DIFFER**"},
		{"fewer attestations", npmrig.Result{Audited: 100, VerifiedSignatures: 100, VerifiedAttestations: 39}, e, "**DIFFER**"},
		{"both short of the expected", npmrig.Result{Audited: 99, VerifiedSignatures: 100, VerifiedAttestations: 40}, e, "not with the expected counts"},
		{"bundled only", npmrig.Result{Audited: 120, VerifiedSignatures: 120, VerifiedAttestations: 45}, eb, "differ only by bundled packages"},
		{"bundled and more", npmrig.Result{Audited: 120, VerifiedSignatures: 120, VerifiedAttestations: 46}, eb, "**DIFFER**"},
	} {
		if got := npmVerdict(&tc.npm, pa, tc.e); !strings.Contains(got, tc.want) {
			t.Errorf("%s: %q, want %q", tc.name, got, tc.want)
		}
	}
}
