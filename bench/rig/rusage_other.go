//go:build !unix

package rig

import (
	"os"
	"time"
)

// maxRSSKB is not measured outside Unix.
func maxRSSKB(*os.ProcessState) int64 { return 0 }

// SelfCPU is not measured outside Unix.
func SelfCPU() time.Duration { return 0 }
