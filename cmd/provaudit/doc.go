// Command provaudit checks, before anything is installed, that every npm
// package a lockfile pins has a valid registry signature and valid Sigstore
// attestations (npm publish attestation and SLSA provenance) bound to the
// lockfile's own integrity.
//
// Usage:
//
//	provaudit [flags] [PATH]
//
// PATH is a project directory (its npm-shrinkwrap.json, else its
// package-lock.json) or a lockfile; the default is the current directory.
// Run provaudit --help for the flags.
//
// # Exit codes
//
// The exit code is the same for every output format:
//
//	0  every audited package passed the checks that apply
//	1  findings: an invalid signature or attestation, a missing registry
//	   signature, or a policy violation (--require-provenance,
//	   --require-signatures)
//	2  usage or input error: bad flags, no, unreadable or malformed lockfile,
//	   unreadable trust files; nothing was audited
//	3  audit incomplete: some packages could not be checked (registry
//	   unreachable, not in the cache with --offline, trust material unusable,
//	   --timeout reached) and no finding was made; or the run was stopped by
//	   SIGINT or SIGTERM
//
// Findings win over incompleteness. provaudit never exits 0 when anything was
// left unchecked.
//
// # Interrupts and time limits
//
// SIGINT and SIGTERM end the run within 2 seconds wherever it is: requests
// are cancelled, verification stops, and if the run has not wound down
// after 1.5 seconds the process exits anyway. An interrupted run exits 3 and
// writes no report: not to stdout, and --output is neither created nor
// replaced (a partial report must not pass for a complete one).
//
// --timeout (default 5 minutes) bounds the audit: packages not checked by
// then end with status error, naming the timeout, and the report, complete
// in that every package has its status, is written as usual (exit 3).
package main
