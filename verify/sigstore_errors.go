package verify

import (
	"errors"
	"strings"

	sgverify "github.com/sigstore/sigstore-go/pkg/verify"
)

// sigstoreFailure is one kind of sigstore-go verification failure and the
// sentinels it maps to. sigstore-go v1.3.0 has almost no typed errors, so
// most kinds are recognised by the wording of its messages; its
// misleading wording is why the mapping exists at all (an expired npm key
// reads as "integrated time outside certificate validity", a key hint that
// names the wrong key as "transparency log certificate does not match").
//
// A key the keyring does not carry never reaches sigstore-go (verifyKeyed
// looks it up first); were it to, sigstore-go reports it as
// "log-signer-mismatch".
//
// The table is the only place that reads sigstore-go's messages. Every row
// has a test that makes real sigstore-go fail that way
// (TestSigstoreFailureTable), so an upgrade that changes a message fails a
// test instead of silently changing a verdict: an error no row recognises
// still fails verification, as ErrBundleInvalid alone.
type sigstoreFailure struct {
	// kind names the row in tests and docs.
	kind string
	// target is sigstore-go's own sentinel for the failure, where it has
	// one (matched with errors.Is, whatever the wording).
	target error
	// phrases recognise the failure where sigstore-go has no sentinel: an
	// error whose message contains one of them (or, with prefix, starts
	// with one) is of this kind.
	phrases []string
	prefix  bool
	// keyed and keyless are the sentinels for a bundle signed with a key
	// (the npm publish attestation) and with a Fulcio certificate.
	keyed, keyless []error
}

// sigstoreFailures is checked in order; the first row that recognises an
// error wins (the specific log failures come before the generic one).
var sigstoreFailures = []sigstoreFailure{
	{
		// A DSSE envelope must carry exactly one signature.
		kind:   "dsse-signature-count",
		target: sgverify.ErrDSSEInvalidSignatureCount,
		keyed:  []error{ErrSignatureInvalid, ErrMalformed}, keyless: []error{ErrSignatureInvalid, ErrMalformed},
	},
	{
		// The signing key (keyed: sigstore-go words an expired npm key as a
		// certificate) or certificate (keyless) was not valid at the log's
		// integrated time.
		kind:    "time-outside-validity",
		phrases: []string{"integrated time outside certificate validity"},
		keyed:   []error{ErrKeyNotValidAtTime}, keyless: []error{ErrCertificate},
	},
	{
		// The logged key or certificate is not the bundle's: for a key
		// bundle, the key its hint names is not the one that signed.
		kind:    "log-signer-mismatch",
		phrases: []string{"transparency log certificate does not match"},
		keyed:   []error{ErrUnknownKey, ErrTransparencyLog}, keyless: []error{ErrCertificate, ErrTransparencyLog},
	},
	{
		// The envelope (signature or payload) is not the one logged: its
		// signature does not cover what the bundle presents.
		kind:    "log-envelope-mismatch",
		phrases: []string{"transparency log signature does not match", "does not match envelope payload hash"},
		keyed:   []error{ErrSignatureInvalid, ErrTransparencyLog}, keyless: []error{ErrSignatureInvalid, ErrTransparencyLog},
	},
	{
		kind: "log", prefix: true,
		phrases: []string{"failed to verify log inclusion"},
		keyed:   []error{ErrTransparencyLog}, keyless: []error{ErrTransparencyLog},
	},
	{
		kind: "certificate", prefix: true,
		phrases: []string{"failed to verify leaf certificate", "failed to verify signed certificate timestamp"},
		keyed:   []error{ErrCertificate}, keyless: []error{ErrCertificate},
	},
	{
		kind:    "digest",
		phrases: []string{"does not match any digest in statement", "do not match digests in statement"},
		keyed:   []error{ErrSubjectDigest}, keyless: []error{ErrSubjectDigest},
	},
	{
		kind: "identity", prefix: true,
		phrases: []string{"failed to verify certificate identity"},
		keyed:   []error{ErrIdentityMismatch}, keyless: []error{ErrIdentityMismatch},
	},
	{
		kind: "signature", prefix: true,
		phrases: []string{"failed to verify signature"},
		keyed:   []error{ErrSignatureInvalid}, keyless: []error{ErrSignatureInvalid},
	},
}

// sigstoreFailureOf returns the row that recognises err and the phrase
// that did ("" for a sentinel), or nil.
func sigstoreFailureOf(err error) (*sigstoreFailure, string) {
	msg := err.Error()
	for i := range sigstoreFailures {
		f := &sigstoreFailures[i]
		if f.target != nil && errors.Is(err, f.target) {
			return f, ""
		}
		for _, p := range f.phrases {
			if f.prefix && strings.HasPrefix(msg, p) || !f.prefix && strings.Contains(msg, p) {
				return f, p
			}
		}
	}
	return nil, ""
}

// classify maps a sigstore-go verification error to this package's
// sentinels through sigstoreFailures; anything unrecognised is still
// ErrBundleInvalid. keyed tells whether the bundle is signed with a key
// (publish attestation) rather than a certificate.
func classify(pkg, what string, keyed bool, err error) error {
	kinds := []error{ErrBundleInvalid}
	if f, _ := sigstoreFailureOf(err); f != nil {
		if keyed {
			kinds = append(kinds, f.keyed...)
		} else {
			kinds = append(kinds, f.keyless...)
		}
	}
	return &bundleError{pkg: pkg, what: what, kinds: kinds, cause: foreign(err)}
}

// bundleError is a sigstore-go failure with the sentinels it maps to.
type bundleError struct {
	pkg, what string
	kinds     []error
	cause     error
}

func (e *bundleError) Error() string {
	var b strings.Builder
	for _, k := range e.kinds {
		b.WriteString(k.Error())
		b.WriteString(": ")
	}
	b.WriteString(e.pkg + ": " + e.what + ": " + e.cause.Error())
	return b.String()
}

func (e *bundleError) Unwrap() []error { return append(append([]error(nil), e.kinds...), e.cause) }
