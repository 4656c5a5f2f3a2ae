package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/provaudit/provaudit/audit"
	"github.com/provaudit/provaudit/internal/registrytest"
)

// The tests in this file attack a real provaudit process (the test binary
// in provaudit mode, on PATH thanks to testscript.Main) with a hostile fake
// registry and signals. Times are asserted as generous bounds.

// e2e is a project of n registry packages served by a fake registry, with
// trust files and an isolated home.
type e2e struct {
	dir      string // the project directory (and the lockfile's)
	reg      *registrytest.Registry
	root     string // --trusted-root
	keys     string // --npm-keys
	env      []string
	packages []registrytest.Package
}

// newE2E writes a lockfile of n packages (the first attested of them with
// attestations) and serves them, signed, from a fresh fake registry.
func newE2E(t *testing.T, n, attested int) *e2e {
	t.Helper()
	return newE2EWith(t, registrytest.Options{}, n, func(i int, p *registrytest.Package) { p.Attested = i < attested })
}

// newE2EWith is newE2E with registry options and each package's
// description (name, version, integrity and Signed set) edited by edit.
func newE2EWith(t *testing.T, opts registrytest.Options, n int, edit func(i int, p *registrytest.Package)) *e2e {
	t.Helper()
	e := &e2e{dir: t.TempDir(), reg: registrytest.New(opts)}
	t.Cleanup(e.reg.Close)
	var b strings.Builder
	b.WriteString(`{"name": "hostile", "version": "1.0.0", "lockfileVersion": 3, "packages": {"": {"name": "hostile", "version": "1.0.0"}`)
	for i := range n {
		name := fmt.Sprintf("pkg-%04d", i)
		sum := make([]byte, 64)
		copy(sum, name)
		integrity := "sha512-" + base64.StdEncoding.EncodeToString(sum)
		fmt.Fprintf(&b, ",\n"+`"node_modules/%s": {"version": "1.0.0", "resolved": "https://registry.invalid/%s/-/%s-1.0.0.tgz", "integrity": %q}`, name, name, name, integrity)
		p := registrytest.Package{Name: name, Version: "1.0.0", Integrity: integrity, Signed: true}
		edit(i, &p)
		e.packages = append(e.packages, p)
	}
	b.WriteString("}}\n")
	writeTestFile(t, filepath.Join(e.dir, "package-lock.json"), b.String())
	if err := e.reg.Add(e.packages...); err != nil {
		t.Fatal(err)
	}
	trust := t.TempDir()
	e.root, e.keys = filepath.Join(trust, "trusted_root.json"), filepath.Join(trust, "npm-keys.json")
	writeTestFile(t, e.root, string(e.reg.Sigstore().TrustedRoot()))
	writeTestFile(t, e.keys, string(e.reg.Sigstore().NpmKeys()))
	home := t.TempDir()
	e.env = append(os.Environ(), "HOME="+home, "XDG_CACHE_HOME="+filepath.Join(home, "cache"),
		"NPM_CONFIG_USERCONFIG="+filepath.Join(home, ".npmrc"), "NPM_CONFIG_GLOBALCONFIG="+filepath.Join(home, "global-npmrc"))
	return e
}

// proc is a provaudit process.
type proc struct {
	cmd            *exec.Cmd
	stdout, stderr bytes.Buffer
	done           chan struct{}
	ended          time.Time
}

// start runs provaudit (the test binary on PATH, or bin) on the project
// with --registry, --trusted-root, --no-progress and args.
func (e *e2e) start(t *testing.T, bin string, args ...string) *proc {
	t.Helper()
	if bin == "" {
		var err error
		if bin, err = exec.LookPath("provaudit"); err != nil {
			t.Fatalf("provaudit is not on PATH (testscript.Main puts it there): %v", err)
		}
	}
	args = append([]string{"--registry", e.reg.URL(), "--trusted-root", e.root, "--no-progress"}, args...)
	p := &proc{cmd: exec.Command(bin, append(args, e.dir)...), done: make(chan struct{})}
	p.cmd.Env = e.env
	p.cmd.Stdout, p.cmd.Stderr = &p.stdout, &p.stderr
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		_ = p.cmd.Wait()
		p.ended = time.Now()
		close(p.done)
	}()
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			_ = p.cmd.Process.Kill()
			<-p.done
		}
	})
	return p
}

// wait waits up to limit for the process to exit and returns its exit code.
func (p *proc) wait(t *testing.T, limit time.Duration) int {
	t.Helper()
	select {
	case <-p.done:
		return p.cmd.ProcessState.ExitCode()
	case <-time.After(limit):
		_ = p.cmd.Process.Kill()
		<-p.done
		t.Fatalf("provaudit still running after %s; stderr:\n%s", limit, p.stderr.String())
		return -1
	}
}

// waitFor polls cond for up to 30 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); !cond(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// checkNoReportFile fails if out exists or a temporary report file is left
// in its directory.
func checkNoReportFile(t *testing.T, out string) {
	t.Helper()
	if _, err := os.Stat(out); err == nil {
		t.Errorf("%s was written by an interrupted run", out)
	}
	left, _ := filepath.Glob(filepath.Join(filepath.Dir(out), ".provaudit-report-*"))
	if len(left) > 0 {
		t.Errorf("temporary report files left: %v", left)
	}
}

// TestSignalWhileWaitingOnNetwork: SIGINT or SIGTERM while every request
// waits on a registry that never answers ends the run within 2 s with exit
// 3; the run winds down by itself (the backstop in runInterruptible is not
// needed) and --output is not written.
func TestSignalWhileWaitingOnNetwork(t *testing.T) {
	e := newE2E(t, 30, 0)
	e.reg.Handle("/", e.reg.NeverAnswer())
	for _, sig := range []os.Signal{os.Interrupt, syscall.SIGTERM} {
		t.Run(sig.String(), func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "report.json")
			p := e.start(t, "", "--format", "json", "--output", out, "--cache-dir", t.TempDir())
			waitFor(t, "a request in flight", func() bool { return e.reg.Stats().InFlight > 0 })
			time.Sleep(100 * time.Millisecond)
			sent := time.Now()
			if err := p.cmd.Process.Signal(sig); err != nil {
				t.Fatal(err)
			}
			code := p.wait(t, 10*time.Second)
			took := p.ended.Sub(sent)
			t.Logf("%s: exit %d %s after the signal", sig, code, took.Round(time.Millisecond))
			if code != exitIncomplete || took > 2*time.Second {
				t.Fatalf("exit %d %s after %s, want 3 within 2 s; stderr:\n%s", code, took, sig, p.stderr.String())
			}
			if !strings.Contains(p.stderr.String(), "signal received") || strings.Contains(p.stderr.String(), "without waiting") {
				t.Errorf("stderr:\n%s", p.stderr.String())
			}
			if p.stdout.Len() != 0 {
				t.Errorf("stdout:\n%s", p.stdout.String())
			}
			checkNoReportFile(t, out)
		})
	}
}

// TestSignalWhileVerifying: a signal while hundreds of fetched attestation
// bundles wait for verification ends the run within 2 s with exit 3:
// verification stops picking up work, so the run winds down by itself.
func TestSignalWhileVerifying(t *testing.T) {
	if testing.Short() {
		t.Skip("generates 300 attested packages")
	}
	e := newE2E(t, 300, 300)
	out := filepath.Join(t.TempDir(), "report.json")
	p := e.start(t, "", "--format", "json", "--output", out, "--cache-dir", t.TempDir(), "--npm-keys", e.keys)
	waitFor(t, "attestations fetched", func() bool { return e.reg.RequestsFor("/-/npm/v1/attestations/") >= 150 })
	sent := time.Now()
	if err := p.cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	code := p.wait(t, 10*time.Second)
	took := p.ended.Sub(sent)
	t.Logf("exit %d %s after the signal", code, took.Round(time.Millisecond))
	if code != exitIncomplete || took > 2*time.Second {
		t.Fatalf("exit %d %s after the signal, want 3 within 2 s; stderr:\n%s", code, took, p.stderr.String())
	}
	if strings.Contains(p.stderr.String(), "without waiting") {
		t.Errorf("the run did not wind down by itself:\n%s", p.stderr.String())
	}
	checkNoReportFile(t, out)
}

// TestRunInterruptibleBackstop: a run stuck where it does not watch for
// cancellation (parsing a huge lockfile) still ends within the grace after
// the signal, with exit 3 and a message; a run that returns is left alone.
func TestRunInterruptibleBackstop(t *testing.T) {
	ctx, cancel := context.WithCancelCause(context.Background())
	var stderr bytes.Buffer
	stuck := make(chan struct{})
	defer close(stuck)
	time.AfterFunc(50*time.Millisecond, func() { cancel(fmt.Errorf("interrupt signal received")) })
	start := time.Now()
	code := runInterruptible(ctx, 300*time.Millisecond, &stderr, func() int { <-stuck; return 0 })
	if took := time.Since(start); code != exitIncomplete || took > 2*time.Second {
		t.Fatalf("exit %d after %s", code, took)
	}
	if !strings.Contains(stderr.String(), "interrupt signal received") || !strings.Contains(stderr.String(), "no complete report") {
		t.Errorf("stderr: %q", stderr.String())
	}
	stderr.Reset()
	if code := runInterruptible(context.Background(), time.Millisecond, &stderr, func() int { return 1 }); code != 1 || stderr.Len() != 0 {
		t.Errorf("a run that returns: exit %d, stderr %q", code, stderr.String())
	}
	ctx, cancel = context.WithCancelCause(context.Background())
	cancel(nil)
	if code := runInterruptible(ctx, 5*time.Second, &stderr, func() int { time.Sleep(10 * time.Millisecond); return 2 }); code != 2 {
		t.Errorf("a run that winds down within the grace: exit %d", code)
	}
}

// TestTimeoutFlag: --timeout ends an audit of a stalled registry at the
// deadline: every package unchecked is an error that names the timeout, the
// report is written (it is complete: every package has its status), exit 3.
func TestTimeoutFlag(t *testing.T) {
	e := newE2E(t, 150, 0)
	e.reg.Handle("/", e.reg.NeverAnswer())
	start := time.Now()
	p := e.start(t, "", "--format", "json", "--cache-dir", t.TempDir(), "--timeout", "2s")
	code := p.wait(t, 30*time.Second)
	took := time.Since(start)
	t.Logf("exit %d after %s", code, took.Round(time.Millisecond))
	if code != exitIncomplete || took > 10*time.Second {
		t.Fatalf("exit %d after %s, want 3 soon after 2 s; stderr:\n%s", code, took, p.stderr.String())
	}
	res := decodeReport(t, p.stdout.Bytes())
	if res.Summary.Error != 150 {
		t.Fatalf("summary %+v", res.Summary)
	}
	for _, pkg := range res.Packages {
		if !strings.Contains(pkg.Reason, "--timeout 2s reached") {
			t.Fatalf("%s: %s", pkg.Name, pkg.Reason)
		}
	}
}

// TestStalledRegistry: 150 packages on a registry that stalls, in each
// shape, end within about a minute (the bound, with margin), exit
// 3, every package an error saying why. Without the circuit breaker, header
// timeout and single timeout retry they took minutes, growing with the
// lockfile.
func TestStalledRegistry(t *testing.T) {
	if testing.Short() {
		t.Skip("takes up to a minute")
	}
	shapes := []struct {
		name   string
		pinned bool
		h      func(r *registrytest.Registry) http.HandlerFunc
	}{
		{"never answers, keys endpoint too", false, func(r *registrytest.Registry) http.HandlerFunc { return r.NeverAnswer() }},
		{"stalls the body, pinned keys", true, func(r *registrytest.Registry) http.HandlerFunc { return r.StallBody([]byte(`{"name":`)) }},
		{"trickles, keys endpoint too", false, func(r *registrytest.Registry) http.HandlerFunc {
			return r.Trickle([]byte(`{"keys":[]}`+strings.Repeat(" ", 1000)), time.Second)
		}},
	}
	for _, sh := range shapes {
		t.Run(sh.name, func(t *testing.T) {
			t.Parallel()
			e := newE2E(t, 150, 0)
			e.reg.Handle("/", sh.h(e.reg))
			args := []string{"--format", "json", "--cache-dir", t.TempDir()}
			if sh.pinned {
				args = append(args, "--npm-keys", e.keys)
			}
			start := time.Now()
			p := e.start(t, "", args...)
			code := p.wait(t, 3*time.Minute)
			took := time.Since(start)
			t.Logf("%s: exit %d after %s, %d requests", sh.name, code, took.Round(time.Millisecond), e.reg.Requests())
			if code != exitIncomplete || took > 75*time.Second {
				t.Fatalf("exit %d after %s, want 3 within about a minute; stderr:\n%s", code, took, p.stderr.String())
			}
			res := decodeReport(t, p.stdout.Bytes())
			if res.Summary.Error != 150 {
				t.Fatalf("summary %+v", res.Summary)
			}
			for _, pkg := range res.Packages {
				if !strings.Contains(pkg.Reason, "within") && !strings.Contains(pkg.Reason, "stopped answering") {
					t.Fatalf("%s: %s", pkg.Name, pkg.Reason)
				}
			}
			// Those the open breaker failed share one problem, said once.
			if len(res.Problems) != 1 || !strings.Contains(res.Problems[0].Message, "stopped answering") || res.Problems[0].Packages < 100 {
				t.Errorf("problems %+v", res.Problems)
			}
		})
	}
}

func decodeReport(t *testing.T, data []byte) *audit.Result {
	t.Helper()
	var res audit.Result
	if err := json.Unmarshal(data, &res); err != nil {
		t.Fatalf("the JSON report does not decode: %v\n%.2000s", err, data)
	}
	return &res
}
