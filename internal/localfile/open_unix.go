//go:build unix

package localfile

import (
	"os"
	"syscall"
)

// openNonblocking opens path for reading without blocking on a FIFO that
// has no writer. O_NONBLOCK changes nothing for the regular files that are
// then read.
func openNonblocking(path string) (*os.File, error) {
	return os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
}
