package fetch

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

// TestConfigRefusesSpecialFiles: an npmrc (project or user) or a cafile that
// is a FIFO, a link to /dev/zero or past its cap fails LoadConfig at once,
// naming the file. Without the defence the FIFO blocks forever and
// /dev/zero grows until the process is killed; the test fails after 10 s.
func TestConfigRefusesSpecialFiles(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no FIFOs or /dev/zero")
	}
	sparse := func(t *testing.T, path string, size int64) {
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
	tests := []struct {
		name  string
		setup func(t *testing.T, proj, home string) (bad string)
		want  error
	}{
		{"project npmrc is a FIFO", func(t *testing.T, proj, _ string) string {
			p := filepath.Join(proj, ".npmrc")
			if err := syscall.Mkfifo(p, 0o600); err != nil {
				t.Fatal(err)
			}
			return p
		}, localfile.ErrNotRegular},
		{"user npmrc links to /dev/zero", func(t *testing.T, _, home string) string {
			p := filepath.Join(home, ".npmrc")
			if err := os.Symlink("/dev/zero", p); err != nil {
				t.Fatal(err)
			}
			return p
		}, localfile.ErrNotRegular},
		{"npmrc past its cap", func(t *testing.T, proj, _ string) string {
			p := filepath.Join(proj, ".npmrc")
			sparse(t, p, maxNpmrc+1)
			return p
		}, localfile.ErrTooLarge},
		{"cafile is /dev/zero", func(t *testing.T, proj, _ string) string {
			if err := os.WriteFile(filepath.Join(proj, ".npmrc"), []byte("cafile=/dev/zero\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			return "/dev/zero"
		}, localfile.ErrNotRegular},
		{"cafile past its cap", func(t *testing.T, proj, _ string) string {
			p := filepath.Join(proj, "ca.pem")
			sparse(t, p, maxCAFile+1)
			if err := os.WriteFile(filepath.Join(proj, ".npmrc"), []byte("cafile=ca.pem\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			return p
		}, localfile.ErrTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			proj, home := t.TempDir(), t.TempDir()
			bad := tt.setup(t, proj, home)
			done := make(chan error, 1)
			go func() {
				_, err := LoadConfig(ConfigOptions{ProjectDir: proj, Registry: "https://registry.invalid/", Env: []string{"HOME=" + home}})
				done <- err
			}()
			select {
			case err := <-done:
				if !errors.Is(err, ErrConfig) || !errors.Is(err, tt.want) || !strings.Contains(err.Error(), bad) {
					t.Fatalf("err = %v, want ErrConfig and %v naming %s", err, tt.want, bad)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("LoadConfig did not return")
			}
		})
	}
}
