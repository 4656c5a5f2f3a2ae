// Package verify decides what provaudit trusts.
//
// # What it owns
//
// Trust material (the embedded Sigstore public-good trusted root and npm
// registry keys, or files given instead), npm registry signature checks,
// Sigstore bundle verification with sigstore-go, the binding of every
// attestation subject to the lockfile's integrity, and extraction of the
// provenance facts users want to see.
//
// The package is pure: no context, no I/O, no clock other than the one it is
// given. Everything it builds is immutable and safe for concurrent use.
//
// # Building a verifier
//
// [NewTrust] parses the trusted root and the pinned npm keys once (nil
// options mean the embedded material, see [EmbeddedTrustedRoot]).
// [NewKeyring] reconciles the pinned keys with the keys the registry lists at
// /-/npm/v1/keys. [NewVerifier] builds the sigstore-go verifiers once; its
// methods are cheap to call from many goroutines. Cache keys for anything
// derived from verification combine [Trust.Digest] and [Keyring.Digest].
//
// # Keys
//
// A keyid is the OpenSSH SHA256 fingerprint of its key ([Fingerprint]).
// [ParseNpmKeys] reads both key list forms; [NewTrust] and [NewKeyring]
// require every usable key's keyid to be its fingerprint. A registry key
// with a pinned keyid and other material is [ErrPinnedKeyMismatch]; pinned
// entries keep their usages and windows whatever the registry says. Keys
// only the registry lists are used with Pinned false, and are trusted only
// when the person running provaudit named the registry
// ([KeyringOptions].TrustRegistry): a registry named only by the audited
// project is untrusted input, so a signature only its keys verify is
// reported as [StatusUntrusted], never as verified. A key is valid from its
// start strictly before its expires instant.
//
// # Registry signatures
//
// [Verifier.RegistrySignature] checks ECDSA P-256/SHA-256 over
// "name@version:integrity" where integrity is the served dist.integrity,
// which must agree with the lockfile (every hash algorithm both carry must
// match; a sha1-only lockfile binds through dist.shasum and is reported as
// WeakIntegrity). Every signature is checked whatever the registry's key
// endpoint said ([RegistryKeys]): the pinned keys are always there. A
// signature that does not verify is invalid; one by a keyid no key carries,
// or verified only by an untrusted key, is untrusted (npm fails the first
// with EMISSINGSIGNATUREKEY); a trusted key must be valid at the judging
// time. The judging time is the publish time given by the caller; without
// it only a key valid now can be judged (TimeSourceKeyValidNow), otherwise
// the result is invalid with [ErrPublishTimeUnknown] — never verified.
// [Verifier.NeedsPublishTime] says beforehand whether the publish time is
// needed. A version without signatures is missing from a registry that
// lists keys, unsupported from one that publishes none, and missing with
// [ErrKeysUnknown] when the registry's keys are unknown.
//
// # Attestations
//
// [Verifier.Attestations] verifies the body of
// /-/npm/v1/attestations/NAME@VERSION. Every bundle goes through sigstore-go
// (bundle media types v0.1, v0.2, v0.3 in both spellings; Rekor intoto and
// dsse entries) with a transparency log entry and its signed integrated time
// required; sigstore-go's misleading messages are mapped to this package's
// sentinels. Exactly one npm publish attestation is required, signed by the
// npm:attestations key its hint names, valid at the log's integrated time
// and trusted (else untrusted, as for registry signatures). Provenance (SLSA
// v0.2 or v1) must be signed with a Fulcio certificate chaining to the
// trusted root with an SCT, issued to a known CI provider — GitHub Actions
// ([IssuerGitHubActions]) or GitLab CI on gitlab.com ([IssuerGitLab]);
// self-managed GitLab instances are not accepted, as the trust material
// cannot say which to believe — and the certificate's source repository
// (and commit, when both name one) must agree with the predicate's. A bundle
// of a predicate type provaudit does not interpret is verified all the same
// (keyless with any identity, or with an npm attestation key) and listed,
// adding no facts. Every subject of every statement must be
// pkg:npm/<name>@<version> (a scope's "@" as %40) with the lockfile's
// sha512; the response's predicateType must equal the signed statement's;
// the publish predicate must name this package. The predicate type the
// manifest announces must be among the verified attestations; a response
// without provenance verifies only when none is announced.
//
// # Errors
//
// Every failure wraps one or more sentinel errors (ErrMalformed,
// ErrSignatureInvalid, ErrSubjectDigest, ...) and names the package and what
// is wrong. Independent failures are reported together (Unwrap() []error).
// Nothing missing or malformed verifies.
package verify
