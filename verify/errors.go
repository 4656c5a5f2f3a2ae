package verify

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// Sentinel errors. Every error this package returns wraps at least one of
// them (test with [errors.Is]); the message names the package (name@version),
// the attestation or key concerned and what is wrong.
var (
	// ErrMalformed: an input could not be parsed or does not have the shape
	// it must have (JSON, base64, SRI, key files, bundles, DSSE payloads,
	// in-toto statements).
	ErrMalformed = errors.New("malformed input")
	// ErrSignatureInvalid: a registry signature or a DSSE envelope signature
	// does not verify.
	ErrSignatureInvalid = errors.New("signature invalid")
	// ErrSignatureMissing: the registry publishes keys but the version
	// carries no signature.
	ErrSignatureMissing = errors.New("signature missing")
	// ErrUnknownKey: a signature or publish attestation names a keyid that
	// no usable key has (for that usage). Where nothing else failed, it is
	// reported as untrusted ([StatusUntrusted]), not as invalid: npm fails
	// the same case with EMISSINGSIGNATUREKEY.
	ErrUnknownKey = errors.New("unknown signing key")
	// ErrUntrustedKey: a signature or publish attestation verifies, but only
	// with a key that a registry named by the audited project lists (see
	// [Key].Trusted).
	ErrUntrustedKey = errors.New("signing key not trusted")
	// ErrKeysUnknown: the version carries no registry signature and the
	// registry's key list is unknown, so whether it should carry one cannot
	// be told.
	ErrKeysUnknown = errors.New("registry keys unknown")
	// ErrKeyNotValidAtTime: the signing key was not valid at the time the
	// signature is judged at (publish time, log time or now).
	ErrKeyNotValidAtTime = errors.New("key not valid at signing time")
	// ErrPublishTimeUnknown: the signing key is not valid now and no publish
	// time was given to judge the signature at.
	ErrPublishTimeUnknown = errors.New("publish time unknown")
	// ErrIntegrityMismatch: the integrity the registry served (or signed)
	// disagrees with the lockfile's integrity, or cannot be compared to it.
	ErrIntegrityMismatch = errors.New("integrity mismatch")
	// ErrIntegrityUnbound: the lockfile's integrity and the integrity the
	// registry signed share no hash algorithm and no tarball digests link
	// them. It is not a mismatch (nothing disagrees): the signature cannot
	// be tied to what the lockfile installs, so it is not a pass either.
	ErrIntegrityUnbound = errors.New("integrity not bound")
	// ErrSubjectName: an attestation subject (or the publish predicate) names
	// another package or version, or there is no subject at all.
	ErrSubjectName = errors.New("attestation subject name mismatch")
	// ErrSubjectDigest: an attestation subject's sha512 is missing or differs
	// from the lockfile's sha512.
	ErrSubjectDigest = errors.New("attestation subject digest mismatch")
	// ErrBundleInvalid: Sigstore verification of a bundle failed. It is
	// combined with a more specific sentinel where one applies
	// (ErrSignatureInvalid, ErrTransparencyLog, ErrCertificate, ...).
	ErrBundleInvalid = errors.New("sigstore bundle invalid")
	// ErrTransparencyLog: the bundle's transparency log entry (SET, inclusion
	// proof, entry contents or log time) does not verify.
	ErrTransparencyLog = errors.New("transparency log entry invalid")
	// ErrCertificate: the signing certificate does not chain to a trusted
	// Fulcio root at the log time, or lacks a valid SCT.
	ErrCertificate = errors.New("signing certificate invalid")
	// ErrUntrustedIssuer: a provenance certificate was issued for an OIDC
	// issuer that is not a known CI provider.
	ErrUntrustedIssuer = errors.New("untrusted certificate issuer")
	// ErrIdentityMismatch: the certificate identity disagrees with the
	// provenance predicate (source repository, commit) or with the identity
	// the caller expected.
	ErrIdentityMismatch = errors.New("identity mismatch")
	// ErrPredicateType: an attestation's predicate type is unknown, or the
	// response's predicateType differs from the signed statement's.
	ErrPredicateType = errors.New("predicate type invalid")
	// ErrNoAttestations: the attestations response is empty or lists none.
	ErrNoAttestations = errors.New("no attestations")
	// ErrPublishAttestationMissing: attestations exist but none (or more
	// than one) is the npm publish attestation.
	ErrPublishAttestationMissing = errors.New("publish attestation missing")
	// ErrPredicateMissing: the predicate type the version's manifest
	// announces (dist.attestations.provenance.predicateType) is not among the
	// attestations.
	ErrPredicateMissing = errors.New("announced predicate missing")
	// ErrPinnedKeyMismatch: the registry lists a pinned keyid with other key
	// material.
	ErrPinnedKeyMismatch = errors.New("registry key differs from pinned key")
	// ErrNoSHA512: neither the lockfile nor the served integrity has a
	// sha512, so attestation subjects cannot be bound to the tarball.
	ErrNoSHA512 = errors.New("no sha512 integrity")
	// ErrNoKeys: there are no keys (a key list is empty, or the registry
	// publishes no keys: registry signatures are then "unsupported").
	ErrNoKeys = errors.New("no registry keys")
)

// joinedError is several errors reported together. Unlike [errors.Join] it
// renders on one line, so that it fits a report's "reason" field.
type joinedError struct{ errs []error }

func (e *joinedError) Error() string {
	var b strings.Builder
	for i, err := range e.errs {
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(err.Error())
	}
	return b.String()
}

func (e *joinedError) Unwrap() []error { return e.errs }

// join returns nil for no errors, the error itself for one, and a
// joinedError otherwise.
func join(errs []error) error {
	switch len(errs) {
	case 0:
		return nil
	case 1:
		return errs[0]
	}
	return &joinedError{errs: errs}
}

// maxForeignMessage bounds the text of an error that comes from outside
// this package (sigstore-go, protojson, encoding/json): such messages may
// quote what a registry served, megabytes of it.
const maxForeignMessage = 1024

// foreignError is an error from another package whose message is clipped
// once, when it is wrapped: wrapping and joining it again copies only the
// clipped text. errors.Is and errors.As still reach the original.
type foreignError struct {
	msg string
	err error
}

func (e *foreignError) Error() string { return e.msg }
func (e *foreignError) Unwrap() error { return e.err }

// foreign clips the message of an error from another package (nil stays
// nil).
func foreign(err error) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	if len(msg) <= maxForeignMessage {
		return err
	}
	cut := maxForeignMessage
	for cut > 0 && !utf8.RuneStart(msg[cut]) {
		cut--
	}
	return &foreignError{msg: fmt.Sprintf("%s... (%d more bytes)", msg[:cut], len(msg)-cut), err: err}
}
