package main

import (
	"errors"
	"fmt"
)

// Exit codes; cmd/provaudit/doc.go and the README explain them.
const (
	exitOK         = 0
	exitFindings   = 1
	exitUsage      = 2
	exitIncomplete = 3
)

// usageError is a bad flag, flag value or argument.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

func usagef(format string, args ...any) error {
	return usageError{fmt.Errorf(format, args...)}
}

// inputError is input that cannot be used (lockfile, trust files, npm
// configuration): nothing was audited.
type inputError struct{ err error }

func (e inputError) Error() string { return e.err.Error() }
func (e inputError) Unwrap() error { return e.err }

// interruptedError ends a run stopped by SIGINT or SIGTERM: exit 3, and no
// report is written.
type interruptedError struct{ cause error }

func (e interruptedError) Error() string {
	return fmt.Sprintf("%v: audit stopped, no report written", e.cause)
}

// outcomeError carries the verdict of a completed audit whose result is
// not a pass. Its message is printed on stderr after the report.
type outcomeError struct {
	code int
	msg  string
}

func (e outcomeError) Error() string { return e.msg }

// exitCode maps what an action returned to the process exit code. It is the
// only place that decides exit codes.
func exitCode(err error) int {
	if err == nil {
		return exitOK
	}
	var (
		ue usageError
		ie inputError
		oe outcomeError
	)
	switch {
	case errors.As(err, &oe):
		return oe.code
	case errors.As(err, &ue), errors.As(err, &ie):
		return exitUsage
	case errors.As(err, new(interruptedError)):
		return exitIncomplete
	default:
		// Anything unforeseen means the audit did not complete as it
		// should: never report success for it.
		return exitIncomplete
	}
}
