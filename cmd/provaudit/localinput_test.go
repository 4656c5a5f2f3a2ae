package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/provaudit/provaudit/internal/localfile/localfiletest"
)

// TestSpecialInputFiles: the lockfile, the project npmrc, a cafile and the
// trust files are read as regular files only. A FIFO or a link to /dev/zero
// in any of them ends the run at once with exit 2 and a message naming the
// path; without the defence a FIFO blocks forever and /dev/zero grows until
// the process is killed (the test gives up after 10 s).
func TestSpecialInputFiles(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no FIFOs or /dev/zero")
	}
	const lock = `{"name": "p", "lockfileVersion": 3, "packages": {"": {"name": "p"}, "node_modules/a": {"version": "1.0.0", "resolved": "https://registry.invalid/a/-/a-1.0.0.tgz", "integrity": "sha512-EbDrLzMBcEQLhsJCT5CVXfmvMORXQk2eLSBRhN+6gGembQxbCUMNfsudc+FnK0ofKM4E75QHclbT7OP+riSNLQ=="}}}`
	tests := []struct {
		name  string
		setup func(t *testing.T, proj string) (args []string, bad string)
	}{
		{"lockfile FIFO", func(t *testing.T, proj string) ([]string, string) {
			p := filepath.Join(proj, "package-lock.json")
			localfiletest.Mkfifo(t, p)
			return nil, p
		}},
		{"lockfile linked to /dev/zero", func(t *testing.T, proj string) ([]string, string) {
			p := filepath.Join(proj, "package-lock.json")
			localfiletest.LinkDevZero(t, p)
			return nil, p
		}},
		{"project npmrc FIFO", func(t *testing.T, proj string) ([]string, string) {
			writeTestFile(t, filepath.Join(proj, "package-lock.json"), lock)
			p := filepath.Join(proj, ".npmrc")
			localfiletest.Mkfifo(t, p)
			return nil, p
		}},
		{"cafile /dev/zero", func(t *testing.T, proj string) ([]string, string) {
			writeTestFile(t, filepath.Join(proj, "package-lock.json"), lock)
			writeTestFile(t, filepath.Join(proj, ".npmrc"), "cafile=/dev/zero\n")
			return nil, "/dev/zero"
		}},
		{"trusted root FIFO", func(t *testing.T, proj string) ([]string, string) {
			writeTestFile(t, filepath.Join(proj, "package-lock.json"), lock)
			p := filepath.Join(proj, "root.json")
			localfiletest.Mkfifo(t, p)
			return []string{"--trusted-root", p}, p
		}},
		{"npm keys /dev/zero", func(t *testing.T, proj string) ([]string, string) {
			writeTestFile(t, filepath.Join(proj, "package-lock.json"), lock)
			return []string{"--npm-keys", "/dev/zero"}, "/dev/zero"
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			proj := t.TempDir()
			home := t.TempDir()
			t.Setenv("HOME", home)
			t.Setenv("XDG_CACHE_HOME", filepath.Join(home, "cache"))
			t.Setenv("NPM_CONFIG_USERCONFIG", filepath.Join(home, ".npmrc"))
			t.Setenv("NPM_CONFIG_GLOBALCONFIG", filepath.Join(home, "global-npmrc"))
			args, bad := tt.setup(t, proj)
			args = append(append([]string{"provaudit", "--no-progress", "--registry", "http://127.0.0.1:1/"}, args...), proj)
			var stdout, stderr bytes.Buffer
			code := localfiletest.Within(t, 10*time.Second, "provaudit", func() int {
				return run(context.Background(), args, &stdout, &stderr)
			})
			if code != exitUsage || !strings.Contains(stderr.String(), bad) || !strings.Contains(stderr.String(), "not a regular file") {
				t.Fatalf("exit %d, want 2 with a message naming %s; stderr:\n%s", code, bad, stderr.String())
			}
			if stdout.Len() != 0 {
				t.Errorf("a report was written:\n%s", stdout.String())
			}
		})
	}
}

func writeTestFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}
