package verify

import (
	"crypto/elliptic"
	"errors"
	"testing"
)

// sentinels lists every sentinel error; a failure must wrap at least one.
var sentinels = []error{
	ErrMalformed, ErrSignatureInvalid, ErrSignatureMissing, ErrUnknownKey, ErrKeyNotValidAtTime,
	ErrPublishTimeUnknown, ErrIntegrityMismatch, ErrSubjectName, ErrSubjectDigest, ErrBundleInvalid,
	ErrTransparencyLog, ErrCertificate, ErrUntrustedIssuer, ErrIdentityMismatch, ErrPredicateType,
	ErrNoAttestations, ErrPublishAttestationMissing, ErrPredicateMissing, ErrPinnedKeyMismatch,
	ErrNoSHA512, ErrNoKeys,
}

func wrapsSentinel(err error) bool {
	for _, s := range sentinels {
		if errors.Is(err, s) {
			return true
		}
	}
	return false
}

// FuzzAttestations decodes and verifies arbitrary attestation bodies for
// one real package (sigstore@1.0.0). Whatever the bytes, the result is
// verified with facts and no error, or invalid with a sentinel and no facts;
// nothing panics.
func FuzzAttestations(f *testing.F) {
	for _, rel := range []string{
		"attestations/npm-cli/valid-sigstore-attestations.json",
		"attestations/pacote/valid-attestations.json",
		"attestations/slsa-verifier/gundam-visor-cli-v1-tag.tgz.json",
		"negative/pacote/invalid-attestations.json",
		"negative/pacote/mismatched-subject-digest-attestations.json",
		"negative/pacote/no-keyid-attestations.json",
		"negative/slsa-verifier-npm/npm-stmt-mismatch-pub-type.intoto.sigstore",
		"negative/npm-cli-libnpmpublish/bad-dsse-payload-bundle.json",
	} {
		f.Add(fixture(f, rel))
	}
	for _, s := range []string{``, `{}`, `{"attestations":[]}`, `{"attestations":[{"predicateType":"x","bundle":{}}]}`, `null`, `[]`} {
		f.Add([]byte(s))
	}
	v := embeddedVerifier(f)
	ra := realAttestations[0]
	integ := ra.integrity(f)
	f.Fuzz(func(t *testing.T, body []byte) {
		res := v.Attestations(AttestationInput{
			Name: ra.name, Version: ra.version, Integrity: integ, ServedIntegrity: integ,
			ExpectedPredicate: ra.predicate, Body: body,
		})
		switch res.Status {
		case StatusVerified:
			if res.Err != nil || res.Publish == nil || res.Provenance == nil {
				t.Fatalf("verified with err %v publish %v provenance %v", res.Err, res.Publish, res.Provenance)
			}
			if res.Publish.IntegratedTime.IsZero() || res.Provenance.SourceRepository == "" {
				t.Fatalf("verified with empty facts %+v %+v", res.Publish, res.Provenance)
			}
		case StatusInvalid:
			if res.Err == nil || res.Publish != nil || res.Provenance != nil {
				t.Fatalf("invalid with err %v publish %v provenance %v", res.Err, res.Publish, res.Provenance)
			}
			if !wrapsSentinel(res.Err) {
				t.Fatalf("error wraps no sentinel: %v", res.Err)
			}
		default:
			t.Fatalf("status %q", res.Status)
		}
	})
}

// FuzzParseNpmKeys parses arbitrary key documents: an error wraps a
// sentinel; success yields well-formed P-256 keys.
func FuzzParseNpmKeys(f *testing.F) {
	f.Add(fixture(f, "trust/sigstore-tuf-4.0.2/npm-keys.json"))
	f.Add(fixture(f, "trust/corepack/npm-keys-endpoint.json"))
	for _, s := range []string{``, `{}`, `{"keys":[]}`, `{"keys":[{}]}`, `{"keys":[{"keyid":"a","keytype":"ecdsa-sha2-nistp256","scheme":"ecdsa-sha2-nistp256","key":"","expires":1}]}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		keys, err := ParseNpmKeys(data)
		if err != nil {
			if keys != nil || !wrapsSentinel(err) {
				t.Fatalf("keys %v, err %v", keys, err)
			}
			return
		}
		if len(keys) == 0 {
			t.Fatal("no keys and no error")
		}
		for _, k := range keys {
			if k.KeyID == "" || k.Public == nil || k.Public.Curve != elliptic.P256() || k.Pinned {
				t.Fatalf("bad key %+v", k)
			}
			if k.Usage != "" && k.Usage != UsageSignatures && k.Usage != UsageAttestations {
				t.Fatalf("usage %q", k.Usage)
			}
			if !k.Start.IsZero() && !k.End.IsZero() && k.End.Before(k.Start) {
				t.Fatalf("window %s", k.window())
			}
		}
		// Keys whose keyid is their fingerprint make a keyring.
		var good []Key
		for _, k := range keys {
			if fp, err := Fingerprint(k.Public); err == nil && fp == k.KeyID {
				good = append(good, k)
			}
		}
		if _, err := NewKeyring(nil, good, listedTrusted); err != nil && !wrapsSentinel(err) {
			t.Fatalf("keyring: %v", err)
		}
	})
}

// FuzzBindIntegrity compares arbitrary integrity strings: a binding always
// carries a 64-byte sha512 or none, and errors wrap a sentinel.
func FuzzBindIntegrity(f *testing.F) {
	ra := realAttestations[0]
	integ := ra.integrity(f)
	f.Add(integ, integ, "")
	f.Add("sha1-"+integ[7:35], integ, sha1Hex([]byte("x")))
	f.Add("sha512-x sha1-y", "", "zz")
	f.Fuzz(func(t *testing.T, lock, served, shasum string) {
		b, err := bindIntegrity("p@1", lock, served, shasum, "")
		if err != nil {
			if !wrapsSentinel(err) {
				t.Fatalf("error wraps no sentinel: %v", err)
			}
			return
		}
		if b.sha512 != nil && len(b.sha512) != 64 {
			t.Fatalf("sha512 of %d bytes", len(b.sha512))
		}
	})
}
