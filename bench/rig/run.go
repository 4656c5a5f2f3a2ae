package rig

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"

	"github.com/provaudit/provaudit/audit"
	"github.com/provaudit/provaudit/internal/launcher"
)

// RunOptions configures one provaudit run.
type RunOptions struct {
	// Binary is the provaudit executable.
	Binary string
	// Lockfile is the lockfile (or project directory) to audit.
	Lockfile string
	// Registry is the registry URL (--registry).
	Registry string
	// Trust names the trust files (--trusted-root, --npm-keys).
	Trust TrustFiles
	// CacheDir is the cache directory (--cache-dir): fresh for a cold run,
	// the previous run's for a warm one.
	CacheDir string
	// Concurrency is passed as --concurrency when not 0.
	Concurrency int
	// Home is the HOME (and user cache) of the run, so that no npm or
	// provaudit configuration of the machine applies.
	Home string
	// Timeout bounds the run (0: none but the context's).
	Timeout time.Duration
	// Launcher is a program that implements launcher.Main (benchrig):
	// the run goes through it so that the peak RSS is provaudit's own (see
	// package internal/launcher). Empty: provaudit is started directly, and on Linux its
	// peak RSS is at least this process's.
	Launcher string
}

// Run is the outcome of one provaudit run.
type Run struct {
	// Wall is the time from start to exit; User and Sys the CPU times
	// from the child's rusage.
	Wall, User, Sys time.Duration
	// MaxRSSKB is the peak resident set size in KiB; RSSFloorKB the
	// launcher's peak, below which MaxRSSKB cannot go (0 without one).
	MaxRSSKB, RSSFloorKB int64
	// ExitCode is provaudit's exit status.
	ExitCode int
	// Summary is the JSON report's summary.
	Summary audit.Summary
	// SignatureLocations and AttestationLocations count the install
	// locations (paths) of the packages with a verified registry signature
	// and verified attestations; InvalidLocations those of invalid
	// packages and MissingLocations those whose registry signature is
	// missing: the figures npm reports, which counts install locations.
	SignatureLocations, AttestationLocations, InvalidLocations, MissingLocations int
	// Unclean lists up to 10 packages whose status is neither verified,
	// signed nor skipped, with the reason.
	Unclean []string
	// Stderr is what provaudit wrote on stderr.
	Stderr []byte
}

// CPU is the run's user plus system CPU time.
func (r *Run) CPU() time.Duration { return r.User + r.Sys }

// Clean reports whether a run reported exactly the expected clean result:
// exit status 0, every audited package verified (attested) or signed, none
// unsigned, invalid or in error.
func (r *Run) Clean(e Expect) bool {
	s := r.Summary
	return r.ExitCode == 0 && s.Audited == e.Audited && s.Verified == e.Verified && s.Signed == e.Signed &&
		s.Unsigned == 0 && s.Invalid == 0 && s.Error == 0 && s.Findings == 0 &&
		s.SignaturesVerified == e.Audited && s.AttestationsVerified == e.Verified
}

// RunProvaudit runs provaudit once with --format json and measures it.
// It fails when provaudit cannot be started or its report cannot be read;
// any exit status with a readable report is a Run (judge it with Clean).
func RunProvaudit(ctx context.Context, o RunOptions) (*Run, error) {
	switch {
	case o.Binary == "" || o.Lockfile == "" || o.Registry == "" || o.CacheDir == "" || o.Home == "":
		return nil, fmt.Errorf("%w: Binary, Lockfile, Registry, CacheDir and Home are required", ErrOptions)
	case o.Trust.TrustedRoot == "" || o.Trust.NpmKeys == "":
		return nil, fmt.Errorf("%w: trust files are required", ErrOptions)
	}
	if o.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, o.Timeout)
		defer cancel()
	}
	args := []string{
		"--registry", o.Registry,
		"--trusted-root", o.Trust.TrustedRoot,
		"--npm-keys", o.Trust.NpmKeys,
		"--cache-dir", o.CacheDir,
		"--format", "json", "--no-progress",
	}
	if o.Concurrency > 0 {
		args = append(args, "--concurrency", strconv.Itoa(o.Concurrency))
	}
	args = append(args, o.Lockfile)
	var stdout, stderr bytes.Buffer
	env := isolatedEnv(os.Environ(), o.Home)
	r := &Run{}
	if o.Launcher != "" {
		u, err := launcher.Run(ctx, o.Launcher, o.Binary, args, func(cmd *exec.Cmd) {
			cmd.Env, cmd.Stdout, cmd.Stderr = env, &stdout, &stderr
		})
		if err != nil {
			return nil, fmt.Errorf("%w: %w; stderr: %s", ErrRun, err, clip(stderr.String(), 2000))
		}
		r.Wall, r.User, r.Sys, r.MaxRSSKB, r.RSSFloorKB, r.ExitCode = u.Wall, u.User, u.Sys, u.MaxRSSKB, u.LauncherRSSKB, u.ExitCode
	} else {
		cmd := exec.CommandContext(ctx, o.Binary, args...)
		cmd.Env, cmd.Stdout, cmd.Stderr = env, &stdout, &stderr
		start := time.Now()
		err := cmd.Run()
		r.Wall = time.Since(start)
		var exitErr *exec.ExitError
		if err != nil && !errors.As(err, &exitErr) {
			return nil, fmt.Errorf("%w: %s: %w", ErrRun, o.Binary, err)
		}
		if ctx.Err() != nil {
			return nil, fmt.Errorf("%w: %s: %w", ErrRun, o.Lockfile, ctx.Err())
		}
		r.ExitCode = cmd.ProcessState.ExitCode()
		r.User, r.Sys = cmd.ProcessState.UserTime(), cmd.ProcessState.SystemTime()
		r.MaxRSSKB = launcher.MaxRSSKB(cmd.ProcessState)
	}
	r.Stderr = stderr.Bytes()
	if err := r.readReport(stdout.Bytes()); err != nil {
		return nil, fmt.Errorf("%w: exit status %d: %w; stderr: %s", ErrRun, r.ExitCode, err, clip(stderr.String(), 2000))
	}
	return r, nil
}

// report is the part of provaudit's JSON report a run reads.
type report struct {
	SchemaVersion int            `json:"schemaVersion"`
	Summary       *audit.Summary `json:"summary"`
	Packages      []struct {
		Name              string   `json:"name"`
		Version           string   `json:"version"`
		Paths             []string `json:"paths"`
		Status            string   `json:"status"`
		Reason            string   `json:"reason"`
		RegistrySignature *struct {
			Status string `json:"status"`
		} `json:"registrySignature"`
		Attestations *struct {
			Status string `json:"status"`
		} `json:"attestations"`
	} `json:"packages"`
}

// readReport reads provaudit's JSON report (schema version 1).
func (r *Run) readReport(data []byte) error {
	var rep report
	if err := json.Unmarshal(data, &rep); err != nil {
		return fmt.Errorf("the JSON report does not decode: %w", err)
	}
	switch {
	case rep.SchemaVersion != audit.SchemaVersion:
		return fmt.Errorf("the JSON report has schemaVersion %d, want %d", rep.SchemaVersion, audit.SchemaVersion)
	case rep.Summary == nil:
		return errors.New("the JSON report has no summary")
	case rep.Summary.Packages != len(rep.Packages):
		return fmt.Errorf("the JSON report lists %d packages, its summary says %d", len(rep.Packages), rep.Summary.Packages)
	}
	r.Summary = *rep.Summary
	for _, p := range rep.Packages {
		if p.RegistrySignature != nil && p.RegistrySignature.Status == "verified" {
			r.SignatureLocations += len(p.Paths)
		}
		if p.Attestations != nil && p.Attestations.Status == "verified" {
			r.AttestationLocations += len(p.Paths)
		}
		if p.Status == "invalid" {
			r.InvalidLocations += len(p.Paths)
		}
		if p.RegistrySignature != nil && p.RegistrySignature.Status == "missing" {
			r.MissingLocations += len(p.Paths)
		}
		switch p.Status {
		case "verified", "signed", "skipped":
		default:
			if len(r.Unclean) < 10 {
				r.Unclean = append(r.Unclean, fmt.Sprintf("%s@%s: %s: %s", p.Name, p.Version, p.Status, clip(p.Reason, 300)))
			}
		}
	}
	return nil
}

// isolatedEnv is env without npm configuration, with HOME and the user
// cache directory moved to home.
func isolatedEnv(env []string, home string) []string {
	out := make([]string, 0, len(env)+2)
	for _, kv := range env {
		k, _, _ := strings.Cut(kv, "=")
		switch lk := strings.ToLower(k); {
		case lk == "home" || lk == "xdg_cache_home" || lk == "xdg_config_home":
		case strings.HasPrefix(lk, "npm_config_"):
		default:
			out = append(out, kv)
		}
	}
	return append(out, "HOME="+home, "XDG_CACHE_HOME="+home+"/.cache", "XDG_CONFIG_HOME="+home+"/.config")
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}
