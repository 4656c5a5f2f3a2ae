package launcher

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// TestMain lets the test binary act as the launcher.
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == Arg {
		os.Exit(Main(os.Args[1:], os.Stderr))
	}
	os.Exit(m.Run())
}

func shell(t *testing.T) string {
	t.Helper()
	if runtime.GOOS == "windows" {
		t.Skip("runs /bin/sh")
	}
	return "/bin/sh"
}

// TestRun runs a program through the launcher: its output, exit code and
// times come back.
func TestRun(t *testing.T) {
	sh := shell(t)
	var stdout strings.Builder
	u, err := Run(context.Background(), os.Args[0], sh, []string{"-c", "echo out; exit 3"}, func(cmd *exec.Cmd) { cmd.Stdout = &stdout })
	if err != nil {
		t.Fatal(err)
	}
	if u.ExitCode != 3 || u.Wall <= 0 || stdout.String() != "out\n" {
		t.Fatalf("usage %+v, stdout %q", u, stdout.String())
	}
	if runtime.GOOS == "linux" && (u.MaxRSSKB <= 0 || u.LauncherRSSKB <= 0) {
		t.Fatalf("no peak RSS: %+v", u)
	}
}

// TestRunPeakRSS shows why runs go through a launcher: a child started
// directly by a process with a large peak reports that peak as its own
// maxrss (Linux, vfork-style spawn); through the launcher it does not.
func TestRunPeakRSS(t *testing.T) {
	sh := shell(t)
	if runtime.GOOS != "linux" || testing.Short() {
		t.Skip("Linux rusage accounting; allocates 256 MB")
	}
	ballast := make([]byte, 256<<20)
	for i := 0; i < len(ballast); i += 4096 {
		ballast[i] = 1
	}
	direct := exec.Command(sh, "-c", "exit 0")
	if err := direct.Run(); err != nil {
		t.Fatal(err)
	}
	launched, err := Run(context.Background(), os.Args[0], sh, []string{"-c", "exit 0"}, func(*exec.Cmd) {})
	runtime.KeepAlive(ballast)
	if err != nil {
		t.Fatal(err)
	}
	if d := MaxRSSKB(direct.ProcessState); d < 200<<10 {
		t.Logf("direct child reports %d KiB: this kernel does not charge the parent's peak", d)
	}
	if launched.MaxRSSKB <= 0 || launched.MaxRSSKB > 100<<10 || launched.LauncherRSSKB <= 0 || launched.LauncherRSSKB > 100<<10 {
		t.Fatalf("through the launcher: maxrss %d KiB, launcher %d KiB; want both small", launched.MaxRSSKB, launched.LauncherRSSKB)
	}
}

// TestRunFails: a program that cannot be started, a launcher that is
// not one, and bad launcher arguments fail.
func TestRunFails(t *testing.T) {
	shell(t)
	missing := filepath.Join(t.TempDir(), "missing")
	if _, err := Run(context.Background(), os.Args[0], missing, nil, func(*exec.Cmd) {}); !errors.Is(err, ErrRun) {
		t.Errorf("missing program: %v", err)
	}
	if _, err := Run(context.Background(), missing, "/bin/sh", nil, func(*exec.Cmd) {}); !errors.Is(err, ErrRun) {
		t.Errorf("missing launcher: %v", err)
	}
	if _, err := Run(context.Background(), "/bin/true", "/bin/sh", nil, func(*exec.Cmd) {}); !errors.Is(err, ErrRun) {
		t.Errorf("a launcher that reports nothing: %v", err)
	}
	var stderr strings.Builder
	for _, args := range [][]string{{Arg}, {Arg, "x", "y"}, {"other", "--", "y"}} {
		if code := Main(args, &stderr); code != 125 {
			t.Errorf("Main(%q) = %d, want 125", args, code)
		}
	}
}
