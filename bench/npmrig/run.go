package npmrig

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/provaudit/provaudit/internal/launcher"
)

// waitDelay bounds how long Run waits for npm's output pipe to close once
// npm has exited or been killed.
const waitDelay = 5 * time.Second

// Run runs `npm audit signatures` once in the installed project, from a cold
// npm cache that holds only the seeded TUF root and targets, and measures
// it. A run that exceeds Options.Timeout is killed with its whole process
// group and returned with TimedOut set and a nil error. Otherwise Run
// returns an error wrapping ErrRun, together with the Result, when npm did
// not print an audit summary or when the summary disagrees with its exit
// code; a cancelled ctx kills npm the same way and returns ctx's error.
func (r *Rig) Run(ctx context.Context) (*Result, error) {
	if r.isClosed() {
		return nil, ErrClosed
	}
	r.runMu.Lock()
	defer r.runMu.Unlock()
	if r.isClosed() {
		return nil, ErrClosed
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrRun, err)
	}
	if err := r.resetCache(); err != nil {
		return nil, err
	}

	runCtx, cancel := ctx, context.CancelFunc(func() {})
	if r.opts.Timeout > 0 {
		runCtx, cancel = context.WithTimeout(ctx, r.opts.Timeout)
	}
	defer cancel()

	cmd := exec.CommandContext(runCtx, r.npm, r.args()...)
	cmd.Dir = r.project
	cmd.Env = r.env()
	var out bytes.Buffer
	cmd.Stdout = &out // one writer for both: exec copies them through one pipe
	cmd.Stderr = &out
	cmd.SysProcAttr = procAttr()
	cmd.Cancel = func() error { return killGroup(cmd.Process.Pid) }
	cmd.WaitDelay = waitDelay

	start := time.Now()
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("%w: start %s: %w", ErrRun, r.npm, err)
	}
	waitErr := cmd.Wait()
	wall := time.Since(start)
	// Whatever npm left running in its group goes too.
	_ = killGroup(cmd.Process.Pid)

	res := &Result{Wall: wall, ExitCode: -1, Output: out.Bytes()}
	if ps := cmd.ProcessState; ps != nil {
		res.ExitCode = ps.ExitCode()
		res.User = ps.UserTime()
		res.Sys = ps.SystemTime()
		res.MaxRSSKB = launcher.MaxRSSKB(ps)
	}
	// A run that ended on its own just as the context ended still counts.
	killed := cmd.ProcessState == nil || !cmd.ProcessState.Exited()
	if err := ctx.Err(); err != nil && killed {
		return res, fmt.Errorf("%w: npm killed: %w", ErrRun, err)
	}
	if errors.Is(runCtx.Err(), context.DeadlineExceeded) && killed {
		res.TimedOut = true
		return res, nil
	}
	var exitErr *exec.ExitError
	if waitErr != nil && !errors.As(waitErr, &exitErr) {
		return res, fmt.Errorf("%w: %s: %w", ErrRun, r.npm, waitErr)
	}
	s, err := parseOutput(res.Output)
	if err != nil {
		return res, fmt.Errorf("%w: exit status %d: %w\n%s", ErrRun, res.ExitCode, err, tail(res.Output, 20))
	}
	res.Audited, res.VerifiedSignatures, res.VerifiedAttestations = s.audited, s.signatures, s.attestations
	res.Invalid, res.Missing = s.invalidSignatures+s.invalidAttestations, s.missing
	findings := res.Invalid+res.Missing > 0
	switch {
	case findings && res.ExitCode != 1:
		return res, fmt.Errorf("%w: npm reported %d invalid and %d missing but exited with status %d", ErrRun, res.Invalid, res.Missing, res.ExitCode)
	case !findings && res.ExitCode != 0:
		return res, fmt.Errorf("%w: npm reported no findings but exited with status %d\n%s", ErrRun, res.ExitCode, tail(res.Output, 20))
	}
	return res, nil
}

func (r *Rig) isClosed() bool {
	select {
	case <-r.closed:
		return true
	default:
		return false
	}
}

// args are npm's arguments: the command and the settings that point it at
// the fake registry, the rig's cache and the rig's empty npmrc files.
func (r *Rig) args() []string {
	return []string{
		"audit", "signatures",
		"--registry", r.registry,
		"--cache", r.cacheDir,
		"--userconfig", r.npmrc,
		"--globalconfig", r.globalrc,
		"--color=false",
		"--update-notifier=false",
		"--fund=false",
	}
}

// env is npm's whole environment: nothing of the caller's is passed on but
// PATH (npm is a node script started through env), so no npm_config_*,
// proxy or NODE_OPTIONS setting of the machine applies.
func (r *Rig) env() []string {
	return []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + r.home,
		"TMPDIR=" + r.tmpDir,
		"LANG=C.UTF-8",
		"https_proxy=" + r.proxy.URL(),
		"no_proxy=127.0.0.1,localhost",
		"NODE_EXTRA_CA_CERTS=" + r.caPEM,
		"npm_config_update_notifier=false",
		"NO_COLOR=1",
	}
}

// resetCache empties the npm cache and the temporary directory, then seeds
// the TUF cache as a first run leaves it: the trusted root as root.json and
// both targets in targets/ under their URI-component-encoded names (so
// npm's concurrent first verifications never download and overwrite them
// while others read them).
func (r *Rig) resetCache() error {
	for _, d := range []string{r.cacheDir, r.tmpDir} {
		if err := os.RemoveAll(d); err != nil {
			return fmt.Errorf("%w: reset %s: %w", ErrSetup, d, err)
		}
	}
	tufDir := filepath.Join(r.cacheDir, "_tuf", encodeURIComponent(TUFHost))
	targets := filepath.Join(tufDir, "targets")
	for _, d := range []string{targets, r.tmpDir} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return fmt.Errorf("%w: %w", ErrSetup, err)
		}
	}
	if err := os.WriteFile(filepath.Join(tufDir, "root.json"), r.repo.root, 0o644); err != nil {
		return fmt.Errorf("%w: %w", ErrSetup, err)
	}
	for name, data := range r.repo.targets {
		if err := os.WriteFile(filepath.Join(targets, encodeURIComponent(name)), data, 0o644); err != nil {
			return fmt.Errorf("%w: %w", ErrSetup, err)
		}
	}
	return nil
}

// encodeURIComponent escapes s as JavaScript's encodeURIComponent does,
// which is how tuf-js names cached targets and sigstore-js the cache folder.
func encodeURIComponent(s string) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9',
			strings.IndexByte("-_.!~*'()", c) >= 0:
			b.WriteByte(c)
		default:
			b.WriteByte('%')
			b.WriteByte(hex[c>>4])
			b.WriteByte(hex[c&15])
		}
	}
	return b.String()
}

// tail returns the last n lines of out.
func tail(out []byte, n int) string {
	lines := strings.Split(strings.TrimRight(string(out), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
