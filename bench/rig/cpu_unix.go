//go:build unix

package rig

import (
	"syscall"
	"time"
)

// SelfCPU is the user plus system CPU time this process has used so far:
// around a run it measures the in-process fake registry.
func SelfCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
