// Package audit runs provaudit's pipeline: lockfile units, concurrent
// fetching, verification and findings, into one [Result].
//
// # What it owns
//
// The orchestration (lockfile.Units -> fetch -> verify -> findings), progress
// events, the per-package result with exactly one status, and the summary.
// It renders nothing: package report does that.
//
// # Verdict store
//
// With [Options].VerdictStore, the packages to audit are looked up in a
// shared store once, before anything is fetched, by a [StoreKey] that binds
// the package as the lockfile pins it, the verdict format, the trust
// material and the registry with who named it and its keys. A package with
// a stored verdict that passes is neither fetched nor verified; its status
// and findings are derived from the verdict under this run's policy, as for
// a fresh one. Verdicts that pass are saved to the store; failures never
// are.
package audit
