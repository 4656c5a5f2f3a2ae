// Package audit runs provaudit's pipeline: lockfile units, concurrent
// fetching, verification and findings, into one [Result].
//
// # What it owns
//
// The orchestration (lockfile.Units -> fetch -> verify -> findings), progress
// events, the per-package result with exactly one status, and the summary.
// It renders nothing: package report does that.
package audit
