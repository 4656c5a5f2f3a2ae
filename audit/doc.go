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
package audit
