//go:build !unix

package rig

import (
	"os"
	"os/exec"
	"time"
)

// maxRSSKB is not measured outside Unix.
func maxRSSKB(*os.ProcessState) int64 { return 0 }

// SelfPeakRSSKB is not measured outside Unix.
func SelfPeakRSSKB() int64 { return 0 }

// SelfCPU is not measured outside Unix.
func SelfCPU() time.Duration { return 0 }

// setGroup has no process groups to set up outside Unix.
func setGroup(*exec.Cmd) {}
