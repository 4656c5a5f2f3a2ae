//go:build !linux

package verify

import "time"

// haveCPUClock tells whether processCPU and threadCPU measure anything.
const haveCPUClock = false

func processCPU() time.Duration { return 0 }

func threadCPU() time.Duration { return 0 }
