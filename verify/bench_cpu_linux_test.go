//go:build linux

package verify

import (
	"syscall"
	"time"
)

// haveCPUClock tells whether processCPU and threadCPU measure anything.
const haveCPUClock = true

const rusageThread = 1 // RUSAGE_THREAD

func rusage(who int) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(who, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// processCPU is the process's user+system CPU time.
func processCPU() time.Duration { return rusage(syscall.RUSAGE_SELF) }

// threadCPU is the calling OS thread's user+system CPU time.
func threadCPU() time.Duration { return rusage(rusageThread) }
