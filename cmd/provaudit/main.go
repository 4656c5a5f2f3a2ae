package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"
	"time"
)

func main() {
	// An audit allocates many short-lived buffers (registry documents,
	// bundles) while its live heap stays small (about 40 MB for 1,000
	// packages, 150 MB for 10,000): collecting at 200% instead of 100%
	// growth saves about 9% of a cold audit's time for a bounded cost in
	// memory. GOGC, when set, still decides.
	if _, set := os.LookupEnv("GOGC"); !set {
		debug.SetGCPercent(200)
	}
	// At 200% the heap may grow to three times what is live. The fetch
	// memory budget bounds what hostile registries can make live (about
	// 256 MiB of bodies); a soft limit makes the collector work harder
	// near 512 MiB instead of letting garbage triple that. Honest audits
	// stay far below it (230 MB at 10,000 packages), so it costs them
	// nothing. GOMEMLIMIT, when set, still decides.
	if _, set := os.LookupEnv("GOMEMLIMIT"); !set {
		debug.SetMemoryLimit(512 << 20)
	}
	os.Exit(mainCode())
}

// interruptGrace is how long a run stopped by a signal may take to wind
// down (cancelled requests return, verification stops picking up work, the
// cache is flushed) before the process exits anyway: SIGINT and SIGTERM end
// the run within 2 s wherever it is, even in a stage that does not watch
// for cancellation (parsing a huge lockfile).
const interruptGrace = 1500 * time.Millisecond

// mainCode runs provaudit on the process's arguments and streams, with
// SIGINT and SIGTERM cancelling the run, and returns the exit code.
func mainCode() int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return runInterruptible(ctx, interruptGrace, os.Stderr, func() int {
		return run(ctx, os.Args, os.Stdout, os.Stderr)
	})
}

// runInterruptible returns work's exit code; once ctx is cancelled, it waits
// at most grace more for work to return and then gives up on it with exit
// 3, saying so on stderr. work must watch ctx itself; this is the backstop.
func runInterruptible(ctx context.Context, grace time.Duration, stderr io.Writer, work func() int) int {
	done := make(chan int, 1)
	go func() { done <- work() }()
	select {
	case code := <-done:
		return code
	case <-ctx.Done():
	}
	t := time.NewTimer(grace)
	defer t.Stop()
	select {
	case code := <-done:
		return code
	case <-t.C:
		fmt.Fprintf(stderr, "provaudit: %v: stopped without waiting for the run to finish; no complete report was written\n", context.Cause(ctx))
		return exitIncomplete
	}
}
