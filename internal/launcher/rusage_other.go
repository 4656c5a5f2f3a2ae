//go:build !unix

package launcher

import (
	"os"
	"os/exec"
)

// MaxRSSKB is not measured outside Unix.
func MaxRSSKB(*os.ProcessState) int64 { return 0 }

// SelfPeakRSSKB is not measured outside Unix.
func SelfPeakRSSKB() int64 { return 0 }

// setGroup has no process groups to set up outside Unix.
func setGroup(*exec.Cmd) {}
