// Package audit runs provaudit's pipeline: lockfile units, concurrent
// fetching, verification and findings, into one [Result].
//
// # What it owns
//
// The orchestration (lockfile.Units -> fetch -> verify -> findings), progress
// events, the per-package result with exactly one status, and the summary.
// It renders nothing: package report does that.
//
// # Time
//
// Signing keys are judged at the times the evidence gives: a publish
// attestation's Rekor integrated time, else the version's publish time from
// the full packument; only a signature with neither is judged "now", and
// only by a key valid now. "Now" is Options.JudgeAt when set: an audit from
// an evidence bundle passes the recording time, so that a bundle audited
// years later gives the verdicts it gave when it was recorded. Nothing else
// on the verdict path reads the clock (Sigstore bundles are judged at their
// log time; the cache, whose key lists expire with the clock, is disabled
// in an evidence audit). Options.Now is the clock: it times the run
// (startedAt, durationMs) and, without JudgeAt, is the verifiers' "now".
//
// # Diff mode and policy
//
// With [Options].DiffBase the units unchanged against an older lockfile
// ([lockfile.Compare]) are skipped before anything is fetched, "unchanged
// since the baseline", and every package carries its [Package].Change.
// [Options].DisabledRules and MinimumReleaseAge are how a policy file
// reaches the audit (package policy sets them); everything else the
// policy does is post-processing of the [Result] (package policy, and
// internal/sourcecheck for --check-source), after which [Recount] makes
// the summary agree with the packages again. [PolicyRules] are the only
// rules a policy may configure or waive.
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
