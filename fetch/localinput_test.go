package fetch

import (
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/provaudit/provaudit/internal/localfile"
	"github.com/provaudit/provaudit/internal/localfile/localfiletest"
)

// TestConfigRefusesSpecialFiles: an npmrc (project or user) or a cafile that
// is a FIFO, a link to /dev/zero or past its cap fails LoadConfig at once,
// naming the file. Without the defence the FIFO blocks forever and
// /dev/zero grows until the process is killed; the test fails after 10 s.
func TestConfigRefusesSpecialFiles(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no FIFOs or /dev/zero")
	}
	tests := []struct {
		name  string
		setup func(t *testing.T, proj, home string) (bad string)
		want  error
	}{
		{"project npmrc is a FIFO", func(t *testing.T, proj, _ string) string {
			p := filepath.Join(proj, ".npmrc")
			localfiletest.Mkfifo(t, p)
			return p
		}, localfile.ErrNotRegular},
		{"user npmrc links to /dev/zero", func(t *testing.T, _, home string) string {
			p := filepath.Join(home, ".npmrc")
			localfiletest.LinkDevZero(t, p)
			return p
		}, localfile.ErrNotRegular},
		{"npmrc past its cap", func(t *testing.T, proj, _ string) string {
			p := filepath.Join(proj, ".npmrc")
			localfiletest.Sparse(t, p, maxNpmrc+1)
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
			localfiletest.Sparse(t, p, maxCAFile+1)
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
			err := localfiletest.Within(t, 10*time.Second, "LoadConfig", func() error {
				_, err := LoadConfig(ConfigOptions{ProjectDir: proj, Registry: "https://registry.invalid/", Env: []string{"HOME=" + home}})
				return err
			})
			if !errors.Is(err, ErrConfig) || !errors.Is(err, tt.want) || !strings.Contains(err.Error(), bad) {
				t.Fatalf("err = %v, want ErrConfig and %v naming %s", err, tt.want, bad)
			}
		})
	}
}
