package verify

import (
	"strings"
	"testing"
)

// Digest of @laurentsimon/provenance-npm-test@1.0.0, the package of the
// slsa-verifier .intoto.sigstore files (no tarball exists; this is the
// subject digest of the valid response).
const provenanceNpmTest100 = "29d19f26233f4441328412b34fd73ed104ecfef62f14097890cccf7455b521b65c5acff851849faa85c85395aa22d401436f01f3afb61b19c780e906c88c7f20"

// TestNegativeAttestations runs every npm attestations response in
// testdata/negative (MANIFEST section 6a) and checks it fails with the
// reason its source project expects.
func TestNegativeAttestations(t *testing.T) {
	sigstore040 := "tarballs-npm-pack/sigstore-0.4.0.tgz"
	tests := []struct {
		file          string
		name, version string
		tarball       string // lockfile integrity from this tarball...
		digestHex     string // ...or from this digest
		predicate     string
		want          []error
	}{
		// pacote: EATTESTATIONVERIFY, publish DSSE signature altered (to
		// text that is not even base64, so the bundle does not parse).
		{"negative/pacote/invalid-attestations.json", "sigstore", "0.4.0", sigstore040, "", PredicateSLSAv02,
			[]error{ErrMalformed}},
		// Publish subject without digest.
		{"negative/pacote/malformed-subject-attestations.json", "sigstore", "0.4.0", sigstore040, "", PredicateSLSAv02,
			[]error{ErrSubjectDigest, ErrBundleInvalid}},
		// pacote: EMISSINGSIGNATUREKEY: the provenance envelope signature
		// names a keyid no key has.
		{"negative/pacote/mismatched-keyid-attestations.json", "sigstore", "0.4.0", sigstore040, "", PredicateSLSAv02,
			[]error{ErrUnknownKey, ErrSignatureInvalid}},
		// pacote: EATTESTATIONSUBJECT (digest).
		{"negative/pacote/mismatched-subject-digest-attestations.json", "sigstore", "0.4.0", sigstore040, "", PredicateSLSAv02,
			[]error{ErrSubjectDigest}},
		// pacote: EATTESTATIONSUBJECT (name).
		{"negative/pacote/mismatched-subject-name-attestations.json", "sigstore", "0.4.0", sigstore040, "", PredicateSLSAv02,
			[]error{ErrSubjectName}},
		// pacote accepts it without registry keys; its provenance DSSE
		// signature does not verify, and that is what must fail here.
		{"negative/pacote/no-keyid-attestations.json", "sigstore", "0.4.0", sigstore040, "", PredicateSLSAv02,
			[]error{ErrBundleInvalid, ErrSignatureInvalid}},
		// pacote: EATTESTATIONVERIFY, payload does not match the tlog entry
		// (the payload type was changed).
		{"negative/pacote/unsupported-attestations.json", "sigstore", "0.4.0", sigstore040, "", PredicateSLSAv02,
			[]error{ErrMalformed, ErrBundleInvalid}},

		// slsa-verifier: tampered signatures on real data, real tarballs.
		{"negative/slsa-verifier-npm/gundam-visor-cli-v1-tag-invalidsigprov.tgz.json", "gundam-visor", "1.0.1",
			"negative/slsa-verifier-npm/gundam-visor-cli-v1-tag-invalidsigprov.tgz", "", PredicateSLSAv1,
			[]error{ErrBundleInvalid, ErrSignatureInvalid}},
		{"negative/slsa-verifier-npm/gundam-visor-cli-v1-tag-invalidsigpub.tgz.json", "gundam-visor", "1.0.1",
			"negative/slsa-verifier-npm/gundam-visor-cli-v1-tag-invalidsigpub.tgz", "", PredicateSLSAv1,
			[]error{ErrBundleInvalid, ErrSignatureInvalid}},
		{"negative/slsa-verifier-npm/provenance-npm-test-cli-v02-prega-invalidsigprov.tgz.json", "@laurentsimon/provenance-npm-test", "1.0.3",
			"negative/slsa-verifier-npm/provenance-npm-test-cli-v02-prega-invalidsigprov.tgz", "", PredicateSLSAv02,
			[]error{ErrBundleInvalid, ErrSignatureInvalid}},
		{"negative/slsa-verifier-npm/provenance-npm-test-cli-v02-prega-invalidsigpub.tgz.json", "@laurentsimon/provenance-npm-test", "1.0.3",
			"negative/slsa-verifier-npm/provenance-npm-test-cli-v02-prega-invalidsigpub.tgz", "", PredicateSLSAv02,
			[]error{ErrBundleInvalid, ErrSignatureInvalid}},
		{"negative/slsa-verifier-npm/provenance-npm-test-ossf-invalidsigprov.tgz.json", "@laurentsimon/provenance-npm-test", "1.0.5",
			"negative/slsa-verifier-npm/provenance-npm-test-ossf-invalidsigprov.tgz", "", PredicateSLSAv02,
			[]error{ErrBundleInvalid, ErrSignatureInvalid}},
		{"negative/slsa-verifier-npm/provenance-npm-test-ossf-invalidsigpub.tgz.json", "@laurentsimon/provenance-npm-test", "1.0.5",
			"negative/slsa-verifier-npm/provenance-npm-test-ossf-invalidsigpub.tgz", "", PredicateSLSAv02,
			[]error{ErrBundleInvalid, ErrSignatureInvalid}},
		{"negative/slsa-verifier-npm/supreme-googles-cli-v02-tag-invalidsigprov.tgz.json", "@trishankatdatadog/supreme-goggles", "1.0.5",
			"negative/slsa-verifier-npm/supreme-googles-cli-v02-tag-invalidsigprov.tgz", "", PredicateSLSAv02,
			[]error{ErrBundleInvalid, ErrSignatureInvalid}},
		{"negative/slsa-verifier-npm/supreme-googles-cli-v02-tag-invalidsigpub.tgz.json", "@trishankatdatadog/supreme-goggles", "1.0.5",
			"negative/slsa-verifier-npm/supreme-googles-cli-v02-tag-invalidsigpub.tgz", "", PredicateSLSAv02,
			[]error{ErrBundleInvalid, ErrSignatureInvalid}},

		// slsa-verifier verifiers/internal/gha testdata.
		{"negative/slsa-verifier-npm/npm-att-mismatch-prov-payloadtype.intoto.sigstore", "@laurentsimon/provenance-npm-test", "1.0.0",
			"", provenanceNpmTest100, PredicateSLSAv02, []error{ErrMalformed}},
		{"negative/slsa-verifier-npm/npm-att-mismatch-prov-predicatetype.intoto.sigstore", "@laurentsimon/provenance-npm-test", "1.0.0",
			"", provenanceNpmTest100, PredicateSLSAv02, []error{ErrPredicateType}},
		{"negative/slsa-verifier-npm/npm-att-mismatch-pub-payloadtype.intoto.sigstore", "@laurentsimon/provenance-npm-test", "1.0.0",
			"", provenanceNpmTest100, PredicateSLSAv02, []error{ErrMalformed}},
		{"negative/slsa-verifier-npm/npm-att-mismatch-pub-predicatetype.intoto.sigstore", "@laurentsimon/provenance-npm-test", "1.0.0",
			"", provenanceNpmTest100, PredicateSLSAv02, []error{ErrPredicateType}},
		{"negative/slsa-verifier-npm/npm-att-prov-invalid-signature.intoto.sigstore", "@laurentsimon/provenance-npm-test", "1.0.0",
			"", provenanceNpmTest100, PredicateSLSAv02, []error{ErrBundleInvalid, ErrSignatureInvalid}},
		{"negative/slsa-verifier-npm/npm-att-publish-invalid-signature.intoto.sigstore", "@laurentsimon/provenance-npm-test", "1.0.0",
			"", provenanceNpmTest100, PredicateSLSAv02, []error{ErrBundleInvalid, ErrSignatureInvalid}},
		{"negative/slsa-verifier-npm/npm-att-publish-nodigest.intoto.sigstore", "@laurentsimon/provenance-npm-test", "1.0.0",
			"", provenanceNpmTest100, PredicateSLSAv02, []error{ErrSubjectDigest}},
		{"negative/slsa-verifier-npm/npm-att-publish-nosubjects.intoto.sigstore", "@laurentsimon/provenance-npm-test", "1.0.0",
			"", provenanceNpmTest100, PredicateSLSAv02, []error{ErrSubjectName}},
		{"negative/slsa-verifier-npm/npm-stmt-mismatch-prov-predicatetype.intoto.sigstore", "@laurentsimon/provenance-npm-test", "1.0.0",
			"", provenanceNpmTest100, PredicateSLSAv02, []error{ErrPredicateType}},
		{"negative/slsa-verifier-npm/npm-stmt-mismatch-prov-type.intoto.sigstore", "@laurentsimon/provenance-npm-test", "1.0.0",
			"", provenanceNpmTest100, PredicateSLSAv02, []error{ErrMalformed}},
		{"negative/slsa-verifier-npm/npm-stmt-mismatch-pub-predicatetype.intoto.sigstore", "@laurentsimon/provenance-npm-test", "1.0.0",
			"", provenanceNpmTest100, PredicateSLSAv02, []error{ErrPredicateType}},
		{"negative/slsa-verifier-npm/npm-stmt-mismatch-pub-type.intoto.sigstore", "@laurentsimon/provenance-npm-test", "1.0.0",
			"", provenanceNpmTest100, PredicateSLSAv02, []error{ErrMalformed}},
	}
	v := embeddedVerifier(t)
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			integ := ""
			if tt.tarball != "" {
				integ = sriOf(fixture(t, tt.tarball))
			} else {
				integ = sriFromHex(t, tt.digestHex)
			}
			res := v.Attestations(AttestationInput{
				Name: tt.name, Version: tt.version, Integrity: integ, ServedIntegrity: integ,
				ExpectedPredicate: tt.predicate, Body: fixture(t, tt.file),
			})
			if res.Status != StatusInvalid || res.Publish != nil || res.Provenance != nil {
				t.Fatalf("status %s publish %v provenance %v, want invalid without facts", res.Status, res.Publish, res.Provenance)
			}
			wantErrs(t, res.Err, tt.want...)
			if !strings.Contains(res.Err.Error(), tt.name+"@"+tt.version) {
				t.Errorf("error %q does not name the package", res.Err)
			}
			t.Log(res.Err)
		})
	}
}
