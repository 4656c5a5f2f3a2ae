// Package summary signs and verifies provaudit's verification summary: a
// DSSE envelope, signed with an Ed25519 key, over an in-toto v1 statement
// whose subject is the audited lockfile and whose predicate is the audit's
// summary, so that a later pipeline step can prove which audit of which
// lockfile passed.
//
// # Format
//
// The envelope is DSSE (payloadType [PayloadType], one signature whose
// keyid is the key's OpenSSH-style fingerprint, "SHA256:" and unpadded
// base64) written as one JSON line, as in-toto bundles (.intoto.jsonl)
// hold them. Its payload is an in-toto statement:
//
//   - _type https://in-toto.io/Statement/v1;
//   - one subject: name = the lockfile path as the audit reported it,
//     digest {"sha256": hex SHA-256 of the lockfile bytes audited};
//   - predicateType [PredicateType];
//   - predicate [Predicate]: the tool, the lockfile information and the
//     summary of the JSON report (with its schemaVersion), the policy the
//     verdict depends on (--fail-on, --require-provenance,
//     --require-signatures, --omit, whether the release-history rules ran,
//     the rules switched off, the policy file, and for a diff-mode audit
//     what it was compared with) and the outcome (exit code, result and
//     message).
//
// PAE, envelope signing and verification are those of
// github.com/secure-systems-lab/go-securesystemslib/dsse; the statement is
// the in-toto attestation framework's Go type.
//
// # Keys
//
// Private keys are Ed25519 in PKCS #8 PEM ("PRIVATE KEY"), as `openssl
// genpkey -algorithm ed25519` writes them; public keys are
// SubjectPublicKeyInfo PEM ("PUBLIC KEY"), as `openssl pkey -pubout` writes
// them. See [ParsePrivateKey] and [ParsePublicKey].
//
// # Verification
//
// [Verify] checks, in this order: the envelope is well-formed and of
// [PayloadType] ([ErrMalformed] otherwise); a signature by the given key
// verifies over DSSE's PAE ([ErrSignature]); the payload is an in-toto v1
// statement of [PredicateType] with one subject carrying a sha256 digest
// and a predicate with a known outcome ([ErrMalformed]); the subject's
// digest is that of the lockfile given ([ErrSubject]). The subject's name
// is reported, not compared: the same lockfile may sit at another path in
// the step that verifies.
//
// The package does no I/O: callers read and write the files.
package summary
