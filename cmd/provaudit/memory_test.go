package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/provaudit/provaudit/audit"
	"github.com/provaudit/provaudit/internal/launcher"
	"github.com/provaudit/provaudit/internal/registrytest"
	"github.com/provaudit/provaudit/internal/registrytest/fakesigstore"
)

// The tests in this file measure the peak resident memory of a real
// provaudit binary (built without the race detector, as shipped) under
// hostile input. Runs go through a launcher (this test binary, see package
// internal/launcher) so that the peak is provaudit's own and not this
// process's. The bound on the real lockfiles against a registry shaped
// like npm's is the benchmark module's (bench/rig TestMemoryRealLockfiles).

// provauditBinary builds provaudit into the test's temporary directory
// (the build cache makes every build after the first a link).
func provauditBinary(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds provaudit")
	}
	bin := filepath.Join(t.TempDir(), "provaudit")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// measured is a finished provaudit run with its resources.
type measured struct {
	launcher.Usage
	stdout, stderr []byte
}

// addressSpaceLimitKB caps the address space of a measured run (ulimit -v):
// a regression fails its test instead of taking the machine's memory.
const addressSpaceLimitKB = 4 << 20

// measure runs the built provaudit on e's project with args and returns its
// exit code, wall time and peak RSS.
func (e *e2e) measure(t *testing.T, args ...string) *measured {
	t.Helper()
	if runtime.GOOS == "windows" {
		t.Skip("measured through /bin/sh and rusage")
	}
	bin := provauditBinary(t)
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	args = append(append([]string{"--registry", e.reg.URL(), "--trusted-root", e.root, "--no-progress"}, args...), e.dir)
	var stdout, stderr bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	// sh sets the limit and becomes provaudit (exec): what the launcher
	// measures is provaudit.
	script := fmt.Sprintf(`ulimit -v %d && exec "$0" "$@"`, addressSpaceLimitKB)
	u, err := launcher.Run(ctx, self, "/bin/sh", append([]string{"-c", script, bin}, args...), func(cmd *exec.Cmd) {
		cmd.Env, cmd.Stdout, cmd.Stderr = e.env, &stdout, &stderr
	})
	if err != nil {
		t.Fatalf("%v\nstderr:\n%s", err, stderr.String())
	}
	return &measured{Usage: *u, stdout: stdout.Bytes(), stderr: stderr.Bytes()}
}

func (m *measured) peakMB() float64 { return float64(m.MaxRSSKB) / 1024 }

// versionDoc is the version document the registry serves for name@1.0.0.
func (e *e2e) versionDoc(t *testing.T, name string) []byte {
	t.Helper()
	resp, err := e.reg.Client().Get(e.reg.URL() + name + "/1.0.0")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	doc, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("GET %s/1.0.0: %s %v", name, resp.Status, err)
	}
	return bytes.TrimSpace(doc)
}

// TestMemoryHostileDocuments serves documents just under their size caps,
// each carrying one long string, to a whole audit's worth of concurrent
// requests, and bounds provaudit's peak RSS. Per-body caps alone multiply
// by the concurrency: 32 abbreviated packuments of 40 MB with the long
// string in a signature took 1.6 GB and more. A long string in a field that
// is kept (a signature) makes the package an error; one in a field nobody
// needs (a readme) is skipped and the verdict stands.
func TestMemoryHostileDocuments(t *testing.T) {
	const limitMB = 600
	sig := func(e *e2e, i int) string { return fmt.Sprintf("pkg-%04d", i) }
	tests := []struct {
		name  string
		n     int
		setup func(t *testing.T, e *e2e)
		// check judges one package of the report.
		check func(p audit.Package) bool
		args  []string
	}{
		{
			name: "32 abbreviated packuments of 40 MB, long string in a signature",
			n:    32,
			setup: func(t *testing.T, e *e2e) {
				e.reg.SetNoVersionEndpoint(true) // every package takes the packument fallback
				for i, p := range e.packages {
					name := sig(e, i)
					head := fmt.Sprintf(`{"name":%q,"modified":"2025-01-01T00:00:00.000Z","dist-tags":{"latest":"1.0.0"},"versions":{"1.0.0":{"name":%q,"version":"1.0.0","dist":{"integrity":%q,"tarball":"https://registry.invalid/x.tgz","signatures":[{"keyid":"SHA256:x","sig":"`, name, name, p.Integrity)
					e.reg.Handle("/"+name, e.reg.LongString([]byte(head), 40<<20, []byte(`"}]}}}}`)))
				}
			},
			check: func(p audit.Package) bool { return p.Status == audit.StatusError },
		},
		{
			name: "64 version documents of 15 MB, long string in a signature",
			n:    64,
			setup: func(t *testing.T, e *e2e) {
				for i, p := range e.packages {
					name := sig(e, i)
					head := fmt.Sprintf(`{"name":%q,"version":"1.0.0","dist":{"integrity":%q,"tarball":"https://registry.invalid/x.tgz","signatures":[{"keyid":"SHA256:x","sig":"`, name, p.Integrity)
					e.reg.Handle("/"+name+"/1.0.0", e.reg.LongString([]byte(head), 15<<20, []byte(`"}]}}`)))
				}
			},
			check: func(p audit.Package) bool { return p.Status == audit.StatusError },
			args:  nil,
		},
		{
			name: "200 attestation bodies of 4 MB",
			n:    200,
			setup: func(t *testing.T, e *e2e) {
				for i := range e.packages {
					head := `{"attestations":[{"predicateType":"https://slsa.dev/provenance/v1","bundle":{"mediaType":"`
					e.reg.Handle("/-/npm/v1/attestations/"+sig(e, i)+"@1.0.0", e.reg.LongString([]byte(head), 4<<20-200, []byte(`"}}]}`)))
				}
			},
			check: func(p audit.Package) bool { return p.Status != audit.StatusVerified && p.Status != audit.StatusSigned },
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if testing.Short() {
				t.Skip("builds provaudit")
			}
			e := newE2EWith(t, registrytest.Options{}, tt.n, func(i int, p *registrytest.Package) { p.Attested = strings.Contains(tt.name, "attestation") })
			tt.setup(t, e)
			m := e.measure(t, append([]string{"--format", "json", "--no-cache", "--npm-keys", e.keys}, tt.args...)...)
			t.Logf("%s: exit %d, wall %s, peak RSS %.0f MB (launcher %d MB)", tt.name, m.ExitCode, m.Wall.Round(time.Millisecond), m.peakMB(), m.LauncherRSSKB/1024)
			res := decodeReport(t, m.stdout)
			for _, p := range res.Packages {
				if !tt.check(p) {
					t.Errorf("%s: %s: %.300s", p.Name, p.Status, p.Reason)
					break
				}
			}
			t.Logf("first reason: %.300s", res.Packages[0].Reason)
			if m.peakMB() > limitMB {
				t.Errorf("peak RSS %.0f MB, want under %d MB", m.peakMB(), limitMB)
			}
		})
	}
}

// TestMemoryLongReadmes: 32 full packuments of 40 MB, the long string in a
// readme nobody needs, for versions whose only signature is by an expired
// key (their publish time comes from the packument). The readme is skipped,
// not buffered, and the verdict stands: every package signed.
func TestMemoryLongReadmes(t *testing.T) {
	if testing.Short() {
		t.Skip("builds provaudit")
	}
	now := time.Now().UTC().Truncate(time.Second)
	ss, err := fakesigstore.New(fakesigstore.Options{Now: now, NpmKeys: fakesigstore.RotatedKeys(now)})
	if err != nil {
		t.Fatal(err)
	}
	published := time.Date(2024, 3, 5, 6, 7, 8, 0, time.UTC)
	e := newE2EWith(t, registrytest.Options{Sigstore: ss}, 32, func(_ int, p *registrytest.Package) {
		p.SignKey, p.PublishTime = 0, published
	})
	for i := range e.packages {
		name := fmt.Sprintf("pkg-%04d", i)
		doc := e.versionDoc(t, name)
		head := fmt.Sprintf(`{"name":%q,"time":{"created":"2019-01-01T00:00:00.000Z","1.0.0":%q},"versions":{"1.0.0":{"readme":"`, name, published.Format(time.RFC3339))
		tail := `",` + string(doc[1:]) + `}}`
		e.reg.Handle("/"+name, e.reg.LongString([]byte(head), 40<<20, []byte(tail)))
	}
	m := e.measure(t, "--format", "json", "--no-cache", "--npm-keys", e.keys)
	t.Logf("32 full packuments of 40 MB, long readme: exit %d, wall %s, peak RSS %.0f MB (launcher %d MB)", m.ExitCode, m.Wall.Round(time.Millisecond), m.peakMB(), m.LauncherRSSKB/1024)
	res := decodeReport(t, m.stdout)
	if m.ExitCode != 0 || res.Summary.Signed != 32 {
		t.Fatalf("exit %d, summary %+v; first reason: %.300s", m.ExitCode, res.Summary, res.Packages[0].Reason)
	}
	if got := e.reg.RequestsFor("/pkg-0000"); got < 2 {
		t.Fatalf("%d requests for pkg-0000: the packument was not read", got)
	}
	if m.peakMB() > 600 {
		t.Errorf("peak RSS %.0f MB, want under 600 MB", m.peakMB())
	}
}
