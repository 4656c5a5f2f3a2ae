// Package fakesigstore is a self-contained fake Sigstore for tests and
// benchmarks. It holds a Fulcio-style certificate authority (root and
// intermediate), a certificate transparency log that signs SCTs, a Rekor-style
// transparency log and any number of npm registry keys, and with them makes
// VALID npm-shaped data for any package name, version and integrity:
//
//   - registry signatures (dist.signatures) over "name@version:integrity";
//   - the npm publish attestation: an in-toto statement in a DSSE envelope
//     signed with an npm registry key, with a Rekor entry;
//   - SLSA provenance (v1 or v0.2 from GitHub Actions, v0.2 from GitLab CI,
//     as npm makes them) in a DSSE envelope signed with an ephemeral key,
//     whose short-lived certificate carries the CI's OIDC extensions (as
//     Fulcio writes them) and an embedded SCT, with a Rekor entry;
//   - the body of /-/npm/v1/attestations/NAME@VERSION holding both bundles.
//
// # Trust
//
// The data verifies only against this fake's own trust material:
// [Sigstore.TrustedRoot] (a trusted_root.json with the CA chain, the Rekor key
// and the CT log key) and [Sigstore.NpmKeys] or [Sigstore.NpmKeysTUF] (the
// npm registry keys). sigstore-go accepts it exactly as it accepts the real
// public-good data: chain to the trusted root, SCT, Rekor SET, inclusion proof
// against a signed checkpoint, integrated time inside the certificate.
//
// # The transparency log
//
// Each [Sigstore] has one append-only RFC 6962 Merkle tree. It starts as a
// log that already holds tens of millions of entries (their subtree hashes
// are random, as they would be to anyone who does not hold those entries), so
// log indexes look like real ones. Every entry is appended and returned with
// an inclusion proof against a signed checkpoint of the tree right after it
// (after the publish attestation, for both entries of one Attestations
// call), which is what a real Rekor returns when asked at once. Appending
// costs O(log n) time and the tree keeps O(log n) hashes.
//
// # Concurrency
//
// A Sigstore is safe for concurrent use by multiple goroutines.
package fakesigstore

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"time"
)

// Sentinel errors. Every error returned by this package wraps one of them.
var (
	// ErrInvalidOptions reports unusable [Options] given to [New].
	ErrInvalidOptions = errors.New("fakesigstore: invalid options")
	// ErrInvalidAttest reports an [Attest] with a missing or malformed field.
	ErrInvalidAttest = errors.New("fakesigstore: invalid attestation request")
	// ErrUnknownKey reports an npm key index that this Sigstore does not have.
	ErrUnknownKey = errors.New("fakesigstore: unknown npm key")
	// ErrUnsupported reports a media type, Rekor entry kind or predicate type
	// that this fake does not produce.
	ErrUnsupported = errors.New("fakesigstore: unsupported")
	// ErrTamper reports a bundle that [Tamper] cannot modify as asked.
	ErrTamper = errors.New("fakesigstore: cannot tamper")
	// ErrGenerate reports a failure to make keys, certificates, signatures or
	// JSON; it does not happen with a working crypto/rand.
	ErrGenerate = errors.New("fakesigstore: cannot generate")
)

// Host names used by the fake. They are under .invalid so they can never
// resolve, and they name no real service.
const (
	// FulcioURL is the URI of the fake certificate authority in TrustedRoot.
	FulcioURL = "https://fulcio.fakesigstore.invalid"
	// RekorURL is the base URL of the fake transparency log in TrustedRoot.
	RekorURL = "https://rekor.fakesigstore.invalid"
	// CTLogURL is the base URL of the fake certificate transparency log.
	CTLogURL = "https://ctfe.fakesigstore.invalid/test"
	// DefaultRegistry is the registry URL written into publish predicates
	// when [Attest.Registry] is empty.
	DefaultRegistry = "https://registry.invalid"
)

// KeySpec is the validity window of one npm registry key. A zero Start means
// the key is valid from the start of the fake CA (ten years before
// [Options.Now]); a zero End means the key does not expire.
type KeySpec struct{ Start, End time.Time }

// The validity windows of the npm registry's two public keys: the first
// expired on RotatedEnd, the second is valid from RotatedStart.
var (
	RotatedEnd   = time.Date(2025, 1, 29, 0, 0, 0, 0, time.UTC)
	RotatedStart = time.Date(2025, 1, 13, 0, 0, 0, 0, time.UTC)
)

// RotatedKeys returns two keys shaped like the npm registry's: the first
// valid from nine years before now until RotatedEnd, the second from
// RotatedStart on. A version published before RotatedStart is signed by
// the expired key only, so that judging its signature needs its publish
// time.
func RotatedKeys(now time.Time) []KeySpec {
	return []KeySpec{{Start: now.AddDate(-9, 0, 0), End: RotatedEnd}, {Start: RotatedStart}}
}

// Options configure [New].
type Options struct {
	// Now is the base time of the fake: certificate authorities and logs are
	// valid from ten years before it to ten years after it, and Attest uses it
	// as the default integrated time. Zero means time.Now().
	Now time.Time
	// NpmKeys are the npm registry keys to create, in order. Empty means one
	// key valid from Now minus one year, with no end.
	NpmKeys []KeySpec
}

// caLifetime is how far before and after Options.Now the fake CA, CT log and
// Rekor log are valid. Attestations may be dated anywhere inside it.
const caLifetime = 10 * 365 * 24 * time.Hour

// npmKey is one npm registry key.
type npmKey struct {
	priv  *ecdsa.PrivateKey
	spec  KeySpec
	keyid string
	spki  []byte // PKIX DER
	pem   []byte // PEM "PUBLIC KEY", with trailing newline
}

// Sigstore is a fake Sigstore deployment plus npm registry keys. Create one
// with [New]; it is safe for concurrent use.
type Sigstore struct {
	now             time.Time
	caStart, caEnd  time.Time
	ca              *certAuthority
	ct              *ctLog
	rekor           *rekorLog
	npm             []npmKey
	trustedRootJSON []byte
	npmKeysJSON     []byte
	npmKeysTUFJSON  []byte
}

// New creates a fake Sigstore with fresh keys. Keys are random: two
// Sigstores never trust each other's data.
func New(opts Options) (*Sigstore, error) {
	now := opts.Now
	if now.IsZero() {
		now = time.Now()
	}
	now = now.UTC().Truncate(time.Second)
	s := &Sigstore{
		now:     now,
		caStart: now.Add(-caLifetime),
		caEnd:   now.Add(caLifetime),
	}
	specs := opts.NpmKeys
	if len(specs) == 0 {
		specs = []KeySpec{{Start: now.AddDate(-1, 0, 0)}}
	}
	for i, spec := range specs {
		if !spec.End.IsZero() && !spec.Start.IsZero() && !spec.End.After(spec.Start) {
			return nil, fmt.Errorf("%w: npm key %d: end %s is not after start %s", ErrInvalidOptions, i, spec.End.Format(time.RFC3339), spec.Start.Format(time.RFC3339))
		}
	}

	var err error
	if s.ca, err = newCertAuthority(s.caStart, s.caEnd); err != nil {
		return nil, err
	}
	if s.ct, err = newCTLog(); err != nil {
		return nil, err
	}
	if s.rekor, err = newRekorLog(); err != nil {
		return nil, err
	}
	for i, spec := range specs {
		k, err := newNpmKey(spec)
		if err != nil {
			return nil, fmt.Errorf("%w (npm key %d)", err, i)
		}
		s.npm = append(s.npm, k)
	}
	if s.trustedRootJSON, err = s.buildTrustedRoot(); err != nil {
		return nil, err
	}
	if s.npmKeysJSON, err = s.buildNpmKeys(); err != nil {
		return nil, err
	}
	if s.npmKeysTUFJSON, err = s.buildNpmKeysTUF(); err != nil {
		return nil, err
	}
	return s, nil
}

// Now returns the base time of this Sigstore (Options.Now, or the time New
// ran), truncated to the second.
func (s *Sigstore) Now() time.Time { return s.now }

// TrustedRoot returns this fake's trusted_root.json (media type
// application/vnd.dev.sigstore.trustedroot+json;version=0.1): the CA chain
// (intermediate, root), the Rekor log key and the CT log key. The caller may
// modify the returned slice.
func (s *Sigstore) TrustedRoot() []byte { return clone(s.trustedRootJSON) }

// NpmKeys returns the body the registry serves at /-/npm/v1/keys:
// {"keys":[{"expires","keyid","keytype","scheme","key"}]}, where expires is
// null for a key without end. The caller may modify the returned slice.
func (s *Sigstore) NpmKeys() []byte { return clone(s.npmKeysJSON) }

// NpmKeysTUF returns the npm keys in the form of the Sigstore TUF target
// "<registry host>/keys.json": each key twice, with keyUsage
// "npm:signatures" and "npm:attestations", and publicKey {rawBytes,
// keyDetails, validFor}. The caller may modify the returned slice.
func (s *Sigstore) NpmKeysTUF() []byte { return clone(s.npmKeysTUFJSON) }

// NpmKeyCount returns how many npm registry keys this Sigstore has.
func (s *Sigstore) NpmKeyCount() int { return len(s.npm) }

// NpmKeyID returns the keyid of npm key i: the OpenSSH SHA256 fingerprint of
// the key, as the registry names its keys. It panics if i is not a key index,
// which is a mistake in the calling test.
func (s *Sigstore) NpmKeyID(i int) string { return s.mustKey(i).keyid }

// NpmPublicKey returns the public half of npm key i. It panics if i is not a
// key index, which is a mistake in the calling test.
func (s *Sigstore) NpmPublicKey(i int) *ecdsa.PublicKey { return &s.mustKey(i).priv.PublicKey }

// NpmKeyValidity returns the validity window of npm key i as published in
// NpmKeys and NpmKeysTUF (a zero Start is replaced by the CA start). It panics
// if i is not a key index, which is a mistake in the calling test.
func (s *Sigstore) NpmKeyValidity(i int) KeySpec {
	spec := s.mustKey(i).spec
	if spec.Start.IsZero() {
		spec.Start = s.caStart
	}
	return spec
}

// SignRegistry signs "name@version:integrity" with npm key i the way the
// registry signs dist.signatures: ECDSA P-256 over SHA-256, DER, base64. It
// returns the key's keyid and the signature. It panics if i is not a key
// index, which is a mistake in the calling test.
func (s *Sigstore) SignRegistry(i int, name, version, integrity string) (keyid, sig string) {
	k := s.mustKey(i)
	digest := sha256.Sum256([]byte(name + "@" + version + ":" + integrity))
	der, err := ecdsa.SignASN1(rand.Reader, k.priv, digest[:])
	if err != nil {
		// crypto/rand never fails on supported platforms.
		panic(fmt.Sprintf("fakesigstore: signing with npm key %d: %v", i, err))
	}
	return k.keyid, base64.StdEncoding.EncodeToString(der)
}

func (s *Sigstore) mustKey(i int) *npmKey {
	if i < 0 || i >= len(s.npm) {
		panic(fmt.Sprintf("fakesigstore: npm key index %d out of range [0,%d)", i, len(s.npm)))
	}
	return &s.npm[i]
}

func (s *Sigstore) key(i int) (*npmKey, error) {
	if i < 0 || i >= len(s.npm) {
		return nil, fmt.Errorf("%w: index %d, have %d key(s)", ErrUnknownKey, i, len(s.npm))
	}
	return &s.npm[i], nil
}

func newNpmKey(spec KeySpec) (npmKey, error) {
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return npmKey{}, fmt.Errorf("%w: npm key: %w", ErrGenerate, err)
	}
	spki, err := x509.MarshalPKIXPublicKey(&priv.PublicKey)
	if err != nil {
		return npmKey{}, fmt.Errorf("%w: npm key: %w", ErrGenerate, err)
	}
	keyid, err := SSHFingerprint(&priv.PublicKey)
	if err != nil {
		return npmKey{}, fmt.Errorf("%w: npm keyid: %w", ErrGenerate, err)
	}
	return npmKey{priv: priv, spec: spec, keyid: keyid, spki: spki, pem: pemEncode("PUBLIC KEY", spki)}, nil
}

// SSHFingerprint returns the OpenSSH SHA256 fingerprint of an ECDSA P-256
// public key: "SHA256:" followed by the unpadded standard base64 of SHA-256
// over the key's SSH wire encoding. npm uses it as the keyid of its registry
// keys.
func SSHFingerprint(pub *ecdsa.PublicKey) (string, error) {
	if pub == nil || pub.Curve != elliptic.P256() {
		return "", fmt.Errorf("%w: only ECDSA P-256 keys have an npm keyid", ErrUnsupported)
	}
	point, err := pub.Bytes()
	if err != nil {
		return "", fmt.Errorf("%w: encoding public key: %w", ErrUnsupported, err)
	}
	var wire []byte
	for _, field := range [][]byte{[]byte("ecdsa-sha2-nistp256"), []byte("nistp256"), point} {
		wire = binary.BigEndian.AppendUint32(wire, uint32(len(field)))
		wire = append(wire, field...)
	}
	sum := sha256.Sum256(wire)
	return "SHA256:" + base64.RawStdEncoding.EncodeToString(sum[:]), nil
}

func clone(b []byte) []byte { return append([]byte(nil), b...) }
