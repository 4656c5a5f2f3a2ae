// Command provaudit checks, before anything is installed, that every npm
// package a lockfile pins has a valid registry signature and valid Sigstore
// attestations (npm publish attestation and SLSA provenance) bound to the
// lockfile's own integrity.
//
// Usage:
//
//	provaudit [flags] [PATH]
//
// PATH is a project directory (the lockfile of the package manager its
// package.json names in packageManager, else the only package manager's
// lockfile present) or a lockfile: package-lock.json, npm-shrinkwrap.json,
// pnpm-lock.yaml, yarn.lock or bun.lock. The default is the current
// directory.
// Run provaudit --help for the flags.
//
// # Trust material
//
//	provaudit trust update [--registry URL] [--tuf-mirror URL] [--tuf-root FILE]
//	provaudit trust show [--format text|json]
//
// trust update refreshes the Sigstore trusted root and the registry's npm
// keys through TUF into the cache directory; audits verify that update again
// on every use and take the newest valid material (see package
// internal/trustupdate). trust show says which material is in use, where it
// came from, its validity windows and what needs attention. A project folder
// named "trust" is audited as ./trust.
//
// # Evidence bundles
//
//	provaudit fetch --evidence FILE [--registry URL] [trust flags] [PATH]
//	provaudit --evidence FILE [flags] [PATH]
//
// fetch --evidence runs the fetch stage of an audit of every registry
// package of the lockfile through a recording transport and writes the
// registries' answers, the trust material and a manifest of SHA-256 digests
// into FILE; --evidence audits PATH from FILE alone, with no network, keys
// judged at the recording time. Trust material and registry decisions are
// never taken from the bundle: see package internal/evidence and the
// README. A project folder named "fetch" is audited as ./fetch.
//
// # Policy
//
//	provaudit [--policy FILE] [--baseline OLD_LOCKFILE | --baseline-ref REF] [--check-source] [PATH]
//	provaudit baseline [flags] [PATH]
//
// The policy file (the project's own provaudit.yaml beside the lockfile,
// or --policy FILE, which replaces it) and the identity baseline
// (provaudit-baseline.json beside the lockfile, written by provaudit
// baseline) are read before anything is fetched and applied to the
// result by package policy; diff mode (--baseline, --baseline-ref, read
// with git show) audits only the packages new or changed against an older
// lockfile; --check-source asks the GitHub and GitLab APIs whether each
// provenance's commit is in its repository's history (package
// internal/sourcecheck). A project folder named "baseline" is audited as
// ./baseline.
//
// # Exit codes
//
// The exit code is the same for every output format:
//
//	0  every audited package passed the checks that apply
//	1  findings: an invalid signature or attestation, a missing registry
//	   signature, a signature by a key nothing trusts, an install bound to
//	   nothing verified, or a policy violation (--require-provenance,
//	   --require-signatures, the policy file, drift against the identity
//	   baseline, a source that does not check out)
//	2  usage or input error: bad flags, no or unreadable lockfile or one
//	   that cannot be read as a lockfile, unreadable trust files, a
//	   malformed policy file or identity baseline, a diff-mode lockfile or
//	   git ref that cannot be read; nothing was audited
//	3  audit incomplete: some packages could not be checked (registry
//	   unreachable, not in the cache with --offline, trust material unusable,
//	   a lockfile entry that cannot be used as written, --timeout reached,
//	   a source check that could not be made),
//	   or not one audited package could be checked against a trusted key or
//	   attestation, and no finding was made; or the run was stopped by SIGINT
//	   or SIGTERM
//
// Findings win over incompleteness. provaudit never exits 0 when anything was
// left unchecked, nor when nothing was verified. With --sign-summary KEYFILE
// the audit also writes a signed verification summary (see package
// summary); a key that cannot be read exits 2 before anything is audited,
// and a summary that cannot be written makes a passing run exit 3.
//
// fetch --evidence exits 0 when it wrote a complete bundle, 3 when it wrote
// one in which some packages could not be fetched or checked (an audit from
// it reports them the same way) or was interrupted (nothing written), and 2
// for usage or input errors. An audit with --evidence exits as any audit,
// and 2 when it refuses the bundle (a member missing, changed or unlisted,
// over a limit), the lockfile (not the recorded one), the registry
// decisions (not the recording's) or the recorded trust material (not
// confirmed by the binary or the person's files and TUF root).
//
// With --verdict-store URL and --verdict-store-key FILE, packages that a
// shared verdict store holds a record for, signed by that key and made for
// the same trust material and registry, are neither fetched nor verified
// again; with PROVAUDIT_VERDICT_SIGNING_KEY (a private key file) the
// verdicts that pass are written to it (see package internal/verdictstore).
// The store never changes the exit code: a store that is down or slow is a
// warning. An unreadable or wrong key, a URL that cannot be opened,
// --verdict-store-key without --verdict-store, or --offline with
// --verdict-store exit 2 before anything is audited.
//
// trust update exits 0 when it stored new material, 2 for usage or input
// errors (bad flags, unreadable or invalid --tuf-root, no registry
// configured) and 3 when the update failed; the previous material then stays
// in use. trust show exits 0, or 2 for usage or input errors.
//
// # Interrupts and time limits
//
// SIGINT and SIGTERM end the run within 2 seconds wherever it is: requests
// are cancelled, verification stops, and if the run has not wound down
// after 1.5 seconds the process exits anyway. An interrupted run exits 3 and
// writes no report: not to stdout, and --output is neither created nor
// replaced (a partial report must not pass for a complete one), nor a
// signed summary.
//
// --timeout (default 5 minutes) bounds the audit: packages not checked by
// then end with status error, naming the timeout, and the report, complete
// in that every package has its status, is written as usual (exit 3).
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
