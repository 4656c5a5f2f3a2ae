package verify

import (
	"bytes"
	"fmt"
	"time"

	"github.com/sigstore/sigstore-go/pkg/bundle"
	"github.com/sigstore/sigstore-go/pkg/root"
	sgverify "github.com/sigstore/sigstore-go/pkg/verify"
	"github.com/sigstore/sigstore/pkg/cryptoutils"
	"github.com/sigstore/sigstore/pkg/signature"
)

// Identity is the certificate identity a bundle must have been issued to.
type Identity struct {
	// SubjectAlternativeName must equal the certificate's SAN exactly.
	SubjectAlternativeName string
	// Issuer must equal the certificate's OIDC issuer exactly.
	Issuer string
}

// BundleInput is one Sigstore bundle and what it must be about.
type BundleInput struct {
	// Bundle is the bundle JSON.
	Bundle []byte
	// ArtifactDigest and DigestAlgorithm ("sha256", "sha512", ...) give the
	// artifact by digest; or Artifact gives its bytes. Exactly one of the
	// two forms is required.
	ArtifactDigest  []byte
	DigestAlgorithm string
	Artifact        []byte
	// Identity is required for certificate-signed bundles; nil accepts
	// only key-signed bundles (see PublicKey).
	Identity *Identity
	// PublicKey is a PEM public key: verify with it (whatever the bundle's
	// key hint) instead of a certificate identity.
	PublicKey []byte
}

// VerifyBundle verifies one Sigstore bundle against a trusted root (nil: the
// embedded public-good root), the way a Sigstore client's verify-bundle
// command does: SCTs required for certificates; the transparency log
// required when the trust root has logs, with its integrated time required
// when the bundle carries an inclusion promise; RFC 3161 timestamps required
// when the trust root has timestamp authorities and the bundle carries
// timestamps. It builds a verifier per call; it exists for the
// sigstore-conformance cases and single-bundle checks, not for audits.
func VerifyBundle(trustedRoot []byte, in BundleInput) error {
	if trustedRoot == nil {
		trustedRoot = embeddedTrustedRoot
	}
	tr, err := root.NewTrustedRootFromJSON(trustedRoot)
	if err != nil {
		return fmt.Errorf("%w: trusted root: %w", ErrMalformed, err)
	}
	if len(bytes.TrimSpace(in.Bundle)) == 0 {
		return fmt.Errorf("%w: bundle: empty", ErrMalformed)
	}
	var b bundle.Bundle
	if err := b.UnmarshalJSON(in.Bundle); err != nil {
		return fmt.Errorf("%w: %w: bundle: %w", ErrBundleInvalid, ErrMalformed, err)
	}

	var artifact sgverify.ArtifactPolicyOption
	switch {
	case in.Artifact != nil && in.ArtifactDigest != nil:
		return fmt.Errorf("%w: bundle: both an artifact and an artifact digest given", ErrMalformed)
	case in.Artifact != nil:
		artifact = sgverify.WithArtifact(bytes.NewReader(in.Artifact))
	case in.ArtifactDigest != nil:
		if in.DigestAlgorithm == "" {
			return fmt.Errorf("%w: bundle: artifact digest without algorithm", ErrMalformed)
		}
		artifact = sgverify.WithArtifactDigest(in.DigestAlgorithm, in.ArtifactDigest)
	default:
		return fmt.Errorf("%w: bundle: no artifact or artifact digest to verify against", ErrMalformed)
	}

	var tm root.TrustedMaterial = tr
	var policy []sgverify.PolicyOption
	var config []sgverify.VerifierOption
	if in.PublicKey != nil {
		pub, err := cryptoutils.UnmarshalPEMToPublicKey(in.PublicKey)
		if err != nil {
			return fmt.Errorf("%w: bundle: public key: %w", ErrMalformed, err)
		}
		sv, err := signature.LoadDefaultVerifier(pub)
		if err != nil {
			return fmt.Errorf("%w: bundle: public key: %w", ErrMalformed, err)
		}
		key := root.NewExpiringKey(sv, time.Time{}, time.Time{})
		tm = root.TrustedMaterialCollection{
			root.NewTrustedPublicKeyMaterial(func(string) (root.TimeConstrainedVerifier, error) { return key, nil }),
			tr,
		}
		policy = append(policy, sgverify.WithKey())
	} else {
		config = append(config, sgverify.WithSignedCertificateTimestamps(1))
		if in.Identity == nil {
			vc, err := b.VerificationContent()
			if err != nil || vc.Certificate() != nil {
				return fmt.Errorf("%w: bundle: no expected identity for a certificate-signed bundle", ErrIdentityMismatch)
			}
			// A key-signed bundle and no key: sigstore-go fails on the
			// unknown key.
			policy = append(policy, sgverify.WithKey())
		} else {
			id, err := sgverify.NewShortCertificateIdentity(in.Identity.Issuer, "", in.Identity.SubjectAlternativeName, "")
			if err != nil {
				return fmt.Errorf("%w: bundle: expected identity: %w", ErrMalformed, err)
			}
			policy = append(policy, sgverify.WithCertificateIdentity(id))
		}
	}
	timestamps, err := b.Timestamps()
	if err != nil {
		return fmt.Errorf("%w: %w: bundle: %w", ErrBundleInvalid, ErrMalformed, err)
	}
	if len(tm.TimestampingAuthorities()) > 0 && len(timestamps) > 0 {
		config = append(config, sgverify.WithSignedTimestamps(1))
	}
	timed := len(tm.TimestampingAuthorities()) > 0 && len(timestamps) > 0
	if len(tm.RekorLogs()) > 0 {
		config = append(config, sgverify.WithTransparencyLog(1))
		if b.HasInclusionPromise() {
			config = append(config, sgverify.WithIntegratedTimestamps(1))
			timed = true
		}
	}
	if !timed {
		return fmt.Errorf("%w: bundle: no verifiable time: neither a transparency log inclusion promise nor a trusted RFC 3161 timestamp", ErrBundleInvalid)
	}
	sev, err := sgverify.NewVerifier(tm, config...)
	if err != nil {
		return fmt.Errorf("%w: bundle: %w", ErrBundleInvalid, err)
	}
	if _, err := sev.Verify(&b, sgverify.NewPolicy(artifact, policy...)); err != nil {
		vc, vcErr := b.VerificationContent()
		return classify("bundle", "verification", vcErr == nil && vc.PublicKey() != nil, err)
	}
	return nil
}
