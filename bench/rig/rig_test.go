package rig

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/provaudit/provaudit/bench/lockgen"
	"github.com/provaudit/provaudit/internal/launcher"
	"github.com/provaudit/provaudit/internal/registrytest/fakesigstore"
	"github.com/provaudit/provaudit/lockfile"
)

func TestPackumentVersions(t *testing.T) {
	const n = 20000
	v := make([]int, n)
	for i := range v {
		v[i] = PackumentVersions(fmt.Sprintf("name-%d", i))
		if v[i] < 1 || v[i] > packumentMax {
			t.Fatalf("%d versions out of range", v[i])
		}
	}
	if a, b := PackumentVersions("left-pad"), PackumentVersions("left-"+"pad"); a != b {
		t.Fatal("not deterministic")
	}
	slices.Sort(v)
	median := v[n/2]
	above := func(x int) float64 {
		c := 0
		for _, y := range v {
			if y > x {
				c++
			}
		}
		return float64(c) / n
	}
	switch {
	case median < 36 || median > 44:
		t.Fatalf("median %d, want about 40", median)
	case math.Abs(above(186)-0.10) > 0.015:
		t.Fatalf("%.3f above 186 versions, want about 0.10", above(186))
	case math.Abs(above(650)-0.01) > 0.004:
		t.Fatalf("%.4f above 650 versions, want about 0.01", above(650))
	case v[n-1] != packumentMax:
		t.Fatalf("largest %d: the tail should reach the cap in %d names", v[n-1], n)
	}
}

func TestPublishTime(t *testing.T) {
	now := time.Date(2026, 11, 26, 0, 0, 0, 0, time.UTC)
	before := 0
	const n = 10000
	for i := range n {
		pt := PublishTime(now, "p", fmt.Sprintf("1.0.%d", i))
		if pt.Before(spreadFrom) || pt.After(now.Add(-24*time.Hour)) {
			t.Fatalf("publish time %v outside 2019..yesterday", pt)
		}
		if pt.Before(fakesigstore.RotatedStart) {
			before++
		}
	}
	want := fakesigstore.RotatedStart.Sub(spreadFrom).Seconds() / now.Add(-24*time.Hour).Sub(spreadFrom).Seconds()
	if got := float64(before) / n; math.Abs(got-want) > 0.02 {
		t.Fatalf("%.3f published before the rotation, want %.3f", got, want)
	}
	if !PublishTime(now, "a", "1").Equal(PublishTime(now, "a", "1")) {
		t.Fatal("not deterministic")
	}
	if got := PublishTime(spreadFrom, "a", "1"); !got.Equal(spreadFrom) {
		t.Fatalf("now before the spread: %v", got)
	}
}

// generated is a small generated lockfile, written to a temporary file.
func generated(t testing.TB, packages int) (string, *lockfile.Lockfile) {
	t.Helper()
	files, err := filepath.Glob("../../testdata/lockfiles/real-projects/*/package-lock.json")
	if err != nil || len(files) == 0 {
		t.Fatal("no real-project lockfiles in testdata")
	}
	srcs, err := lockgen.LoadSources(files...)
	if err != nil {
		t.Fatal(err)
	}
	gen, err := lockgen.Generate(lockgen.Options{Sources: srcs, Packages: packages, Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "package-lock.json")
	if err := os.WriteFile(path, gen.JSON, 0o644); err != nil {
		t.Fatal(err)
	}
	lf, err := lockfile.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	return path, lf
}

func get(t *testing.T, url, accept string) []byte {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %v", url, resp.StatusCode, err)
	}
	return body
}

func TestServe(t *testing.T) {
	_, lf := generated(t, 150)
	now := time.Now().UTC().Truncate(time.Second)
	s, err := Serve(context.Background(), ServeOptions{Lockfile: lf, Attested: 0.33, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	e := s.Expect
	switch {
	case e.Audited != 150 || s.Packages != 150:
		t.Fatalf("audited %d, served %d, want 150", e.Audited, s.Packages)
	case e.Verified != s.Attested || e.Verified+e.Signed != e.Audited || e.Verified == 0 || e.Signed == 0:
		t.Fatalf("expect %+v with %d attested", e, s.Attested)
	case s.ExpiredKey == 0 || s.PackumentNames == 0 || s.PackumentBytes == 0 || s.PackumentBytesAll < s.PackumentBytes:
		t.Fatalf("no packument work: %+v", s)
	case s.Registry.Requests() != 0:
		t.Fatalf("statistics not reset: %d requests", s.Registry.Requests())
	}

	keys := map[int]string{}
	var kf struct {
		Keys []struct {
			KeyID   string `json:"keyid"`
			Expires string `json:"expires"`
		} `json:"keys"`
	}
	if err := json.Unmarshal(s.NpmKeys, &kf); err != nil || len(kf.Keys) != 2 {
		t.Fatalf("npm keys %s: %v", s.NpmKeys, err)
	}
	for i, k := range kf.Keys {
		keys[i] = k.KeyID
	}

	// Every unit is served with its lockfile integrity, signed by the key
	// valid when it was published, in a packument of the planned size.
	units := lockfile.Units(lf)
	checked := 0
	for _, u := range units[:40] {
		var doc struct {
			Dist struct {
				Integrity  string `json:"integrity"`
				Signatures []struct {
					KeyID string `json:"keyid"`
				} `json:"signatures"`
			} `json:"dist"`
		}
		body := get(t, s.Registry.URL()+strings.Replace(u.Name, "/", "%2f", 1)+"/"+u.Version, "")
		if err := json.Unmarshal(body, &doc); err != nil {
			t.Fatal(err)
		}
		wantKey := keys[1]
		if PublishTime(now, u.Name, u.Version).Before(fakesigstore.RotatedStart) {
			wantKey = keys[0]
		}
		if doc.Dist.Integrity != u.Integrity || len(doc.Dist.Signatures) != 1 || doc.Dist.Signatures[0].KeyID != wantKey {
			t.Fatalf("%s@%s: served %+v, want integrity %s signed by %s", u.Name, u.Version, doc.Dist, u.Integrity, wantKey)
		}
		var pack struct {
			Versions map[string]json.RawMessage `json:"versions"`
			Time     map[string]string          `json:"time"`
		}
		if err := json.Unmarshal(get(t, s.Registry.URL()+strings.Replace(u.Name, "/", "%2f", 1), "application/json"), &pack); err != nil {
			t.Fatal(err)
		}
		if want := PackumentVersions(u.Name); len(pack.Versions) < want {
			t.Fatalf("%s: packument has %d versions, want at least %d", u.Name, len(pack.Versions), want)
		}
		if pt, err := time.Parse(time.RFC3339, pack.Time[u.Version]); err != nil || !pt.Equal(PublishTime(now, u.Name, u.Version)) {
			t.Fatalf("%s@%s: time %q, want %v", u.Name, u.Version, pack.Time[u.Version], PublishTime(now, u.Name, u.Version))
		}
		checked++
	}
	if checked == 0 {
		t.Fatal("nothing checked")
	}

	prov, pub, err := s.ServedFloor(context.Background(), 3, 1)
	if err != nil {
		t.Fatal(err)
	}
	if prov <= 0 || pub <= 0 {
		t.Fatalf("served floor %v %v", prov, pub)
	}
	if _, _, err := s.ServedFloor(context.Background(), 0, 1); !errors.Is(err, ErrOptions) {
		t.Fatalf("sample 0: %v", err)
	}

	tf, err := s.WriteTrust(filepath.Join(t.TempDir(), "trust"))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{tf.TrustedRoot, tf.NpmKeys} {
		if st, err := os.Stat(f); err != nil || st.Size() == 0 {
			t.Fatalf("%s: %v", f, err)
		}
	}
}

func TestServeErrors(t *testing.T) {
	gitOnly, err := lockfile.Parse("git.json", []byte(`{"lockfileVersion": 3, "packages": {"": {}, "node_modules/a": {"version": "1.0.0", "resolved": "git+ssh://git@host/a.git#0123456789abcdef0123456789abcdef01234567"}}}`))
	if err != nil {
		t.Fatal(err)
	}
	_, lf := generated(t, 5)
	for _, tc := range []struct {
		name string
		opts ServeOptions
	}{
		{"no lockfile", ServeOptions{}},
		{"attested below 0", ServeOptions{Lockfile: lf, Attested: -0.1}},
		{"attested above 1", ServeOptions{Lockfile: lf, Attested: 1.5}},
		{"no registry packages", ServeOptions{Lockfile: gitOnly}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := Serve(context.Background(), tc.opts)
			if !errors.Is(err, ErrOptions) || s != nil {
				t.Fatalf("got %v, %v; want ErrOptions", s, err)
			}
		})
	}
}

// TestServeBundledFirst: a bundled copy without an integrity, listed before
// the installed copy of the same name@version, must not decide what the
// registry serves (the npm-cli lockfile has three such packages).
func TestServeBundledFirst(t *testing.T) {
	sri := "sha512-" + strings.Repeat("A", 86) + "=="
	lf, err := lockfile.Parse("b.json", []byte(`{"lockfileVersion": 3, "packages": {"": {},
  "node_modules/a": {"version": "1.0.0", "resolved": "https://registry.invalid/a/-/a-1.0.0.tgz", "integrity": "`+sri+`"},
  "node_modules/a/node_modules/w": {"version": "1.0.2", "inBundle": true},
  "node_modules/w": {"version": "1.0.2", "resolved": "https://registry.invalid/w/-/w-1.0.2.tgz", "integrity": "`+sri+`"}
}}`))
	if err != nil {
		t.Fatal(err)
	}
	locked := lockedUnits(lockfile.Units(lf))
	if len(locked) != 3 || locked[0].Integrity != sri || locked[1].Integrity != sri || locked[2].Integrity != "" {
		t.Fatalf("locked %+v: units with an integrity must come first", locked)
	}
	s, err := Serve(context.Background(), ServeOptions{Lockfile: lf})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if s.Expect.Audited != 2 || s.Expect.Locations != 2 || s.Packages != 2 || s.Expect.BundledLocations != 1 {
		t.Fatalf("expect %+v, %d served: the bundled copy is not audited", s.Expect, s.Packages)
	}
}

func TestParseFloor(t *testing.T) {
	cpuOut := `goos: linux
BenchmarkVerifyProvenanceFloor/default         	     100	  12891625 ns/op	   1914660 cpu-ns/op	  330795 B/op	    3365 allocs/op
BenchmarkVerifyProvenanceFloor/no-predicate    	     292	  17136121 ns/op	   1887647 cpu-ns/op
BenchmarkVerifyPublishFloor/default            	    3435	   1647271 ns/op	    283850 cpu-ns/op
BenchmarkRegistrySignatureFloor                	   12675	    298876 ns/op	     50221 cpu-ns/op
PASS
`
	f, err := ParseFloor([]byte(cpuOut))
	if err != nil {
		t.Fatal(err)
	}
	if f.Metric != "cpu-ns/op" || f.Provenance != 1914660 || f.Publish != 283850 || f.Signature != 50221 || len(f.Lines) != 3 {
		t.Fatalf("%+v", f)
	}
	if got, want := f.Total(10, 10, 30, 2), (10*1914660+10*283850+30*50221)/2*time.Nanosecond; got != want {
		t.Fatalf("total %v, want %v", got, want)
	}
	nsOut := "BenchmarkVerifyProvenanceFloor/no-predicate-8 10 5000000 ns/op\nBenchmarkVerifyPublishFloor-8 10 700000 ns/op\nBenchmarkRegistrySignatureFloor-8 100 100000 ns/op\n"
	f, err = ParseFloor([]byte(nsOut))
	if err != nil {
		t.Fatal(err)
	}
	if f.Metric != "ns/op" || f.Provenance != 5000000 || f.Publish != 700000 || f.Signature != 100000 {
		t.Fatalf("%+v", f)
	}
	for _, bad := range []string{
		"",
		"BenchmarkVerifyPublishFloor 10 700000 ns/op\nBenchmarkRegistrySignatureFloor 100 100000 ns/op\n",
		"BenchmarkVerifyProvenanceFloor 10 5000000 ns/op\nBenchmarkVerifyPublishFloor 10 0 ns/op\nBenchmarkRegistrySignatureFloor 100 100000 ns/op\n",
		"BenchmarkVerifyProvenanceFloor 10 5000000 ns/op\nBenchmarkVerifyPublishFloor 10 x ns/op\nBenchmarkRegistrySignatureFloor 100 100000 ns/op\n",
		"BenchmarkVerifyProvenanceFloor 10 5000000 ns/op 3\n",
		// cpu-ns/op reported by one benchmark but missing on another
		"BenchmarkVerifyProvenanceFloor 10 5000000 ns/op 400 cpu-ns/op\nBenchmarkVerifyPublishFloor 10 700000 ns/op\nBenchmarkRegistrySignatureFloor 100 100000 ns/op 9 cpu-ns/op\n",
	} {
		if f, err := ParseFloor([]byte(bad)); !errors.Is(err, ErrBench) {
			t.Errorf("ParseFloor(%q) = %+v, %v; want ErrBench", bad, f, err)
		}
	}
}

func FuzzParseFloor(f *testing.F) {
	f.Add([]byte("BenchmarkVerifyProvenanceFloor/default 100 12891625 ns/op 1914660 cpu-ns/op\nBenchmarkVerifyPublishFloor/default 3435 1647271 ns/op 283850 cpu-ns/op\nBenchmarkRegistrySignatureFloor 12675 298876 ns/op 50221 cpu-ns/op\n"))
	f.Add([]byte("BenchmarkX-2 1 1 ns/op\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		fl, err := ParseFloor(data)
		if err != nil {
			if !errors.Is(err, ErrBench) {
				t.Fatalf("error without ErrBench: %v", err)
			}
			return
		}
		if fl.Provenance <= 0 || fl.Publish <= 0 || fl.Signature <= 0 || len(fl.Lines) != 3 {
			t.Fatalf("accepted a floor that is not positive: %+v", fl)
		}
	})
}

func TestReadReport(t *testing.T) {
	good := `{"schemaVersion": 2, "summary": {"packages": 3, "audited": 2, "verified": 1, "signed": 1, "skipped": 1, "signaturesVerified": 2, "attestationsVerified": 1},
"packages": [
 {"name": "a", "version": "1.0.0", "paths": ["node_modules/a", "node_modules/x/node_modules/a"], "status": "verified", "registrySignature": {"status": "verified"}, "attestations": {"status": "verified"}},
 {"name": "b", "version": "1.0.0", "paths": ["node_modules/b"], "status": "signed", "registrySignature": {"status": "verified"}, "attestations": {"status": "missing"}},
 {"name": "w", "version": "1.0.0", "paths": ["packages/w"], "status": "skipped", "registrySignature": null, "attestations": null}
]}`
	var r Run
	if err := r.readReport([]byte(good)); err != nil {
		t.Fatal(err)
	}
	if r.SignatureLocations != 3 || r.AttestationLocations != 2 || len(r.Unclean) != 0 || r.Summary.Audited != 2 {
		t.Fatalf("%+v", r)
	}
	if !r.Clean(Expect{Audited: 2, Verified: 1, Signed: 1}) {
		t.Fatal("clean run judged unclean")
	}
	for _, tc := range []struct {
		name string
		mod  func(*Run)
	}{
		{"exit 1", func(r *Run) { r.ExitCode = 1 }},
		{"one invalid", func(r *Run) { r.Summary.Invalid, r.Summary.Signed = 1, 0 }},
		{"one error", func(r *Run) { r.Summary.Error = 1 }},
		{"fewer audited", func(r *Run) { r.Summary.Audited = 1 }},
		{"attestation not verified", func(r *Run) { r.Summary.AttestationsVerified = 0 }},
	} {
		bad := r
		tc.mod(&bad)
		if bad.Clean(Expect{Audited: 2, Verified: 1, Signed: 1}) {
			t.Errorf("%s: judged clean", tc.name)
		}
	}

	bad := `{"schemaVersion": 2, "summary": {"packages": 1, "audited": 1, "invalid": 1},
"packages": [{"name": "a", "version": "1.0.0", "paths": ["node_modules/a"], "status": "invalid", "reason": "tampered", "registrySignature": {"status": "invalid"}, "attestations": {"status": "missing"}}]}`
	var rb Run
	if err := rb.readReport([]byte(bad)); err != nil {
		t.Fatal(err)
	}
	if rb.InvalidLocations != 1 || len(rb.Unclean) != 1 || !strings.Contains(rb.Unclean[0], "tampered") {
		t.Fatalf("%+v", rb)
	}

	for _, doc := range []string{
		``, `[]`, `{"schemaVersion": 3, "summary": {}, "packages": []}`,
		`{"schemaVersion": 2, "packages": []}`,
		`{"schemaVersion": 2, "summary": {"packages": 2}, "packages": []}`,
	} {
		var r Run
		if err := r.readReport([]byte(doc)); err == nil {
			t.Errorf("readReport(%q) accepted", doc)
		}
	}
}

func FuzzReadReport(f *testing.F) {
	f.Add([]byte(`{"schemaVersion": 2, "summary": {"packages": 1}, "packages": [{"name": "a", "paths": ["x"], "status": "error"}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var r Run
		if err := r.readReport(data); err != nil {
			return
		}
		if r.Summary.Packages < 0 || len(r.Unclean) > 10 {
			t.Fatalf("%+v", r)
		}
	})
}

func TestIsolatedEnv(t *testing.T) {
	got := isolatedEnv([]string{"PATH=/bin", "HOME=/root", "npm_config_registry=http://x", "NPM_CONFIG_CACHE=/c", "XDG_CACHE_HOME=/x", "GOTOOLCHAIN=go1.27.3"}, "/h")
	want := []string{"PATH=/bin", "GOTOOLCHAIN=go1.27.3", "HOME=/h", "XDG_CACHE_HOME=/h/.cache", "XDG_CONFIG_HOME=/h/.config"}
	if !slices.Equal(got, want) {
		t.Fatalf("got %q, want %q", got, want)
	}
}

// fakeProvaudit writes a script that prints report and exits with code.
func fakeProvaudit(t *testing.T, report string, code int) string {
	t.Helper()
	if runtime.GOOS == "windows" {
		t.Skip("shell script")
	}
	dir := t.TempDir()
	data := filepath.Join(dir, "report.json")
	if err := os.WriteFile(data, []byte(report), 0o644); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "provaudit")
	script := fmt.Sprintf("#!/bin/sh\necho \"$@\" > %q\ncat %q\nexit %d\n", filepath.Join(dir, "args"), data, code)
	if err := os.WriteFile(bin, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return bin
}

func TestRunProvaudit(t *testing.T) {
	report := `{"schemaVersion": 2, "summary": {"packages": 1, "audited": 1, "signed": 1, "signaturesVerified": 1}, "packages": [{"name": "a", "version": "1.0.0", "paths": ["node_modules/a"], "status": "signed", "registrySignature": {"status": "verified"}, "attestations": {"status": "missing"}}]}`
	bin := fakeProvaudit(t, report, 0)
	opts := RunOptions{Binary: bin, Lockfile: "lock.json", Registry: "http://127.0.0.1:1/", Trust: TrustFiles{"root.json", "keys.json"}, CacheDir: "c", Home: t.TempDir(), Concurrency: 7}
	r, err := RunProvaudit(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	if r.ExitCode != 0 || r.Wall <= 0 || !r.Clean(Expect{Audited: 1, Signed: 1}) || r.SignatureLocations != 1 {
		t.Fatalf("%+v", r)
	}
	args, err := os.ReadFile(filepath.Join(filepath.Dir(bin), "args"))
	if err != nil {
		t.Fatal(err)
	}
	if want := "--registry http://127.0.0.1:1/ --trusted-root root.json --npm-keys keys.json --cache-dir c --format json --no-progress --concurrency 7 lock.json\n"; string(args) != want {
		t.Fatalf("args %q, want %q", args, want)
	}

	r, err = RunProvaudit(context.Background(), RunOptions{Binary: fakeProvaudit(t, report, 1), Lockfile: "l", Registry: "r", Trust: TrustFiles{"a", "b"}, CacheDir: "c", Home: t.TempDir()})
	if err != nil || r.ExitCode != 1 || r.Clean(Expect{Audited: 1, Signed: 1}) {
		t.Fatalf("exit 1: %+v, %v", r, err)
	}
	if _, err := RunProvaudit(context.Background(), RunOptions{Binary: fakeProvaudit(t, "not json", 3), Lockfile: "l", Registry: "r", Trust: TrustFiles{"a", "b"}, CacheDir: "c", Home: t.TempDir()}); !errors.Is(err, ErrRun) {
		t.Fatalf("unreadable report: %v", err)
	}
	if _, err := RunProvaudit(context.Background(), RunOptions{Binary: filepath.Join(t.TempDir(), "missing"), Lockfile: "l", Registry: "r", Trust: TrustFiles{"a", "b"}, CacheDir: "c", Home: t.TempDir()}); !errors.Is(err, ErrRun) {
		t.Fatalf("missing binary: %v", err)
	}
	if _, err := RunProvaudit(context.Background(), RunOptions{Binary: bin}); !errors.Is(err, ErrOptions) {
		t.Fatalf("missing options: %v", err)
	}
}

// buildProvaudit builds provaudit (as shipped: no race detector) into the
// test's temporary directory; it skips in -short mode.
func buildProvaudit(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds provaudit")
	}
	bin := filepath.Join(t.TempDir(), "provaudit")
	// Built in the product's own module, as users build it.
	build := exec.Command("go", "build", "-o", bin, "./cmd/provaudit")
	build.Dir = filepath.Join("..", "..")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// TestProvauditEndToEnd builds provaudit and audits a generated lockfile
// served by Serve, cold then warm: the data is valid, so anything but the
// expected clean result is a bug (in provaudit or in the rig).
func TestProvauditEndToEnd(t *testing.T) {
	bin := buildProvaudit(t)
	path, lf := generated(t, 120)
	s, err := Serve(context.Background(), ServeOptions{Lockfile: lf, Attested: 0.33})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	tf, err := s.WriteTrust(filepath.Join(t.TempDir(), "trust"))
	if err != nil {
		t.Fatal(err)
	}
	opts := RunOptions{Binary: bin, Lockfile: path, Registry: s.Registry.URL(), Trust: tf, CacheDir: filepath.Join(t.TempDir(), "cache"), Home: t.TempDir(), Timeout: 2 * time.Minute}
	for _, kind := range []string{"cold", "warm"} {
		s.Registry.ResetStats()
		r, err := RunProvaudit(context.Background(), opts)
		if err != nil {
			t.Fatal(err)
		}
		if !r.Clean(s.Expect) {
			t.Fatalf("%s run not clean: exit %d, %+v, expected %+v\n%s\n%s", kind, r.ExitCode, r.Summary, s.Expect, strings.Join(r.Unclean, "\n"), r.Stderr)
		}
		if r.MaxRSSKB <= 0 || r.CPU() <= 0 {
			t.Fatalf("%s run: no rusage: %+v", kind, r)
		}
		if kind == "cold" && s.Registry.Requests() < int64(s.Expect.Audited) {
			t.Fatalf("cold run made %d requests for %d packages", s.Registry.Requests(), s.Expect.Audited)
		}
	}
}

// TestMain lets the test binary act as the launcher of measured runs.
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == launcher.Arg {
		os.Exit(launcher.Main(os.Args[1:], os.Stderr))
	}
	os.Exit(m.Run())
}

// TestRunThroughLauncher: a run through the launcher reports provaudit's
// own peak, not this process's (see internal/launcher), and a program that
// cannot be started is a failed run.
func TestRunThroughLauncher(t *testing.T) {
	if runtime.GOOS != "linux" || testing.Short() {
		t.Skip("Linux rusage accounting; allocates 256 MB")
	}
	ballast := make([]byte, 256<<20)
	for i := 0; i < len(ballast); i += 4096 {
		ballast[i] = 1
	}
	report := `{"schemaVersion": 2, "summary": {"packages": 0}, "packages": []}`
	opts := RunOptions{Binary: fakeProvaudit(t, report, 0), Lockfile: "l", Registry: "r", Trust: TrustFiles{"a", "b"}, CacheDir: "c", Home: t.TempDir(), Launcher: os.Args[0]}
	launched, err := RunProvaudit(context.Background(), opts)
	runtime.KeepAlive(ballast)
	if err != nil {
		t.Fatal(err)
	}
	if launched.MaxRSSKB <= 0 || launched.MaxRSSKB > 100<<10 || launched.RSSFloorKB <= 0 || launched.RSSFloorKB > 100<<10 {
		t.Fatalf("through the launcher: maxrss %d KiB, launcher %d KiB; want both small", launched.MaxRSSKB, launched.RSSFloorKB)
	}
	if launched.ExitCode != 0 || launched.Wall <= 0 {
		t.Fatalf("%+v", launched)
	}
	opts.Binary = filepath.Join(t.TempDir(), "missing")
	if _, err := RunProvaudit(context.Background(), opts); !errors.Is(err, ErrRun) {
		t.Fatalf("missing program through the launcher: %v", err)
	}
}
