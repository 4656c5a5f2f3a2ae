package verify

import (
	"strings"
	"testing"

	"github.com/provaudit/provaudit/internal/registrytest"
)

// TestNegativeAttestations runs every npm attestations response in
// testdata/negative (MANIFEST section 6a) and checks it fails with the
// reason its source project expects.
func TestNegativeAttestations(t *testing.T) {
	// What each must fail with, as its source project expects (MANIFEST
	// section 6a).
	want := map[string][]error{
		// pacote: EATTESTATIONVERIFY, publish DSSE signature altered (to
		// text that is not even base64, so the bundle does not parse).
		"negative/pacote/invalid-attestations.json": {ErrMalformed},
		// Publish subject without digest.
		"negative/pacote/malformed-subject-attestations.json": {ErrSubjectDigest, ErrBundleInvalid},
		// pacote: EMISSINGSIGNATUREKEY: the provenance envelope signature
		// names a keyid no key has.
		"negative/pacote/mismatched-keyid-attestations.json": {ErrUnknownKey, ErrSignatureInvalid},
		// pacote: EATTESTATIONSUBJECT (digest, name).
		"negative/pacote/mismatched-subject-digest-attestations.json": {ErrSubjectDigest},
		"negative/pacote/mismatched-subject-name-attestations.json":   {ErrSubjectName},
		// pacote accepts it without registry keys; its provenance DSSE
		// signature does not verify, and that is what must fail here.
		"negative/pacote/no-keyid-attestations.json": {ErrBundleInvalid, ErrSignatureInvalid},
		// pacote: EATTESTATIONVERIFY, payload does not match the tlog entry
		// (the payload type was changed).
		"negative/pacote/unsupported-attestations.json": {ErrMalformed, ErrBundleInvalid},
		// slsa-verifier verifiers/internal/gha testdata.
		"negative/slsa-verifier-npm/npm-att-mismatch-prov-payloadtype.intoto.sigstore":    {ErrMalformed},
		"negative/slsa-verifier-npm/npm-att-mismatch-prov-predicatetype.intoto.sigstore":  {ErrPredicateType},
		"negative/slsa-verifier-npm/npm-att-mismatch-pub-payloadtype.intoto.sigstore":     {ErrMalformed},
		"negative/slsa-verifier-npm/npm-att-mismatch-pub-predicatetype.intoto.sigstore":   {ErrPredicateType},
		"negative/slsa-verifier-npm/npm-att-prov-invalid-signature.intoto.sigstore":       {ErrBundleInvalid, ErrSignatureInvalid},
		"negative/slsa-verifier-npm/npm-att-publish-invalid-signature.intoto.sigstore":    {ErrBundleInvalid, ErrSignatureInvalid},
		"negative/slsa-verifier-npm/npm-att-publish-nodigest.intoto.sigstore":             {ErrSubjectDigest},
		"negative/slsa-verifier-npm/npm-att-publish-nosubjects.intoto.sigstore":           {ErrSubjectName},
		"negative/slsa-verifier-npm/npm-stmt-mismatch-prov-predicatetype.intoto.sigstore": {ErrPredicateType},
		"negative/slsa-verifier-npm/npm-stmt-mismatch-prov-type.intoto.sigstore":          {ErrMalformed},
		"negative/slsa-verifier-npm/npm-stmt-mismatch-pub-predicatetype.intoto.sigstore":  {ErrPredicateType},
		"negative/slsa-verifier-npm/npm-stmt-mismatch-pub-type.intoto.sigstore":           {ErrMalformed},
	}
	// slsa-verifier: tampered signatures on real data, real tarballs.
	for _, f := range registrytest.NegativeFixtures {
		if strings.HasSuffix(f.File, ".tgz.json") {
			want[f.File] = []error{ErrBundleInvalid, ErrSignatureInvalid}
		}
	}
	v := embeddedVerifier(t)
	if len(want) != len(registrytest.NegativeFixtures) {
		t.Fatalf("%d expectations for %d negative fixtures", len(want), len(registrytest.NegativeFixtures))
	}
	for _, tt := range registrytest.NegativeFixtures {
		t.Run(tt.File, func(t *testing.T) {
			integ := ""
			if tt.Tarball != "" {
				integ = sriOf(fixture(t, tt.Tarball))
			} else {
				integ = sriFromHex(t, tt.DigestHex)
			}
			res := v.Attestations(AttestationInput{
				Name: tt.Name, Version: tt.Version, Integrity: integ, ServedIntegrity: integ,
				ExpectedPredicate: tt.Predicate, Body: fixture(t, tt.File),
			})
			if res.Status != StatusInvalid || res.Publish != nil || res.Provenance != nil {
				t.Fatalf("status %s publish %v provenance %v, want invalid without facts", res.Status, res.Publish, res.Provenance)
			}
			wantErrs(t, res.Err, want[tt.File]...)
			if !strings.Contains(res.Err.Error(), tt.Name+"@"+tt.Version) {
				t.Errorf("error %q does not name the package", res.Err)
			}
			t.Log(res.Err)
		})
	}
}
