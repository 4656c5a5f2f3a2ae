package verify

import (
	"crypto/ecdsa"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"time"
)

// Status is the outcome of one check: of a [SignatureResult] or an
// [AttestationResult].
type Status string

// Statuses of [SignatureResult] and [AttestationResult].
const (
	StatusVerified Status = "verified"
	StatusMissing  Status = "missing"
	StatusInvalid  Status = "invalid"
	// StatusUntrusted: nothing failed, but a signature (or the publish
	// attestation) is by a key that no trusted key carries: an unknown
	// keyid, or a key only a registry named by the audited project lists.
	StatusUntrusted   Status = "untrusted"
	StatusUnsupported Status = "unsupported"
)

// TimeSource says where the time a signature is judged at came from.
type TimeSource string

// Time sources a signature is judged at.
const (
	// TimeSourcePublish: the version's publish time (packument time map).
	TimeSourcePublish TimeSource = "publish-time"
	// TimeSourceRekor: the integrated time of the version's own publish
	// attestation in the transparency log.
	TimeSourceRekor TimeSource = "rekor"
	// TimeSourceKeyValidNow: no time was known; the key is valid now.
	TimeSourceKeyValidNow TimeSource = "key-valid-now"
)

// maxSignatures bounds dist.signatures; npm serves one or two.
const maxSignatures = 16

// publishTimeSkew is how far in the future a publish time may be before it
// is rejected as malformed.
const publishTimeSkew = 24 * time.Hour

// Signature is one dist.signatures[] entry.
type Signature struct {
	KeyID string `json:"keyid"`
	// Sig is the base64 DER ECDSA signature.
	Sig string `json:"sig"`
}

// SignatureInput is what judging a version's registry signature needs.
type SignatureInput struct {
	Name, Version string
	// Integrity is the lockfile's SRI (may list several hashes).
	Integrity string
	// ServedIntegrity is the dist.integrity the registry served: the string
	// the signature covers.
	ServedIntegrity string
	// ServedShasum is dist.shasum (sha1 hex), used to bind sha1-only
	// lockfiles.
	ServedShasum string
	// TarballIntegrity is an SRI of the digests of the tarball the registry
	// serves, needed only when Integrity and the served integrity share no
	// hash algorithm ([NeedsTarball]): it links them.
	TarballIntegrity string
	Signatures       []Signature
	// PublishTime is when the version was published; zero when unknown.
	PublishTime time.Time
	// TimeSource says where PublishTime came from: TimeSourcePublish
	// (default when PublishTime is set) or TimeSourceRekor.
	TimeSource TimeSource
}

// SignatureResult is the verdict on a registry signature.
type SignatureResult struct {
	// Status is StatusVerified, StatusMissing, StatusInvalid,
	// StatusUntrusted or StatusUnsupported.
	Status Status
	// Err is nil iff Status is StatusVerified; for missing, untrusted and
	// unsupported it explains (wrapping ErrSignatureMissing,
	// ErrKeysUnknown, ErrUnknownKey, ErrUntrustedKey or ErrNoKeys).
	Err error
	// KeyID is the key that verified (or, when untrusted, the first key
	// that is not trusted).
	KeyID  string
	Pinned bool
	// JudgedAt is the time the key's validity was judged at.
	JudgedAt time.Time
	// TimeSource is TimeSourcePublish, TimeSourceRekor or
	// TimeSourceKeyValidNow.
	TimeSource TimeSource
	// WeakIntegrity is true when the binding to the signed integrity rests
	// on sha1 only (a sha1-only lockfile, or a sha1-only registry integrity).
	WeakIntegrity bool
	// ViaTarball is true when the lockfile and the signed integrity share no
	// hash algorithm and the tarball's digests linked them.
	ViaTarball bool
}

// NeedsPublishTime reports whether judging these signatures needs the
// version's publish time: true when some signature's key is trusted but not
// valid now (e.g. signed only by the expired 2025 key). Signatures by
// unknown or untrusted keys cannot verify whatever the time, so they do not
// need it.
func (v *Verifier) NeedsPublishTime(sigs []Signature) bool {
	now := v.now()
	for _, s := range sigs {
		if k := v.keys.lookup(s.KeyID, UsageSignatures); k != nil && k.Trusted && !k.ValidAt(now) {
			return true
		}
	}
	return false
}

// RegistrySignature judges a version's registry signature: ECDSA P-256 /
// SHA-256 over "name@version:ServedIntegrity", by the key the keyid names
// (usage npm:signatures), valid at the time the signature is judged at.
//
// The rules, in order:
//   - A served integrity (or shasum) that disagrees with the lockfile makes
//     the signature invalid ([ErrIntegrityMismatch]): whatever it signs is not
//     what the lockfile installs.
//   - No signatures: missing ([ErrSignatureMissing]) when the registry lists
//     keys, unsupported ([ErrNoKeys]) when it publishes none, missing with
//     [ErrKeysUnknown] when its keys are unknown.
//   - Every signature is checked, whatever the registry's key endpoint said:
//     the pinned keys are always there. A signature that does not verify with
//     the key its keyid names is invalid ([ErrSignatureInvalid]); a trusted
//     key must be valid at the judging time ([ErrKeyNotValidAtTime]), else
//     invalid. A signature by a keyid no key carries ([ErrUnknownKey]), or
//     one that verifies only with an untrusted key ([ErrUntrustedKey]), makes
//     the result untrusted, unless another signature is invalid. Like npm's
//     own client (pacote), every signature must pass for the result to be
//     verified.
//   - The judging time is PublishTime when given. Without it, a key valid now
//     is judged now (TimeSourceKeyValidNow); a key not valid now cannot be
//     judged: the result is invalid with [ErrPublishTimeUnknown] (never
//     verified), so the caller should ask [Verifier.NeedsPublishTime] first
//     and fetch the publish time.
func (v *Verifier) RegistrySignature(in SignatureInput) SignatureResult {
	pkg := in.Name + "@" + in.Version
	res := SignatureResult{Status: StatusInvalid}
	fail := func(err error) SignatureResult {
		res.Status, res.Err = StatusInvalid, err
		return res
	}
	if in.Name == "" || in.Version == "" {
		return fail(fmt.Errorf("%w: registry signature: package name or version missing (%q)", ErrMalformed, pkg))
	}
	if in.ServedIntegrity != "" || in.ServedShasum != "" || len(in.Signatures) > 0 {
		if in.ServedIntegrity == "" && len(in.Signatures) > 0 {
			return fail(fmt.Errorf("%w: %s: signatures present but no served dist.integrity to check them over", ErrMalformed, pkg))
		}
		b, err := bindIntegrity(pkg, in.Integrity, in.ServedIntegrity, in.ServedShasum, in.TarballIntegrity)
		if err != nil {
			return fail(err)
		}
		if b.unbound && len(in.Signatures) > 0 {
			return fail(fmt.Errorf("%w: %s: the signed integrity %q shares no hash algorithm with the lockfile's %q, and no digests of the tarball link them", ErrIntegrityUnbound, pkg, in.ServedIntegrity, in.Integrity))
		}
		res.WeakIntegrity, res.ViaTarball = b.weak, b.viaTarball
	}
	if len(in.Signatures) == 0 {
		switch v.keys.registry {
		case KeysNone:
			res.Status = StatusUnsupported
			res.Err = fmt.Errorf("%w: %s: the version carries no signature and the registry publishes no signing keys", ErrNoKeys, pkg)
		case KeysUnknown:
			res.Status = StatusMissing
			res.Err = fmt.Errorf("%w: %s: the version carries no signature and the registry's signing keys are unknown", ErrKeysUnknown, pkg)
		default:
			res.Status = StatusMissing
			res.Err = fmt.Errorf("%w: %s: the registry has signing keys but the version carries no signature", ErrSignatureMissing, pkg)
		}
		return res
	}
	if len(in.Signatures) > maxSignatures {
		return fail(fmt.Errorf("%w: %s: %d signatures (at most %d)", ErrMalformed, pkg, len(in.Signatures), maxSignatures))
	}

	now := v.now()
	judgedAt, source := in.PublishTime, in.TimeSource
	switch {
	case judgedAt.IsZero():
		if source != "" {
			return fail(fmt.Errorf("%w: %s: time source %q without a time", ErrMalformed, pkg, source))
		}
	case source == "":
		source = TimeSourcePublish
	case source != TimeSourcePublish && source != TimeSourceRekor:
		return fail(fmt.Errorf("%w: %s: unknown time source %q", ErrMalformed, pkg, source))
	}
	if !judgedAt.IsZero() && judgedAt.After(now.Add(publishTimeSkew)) {
		return fail(fmt.Errorf("%w: %s: publish time %s is in the future", ErrMalformed, pkg, judgedAt.UTC().Format(time.RFC3339)))
	}

	digest := sha256.Sum256([]byte(pkg + ":" + in.ServedIntegrity))
	var (
		first     *Key
		untrusted []error
		untrustID string
	)
	for i, s := range in.Signatures {
		k := v.keys.lookup(s.KeyID, UsageSignatures)
		if k == nil {
			untrusted = append(untrusted, fmt.Errorf("%w: %s: signature %d names keyid %q, which no trusted key carries", ErrUnknownKey, pkg, i, s.KeyID))
			untrustID = firstNonEmpty(untrustID, s.KeyID)
			continue
		}
		der, err := base64.StdEncoding.DecodeString(s.Sig)
		if err != nil || len(der) == 0 {
			return fail(fmt.Errorf("%w: %w: %s: signature %d by %s is not base64", ErrSignatureInvalid, ErrMalformed, pkg, i, s.KeyID))
		}
		if !ecdsa.VerifyASN1(k.Public, digest[:], der) {
			return fail(fmt.Errorf("%w: %s: signature %d by %s does not verify over %q", ErrSignatureInvalid, pkg, i, s.KeyID, pkg+":"+in.ServedIntegrity))
		}
		if !k.Trusted {
			untrusted = append(untrusted, fmt.Errorf("%w: %s: signature %d verifies only with %s, a key the registry lists but nothing trusts", ErrUntrustedKey, pkg, i, s.KeyID))
			untrustID = firstNonEmpty(untrustID, s.KeyID)
			continue
		}
		at, src := judgedAt, source
		if at.IsZero() {
			if !k.ValidAt(now) {
				res.KeyID, res.Pinned = k.KeyID, k.Pinned
				return fail(fmt.Errorf("%w: %s: signed by %s, which is not valid now (valid %s), and the publish time is unknown", ErrPublishTimeUnknown, pkg, k.KeyID, k.window()))
			}
			at, src = now, TimeSourceKeyValidNow
		} else if !k.ValidAt(at) {
			res.KeyID, res.Pinned = k.KeyID, k.Pinned
			return fail(fmt.Errorf("%w: %s: signed by %s, valid %s, not at the %s %s", ErrKeyNotValidAtTime, pkg, k.KeyID, k.window(), src, at.UTC().Format(time.RFC3339)))
		}
		if first == nil {
			first = k
			res.JudgedAt, res.TimeSource = at, src
		}
	}
	if len(untrusted) > 0 {
		res.Status, res.Err = StatusUntrusted, join(untrusted)
		res.KeyID, res.Pinned = untrustID, false
		res.JudgedAt, res.TimeSource = time.Time{}, ""
		return res
	}
	res.Status, res.Err = StatusVerified, nil
	res.KeyID, res.Pinned = first.KeyID, first.Pinned
	return res
}
