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
//	2  usage or input error: bad flags, no or unreadable lockfile or one
//	   that cannot be read as a lockfile, unreadable trust files; nothing
//	   was audited
//	3  audit incomplete: some packages could not be checked (registry
//	   unreachable, not in the cache with --offline, trust material
//	   unusable, a lockfile entry that cannot be used as written) and no
//	   finding was made
//
// Findings win over incompleteness. provaudit never exits 0 when anything was
// left unchecked.
package main
