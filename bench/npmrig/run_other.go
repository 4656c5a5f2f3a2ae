//go:build !unix

package npmrig

import (
	"fmt"
	"os"
	"syscall"
)

// procAttr has no process groups to set up outside Unix.
func procAttr() *syscall.SysProcAttr { return nil }

// killGroup kills only the process itself: outside Unix the rig cannot
// reach npm's children.
func killGroup(pid int) error {
	p, err := os.FindProcess(pid)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrRun, err)
	}
	return p.Kill()
}
