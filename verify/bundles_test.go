package verify

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"testing"
)

// wantFor builds the subject expectation of name@version bound to tarball.
func wantFor(t testing.TB, name, version, tarball string) *subjectWant {
	t.Helper()
	b, err := bindIntegrity(name+"@"+version, sriOf(fixture(t, tarball)), "", "", "")
	if err != nil {
		t.Fatal(err)
	}
	return &subjectWant{pkg: name + "@" + version, name: name, version: version, purl: npmPurl(name, version), sha512: b.sha512}
}

// jsonlLines splits a .jsonl fixture into its bundles.
func jsonlLines(t testing.TB, rel string) [][]byte {
	t.Helper()
	var out [][]byte
	for _, ln := range bytes.Split(fixture(t, rel), []byte("\n")) {
		if len(bytes.TrimSpace(ln)) > 0 {
			out = append(out, ln)
		}
	}
	if len(out) == 0 {
		t.Fatalf("%s: no lines", rel)
	}
	return out
}

// TestNpmBundlesProvenancePath verifies the single npm provenance bundles of
// testdata/bundles through the same path Attestations uses, bound to their
// real tarballs.
func TestNpmBundlesProvenancePath(t *testing.T) {
	tests := []struct {
		file, name, version, tarball, predicate string
		repo, workflowPath                      string
	}{
		{"bundles/sigstore-go/bundle-provenance.json", "sigstore", "1.3.0", "tarballs-npm-pack/sigstore-1.3.0.tgz", PredicateSLSAv02,
			"https://github.com/sigstore/sigstore-js", ".github/workflows/release.yml"},
		{"bundles/sigstore-go/sigstore.js@2.0.0-provenance.sigstore.json", "sigstore", "2.0.0", "tarballs-npm-pack/sigstore-2.0.0.tgz", PredicateSLSAv1,
			"https://github.com/sigstore/sigstore-js", ".github/workflows/release.yml"},
		{"bundles/gh-cli/sigstore-js-2.1.0-bundle-v0.1.json", "sigstore", "2.1.0", "bundles/gh-cli/sigstore-js-2.1.0.tgz", PredicateSLSAv1,
			"https://github.com/sigstore/sigstore-js", ".github/workflows/release.yml"},
		{"bundles/gh-cli/sigstore-js-2.1.0-bundle.json", "sigstore", "2.1.0", "bundles/gh-cli/sigstore-js-2.1.0.tgz", PredicateSLSAv1,
			"https://github.com/sigstore/sigstore-js", ".github/workflows/release.yml"},
	}
	v := embeddedVerifier(t)
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			facts, err := testProvenance(v, wantFor(t, tt.name, tt.version, tt.tarball), 0, tt.predicate, fixture(t, tt.file))
			if err != nil {
				t.Fatal(err)
			}
			if facts.SourceRepository != tt.repo || facts.WorkflowPath != tt.workflowPath || facts.Issuer != IssuerGitHubActions || facts.LogIndex <= 0 {
				t.Fatalf("facts %+v", facts)
			}
			// The same bundle bound to another package fails.
			other := wantFor(t, "sigstore", "0.4.0", "tarballs-npm-pack/sigstore-0.4.0.tgz")
			_, err = testProvenance(v, other, 0, tt.predicate, fixture(t, tt.file))
			wantErrs(t, err, ErrSubjectName, ErrSubjectDigest)
		})
	}
	t.Run("bundles/gh-cli/sigstore-js-2.1.0_with_2_bundles.jsonl", func(t *testing.T) {
		w := wantFor(t, "sigstore", "2.1.0", "bundles/gh-cli/sigstore-js-2.1.0.tgz")
		for i, ln := range jsonlLines(t, "bundles/gh-cli/sigstore-js-2.1.0_with_2_bundles.jsonl") {
			if _, err := testProvenance(v, w, i, PredicateSLSAv1, ln); err != nil {
				t.Fatalf("line %d: %v", i, err)
			}
		}
	})
}

func TestNpmBundlePublishPath(t *testing.T) {
	v := embeddedVerifier(t)
	w := wantFor(t, "sigstore", "1.3.0", "tarballs-npm-pack/sigstore-1.3.0.tgz")
	facts, err := testPublish(v, w, 0, fixture(t, "bundles/sigstore-go/bundle-publish.json"))
	if err != nil {
		t.Fatal(err)
	}
	if facts.KeyID != "SHA256:jl3bwswu80PjjokCgh0o2w5c2U4LhQAE57gj9cz1kzA" || !facts.Pinned || facts.LogIndex != 18300940 {
		t.Fatalf("facts %+v", facts)
	}
	// The publish bundle is not provenance, and the provenance bundle is
	// not a publish attestation.
	_, err = testProvenance(v, w, 0, PredicateSLSAv02, fixture(t, "bundles/sigstore-go/bundle-publish.json"))
	wantErrs(t, err, ErrPredicateType)
	_, err = testPublish(v, w, 0, fixture(t, "bundles/sigstore-go/bundle-provenance.json"))
	wantErrs(t, err, ErrPredicateType, ErrBundleInvalid)
}

// The sigstore-js test bundles are real public-good signatures by an e-mail
// identity over a publish-shaped statement for sigstore@1.0.0, in every
// media type and entry kind: valid Sigstore bundles, not valid npm
// attestations.
var sigstoreJSBundles = []string{
	"bundleV01-dsse-no-proof.sigstore",
	"bundleV01-dsse-with-proof.sigstore",
	"bundleV01-full-cert-chain.sigstore",
	"bundleV01-intoto-no-proof.sigstore",
	"bundleV01-intoto-with-proof.sigstore",
	"bundleV02-dsse.sigstore",
	"bundleV02-intoto.sigstore",
	"bundleV03-dsse.sigstore",
	"bundleV03-intoto.sigstore",
}

func TestSigstoreJSBundles(t *testing.T) {
	v := embeddedVerifier(t)
	tarball := fixture(t, "tarballs-npm-pack/sigstore-1.0.0.tgz")
	w := wantFor(t, "sigstore", "1.0.0", "tarballs-npm-pack/sigstore-1.0.0.tgz")
	for _, f := range sigstoreJSBundles {
		t.Run(f, func(t *testing.T) {
			raw := fixture(t, "bundles/sigstore-js/"+f)
			// A valid Sigstore bundle for its signer, bound to the real tarball.
			err := VerifyBundle(nil, BundleInput{
				Bundle: raw, ArtifactDigest: w.sha512, DigestAlgorithm: "sha512",
				Identity: &Identity{SubjectAlternativeName: "brian@dehamer.com", Issuer: "https://github.com/login/oauth"},
			})
			if err != nil {
				t.Fatalf("VerifyBundle: %v", err)
			}
			// Wrong identity, wrong artifact: fails.
			err = VerifyBundle(nil, BundleInput{
				Bundle: raw, ArtifactDigest: w.sha512, DigestAlgorithm: "sha512",
				Identity: &Identity{SubjectAlternativeName: "someone@example.com", Issuer: "https://github.com/login/oauth"},
			})
			wantErrs(t, err, ErrBundleInvalid)
			err = VerifyBundle(nil, BundleInput{
				Bundle: raw, Artifact: append(bytes.Clone(tarball), 0),
				Identity: &Identity{SubjectAlternativeName: "brian@dehamer.com", Issuer: "https://github.com/login/oauth"},
			})
			wantErrs(t, err, ErrBundleInvalid)
			// Not an npm publish attestation (not signed by a registry key)...
			body := attestationsBody(t, PredicatePublish, raw)
			res := v.Attestations(AttestationInput{Name: "sigstore", Version: "1.0.0", Integrity: sriOf(tarball), Body: body})
			if res.Status != StatusInvalid {
				t.Fatalf("as publish attestation: %s", res.Status)
			}
			wantErrs(t, res.Err, ErrBundleInvalid)
			// ...nor npm provenance (an e-mail identity is no CI provider).
			_, err = testProvenance(v, w, 0, PredicatePublish, raw)
			wantErrs(t, err, ErrUntrustedIssuer)
		})
	}
}

// attestationsBody wraps bundles into an attestations response.
func attestationsBody(t testing.TB, predicateType string, bundles ...[]byte) []byte {
	t.Helper()
	type att struct {
		PredicateType string          `json:"predicateType"`
		Bundle        json.RawMessage `json:"bundle"`
	}
	var doc struct {
		Attestations []att `json:"attestations"`
	}
	for _, b := range bundles {
		doc.Attestations = append(doc.Attestations, att{predicateType, b})
	}
	out, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func hexDigest(t testing.TB, h string) []byte {
	t.Helper()
	d, err := hex.DecodeString(h)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// TestOtherBundles runs the remaining single bundles of testdata/bundles
// through VerifyBundle with the trust they were made for.
func TestOtherBundles(t *testing.T) {
	ghProvenanceDemo := "ae57936def59bc4c75edd3a837d89bcefc6d3a5e31d55a6fa7a71624f92c3c3b"
	tests := []struct {
		name string
		root string // trusted root fixture; "" = embedded
		in   func(t *testing.T) BundleInput
		want []error // nil = verifies
	}{
		{"gh-cli custom issuer", "trust/gh-cli/trusted_root.json", func(t *testing.T) BundleInput {
			return BundleInput{Bundle: fixture(t, "bundles/gh-cli/custom-issuer.sigstore.json"), Artifact: fixture(t, "bundles/gh-cli/custom-issuer-artifact"),
				Identity: &Identity{"https://github.com/too-legit/attest/.github/workflows/integration.yml@refs/heads/main", "https://token.actions.githubusercontent.com/hammer-time"}}
		}, nil},
		{"gh-cli custom issuer, plain GitHub issuer expected", "", func(t *testing.T) BundleInput {
			return BundleInput{Bundle: fixture(t, "bundles/gh-cli/custom-issuer.sigstore.json"), Artifact: fixture(t, "bundles/gh-cli/custom-issuer-artifact"),
				Identity: &Identity{"https://github.com/too-legit/attest/.github/workflows/integration.yml@refs/heads/main", IssuerGitHubActions}}
		}, []error{ErrBundleInvalid, ErrIdentityMismatch}},
		{"gh-cli reusable workflow", "", func(t *testing.T) BundleInput {
			return BundleInput{Bundle: fixture(t, "bundles/gh-cli/reusable-workflow-attestation.sigstore.json"), Artifact: fixture(t, "bundles/gh-cli/reusable-workflow-artifact"),
				Identity: &Identity{"https://github.com/github/artifact-attestations-workflows/.github/workflows/attest.yml@09b495c3f12c7881b3cc17209a327792065c1a1d", IssuerGitHubActions}}
		}, nil},
		{"gh-cli reusable workflow, wrong artifact", "", func(t *testing.T) BundleInput {
			return BundleInput{Bundle: fixture(t, "bundles/gh-cli/reusable-workflow-attestation.sigstore.json"), Artifact: fixture(t, "bundles/gh-cli/custom-issuer-artifact"),
				Identity: &Identity{"https://github.com/github/artifact-attestations-workflows/.github/workflows/attest.yml@09b495c3f12c7881b3cc17209a327792065c1a1d", IssuerGitHubActions}}
		}, []error{ErrBundleInvalid, ErrSubjectDigest}},
		// Signed by GitHub's own Sigstore instance (TSA, no log): not
		// trusted by the public-good root.
		{"gh-cli GitHub-instance bundle", "", func(t *testing.T) BundleInput {
			return BundleInput{Bundle: jsonlLines(t, "bundles/gh-cli/github_provenance_demo-0.0.12-py3-none-any-bundle.jsonl")[0],
				ArtifactDigest: hexDigest(t, ghProvenanceDemo), DigestAlgorithm: "sha256",
				Identity: &Identity{"https://github.com/actions/attest-demo/.github/workflows/build-python.yml@refs/heads/main", IssuerGitHubActions}}
		}, []error{ErrBundleInvalid}},
		{"gh-cli bundle missing cert", "", func(t *testing.T) BundleInput {
			return BundleInput{Bundle: jsonlLines(t, "bundles/gh-cli/github_provenance_demo-0.0.12-py3-none-any-bundle-missing-cert.jsonl")[0],
				ArtifactDigest: hexDigest(t, ghProvenanceDemo), DigestAlgorithm: "sha256",
				Identity: &Identity{"https://github.com/actions/attest-demo/.github/workflows/build-python.yml@refs/heads/main", IssuerGitHubActions}}
		}, []error{ErrBundleInvalid}},
		{"gh-cli bundle missing verification material", "", func(t *testing.T) BundleInput {
			return BundleInput{Bundle: jsonlLines(t, "bundles/gh-cli/github_provenance_demo-0.0.12-py3-none-any-bundle-missing-verification-material.jsonl")[0],
				ArtifactDigest: hexDigest(t, ghProvenanceDemo), DigestAlgorithm: "sha256",
				Identity: &Identity{"https://github.com/actions/attest-demo/.github/workflows/build-python.yml@refs/heads/main", IssuerGitHubActions}}
		}, []error{ErrBundleInvalid, ErrMalformed}},
		{"gh-cli invalid signature", "", func(t *testing.T) BundleInput {
			return BundleInput{Bundle: fixture(t, "bundles/gh-cli/sigstoreBundle-invalid-signature.json"), ArtifactDigest: make([]byte, 32), DigestAlgorithm: "sha256",
				Identity: &Identity{"brian@dehamer.com", "https://github.com/login/oauth"}}
		}, []error{ErrBundleInvalid}},
		{"sigstore-go dsse", "", func(t *testing.T) BundleInput {
			return BundleInput{Bundle: fixture(t, "bundles/sigstore-go/dsse.sigstore.json"),
				ArtifactDigest: hexDigest(t, "bbfd372fc9beeb777fe35d05bb10c0c70a9733d366a75fed7dd18866c7391de3ee7e88ba74dd47abf3e15c845e547fcf0e5c3da80854c751554224d3a6d4e55f"), DigestAlgorithm: "sha512",
				Identity: &Identity{"brian@dehamer.com", "https://github.com/login/oauth"}}
		}, nil},
		// A Sigstore DSSE envelope must carry exactly one signature.
		{"sigstore-go dsse with 2 signatures", "", func(t *testing.T) BundleInput {
			return BundleInput{Bundle: fixture(t, "bundles/sigstore-go/dsse-2sigs.sigstore.json"),
				ArtifactDigest: hexDigest(t, "bbfd372fc9beeb777fe35d05bb10c0c70a9733d366a75fed7dd18866c7391de3ee7e88ba74dd47abf3e15c845e547fcf0e5c3da80854c751554224d3a6d4e55f"), DigestAlgorithm: "sha512",
				Identity: &Identity{"brian@dehamer.com", "https://github.com/login/oauth"}}
		}, []error{ErrBundleInvalid, ErrSignatureInvalid}},
		{"sigstore-go public key validity", "trust/sigstore-go/testing-trusted-roots-public-key-validity.json", func(t *testing.T) BundleInput {
			return BundleInput{Bundle: fixture(t, "bundles/sigstore-go/public-key-validity.sigstore.json"), Artifact: []byte("test content"),
				PublicKey: fixture(t, "bundles/sigstore-go/public-key-validity.pem")}
		}, nil},
		{"sigstore-go public key validity, no key", "trust/sigstore-go/testing-trusted-roots-public-key-validity.json", func(t *testing.T) BundleInput {
			return BundleInput{Bundle: fixture(t, "bundles/sigstore-go/public-key-validity.sigstore.json"), Artifact: []byte("test content")}
		}, []error{ErrBundleInvalid}},
		{"sigstore-go public key validity, other key", "trust/sigstore-go/testing-trusted-roots-public-key-validity.json", func(t *testing.T) BundleInput {
			return BundleInput{Bundle: fixture(t, "bundles/sigstore-go/public-key-validity.sigstore.json"), Artifact: []byte("test content"),
				PublicKey: fixture(t, "bundles/sigstore-go/publish_key.pub")}
		}, []error{ErrBundleInvalid}},
		{"sigstore-go othername SAN", "trust/sigstore-go/testing-trusted-roots-scaffolding.json", func(t *testing.T) BundleInput {
			return BundleInput{Bundle: fixture(t, "bundles/sigstore-go/othername.sigstore.json"),
				ArtifactDigest: hexDigest(t, "bc103b4a84971ef6459b294a2b98568a2bfb72cded09d4acd1e16366a401f95b"), DigestAlgorithm: "sha256",
				Identity: &Identity{"foo!oidc.local", "http://oidc.local:8080"}}
		}, nil},
		{"plain statement is not a bundle", "", func(t *testing.T) BundleInput {
			return BundleInput{Bundle: fixture(t, "bundles/sigstore-js/statement.json"), Artifact: []byte("x"), Identity: &Identity{"a", "b"}}
		}, []error{ErrMalformed}},
		{"plain statement (sigstore-go) is not a bundle", "", func(t *testing.T) BundleInput {
			return BundleInput{Bundle: fixture(t, "bundles/sigstore-go/statement-provenance-sigstorejs1.3.0.json"), Artifact: []byte("x"), Identity: &Identity{"a", "b"}}
		}, []error{ErrMalformed}},
		{"no artifact", "", func(t *testing.T) BundleInput {
			return BundleInput{Bundle: fixture(t, "bundles/sigstore-go/dsse.sigstore.json"), Identity: &Identity{"brian@dehamer.com", "https://github.com/login/oauth"}}
		}, []error{ErrMalformed}},
		{"certificate bundle without identity", "", func(t *testing.T) BundleInput {
			return BundleInput{Bundle: fixture(t, "bundles/sigstore-go/dsse.sigstore.json"), Artifact: []byte("x")}
		}, []error{ErrIdentityMismatch}},
		{"empty bundle", "", func(t *testing.T) BundleInput { return BundleInput{Artifact: []byte("x")} }, []error{ErrMalformed}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var root []byte
			if tt.root != "" {
				root = fixture(t, tt.root)
			}
			err := VerifyBundle(root, tt.in(t))
			if tt.want == nil {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			wantErrs(t, err, tt.want...)
			t.Log(err)
		})
	}
}
