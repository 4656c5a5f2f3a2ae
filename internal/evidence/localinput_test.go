package evidence

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

// TestOpenRefusesSpecialFiles: a bundle path that is a FIFO or a device is
// refused at once, naming the path, instead of blocking on the FIFO or
// reading /dev/zero up to the limits.
func TestOpenRefusesSpecialFiles(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no FIFOs or /dev/zero")
	}
	fifo := filepath.Join(t.TempDir(), "bundle.tgz")
	localfiletest.Mkfifo(t, fifo)
	for _, path := range []string{fifo, "/dev/zero"} {
		err := localfiletest.Within(t, 10*time.Second, "Open("+path+")", func() error {
			_, err := Open(path, DefaultLimits)
			return err
		})
		if !errors.Is(err, ErrBundle) || !errors.Is(err, localfile.ErrNotRegular) || !strings.Contains(err.Error(), path) {
			t.Errorf("Open(%s) = %v, want ErrBundle and ErrNotRegular naming the path", path, err)
		}
	}
}
