//go:build !unix

package localfile

import "os"

// openNonblocking opens path for reading. Systems other than Unix have no
// FIFOs in the file system that an open could block on.
func openNonblocking(path string) (*os.File, error) { return os.Open(path) }
