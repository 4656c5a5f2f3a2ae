//go:build unix

// Package localfiletest makes the special files that the tests of local
// input refuse (FIFOs, links to /dev/zero, sparse files past a cap), and
// runs a read that must return at once: without the defence a FIFO blocks
// forever and /dev/zero grows until the process is killed, so each read is
// given a deadline instead of hanging the test run. Only tests import it.
package localfiletest

import (
	"os"
	"syscall"
	"testing"
	"time"
)

// Mkfifo makes a FIFO at path.
func Mkfifo(t testing.TB, path string) {
	t.Helper()
	if err := syscall.Mkfifo(path, 0o600); err != nil {
		t.Fatal(err)
	}
}

// LinkDevZero makes path a symbolic link to /dev/zero.
func LinkDevZero(t testing.TB, path string) {
	t.Helper()
	if err := os.Symlink("/dev/zero", path); err != nil {
		t.Fatal(err)
	}
}

// Sparse makes path a sparse file of size bytes: past a cap without
// writing (or reading) them.
func Sparse(t testing.TB, path string, size int64) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := f.Truncate(size); err != nil {
		t.Fatal(err)
	}
}

// Within runs read and returns its result, failing the test (what names
// the read) when it does not return within d.
func Within[T any](t testing.TB, d time.Duration, what string, read func() T) T {
	t.Helper()
	done := make(chan T, 1)
	go func() { done <- read() }()
	select {
	case v := <-done:
		return v
	case <-time.After(d):
		t.Fatalf("%s did not return within %v", what, d)
	}
	var zero T
	return zero
}
