package rig

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

// LaunchArg is the first argument that makes a program that calls
// LaunchMain act as a launcher (benchrig does).
//
// # Why a launcher
//
// Go starts child processes with vfork semantics (clone with CLONE_VM and
// CLONE_VFORK): until it execs, the child runs on its parent's memory, and
// at exec Linux records the high-water resident set of that memory as the
// child's ru_maxrss. A child of the benchmark driver, which holds a whole
// fake registry, would report the driver's peak, not its own (every
// provaudit run then "used" 383 MB). A launcher is a fresh small process:
// what its child reports is at most the launcher's few megabytes, or the
// child's own peak.
const LaunchArg = "internal-launch"

// launchFD is the file descriptor a launcher writes its report to.
const launchFD = 3

// ChildUsage is what a launcher reports about the process it ran.
type ChildUsage struct {
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

// LaunchMain is the launcher: args are [LaunchArg, "--", program,
// arguments...]. It runs the program with the launcher's standard input,
// output and error, writes the ChildUsage as JSON to file descriptor 3 and
// returns 0, or returns 125 after printing why on stderr when the program
// could not be run.
func LaunchMain(args []string, stderr io.Writer) int {
	if len(args) < 3 || args[0] != LaunchArg || args[1] != "--" {
		fmt.Fprintf(stderr, "%s: usage: %s -- PROGRAM [ARGS...]\n", LaunchArg, LaunchArg)
		return 125
	}
	report := os.NewFile(launchFD, "launch-report")
	if report == nil {
		fmt.Fprintf(stderr, "%s: no report file descriptor %d\n", LaunchArg, launchFD)
		return 125
	}
	defer report.Close()
	cmd := exec.Command(args[2], args[3:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	u := ChildUsage{LauncherRSSKB: SelfPeakRSSKB()}
	start := time.Now()
	err := cmd.Run()
	u.Wall = time.Since(start)
	var exitErr *exec.ExitError
	if err != nil && !errors.As(err, &exitErr) {
		fmt.Fprintf(stderr, "%s: %v\n", LaunchArg, err)
		return 125
	}
	u.ExitCode = cmd.ProcessState.ExitCode()
	u.User, u.Sys = cmd.ProcessState.UserTime(), cmd.ProcessState.SystemTime()
	u.MaxRSSKB = maxRSSKB(cmd.ProcessState)
	if err := json.NewEncoder(report).Encode(u); err != nil {
		fmt.Fprintf(stderr, "%s: writing the report: %v\n", LaunchArg, err)
		return 125
	}
	return 0
}

// Launch runs program through launcher (a program that calls LaunchMain
// when its first argument is LaunchArg), with cmd's standard
// streams as set by prepare, and returns the child's usage.
func Launch(ctx context.Context, launcher, program string, args []string, prepare func(*exec.Cmd)) (*ChildUsage, error) {
	r, w, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrRun, err)
	}
	defer r.Close()
	cmd := exec.CommandContext(ctx, launcher, append([]string{LaunchArg, "--", program}, args...)...)
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
	var u ChildUsage
	if err := json.Unmarshal(data, &u); err != nil {
		return nil, fmt.Errorf("%w: launcher %s: report %q: %w", ErrRun, launcher, clip(string(data), 200), err)
	}
	return &u, nil
}
