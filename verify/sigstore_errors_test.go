package verify

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"sort"
	"testing"
	"time"

	"github.com/sigstore/sigstore-go/pkg/root"
	sgverify "github.com/sigstore/sigstore-go/pkg/verify"

	"github.com/provaudit/provaudit/internal/registrytest/fakesigstore"
)

// failureTrigger makes real sigstore-go fail one way and says which row of
// sigstoreFailures must recognise the error.
type failureTrigger struct {
	name string
	kind string
	raw  func(t *testing.T) error
}

// TestSigstoreFailureTable runs every trigger against real sigstore-go,
// checks that the row it names recognises the error, and that every phrase
// of every row is produced by some trigger: a sigstore-go upgrade that
// rewords a message fails here, not in a verdict.
func TestSigstoreFailureTable(t *testing.T) {
	covered := map[string]bool{}
	for _, tr := range sigstoreFailureTriggers(t) {
		t.Run(tr.name, func(t *testing.T) {
			err := tr.raw(t)
			if err == nil {
				t.Fatal("sigstore-go verified it")
			}
			f, phrase := sigstoreFailureOf(err)
			got := "(none)"
			if f != nil {
				got = f.kind
			}
			if got != tr.kind {
				t.Fatalf("recognised as %s, want %s: %v", got, tr.kind, err)
			}
			covered[f.kind+": "+phrase] = true
		})
	}
	var missing []string
	for _, f := range sigstoreFailures {
		want := f.phrases
		if f.target != nil {
			want = append([]string{""}, want...)
		}
		for _, p := range want {
			if !covered[f.kind+": "+p] {
				missing = append(missing, f.kind+": "+p)
			}
		}
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Fatalf("phrases no trigger produced (reworded by sigstore-go, or unreachable: drop them): %q", missing)
	}
}

func sigstoreFailureTriggers(t *testing.T) []failureTrigger {
	g := generated(t)
	integ := genIntegrity("fail", "1.0.0")
	body := genAttest(t, g.fs, fakesigstore.Attest{Name: "fail", Version: "1.0.0", Integrity: integ, NpmKey: 1})
	b, err := bindIntegrity("fail@1.0.0", integ, "", "", "")
	if err != nil {
		t.Fatal(err)
	}
	w := &subjectWant{pkg: "fail@1.0.0", name: "fail", version: "1.0.0", purl: npmPurl("fail", "1.0.0"), sha512: b.sha512}
	bundleOf := func(t *testing.T, body []byte, which int) *parsedBundle {
		t.Helper()
		atts, err := parseAttestations(w.pkg, body)
		if err != nil {
			t.Fatal(err)
		}
		p, _ := decodeBundle(w, "test", atts[which].PredicateType, atts[which].Bundle)
		if p == nil {
			t.Fatal("bundle does not decode")
		}
		return p
	}
	verifyWith := func(v *Verifier, which int, digest []byte) func(p *parsedBundle) error {
		return func(p *parsedBundle) error {
			if which == 0 {
				_, err := v.publish.Verify(p.bundle, sgverify.NewPolicy(sgverify.WithArtifactDigest("sha512", digest), sgverify.WithKey()))
				return err
			}
			_, err := v.provenance.Verify(p.bundle, sgverify.NewPolicy(sgverify.WithArtifactDigest("sha512", digest), sgverify.WithoutIdentitiesUnsafe()))
			return err
		}
	}
	tampered := func(which int, part fakesigstore.Part) func(t *testing.T) error {
		return func(t *testing.T) error {
			tb, err := fakesigstore.TamperAttestation(body, which, part)
			if err != nil {
				t.Fatal(err)
			}
			return verifyWith(g.v, which, w.sha512)(bundleOf(t, tb, which))
		}
	}
	conformance := func(name string) func(t *testing.T) error {
		return func(t *testing.T) error {
			err := runConformanceCase(t, name)
			var be *bundleError
			if !errors.As(err, &be) {
				t.Fatalf("%s: not a sigstore-go failure: %v", name, err)
			}
			return be.cause
		}
	}
	return []failureTrigger{
		{"publish key not valid at log time", "time-outside-validity", func(t *testing.T) error {
			// A publish verifier whose npm key window excludes the entry's
			// time, without provaudit's own pre-check.
			kr, err := NewKeyring(nil, nil, KeyringOptions{Registry: KeysNone})
			if err != nil {
				t.Fatal(err)
			}
			keys, err := ParseNpmKeys(g.fs.NpmKeys())
			if err != nil {
				t.Fatal(err)
			}
			for _, k := range keys {
				if k.KeyID == g.fs.NpmKeyID(1) {
					k.Start, k.End = testNow.AddDate(-3, 0, 0), testNow.AddDate(-2, 0, 0)
					k.Trusted = true
					kr.keys = append(kr.keys, k)
					kr.byID[k.KeyID] = []int{len(kr.keys) - 1}
				}
			}
			v, err := NewVerifier(&Trust{root: g.v.trust.root}, kr, WithNow(func() time.Time { return testNow }))
			if err != nil {
				t.Fatal(err)
			}
			return verifyWith(v, 0, w.sha512)(bundleOf(t, body, 0))
		}},
		{"conformance integrated-time-in-future", "time-outside-validity", conformance("integrated-time-in-future_fail")},
		{"key hint names another key", "log-signer-mismatch", tampered(0, fakesigstore.TamperKeyHint)},
		{"certificate altered", "log-signer-mismatch", tampered(1, fakesigstore.TamperCertificate)},
		{"publish key unknown to the trusted material", "log-signer-mismatch", func(t *testing.T) error {
			kr, err := NewKeyring(nil, nil, KeyringOptions{Registry: KeysNone})
			if err != nil {
				t.Fatal(err)
			}
			v, err := NewVerifier(&Trust{root: g.v.trust.root}, kr, WithNow(func() time.Time { return testNow }))
			if err != nil {
				t.Fatal(err)
			}
			return verifyWith(v, 0, w.sha512)(bundleOf(t, body, 0))
		}},
		{"publish signature altered", "log-envelope-mismatch", tampered(0, fakesigstore.TamperSignature)},
		{"provenance payload altered", "log-envelope-mismatch", tampered(1, fakesigstore.TamperPayload)},
		{"signed entry timestamp altered", "log", tampered(0, fakesigstore.TamperSET)},
		{"inclusion proof altered", "log", tampered(1, fakesigstore.TamperInclusionProof)},
		{"checkpoint signature altered", "log", tampered(1, fakesigstore.TamperCheckpoint)},
		{"conformance bundle-from-wrong-instance", "log", conformance("bundle-from-wrong-instance_fail")},
		{"conformance intoto-tsa-timestamp-outside-cert-validity", "certificate", conformance("intoto-tsa-timestamp-outside-cert-validity_fail")},
		{"provenance without a CT log to check its SCT", "certificate", func(t *testing.T) error {
			var tr map[string]json.RawMessage
			if err := json.Unmarshal(g.fs.TrustedRoot(), &tr); err != nil {
				t.Fatal(err)
			}
			tr["ctlogs"] = json.RawMessage("[]")
			noCT, err := json.Marshal(tr)
			if err != nil {
				t.Fatal(err)
			}
			rt, err := root.NewTrustedRootFromJSON(noCT)
			if err != nil {
				t.Fatal(err)
			}
			kr, err := NewKeyring(nil, nil, KeyringOptions{Registry: KeysNone})
			if err != nil {
				t.Fatal(err)
			}
			v, err := NewVerifier(&Trust{root: rt}, kr, WithNow(func() time.Time { return testNow }))
			if err != nil {
				t.Fatal(err)
			}
			return verifyWith(v, 1, w.sha512)(bundleOf(t, body, 1))
		}},
		{"provenance checked against another digest", "digest", func(t *testing.T) error {
			other, err := bindIntegrity("x", genIntegrity("other", "1.0.0"), "", "", "")
			if err != nil {
				t.Fatal(err)
			}
			return verifyWith(g.v, 1, other.sha512)(bundleOf(t, body, 1))
		}},
		{"bundle checked against another artifact (several digests)", "digest", func(t *testing.T) error {
			err := VerifyBundle(nil, BundleInput{Bundle: fixture(t, "bundles/gh-cli/reusable-workflow-attestation.sigstore.json"), Artifact: fixture(t, "bundles/gh-cli/custom-issuer-artifact"),
				Identity: &Identity{"https://github.com/github/artifact-attestations-workflows/.github/workflows/attest.yml@09b495c3f12c7881b3cc17209a327792065c1a1d", IssuerGitHubActions}})
			var be *bundleError
			if !errors.As(err, &be) {
				t.Fatalf("not a sigstore-go failure: %v", err)
			}
			return be.cause
		}},
		{"provenance of another identity", "identity", func(t *testing.T) error {
			id, err := sgverify.NewShortCertificateIdentity(IssuerGitHubActions, "", "https://github.com/someone/else/.github/workflows/x.yml@refs/heads/main", "")
			if err != nil {
				t.Fatal(err)
			}
			_, err = g.v.provenance.Verify(bundleOf(t, body, 1).bundle, sgverify.NewPolicy(sgverify.WithArtifactDigest("sha512", w.sha512), sgverify.WithCertificateIdentity(id)))
			return err
		}},
		{"conformance wrong-material", "signature", conformance("wrong-material_fail")},
		{"DSSE envelope with two signatures", "dsse-signature-count", func(t *testing.T) error {
			err := VerifyBundle(nil, BundleInput{Bundle: fixture(t, "bundles/sigstore-go/dsse-2sigs.sigstore.json"),
				ArtifactDigest: hexDigest(t, "bbfd372fc9beeb777fe35d05bb10c0c70a9733d366a75fed7dd18866c7391de3ee7e88ba74dd47abf3e15c845e547fcf0e5c3da80854c751554224d3a6d4e55f"), DigestAlgorithm: "sha512",
				Identity: &Identity{"brian@dehamer.com", "https://github.com/login/oauth"}})
			var be *bundleError
			if !errors.As(err, &be) {
				t.Fatalf("not a sigstore-go failure: %v", err)
			}
			return be.cause
		}},
	}
}

// runConformanceCase runs one sigstore-conformance bundle-verify case as
// TestConformanceBundleVerify does and returns VerifyBundle's error.
func runConformanceCase(t *testing.T, name string) error {
	t.Helper()
	base := filepath.Join("..", "testdata", "negative", "sigstore-conformance")
	dir := filepath.Join(base, "bundle-verify", name)
	read := func(file string) []byte {
		b, err := os.ReadFile(filepath.Join(dir, file))
		if errors.Is(err, os.ErrNotExist) {
			return nil
		}
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	artifact := read("artifact")
	if artifact == nil {
		var err error
		if artifact, err = os.ReadFile(filepath.Join(base, "a.txt")); err != nil {
			t.Fatal(err)
		}
	}
	in := BundleInput{Bundle: read("bundle.sigstore.json"), Artifact: artifact, PublicKey: read("key.pub")}
	if in.PublicKey == nil {
		in.Identity = &Identity{SubjectAlternativeName: conformanceIdentity, Issuer: conformanceIssuer}
	}
	return VerifyBundle(read("trusted_root.json"), in)
}
