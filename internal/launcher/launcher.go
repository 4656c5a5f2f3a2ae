// Package launcher measures a program's own resources: wall and CPU time
// and peak resident memory, by running it through a small launcher
// process. provaudit's memory tests (cmd/provaudit) and its benchmark
// (bench/) use it; the provaudit binary does not.
//
// # Why a launcher
//
// Go starts child processes with vfork semantics (clone with CLONE_VM and
// CLONE_VFORK): until it execs, the child runs on its parent's memory, and
// at exec Linux records the high-water resident set of that memory as the
// child's ru_maxrss. A child of a large process (a benchmark driver that
// holds a whole fake registry, a test binary) would report that process's
// peak, not its own (every provaudit run of the benchmark then "used" 383
// MB). A launcher is a fresh small process: what its child reports is at
// most the launcher's few megabytes, or the child's own peak.
//
// A program becomes a launcher by calling [Main] when its first argument
// is [Arg] (a test binary does so in TestMain); [Run] starts a program
// through it.
package launcher

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"time"
)

// Arg is the first argument that makes a program that calls Main act as a
// launcher.
const Arg = "internal-launch"

// ErrRun reports a program that could not be run or measured.
var ErrRun = errors.New("launcher: run failed")

// launchFD is the file descriptor a launcher writes its report to.
const launchFD = 3

// Usage is what a launcher reports about the process it ran.
type Usage struct {
	// Wall is the time from starting the child to its exit; User and Sys
	// its CPU times; MaxRSSKB its peak resident set in KiB.
	Wall, User, Sys time.Duration
	MaxRSSKB        int64
	// LauncherRSSKB is the launcher's own peak resident set when it started
	// the child: a lower bound of what MaxRSSKB can say.
	LauncherRSSKB int64
	// ExitCode is the child's exit status (-1 when killed by a signal).
	ExitCode int
}

// Main is the launcher: args are [Arg, "--", program, arguments...]. It
// runs the program with the launcher's standard input, output and error,
// writes the Usage as JSON to file descriptor 3 and returns 0, or returns
// 125 after printing why on stderr when the program could not be run.
func Main(args []string, stderr io.Writer) int {
	if len(args) < 3 || args[0] != Arg || args[1] != "--" {
		fmt.Fprintf(stderr, "%s: usage: %s -- PROGRAM [ARGS...]\n", Arg, Arg)
		return 125
	}
	report := os.NewFile(launchFD, "launch-report")
	if report == nil {
		fmt.Fprintf(stderr, "%s: no report file descriptor %d\n", Arg, launchFD)
		return 125
	}
	defer report.Close()
	cmd := exec.Command(args[2], args[3:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	u := Usage{LauncherRSSKB: SelfPeakRSSKB()}
	start := time.Now()
	err := cmd.Run()
	u.Wall = time.Since(start)
	var exitErr *exec.ExitError
	if err != nil && !errors.As(err, &exitErr) {
		fmt.Fprintf(stderr, "%s: %v\n", Arg, err)
		return 125
	}
	u.ExitCode = cmd.ProcessState.ExitCode()
	u.User, u.Sys = cmd.ProcessState.UserTime(), cmd.ProcessState.SystemTime()
	u.MaxRSSKB = MaxRSSKB(cmd.ProcessState)
	if err := json.NewEncoder(report).Encode(u); err != nil {
		fmt.Fprintf(stderr, "%s: writing the report: %v\n", Arg, err)
		return 125
	}
	return 0
}

// Run runs program through launcher (a program that calls Main when its
// first argument is Arg), with cmd's standard streams as set by prepare,
// and returns the child's usage. Cancelling ctx kills the launcher and
// what it started.
func Run(ctx context.Context, launcher, program string, args []string, prepare func(*exec.Cmd)) (*Usage, error) {
	r, w, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrRun, err)
	}
	defer r.Close()
	cmd := exec.CommandContext(ctx, launcher, append([]string{Arg, "--", program}, args...)...)
	prepare(cmd)
	cmd.ExtraFiles = []*os.File{w} // descriptor 3 in the launcher
	setGroup(cmd)
	if err := cmd.Start(); err != nil {
		w.Close()
		return nil, fmt.Errorf("%w: launcher %s: %w", ErrRun, launcher, err)
	}
	w.Close()
	data, readErr := io.ReadAll(io.LimitReader(r, 1<<16))
	waitErr := cmd.Wait()
	if ctx.Err() != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrRun, program, ctx.Err())
	}
	if waitErr != nil || readErr != nil {
		return nil, fmt.Errorf("%w: launcher %s running %s: %v %v", ErrRun, launcher, program, waitErr, readErr)
	}
	var u Usage
	if err := json.Unmarshal(data, &u); err != nil {
		if len(data) > 200 {
			data = append(data[:200], "..."...)
		}
		return nil, fmt.Errorf("%w: launcher %s: report %q: %w", ErrRun, launcher, data, err)
	}
	return &u, nil
}
