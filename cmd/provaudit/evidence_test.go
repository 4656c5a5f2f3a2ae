package main

import (
	"bytes"
	"context"
	"crypto/sha1"
	"crypto/sha512"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/provaudit/provaudit/audit"
	"github.com/provaudit/provaudit/internal/evidence"
	"github.com/provaudit/provaudit/internal/registrytest"
	"github.com/provaudit/provaudit/internal/registrytest/fakesigstore"
	"github.com/provaudit/provaudit/report"
)

// evidenceEnv isolates a test from the machine's npm configuration, cache
// and npm, as the scripts' setup does.
func evidenceEnv(t *testing.T) {
	t.Helper()
	work := t.TempDir()
	home := filepath.Join(work, "home")
	if err := os.MkdirAll(home, 0o755); err != nil {
		t.Fatal(err)
	}
	for k, v := range map[string]string{
		"HOME": home, "XDG_CACHE_HOME": filepath.Join(work, "cache"), "XDG_CONFIG_HOME": filepath.Join(work, "config"),
		"NPM_CONFIG_USERCONFIG": filepath.Join(home, ".npmrc"), "NPM_CONFIG_GLOBALCONFIG": filepath.Join(home, "global-npmrc"),
		"PATH": filepath.Join(work, "bin"),
	} {
		t.Setenv(k, v)
	}
	for _, kv := range os.Environ() {
		if k, _, _ := strings.Cut(kv, "="); strings.HasPrefix(strings.ToLower(k), "npm_config_") && !strings.HasSuffix(strings.ToLower(k), "config") {
			t.Setenv(k, "")
			os.Unsetenv(k)
		}
	}
}

// lockedPackage is one lockfile entry of a test project.
type lockedPackage struct {
	name, version, integrity string
}

// writeProject writes a v3 lockfile of pkgs into a new folder and returns
// the folder.
func writeProject(t *testing.T, pkgs []lockedPackage) string {
	t.Helper()
	var b strings.Builder
	b.WriteString(`{"name": "evidence", "version": "1.0.0", "lockfileVersion": 3, "packages": {"": {"name": "evidence", "version": "1.0.0"}`)
	for i, p := range pkgs {
		path := "node_modules/" + p.name
		if i > 0 && pkgs[i-1].name == p.name {
			path = "node_modules/dup" + fmt.Sprint(i) + "/node_modules/" + p.name
		}
		base := p.name[strings.LastIndexByte(p.name, '/')+1:]
		fmt.Fprintf(&b, ",\n%q: {\"version\": %q, \"resolved\": \"https://registry.invalid/%s/-/%s-%s.tgz\", \"integrity\": %q}", path, p.version, p.name, base, p.version, p.integrity)
	}
	b.WriteString("}}")
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "package-lock.json"), []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

func sri512(data []byte) string {
	sum := sha512.Sum512(data)
	return "sha512-" + base64.StdEncoding.EncodeToString(sum[:])
}

func jsonReport(t *testing.T, res *audit.Result) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := report.Render(&buf, "json", res, report.Options{}); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// sansTiming decodes a JSON report and re-encodes it without its timing
// fields.
func sansTiming(t *testing.T, data []byte) []byte {
	t.Helper()
	var v map[string]any
	if err := json.Unmarshal(data, &v); err != nil {
		t.Fatalf("%v\n%s", err, data)
	}
	return withoutTiming(v, t.Fatalf)
}

// runProvaudit runs the command and returns its exit code, stdout and
// stderr.
func runProvaudit(args ...string) (int, string, string) {
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), append([]string{"provaudit"}, args...), &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

// TestEvidenceRoundTrip records the audit of a lockfile that exercises
// every kind of fetch (attestations, a key valid now, an expired key whose
// publish time comes from the full packument, two versions sharing one
// packument, a tarball needed to bind a sha1-only integrity, a scoped
// name), stops the registry and audits from the bundle: the JSON report is
// the recording's, but for the timing.
func TestEvidenceRoundTrip(t *testing.T) {
	evidenceEnv(t)
	now := time.Now().UTC().Truncate(time.Second)
	rotated := now.AddDate(-1, 0, 0)
	ss, err := fakesigstore.New(fakesigstore.Options{Now: now, NpmKeys: []fakesigstore.KeySpec{
		{Start: now.AddDate(-9, 0, 0), End: rotated}, {Start: rotated},
	}})
	if err != nil {
		t.Fatal(err)
	}
	reg := registrytest.New(registrytest.Options{Sigstore: ss})
	defer reg.Close()

	tarball := []byte("the bytes of an old tarball")
	sha1sum := sha1.Sum(tarball)
	served := []registrytest.Package{
		{Name: "attested", Version: "1.0.0", Signed: true, SignKey: 1, Attested: true},
		{Name: "current", Version: "2.0.0", Signed: true, SignKey: 1},
		{Name: "expired", Version: "1.0.0", Signed: true, SignKey: 0, PublishTime: rotated.AddDate(-1, 0, 0), Versions: 30},
		{Name: "expired", Version: "1.1.0", Signed: true, SignKey: 0, PublishTime: rotated.AddDate(0, -1, 0)},
		{Name: "@scope/pkg", Version: "3.0.0", Signed: true, SignKey: 1},
		{Name: "oldsha1", Version: "0.1.0", Signed: true, SignKey: 0, PublishTime: rotated.AddDate(-3, 0, 0),
			Integrity: "sha1-" + base64.StdEncoding.EncodeToString(sha1sum[:]), Tarball: tarball},
	}
	var locked []lockedPackage
	for i := range served {
		p := &served[i]
		integ := p.Integrity
		switch {
		case p.Tarball != nil:
			integ = sri512(p.Tarball) // the lockfile pins sha512, the registry serves sha1
		case integ == "":
			integ = sri512([]byte(p.Name + "@" + p.Version))
			p.Integrity = integ
		}
		locked = append(locked, lockedPackage{p.Name, p.Version, integ})
	}
	if err := reg.Add(served...); err != nil {
		t.Fatal(err)
	}
	dir := writeProject(t, locked)
	rootFile := filepath.Join(t.TempDir(), "trusted_root.json")
	if err := os.WriteFile(rootFile, ss.TrustedRoot(), 0o644); err != nil {
		t.Fatal(err)
	}
	bundle := filepath.Join(t.TempDir(), "ev.tar.gz")

	rs := &recordSettings{out: bundle, settings: settings{path: dir, registry: reg.URL(), concurrency: 8, trustedRoot: rootFile, quiet: true}}
	rec, err := recordEvidence(context.Background(), rs, now, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"attested": "verified", "current": "signed", "expired": "signed", "@scope/pkg": "signed", "oldsha1": "signed"}
	sources := map[string]audit.TimeSource{}
	for _, p := range rec.result.Packages {
		if p.Status != audit.Status(want[p.Name]) {
			t.Errorf("recording: %s@%s is %s (%s), want %s", p.Name, p.Version, p.Status, p.Reason, want[p.Name])
		}
		sources[p.Name+"@"+p.Version] = p.RegistrySignature.TimeSource
	}
	if sources["current@2.0.0"] != "key-valid-now" || sources["expired@1.0.0"] != "publish-time" || sources["attested@1.0.0"] != "rekor" {
		t.Fatalf("the recording did not exercise every time source: %v", sources)
	}
	recorded := jsonReport(t, rec.result)

	b, err := evidence.Open(bundle, evidence.DefaultLimits)
	if err != nil {
		t.Fatal(err)
	}
	var reduced, tarballs int
	for _, r := range b.Manifest.Responses {
		if r.Reduced {
			reduced++
			if n := len(b.Member(r.Member)); n > 1000 {
				t.Errorf("reduced packument %s is %d bytes", r.URL, n)
			}
		}
		if strings.HasSuffix(r.URL, ".tgz") && string(b.Member(r.Member)) == string(tarball) {
			tarballs++
		}
	}
	if reduced != len(want) || tarballs != 1 {
		t.Errorf("%d reduced packuments (want one per package: its release history) and %d tarballs recorded", reduced, tarballs)
	}

	reg.Close()
	code, stdout, stderr := runProvaudit("--evidence", bundle, "--registry", reg.URL(), "--trusted-root", rootFile, "--format", "json", dir)
	if code != exitOK {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	if got, want := sansTiming(t, []byte(stdout)), sansTiming(t, recorded); !bytes.Equal(got, want) {
		t.Fatalf("the audit from the bundle differs from the recording:\n%s\nwant\n%s", got, want)
	}
}

// TestEvidenceRecordedYearsAgo records a bundle three years ago (a fake
// clock) with a registry key valid then that expired two years ago, and
// audits it with today's clock: the verdicts are the recording's, keys
// judged at the recording time. A live audit today judges the same
// signature by its publish time instead, which the bundle does not need.
func TestEvidenceRecordedYearsAgo(t *testing.T) {
	evidenceEnv(t)
	now := time.Now().UTC().Truncate(time.Second)
	then := now.AddDate(-3, 0, 0)
	ss, err := fakesigstore.New(fakesigstore.Options{Now: then, NpmKeys: []fakesigstore.KeySpec{{Start: then.AddDate(-5, 0, 0), End: now.AddDate(-2, 0, 0)}}})
	if err != nil {
		t.Fatal(err)
	}
	reg := registrytest.New(registrytest.Options{Sigstore: ss})
	defer reg.Close()
	var locked []lockedPackage
	for _, name := range []string{"one", "two"} {
		integ := sri512([]byte(name))
		if err := reg.Add(registrytest.Package{Name: name, Version: "1.0.0", Integrity: integ, Signed: true, PublishTime: then.AddDate(-1, 0, 0)}); err != nil {
			t.Fatal(err)
		}
		locked = append(locked, lockedPackage{name, "1.0.0", integ})
	}
	dir := writeProject(t, locked)
	bundle := filepath.Join(t.TempDir(), "ev.tar.gz")

	rec, err := recordEvidence(context.Background(), &recordSettings{out: bundle, settings: settings{path: dir, registry: reg.URL(), concurrency: 4, quiet: true}}, then, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range rec.result.Packages {
		if p.Status != audit.StatusSigned || p.RegistrySignature.TimeSource != "key-valid-now" || !p.RegistrySignature.JudgedAt.Equal(then) {
			t.Fatalf("recorded: %s %s %+v", p.Name, p.Status, p.RegistrySignature)
		}
	}
	// Today the key has expired: a live audit needs the publish time.
	code, live, stderr := runProvaudit("--registry", reg.URL(), "--no-cache", "--format", "json", dir)
	if code != exitOK || !strings.Contains(live, `"timeSource": "publish-time"`) {
		t.Fatalf("live audit today: exit %d, %s\n%s", code, stderr, live)
	}

	reg.Close()
	code, stdout, stderr := runProvaudit("--evidence", bundle, "--registry", reg.URL(), "--format", "json", dir)
	if code != exitOK {
		t.Fatalf("exit %d\n%s\n%s", code, stderr, stdout)
	}
	if !strings.Contains(stderr, "recorded at "+then.Format(time.RFC3339)) {
		t.Errorf("stderr does not give the recording time: %s", stderr)
	}
	if got, want := sansTiming(t, []byte(stdout)), sansTiming(t, jsonReport(t, rec.result)); !bytes.Equal(got, want) {
		t.Fatalf("years later the bundle audits differently:\n%s\nwant\n%s", got, want)
	}
}

// TestEvidenceFutureRecording refuses a bundle that claims to be recorded
// after now: keys cannot be judged at an instant that has not come.
func TestEvidenceFutureRecording(t *testing.T) {
	evidenceEnv(t)
	reg := registrytest.New(registrytest.Options{})
	defer reg.Close()
	integ := sri512([]byte("one"))
	if err := reg.Add(registrytest.Package{Name: "one", Version: "1.0.0", Integrity: integ, Signed: true}); err != nil {
		t.Fatal(err)
	}
	dir := writeProject(t, []lockedPackage{{"one", "1.0.0", integ}})
	bundle := filepath.Join(t.TempDir(), "ev.tar.gz")
	future := time.Now().Add(time.Hour)
	if _, err := recordEvidence(context.Background(), &recordSettings{out: bundle, settings: settings{path: dir, registry: reg.URL(), concurrency: 4, quiet: true}}, future, io.Discard); err != nil {
		t.Fatal(err)
	}
	code, _, stderr := runProvaudit("--evidence", bundle, "--registry", reg.URL(), dir)
	if code != exitUsage || !strings.Contains(stderr, "in the future") {
		t.Fatalf("exit %d: %s", code, stderr)
	}
}
