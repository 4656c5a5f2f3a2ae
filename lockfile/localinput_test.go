package lockfile

import (
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/provaudit/provaudit/internal/localfile"
)

// TestLoadRefusesSpecialFiles: a lockfile that is a FIFO, or a link to
// /dev/zero, is refused at once naming the path, and one past MaxSize (a
// sparse file: nothing is read) too. Without the defence the FIFO blocks
// forever and /dev/zero grows until the process is killed; the test fails
// after 10 s instead.
func TestLoadRefusesSpecialFiles(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no FIFOs or /dev/zero")
	}
	fifoDir := t.TempDir()
	if err := syscall.Mkfifo(filepath.Join(fifoDir, packageLockName), 0o600); err != nil {
		t.Fatal(err)
	}
	zero := filepath.Join(t.TempDir(), packageLockName)
	if err := os.Symlink("/dev/zero", zero); err != nil {
		t.Fatal(err)
	}
	big := filepath.Join(t.TempDir(), packageLockName)
	f, err := os.Create(big)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(MaxSize + 1); err != nil {
		t.Fatal(err)
	}
	f.Close()

	for _, tt := range []struct {
		path, named string
		want        error
	}{
		{fifoDir, filepath.Join(fifoDir, packageLockName), localfile.ErrNotRegular},
		{zero, zero, localfile.ErrNotRegular},
		{big, big, localfile.ErrTooLarge},
	} {
		done := make(chan error, 1)
		go func() {
			_, err := Load(tt.path)
			done <- err
		}()
		select {
		case err := <-done:
			if !errors.Is(err, tt.want) || !strings.Contains(err.Error(), tt.named) {
				t.Errorf("Load(%s) = %v, want %v naming %s", tt.path, err, tt.want, tt.named)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("Load(%s) did not return", tt.path)
		}
	}
}
