package verify

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"runtime"
	"sync/atomic"
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

// parallel runs op with b.RunParallel and also reports the CPU time per
// operation ("cpu-ns/op", Linux only), which other processes on a busy
// machine do not inflate the way they inflate wall time.
func parallel(b *testing.B, op func() error) {
	b.Helper()
	b.ReportAllocs()
	b.ResetTimer()
	start := processCPU()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := op(); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.StopTimer()
	if haveCPUClock {
		b.ReportMetric(float64(processCPU()-start)/float64(b.N), "cpu-ns/op")
	}
}

// paired runs ours and floor alternately in the same loop (order swapped
// every iteration), each goroutine locked to its thread, and reports both
// one's mean wall time and thread CPU time per op and their ratios: noise
// from other processes hits both alike, and the CPU clock ignores it.
func paired(b *testing.B, ours, floor func() error) {
	b.Helper()
	var wall, cpu [2]atomic.Int64 // 0 = ours, 1 = floor
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		fns := [2]func() error{ours, floor}
		first := 0
		for pb.Next() {
			for k := range 2 {
				i := (first + k) % 2
				t0, c0 := time.Now(), threadCPU()
				if err := fns[i](); err != nil {
					b.Error(err)
					return
				}
				cpu[i].Add(int64(threadCPU() - c0))
				wall[i].Add(int64(time.Since(t0)))
			}
			first = 1 - first
		}
	})
	b.StopTimer()
	n := float64(b.N)
	b.ReportMetric(float64(wall[0].Load())/n, "provaudit-ns/op")
	b.ReportMetric(float64(wall[1].Load())/n, "floor-ns/op")
	b.ReportMetric(float64(wall[0].Load())/float64(wall[1].Load()), "ratio")
	if haveCPUClock {
		b.ReportMetric(float64(cpu[0].Load())/n, "provaudit-cpu-ns/op")
		b.ReportMetric(float64(cpu[1].Load())/n, "floor-cpu-ns/op")
		b.ReportMetric(float64(cpu[0].Load())/float64(cpu[1].Load()), "cpu-ratio")
	}
}

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
	bd, err := bindIntegrity(ra.name+"@"+ra.version, ra.integrity(b), "", "", "")
	if err != nil {
		b.Fatal(err)
	}
	return &subjectWant{pkg: ra.name + "@" + ra.version, name: ra.name, version: ra.version, purl: npmPurl(ra.name, ra.version), sha512: bd.sha512}
}

// provenanceOps returns provaudit's provenance path (bundle decode,
// statement and subject checks, sigstore-go verification, identity check,
// facts) and two floors: bare sigstore-go with the verifier built once with
// the same guarantees (SCT, tlog, integrated time), parsing the bundle and
// calling Verify with the artifact digest per op, with sigstore-go's default
// options and with WithoutStatementPredicate.
func provenanceOps(b *testing.B) (ours, floorDefault, floorNoPredicate func() error) {
	b.Helper()
	v := embeddedVerifier(b)
	_, raw, ra := benchBundles(b)
	w := benchWant(b, ra)
	ours = func() error {
		_, err := testProvenance(v, w, 1, ra.predicate, raw)
		return err
	}
	floor := func(opts ...sgverify.VerifierOption) func() error {
		tr, err := root.NewTrustedRootFromJSON(embeddedTrustedRoot)
		if err != nil {
			b.Fatal(err)
		}
		sv, err := sgverify.NewVerifier(tr, append([]sgverify.VerifierOption{
			sgverify.WithSignedCertificateTimestamps(1), sgverify.WithTransparencyLog(1), sgverify.WithIntegratedTimestamps(1),
		}, opts...)...)
		if err != nil {
			b.Fatal(err)
		}
		return func() error {
			var bd bundle.Bundle
			if err := bd.UnmarshalJSON(raw); err != nil {
				return err
			}
			_, err := sv.Verify(&bd, sgverify.NewPolicy(sgverify.WithArtifactDigest("sha512", w.sha512), sgverify.WithoutIdentitiesUnsafe()))
			return err
		}
	}
	return ours, floor(), floor(sgverify.WithoutStatementPredicate())
}

// publishOps returns provaudit's publish attestation path and two bare
// sigstore-go floors with the npm key as expiring key material in a
// root.TrustedMaterialCollection.
func publishOps(b *testing.B) (ours, floorDefault, floorNoPredicate func() error) {
	b.Helper()
	v := embeddedVerifier(b)
	raw, _, ra := benchBundles(b)
	w := benchWant(b, ra)
	ours = func() error {
		_, err := testPublish(v, w, 0, raw)
		return err
	}
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
	floor := func(opts ...sgverify.VerifierOption) func() error {
		sv, err := sgverify.NewVerifier(tm, append([]sgverify.VerifierOption{
			sgverify.WithTransparencyLog(1), sgverify.WithIntegratedTimestamps(1),
		}, opts...)...)
		if err != nil {
			b.Fatal(err)
		}
		return func() error {
			var bd bundle.Bundle
			if err := bd.UnmarshalJSON(raw); err != nil {
				return err
			}
			_, err := sv.Verify(&bd, sgverify.NewPolicy(sgverify.WithArtifactDigest("sha512", w.sha512), sgverify.WithKey()))
			return err
		}
	}
	return ours, floor(), floor(sgverify.WithoutStatementPredicate())
}

// signatureOps returns provaudit's registry signature check (integrity
// binding, key lookup, window) on a real signature, and the floor: bare
// SHA-256 + ecdsa.VerifyASN1 over the same message with the key parsed and
// the signature decoded once.
func signatureOps(b *testing.B) (ours, floor func() error) {
	b.Helper()
	v := embeddedVerifier(b)
	sv := realSignedVersions(b)[0]
	in := sv.input()
	ours = func() error {
		if res := v.RegistrySignature(in); res.Status != StatusVerified {
			return res.Err
		}
		return nil
	}
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
	floor = func() error {
		h := sha256.Sum256(msg)
		if !ecdsa.VerifyASN1(pub, h[:], der) {
			return errors.New("signature does not verify")
		}
		return nil
	}
	return ours, floor
}

// BenchmarkVerifyProvenance: provaudit's provenance path on a real bundle.
func BenchmarkVerifyProvenance(b *testing.B) {
	ours, _, _ := provenanceOps(b)
	parallel(b, ours)
}

// BenchmarkVerifyProvenanceFloor: the bare sigstore-go loop on the same
// bundle.
func BenchmarkVerifyProvenanceFloor(b *testing.B) {
	_, def, nopred := provenanceOps(b)
	b.Run("default", func(b *testing.B) { parallel(b, def) })
	b.Run("no-predicate", func(b *testing.B) { parallel(b, nopred) })
}

// BenchmarkVerifyProvenancePaired: both, alternately in one loop.
func BenchmarkVerifyProvenancePaired(b *testing.B) {
	ours, def, nopred := provenanceOps(b)
	b.Run("default", func(b *testing.B) { paired(b, ours, def) })
	b.Run("no-predicate", func(b *testing.B) { paired(b, ours, nopred) })
}

// BenchmarkVerifyPublish: provaudit's publish attestation path on a real
// bundle.
func BenchmarkVerifyPublish(b *testing.B) {
	ours, _, _ := publishOps(b)
	parallel(b, ours)
}

// BenchmarkVerifyPublishFloor: the bare sigstore-go loop on the same bundle.
func BenchmarkVerifyPublishFloor(b *testing.B) {
	_, def, nopred := publishOps(b)
	b.Run("default", func(b *testing.B) { parallel(b, def) })
	b.Run("no-predicate", func(b *testing.B) { parallel(b, nopred) })
}

// BenchmarkVerifyPublishPaired: both, alternately in one loop.
func BenchmarkVerifyPublishPaired(b *testing.B) {
	ours, def, nopred := publishOps(b)
	b.Run("default", func(b *testing.B) { paired(b, ours, def) })
	b.Run("no-predicate", func(b *testing.B) { paired(b, ours, nopred) })
}

// BenchmarkRegistrySignature: provaudit's registry signature check.
func BenchmarkRegistrySignature(b *testing.B) {
	ours, _ := signatureOps(b)
	parallel(b, ours)
}

// BenchmarkRegistrySignatureFloor: bare SHA-256 + ecdsa.VerifyASN1.
func BenchmarkRegistrySignatureFloor(b *testing.B) {
	_, floor := signatureOps(b)
	parallel(b, floor)
}

// BenchmarkRegistrySignaturePaired: both, alternately in one loop.
func BenchmarkRegistrySignaturePaired(b *testing.B) {
	ours, floor := signatureOps(b)
	paired(b, ours, floor)
}

// BenchmarkAttestations: a whole real attestations response (publish +
// provenance), as the audit calls it.
func BenchmarkAttestations(b *testing.B) {
	v := embeddedVerifier(b)
	_, _, ra := benchBundles(b)
	in := ra.input(b)
	parallel(b, func() error {
		if res := v.Attestations(in); res.Status != StatusVerified {
			return res.Err
		}
		return nil
	})
}

// BenchmarkNewVerifier: building trust, keyring and verifiers, once per run.
func BenchmarkNewVerifier(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		tr, err := NewTrust(TrustOptions{})
		if err != nil {
			b.Fatal(err)
		}
		kr, err := NewKeyring(tr.PinnedKeys(), nil, listedTrusted)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := NewVerifier(tr, kr, WithNow(func() time.Time { return testNow })); err != nil {
			b.Fatal(err)
		}
	}
}
