//go:build unix

package rig

import (
	"os"
	"runtime"
	"syscall"
	"time"
)

// maxRSSKB is the peak resident set size of a finished child in KiB
// (ru_maxrss is in KiB on Linux and the BSDs, in bytes on macOS).
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

// SelfCPU is the user plus system CPU time this process has used so far:
// around a run it measures the in-process fake registry.
func SelfCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
