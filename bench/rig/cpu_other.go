//go:build !unix

package rig

import "time"

// SelfCPU is not measured outside Unix.
func SelfCPU() time.Duration { return 0 }
