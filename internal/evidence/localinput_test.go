package evidence

import (
	"errors"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/provaudit/provaudit/internal/localfile"
)

// TestOpenRefusesSpecialFiles: a bundle path that is a FIFO or a device is
// refused at once, naming the path, instead of blocking on the FIFO or
// reading /dev/zero up to the limits.
func TestOpenRefusesSpecialFiles(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no FIFOs or /dev/zero")
	}
	fifo := filepath.Join(t.TempDir(), "bundle.tgz")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{fifo, "/dev/zero"} {
		done := make(chan error, 1)
		go func() {
			_, err := Open(path, DefaultLimits)
			done <- err
		}()
		select {
		case err := <-done:
			if !errors.Is(err, ErrBundle) || !errors.Is(err, localfile.ErrNotRegular) || !strings.Contains(err.Error(), path) {
				t.Errorf("Open(%s) = %v, want ErrBundle and ErrNotRegular naming the path", path, err)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("Open(%s) did not return", path)
		}
	}
}
