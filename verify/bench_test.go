package verify

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"testing"
	"time"

	"github.com/sigstore/sigstore-go/pkg/bundle"
	"github.com/sigstore/sigstore-go/pkg/root"
	sgverify "github.com/sigstore/sigstore-go/pkg/verify"
	"github.com/sigstore/sigstore/pkg/signature"
)

// Benchmarks on real data, each next to a "floor": the minimal loop a
// sigstore-go (or crypto/ecdsa) user writes for the same input and the same
// guarantees, measured in the same run. Run:
//
//	go test -run='^$' -bench=. -benchmem -cpu 1,2 ./verify
//
// Every benchmark runs its loop with b.RunParallel, so -cpu shows scaling.

// benchBundles returns the real gundam-visor bundles (bundle v0.2, SET and
// inclusion proof, SLSA v1): publish, provenance, and the lockfile sha512.
func benchBundles(b *testing.B) (publish, provenance []byte, ra realAttestation) {
	b.Helper()
	for _, r := range realAttestations {
		if r.predicate == PredicateSLSAv1 {
			ra = r
		}
	}
	var doc struct {
		Attestations []rawAttestation `json:"attestations"`
	}
	if err := json.Unmarshal(fixture(b, ra.file), &doc); err != nil {
		b.Fatal(err)
	}
	for _, a := range doc.Attestations {
		if a.PredicateType == PredicatePublish {
			publish = a.Bundle
		} else {
			provenance = a.Bundle
		}
	}
	return publish, provenance, ra
}

func benchWant(b *testing.B, ra realAttestation) *subjectWant {
	b.Helper()
	bd, err := bindIntegrity(ra.name+"@"+ra.version, ra.integrity(b), "", "")
	if err != nil {
		b.Fatal(err)
	}
	return &subjectWant{pkg: ra.name + "@" + ra.version, name: ra.name, version: ra.version, purl: npmPurl(ra.name, ra.version), sha512: bd.sha512}
}

// BenchmarkVerifyProvenance: provaudit's provenance path (bundle decode,
// statement and subject checks, sigstore-go verification, identity check,
// facts).
func BenchmarkVerifyProvenance(b *testing.B) {
	v := embeddedVerifier(b)
	_, raw, ra := benchBundles(b)
	w := benchWant(b, ra)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := v.verifyProvenance(w, 1, ra.predicate, raw); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkVerifyProvenanceFloor: bare sigstore-go, verifier built once with
// the same guarantees (SCT, tlog, integrated time), default options; per op
// only the bundle parse and Verify with the artifact digest.
func BenchmarkVerifyProvenanceFloor(b *testing.B) {
	_, raw, ra := benchBundles(b)
	w := benchWant(b, ra)
	for _, tc := range []struct {
		name string
		opts []sgverify.VerifierOption
	}{
		{"default", nil},
		{"no-predicate", []sgverify.VerifierOption{sgverify.WithoutStatementPredicate()}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			tr, err := root.NewTrustedRootFromJSON(embeddedTrustedRoot)
			if err != nil {
				b.Fatal(err)
			}
			sv, err := sgverify.NewVerifier(tr, append([]sgverify.VerifierOption{
				sgverify.WithSignedCertificateTimestamps(1), sgverify.WithTransparencyLog(1), sgverify.WithIntegratedTimestamps(1),
			}, tc.opts...)...)
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					var bd bundle.Bundle
					if err := bd.UnmarshalJSON(raw); err != nil {
						b.Error(err)
						return
					}
					if _, err := sv.Verify(&bd, sgverify.NewPolicy(sgverify.WithArtifactDigest("sha512", w.sha512), sgverify.WithoutIdentitiesUnsafe())); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}

// BenchmarkVerifyPublish: provaudit's publish attestation path.
func BenchmarkVerifyPublish(b *testing.B) {
	v := embeddedVerifier(b)
	raw, _, ra := benchBundles(b)
	w := benchWant(b, ra)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := v.verifyPublish(w, 0, raw); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkVerifyPublishFloor: bare sigstore-go with the npm key as
// expiring key material in a root.TrustedMaterialCollection.
func BenchmarkVerifyPublishFloor(b *testing.B) {
	raw, _, ra := benchBundles(b)
	w := benchWant(b, ra)
	for _, tc := range []struct {
		name string
		opts []sgverify.VerifierOption
	}{
		{"default", nil},
		{"no-predicate", []sgverify.VerifierOption{sgverify.WithoutStatementPredicate()}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			tr, err := root.NewTrustedRootFromJSON(embeddedTrustedRoot)
			if err != nil {
				b.Fatal(err)
			}
			keys, err := ParseNpmKeys(embeddedNpmKeys)
			if err != nil {
				b.Fatal(err)
			}
			m := map[string]*root.ExpiringKey{}
			for _, k := range keys {
				if k.Usage == UsageAttestations {
					sv, err := signature.LoadECDSAVerifier(k.Public, crypto.SHA256)
					if err != nil {
						b.Fatal(err)
					}
					m[k.KeyID] = root.NewExpiringKey(sv, k.Start, k.End)
				}
			}
			tm := root.TrustedMaterialCollection{tr, root.NewTrustedPublicKeyMaterialFromMapping(m)}
			sv, err := sgverify.NewVerifier(tm, append([]sgverify.VerifierOption{
				sgverify.WithTransparencyLog(1), sgverify.WithIntegratedTimestamps(1),
			}, tc.opts...)...)
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					var bd bundle.Bundle
					if err := bd.UnmarshalJSON(raw); err != nil {
						b.Error(err)
						return
					}
					if _, err := sv.Verify(&bd, sgverify.NewPolicy(sgverify.WithArtifactDigest("sha512", w.sha512), sgverify.WithKey())); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}

// BenchmarkAttestations: a whole real attestations response (publish +
// provenance), as the audit calls it.
func BenchmarkAttestations(b *testing.B) {
	v := embeddedVerifier(b)
	_, _, ra := benchBundles(b)
	in := ra.input(b)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if res := v.Attestations(in); res.Status != StatusVerified {
				b.Error(res.Err)
				return
			}
		}
	})
}

// BenchmarkRegistrySignature: a real registry signature (publish time
// known), with the integrity binding and key lookup.
func BenchmarkRegistrySignature(b *testing.B) {
	v := embeddedVerifier(b)
	sv := realSignedVersions(b)[0]
	in := sv.input()
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if res := v.RegistrySignature(in); res.Status != StatusVerified {
				b.Error(res.Err)
				return
			}
		}
	})
}

// BenchmarkRegistrySignatureFloor: bare SHA-256 + ecdsa.VerifyASN1 over the
// same message with the key parsed and the signature decoded once.
func BenchmarkRegistrySignatureFloor(b *testing.B) {
	sv := realSignedVersions(b)[0]
	keys, err := ParseNpmKeys(embeddedNpmKeys)
	if err != nil {
		b.Fatal(err)
	}
	var pub *ecdsa.PublicKey
	for _, k := range keys {
		if k.KeyID == sv.sigs[0].KeyID {
			pub = k.Public
		}
	}
	der, err := base64.StdEncoding.DecodeString(sv.sigs[0].Sig)
	if err != nil {
		b.Fatal(err)
	}
	msg := []byte(sv.name + "@" + sv.version + ":" + sv.integrity)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			h := sha256.Sum256(msg)
			if !ecdsa.VerifyASN1(pub, h[:], der) {
				b.Error("signature does not verify")
				return
			}
		}
	})
}

// BenchmarkNewVerifier: building trust, keyring and verifiers once per run.
func BenchmarkNewVerifier(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		tr, err := NewTrust(TrustOptions{})
		if err != nil {
			b.Fatal(err)
		}
		kr, err := NewKeyring(tr.PinnedKeys(), nil, true)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := NewVerifier(tr, kr, WithNow(func() time.Time { return testNow })); err != nil {
			b.Fatal(err)
		}
	}
}
