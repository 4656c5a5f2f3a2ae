//go:build unix

package npmrig

import (
	"os"
	"runtime"
	"syscall"
)

// procAttr starts npm in a process group of its own, so that a timeout
// kills everything it started.
func procAttr() *syscall.SysProcAttr { return &syscall.SysProcAttr{Setpgid: true} }

// killGroup kills the process group led by pid.
func killGroup(pid int) error { return syscall.Kill(-pid, syscall.SIGKILL) }

// maxRSSKB is the peak resident set size of the process (and the children
// it waited for) in KiB. ru_maxrss is in KiB on Linux and the BSDs, in bytes
// on macOS.
func maxRSSKB(ps *os.ProcessState) int64 {
	ru, ok := ps.SysUsage().(*syscall.Rusage)
	if !ok || ru == nil {
		return 0
	}
	if runtime.GOOS == "darwin" || runtime.GOOS == "ios" {
		return int64(ru.Maxrss) / 1024
	}
	return int64(ru.Maxrss)
}
