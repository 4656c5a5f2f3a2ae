package lockfile

import (
	"errors"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/provaudit/provaudit/internal/localfile"
	"github.com/provaudit/provaudit/internal/localfile/localfiletest"
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
	localfiletest.Mkfifo(t, filepath.Join(fifoDir, packageLockName))
	zero := filepath.Join(t.TempDir(), packageLockName)
	localfiletest.LinkDevZero(t, zero)
	big := filepath.Join(t.TempDir(), packageLockName)
	localfiletest.Sparse(t, big, MaxSize+1)

	for _, tt := range []struct {
		path, named string
		want        error
	}{
		{fifoDir, filepath.Join(fifoDir, packageLockName), localfile.ErrNotRegular},
		{zero, zero, localfile.ErrNotRegular},
		{big, big, localfile.ErrTooLarge},
	} {
		err := localfiletest.Within(t, 10*time.Second, "Load("+tt.path+")", func() error {
			_, err := Load(tt.path)
			return err
		})
		if !errors.Is(err, tt.want) || !strings.Contains(err.Error(), tt.named) {
			t.Errorf("Load(%s) = %v, want %v naming %s", tt.path, err, tt.want, tt.named)
		}
	}
}
