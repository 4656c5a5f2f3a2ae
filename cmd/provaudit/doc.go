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
//	   unreachable, not in the cache with --offline, trust material unusable)
//	   and no finding was made
//
// Findings win over incompleteness. provaudit never exits 0 when anything was
// left unchecked. With --sign-summary KEYFILE the audit also writes a signed
// verification summary (see package summary); a key that cannot be read
// exits 2 before anything is audited, and a summary that cannot be written
// makes a passing run exit 3.
//
// # verify-summary
//
//	provaudit verify-summary --key PUBKEY.pem --lockfile FILE ENVELOPE
//
// checks a signed summary and prints it. It exits 0 when the summary
// verifies and records a pass; 1 when the signature or the lockfile does not
// verify, or the summary records findings; 2 for usage errors and unusable
// input (unreadable or malformed envelope, key or lockfile, a payload that
// is not a provaudit summary); 3 when it verifies and records an incomplete
// audit.
package main
