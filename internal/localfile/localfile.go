// Package localfile reads the local files provaudit is given (the lockfile,
// npmrc files, a cafile, trust files, later the policy file) with bounds.
//
// # What it refuses
//
// The audited project is untrusted input, and so is anything its files
// point at. A file is read only when it is a regular file (a symbolic link
// to one is followed and fine) and no larger than the cap its caller
// gives: a lockfile or npmrc linked to /dev/zero would otherwise grow until
// the process is killed, and a FIFO would block the run forever.
// Directories, devices, FIFOs, sockets and other irregular files are
// refused with [ErrNotRegular]; a file past its cap with [ErrTooLarge].
// Every error names the path (and the cap).
//
// # Without blocking
//
// The path is first checked with stat, so that a device or FIFO is refused
// without being opened at all (opening some devices has effects). It is then
// opened without blocking (O_NONBLOCK where the system has it: opening a
// FIFO would otherwise wait for a writer), and the opened file is checked
// again with fstat and compared with the first stat, so a path swapped for
// a FIFO or device in between is refused too. Reading stops one byte past
// the cap, whatever the file claims its size is.
package localfile

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
)

// Errors of Read. They are wrapped with the path; errors of the file system
// (fs.ErrNotExist, fs.ErrPermission, ...) are wrapped as they are.
var (
	// ErrNotRegular means the path is not a regular file (nor a symbolic
	// link to one): a directory, device, FIFO, socket or other special file.
	ErrNotRegular = errors.New("not a regular file")
	// ErrTooLarge means the file is larger than the caller's cap.
	ErrTooLarge = errors.New("file too large")
)

// Read returns the contents of the regular file at path, following
// symbolic links, or an error naming path when it is not a regular file,
// cannot be read or holds more than limit bytes (limit must be positive).
func Read(path string, limit int64) ([]byte, error) {
	if limit <= 0 {
		return nil, fmt.Errorf("localfile: reading %s: limit %d is not positive", path, limit)
	}
	f, err := Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	size := fi.Size()
	if size > limit {
		return nil, tooLarge(path, limit)
	}
	// The size is only a hint (the file may grow): read at most limit+1.
	var buf bytes.Buffer
	buf.Grow(int(size) + bytes.MinRead) // room for the read that sees EOF
	if _, err := buf.ReadFrom(io.LimitReader(f, limit+1)); err != nil {
		return nil, &fs.PathError{Op: "read", Path: path, Err: err}
	}
	if int64(buf.Len()) > limit {
		return nil, tooLarge(path, limit)
	}
	return buf.Bytes(), nil
}

// Open opens the regular file at path for reading, following symbolic
// links, with the checks of Read (nothing but a regular file, opened
// without blocking), for a caller that reads it as a stream and bounds
// what it reads itself.
func Open(path string) (*os.File, error) {
	before, err := os.Stat(path)
	if err != nil {
		return nil, err // *fs.PathError: names the path
	}
	if err := checkRegular(path, before); err != nil {
		return nil, err
	}
	f, err := openNonblocking(path)
	if err != nil {
		return nil, err
	}
	after, err := f.Stat()
	if err == nil {
		err = checkRegular(path, after)
	}
	if err == nil && !os.SameFile(before, after) {
		err = fmt.Errorf("%s: %w: the file changed while it was being opened", path, ErrNotRegular)
	}
	if err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

func tooLarge(path string, limit int64) error {
	return fmt.Errorf("%s: %w: more than %s (the limit for this file)", path, ErrTooLarge, Size(limit))
}

// checkRegular refuses anything but a regular file, saying what it is.
func checkRegular(path string, fi fs.FileInfo) error {
	m := fi.Mode()
	if m.IsRegular() {
		return nil
	}
	what := "a special file"
	switch {
	case m.IsDir():
		what = "a directory"
	case m&fs.ModeNamedPipe != 0:
		what = "a FIFO (named pipe)"
	case m&fs.ModeSocket != 0:
		what = "a socket"
	case m&fs.ModeCharDevice != 0:
		what = "a character device"
	case m&fs.ModeDevice != 0:
		what = "a device"
	}
	return fmt.Errorf("%s: %w: it is %s", path, ErrNotRegular, what)
}

// Size formats a byte count as the caps are written: 256 MiB, 1 MiB, 64 KiB.
func Size(n int64) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}
