// Package audit runs provaudit's pipeline: lockfile units, concurrent
// fetching, verification and findings, into one [Result].
//
// # What it owns
//
// The orchestration (lockfile.Units -> fetch -> verify -> findings), progress
// events, the per-package result with exactly one status, and the summary.
// It renders nothing: package report does that. It reaches the network
// only through a [Source] (documents, attestations, keys and publish facts
// of a package; *fetch.Client implements it) and keeps derived verdicts in
// a [SealedStore], so the orchestration is tested from memory
// (source_test.go) as well as against the fake registry.
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
// # Release history
//
// Unless [Options].NoHistory, every package is also judged against the
// earlier versions of its release line (history.go): fetch.Client.History
// reads the full packument once per name, at the same time as the version
// document, and summarises the versions of the line published before the
// locked one (by the time map; see fetch.LineHistory). From it and the
// package's verdict come its [Publication] (trust level, trusted
// publishing, provenance, approval, publisher, publish time, install
// scripts, line) and the findings provenance-regression, install-script-
// added and publisher-changed; release-age follows
// [Options].MinimumReleaseAge. For a version with verified provenance,
// the newest earlier version of its line with provenance is the baseline:
// its attestations are fetched with the version's own, its provenance
// verified against the registry's integrity for it (with the same
// verifier, provenance only) and its identity compared by numeric
// repository and owner ids, workflow, trigger, runner, builder and issuer
// (identity-drift). The baseline's verified identity is cached sealed,
// keyed like a verdict. Only packages that verification let pass (verified,
// signed, unsigned) are judged; a history that cannot be had leaves the
// package as error. [Options].DisabledRules turns rules off (and skips
// what only they need); the facts are registry metadata except the locked
// version's provenance and signature, which are verified.
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
// are. A record carries the release history and the baseline's verified
// identity the verdict was judged with (storeRecord), so a package taken
// from the store is judged by the history rules without fetching anything;
// a record without them (a writer with NoHistory) has its history fetched.
package audit
