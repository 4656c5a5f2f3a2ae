//go:build unix

package npmrig

import "syscall"

// procAttr starts npm in a process group of its own, so that a timeout
// kills everything it started.
func procAttr() *syscall.SysProcAttr { return &syscall.SysProcAttr{Setpgid: true} }

// killGroup kills the process group led by pid.
func killGroup(pid int) error { return syscall.Kill(-pid, syscall.SIGKILL) }
