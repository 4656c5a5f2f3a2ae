//go:build unix

package launcher

import (
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// MaxRSSKB is the peak resident set size of a finished child in KiB
// (ru_maxrss is in KiB on Linux and the BSDs, in bytes on macOS).
func MaxRSSKB(ps *os.ProcessState) int64 {
	ru, ok := ps.SysUsage().(*syscall.Rusage)
	if !ok || ru == nil {
		return 0
	}
	return rssKB(int64(ru.Maxrss)) // int32 on 32-bit platforms
}

func rssKB(maxrss int64) int64 {
	if runtime.GOOS == "darwin" || runtime.GOOS == "ios" {
		return maxrss / 1024
	}
	return maxrss
}

// SelfPeakRSSKB is the peak resident set size of this process's memory in
// KiB: VmHWM from /proc/self/status where there is one (getrusage's maxrss
// of a process started by a larger one is that one's peak, see the package
// doc), else maxrss.
func SelfPeakRSSKB() int64 {
	if data, err := os.ReadFile("/proc/self/status"); err == nil {
		for _, line := range strings.Split(string(data), "\n") {
			if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
				if kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64); err == nil {
					return kb
				}
			}
		}
	}
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return rssKB(int64(ru.Maxrss)) // int32 on 32-bit platforms
}

// setGroup starts cmd in a process group of its own and makes cancelling
// kill the whole group (the launcher and what it started).
func setGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second
}
