package fakesigstore_test

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sigstore/sigstore-go/pkg/fulcio/certificate"
	"golang.org/x/crypto/ssh"

	"github.com/provaudit/provaudit/internal/registrytest/fakesigstore"
)

// TestAttestationsVerify checks every media type x entry kind x predicate
// type: sigstore-go accepts both bundles of Attestations with the fake's
// trust, bound to the tarball digest and the workflow identity, and the
// bundles have the shape npm serves.
func TestAttestationsVerify(t *testing.T) {
	s := newFake(t, fakesigstore.Options{})
	tr := newTrust(t, s)
	for _, mt := range fakesigstore.MediaTypes {
		for _, kind := range fakesigstore.EntryKinds {
			for _, pt := range fakesigstore.ProvenancePredicateTypes {
				t.Run(fmt.Sprintf("%s/%s/%s", mt, kind, pt), func(t *testing.T) {
					integrity, digest := integrityOf("tarball " + mt + kind + pt)
					a := fakesigstore.Attest{
						Name: "@scope/pkg", Version: "1.2.3", Integrity: integrity,
						MediaType: mt, EntryKind: kind, PredicateType: pt,
					}
					body, err := s.Attestations(a)
					if err != nil {
						t.Fatalf("Attestations: %v", err)
					}
					doc := decodeAttestations(t, body)
					if len(doc.Attestations) != 2 {
						t.Fatalf("got %d attestations, want 2", len(doc.Attestations))
					}
					if got := doc.Attestations[0].PredicateType; got != fakesigstore.PredicatePublish {
						t.Errorf("first predicateType = %q, want publish", got)
					}
					if got := doc.Attestations[1].PredicateType; got != pt {
						t.Errorf("second predicateType = %q, want %q", got, pt)
					}
					wantKind := map[string]string{"intoto": "0.0.2", "dsse": "0.0.1"}[kind]
					for i, att := range doc.Attestations {
						info := decodeBundle(t, att.Bundle)
						if info.MediaType != mt {
							t.Errorf("bundle %d mediaType = %q, want %q", i, info.MediaType, mt)
						}
						kv := info.VerificationMaterial.TlogEntries[0].KindVersion
						if kv.Kind != kind || kv.Version != wantKind {
							t.Errorf("bundle %d entry = %s/%s, want %s/%s", i, kv.Kind, kv.Version, kind, wantKind)
						}
					}

					san := "https://github.com/fake-org/scope-pkg/.github/workflows/release.yml@refs/tags/v1.2.3"
					res, err := tr.verifyProvenance(doc.Attestations[1].Bundle, digest, san, fakesigstore.DefaultIssuer)
					if err != nil {
						t.Fatalf("sigstore-go rejects provenance: %v", err)
					}
					checkStatement(t, res.Statement.GetSubject()[0].GetName(), res.Statement.GetSubject()[0].GetDigest()["sha512"], "pkg:npm/%40scope/pkg@1.2.3", hexOf(digest))
					if res.Statement.GetPredicateType() != pt {
						t.Errorf("verified predicate type %q, want %q", res.Statement.GetPredicateType(), pt)
					}
					if len(res.VerifiedTimestamps) != 1 || !res.VerifiedTimestamps[0].Timestamp.Equal(s.Now()) {
						t.Errorf("verified timestamps %+v, want the integrated time %s", res.VerifiedTimestamps, s.Now())
					}

					pubRes, err := tr.verifyPublish(doc.Attestations[0].Bundle, digest)
					if err != nil {
						t.Fatalf("sigstore-go rejects publish: %v", err)
					}
					checkStatement(t, pubRes.Statement.GetSubject()[0].GetName(), pubRes.Statement.GetSubject()[0].GetDigest()["sha512"], "pkg:npm/%40scope/pkg@1.2.3", hexOf(digest))
					pred := pubRes.Statement.GetPredicate().AsMap()
					if pred["name"] != "@scope/pkg" || pred["version"] != "1.2.3" || pred["registry"] != fakesigstore.DefaultRegistry {
						t.Errorf("publish predicate = %v", pred)
					}
				})
			}
		}
	}
}

func checkStatement(t *testing.T, name, sha, wantName, wantSHA string) {
	t.Helper()
	if name != wantName {
		t.Errorf("subject name = %q, want %q", name, wantName)
	}
	if sha != wantSHA {
		t.Errorf("subject sha512 = %q, want %q", sha, wantSHA)
	}
}

// TestProvenanceFacts checks that what a consumer extracts (certificate
// extensions, SLSA predicate) is what the Attest asked for.
func TestProvenanceFacts(t *testing.T) {
	s := newFake(t, fakesigstore.Options{})
	tr := newTrust(t, s)
	integrity, digest := integrityOf("facts")
	when := s.Now().Add(-400 * 24 * time.Hour)
	for _, pt := range fakesigstore.ProvenancePredicateTypes {
		t.Run(pt, func(t *testing.T) {
			a := fakesigstore.Attest{
				Name: "facts", Version: "2.0.0-rc.1", Integrity: integrity, PredicateType: pt,
				Repository: "https://github.com/acme/facts-monorepo", Ref: "refs/heads/main",
				Commit: "0123456789abcdef0123456789abcdef01234567", Workflow: ".github/workflows/publish.yaml",
				Runner: fakesigstore.RunnerSelfHosted, IntegratedTime: when,
			}
			prov, err := s.ProvenanceBundle(a)
			if err != nil {
				t.Fatal(err)
			}
			san := "https://github.com/acme/facts-monorepo/.github/workflows/publish.yaml@refs/heads/main"
			res, err := tr.verifyProvenance(prov, digest, san, fakesigstore.DefaultIssuer)
			if err != nil {
				t.Fatalf("sigstore-go rejects provenance: %v", err)
			}
			c := res.Signature.Certificate
			for _, f := range []struct{ name, got, want string }{
				{"SAN", c.SubjectAlternativeName, san},
				{"issuer", c.Issuer, fakesigstore.DefaultIssuer},
				{"source repository", c.SourceRepositoryURI, a.Repository},
				{"source digest", c.SourceRepositoryDigest, a.Commit},
				{"source ref", c.SourceRepositoryRef, a.Ref},
				{"build config", c.BuildConfigURI, san},
				{"build signer", c.BuildSignerURI, san},
				{"runner", c.RunnerEnvironment, "self-hosted"},
				{"owner", c.SourceRepositoryOwnerURI, "https://github.com/acme"},
				{"deprecated issuer", c.GithubWorkflowRepository, "acme/facts-monorepo"},
				{"deprecated sha", c.GithubWorkflowSHA, a.Commit},
			} {
				if f.got != f.want {
					t.Errorf("certificate %s = %q, want %q", f.name, f.got, f.want)
				}
			}
			if !strings.HasPrefix(c.RunInvocationURI, "https://github.com/acme/facts-monorepo/actions/runs/") {
				t.Errorf("run invocation URI = %q", c.RunInvocationURI)
			}
			if !res.VerifiedTimestamps[0].Timestamp.Equal(when.Truncate(time.Second)) {
				t.Errorf("integrated time %s, want %s", res.VerifiedTimestamps[0].Timestamp, when)
			}
			pred, err := json.Marshal(res.Statement.GetPredicate().AsMap())
			if err != nil {
				t.Fatal(err)
			}
			var want []string
			if pt == fakesigstore.PredicateSLSAv1 {
				want = []string{`"builder":{"id":"https://github.com/actions/runner/self-hosted"}`, `"path":".github/workflows/publish.yaml"`,
					`"repository":"https://github.com/acme/facts-monorepo"`, `"gitCommit":"` + a.Commit + `"`, `"invocationId":"` + c.RunInvocationURI + `"`}
			} else {
				want = []string{`"buildType":"https://github.com/npm/cli/gha/v2"`, `"entryPoint":".github/workflows/publish.yaml"`,
					`"uri":"git+https://github.com/acme/facts-monorepo@refs/heads/main"`, `"sha1":"` + a.Commit + `"`}
			}
			for _, w := range want {
				if !strings.Contains(string(pred), w) {
					t.Errorf("predicate lacks %s:\n%s", w, pred)
				}
			}
		})
	}
}

// TestIdentityKnobs checks that Attest's numeric ids and trigger reach the
// certificate and the predicate: derived from the repository path unless
// set, so a renamed repository keeps its ids only when the test says so.
func TestIdentityKnobs(t *testing.T) {
	s := newFake(t, fakesigstore.Options{})
	tr := newTrust(t, s)
	integrity, digest := integrityOf("ids")
	cert := func(a fakesigstore.Attest) (c certificate.Extensions, pred string) {
		t.Helper()
		a.Name, a.Version, a.Integrity, a.Ref = "ids", "1.0.0", integrity, "refs/heads/main"
		prov, err := s.ProvenanceBundle(a)
		if err != nil {
			t.Fatal(err)
		}
		res, err := tr.verifyProvenance(prov, digest, a.Repository+"/.github/workflows/release.yml@refs/heads/main", fakesigstore.DefaultIssuer)
		if err != nil {
			t.Fatalf("sigstore-go rejects provenance: %v", err)
		}
		p, err := json.Marshal(res.Statement.GetPredicate().AsMap())
		if err != nil {
			t.Fatal(err)
		}
		c = res.Signature.Certificate.Extensions
		return c, string(p)
	}
	old, _ := cert(fakesigstore.Attest{Repository: "https://github.com/acme/old"})
	renamed, _ := cert(fakesigstore.Attest{Repository: "https://github.com/acme/new"})
	if old.SourceRepositoryIdentifier == "" || old.SourceRepositoryIdentifier == renamed.SourceRepositoryIdentifier || old.BuildTrigger != "push" {
		t.Errorf("derived ids: %q and %q for two repositories, trigger %q", old.SourceRepositoryIdentifier, renamed.SourceRepositoryIdentifier, old.BuildTrigger)
	}
	kept, pred := cert(fakesigstore.Attest{Repository: "https://github.com/acme/new", RepositoryID: old.SourceRepositoryIdentifier,
		OwnerID: "4242", Trigger: "workflow_dispatch"})
	for _, f := range []struct{ name, got, want string }{
		{"repository id", kept.SourceRepositoryIdentifier, old.SourceRepositoryIdentifier},
		{"owner id", kept.SourceRepositoryOwnerIdentifier, "4242"},
		{"trigger", kept.BuildTrigger, "workflow_dispatch"},
		{"repository", kept.SourceRepositoryURI, "https://github.com/acme/new"},
	} {
		if f.got != f.want {
			t.Errorf("certificate %s = %q, want %q", f.name, f.got, f.want)
		}
	}
	for _, w := range []string{`"repository_id":"` + old.SourceRepositoryIdentifier + `"`, `"repository_owner_id":"4242"`, `"event_name":"workflow_dispatch"`} {
		if !strings.Contains(pred, w) {
			t.Errorf("predicate lacks %s:\n%s", w, pred)
		}
	}
	for _, a := range []fakesigstore.Attest{{RepositoryID: "12a"}, {OwnerID: "-1"}, {Trigger: "two words"}} {
		a.Name, a.Version, a.Integrity = "ids", "1.0.0", integrity
		if _, err := s.Attestations(a); !errors.Is(err, fakesigstore.ErrInvalidAttest) {
			t.Errorf("%+v: err = %v, want ErrInvalidAttest", a, err)
		}
	}
}

// TestGitLabProvenance checks GitLab CI provenance: the certificate and
// predicate npm and Fulcio make on GitLab, accepted by sigstore-go and
// bound to the GitLab identity.
func TestGitLabProvenance(t *testing.T) {
	s := newFake(t, fakesigstore.Options{})
	tr := newTrust(t, s)
	integrity, digest := integrityOf("gitlab")
	for _, runner := range []string{"", fakesigstore.RunnerSelfHosted} {
		for _, mt := range fakesigstore.MediaTypes {
			t.Run(runner+"/"+mt, func(t *testing.T) {
				a := fakesigstore.Attest{
					Name: "@group/gl", Version: "3.1.4", Integrity: integrity, MediaType: mt,
					Repository: "https://gitlab.com/group/sub/gl", Ref: "refs/heads/main", Runner: runner,
				}
				body, err := s.Attestations(a)
				if err != nil {
					t.Fatal(err)
				}
				doc := decodeAttestations(t, body)
				if doc.Attestations[1].PredicateType != fakesigstore.PredicateSLSAv02 {
					t.Errorf("GitLab predicate type %q, want SLSA v0.2", doc.Attestations[1].PredicateType)
				}
				san := "https://gitlab.com/group/sub/gl//.gitlab-ci.yml@refs/heads/main"
				res, err := tr.verifyProvenance(doc.Attestations[1].Bundle, digest, san, fakesigstore.DefaultGitLabIssuer)
				if err != nil {
					t.Fatalf("sigstore-go rejects GitLab provenance: %v", err)
				}
				if _, err := tr.verifyPublish(doc.Attestations[0].Bundle, digest); err != nil {
					t.Fatalf("sigstore-go rejects publish: %v", err)
				}
				wantRunner := fakesigstore.RunnerGitLabHosted
				if runner != "" {
					wantRunner = runner
				}
				c := res.Signature.Certificate
				for _, f := range []struct{ name, got, want string }{
					{"issuer", c.Issuer, "https://gitlab.com"},
					{"source repository", c.SourceRepositoryURI, "https://gitlab.com/group/sub/gl"},
					{"source ref", c.SourceRepositoryRef, "refs/heads/main"},
					{"owner", c.SourceRepositoryOwnerURI, "https://gitlab.com/group/sub"},
					{"build config", c.BuildConfigURI, san},
					{"runner", c.RunnerEnvironment, wantRunner},
					{"GitHub-only extension", c.GithubWorkflowRepository, ""},
				} {
					if f.got != f.want {
						t.Errorf("certificate %s = %q, want %q", f.name, f.got, f.want)
					}
				}
				if !strings.HasPrefix(c.RunInvocationURI, "https://gitlab.com/group/sub/gl/-/jobs/") {
					t.Errorf("run invocation URI = %q", c.RunInvocationURI)
				}
				pred, err := json.Marshal(res.Statement.GetPredicate().AsMap())
				if err != nil {
					t.Fatal(err)
				}
				for _, w := range []string{
					`"buildType":"https://github.com/npm/cli/gitlab/v0alpha1"`,
					`"builder":{"id":"https://gitlab.com/group/sub/gl/-/runners/`,
					`"uri":"git+https://gitlab.com/group/sub/gl"`,
					`"buildInvocationId":"` + c.RunInvocationURI + `"`,
					`"CI_PROJECT_PATH":"group/sub/gl"`,
					`"ref":".gitlab-ci.yml"`,
				} {
					if !strings.Contains(string(pred), w) {
						t.Errorf("predicate lacks %s:\n%s", w, pred)
					}
				}
			})
		}
	}
}

// TestIdentityPolicy proves the certificate identity is really checked: a
// policy for another workflow or issuer rejects the bundle.
func TestIdentityPolicy(t *testing.T) {
	s := newFake(t, fakesigstore.Options{})
	tr := newTrust(t, s)
	integrity, digest := integrityOf("identity")
	prov, err := s.ProvenanceBundle(fakesigstore.Attest{Name: "id", Version: "1.0.0", Integrity: integrity, Issuer: "https://gitlab.invalid"})
	if err != nil {
		t.Fatal(err)
	}
	san := "https://github.com/fake-org/id/.github/workflows/release.yml@refs/tags/v1.0.0"
	if _, err := tr.verifyProvenance(prov, digest, san, "https://gitlab.invalid"); err != nil {
		t.Fatalf("custom issuer: %v", err)
	}
	if _, err := tr.verifyProvenance(prov, digest, san, fakesigstore.DefaultIssuer); err == nil {
		t.Error("accepted with the wrong issuer")
	}
	if _, err := tr.verifyProvenance(prov, digest, strings.Replace(san, "v1.0.0", "v1.0.1", 1), "https://gitlab.invalid"); err == nil {
		t.Error("accepted with the wrong SAN")
	}
	_, other := integrityOf("another tarball")
	if _, err := tr.verifyProvenance(prov, other, san, "https://gitlab.invalid"); err == nil {
		t.Error("accepted with the wrong artifact digest")
	}
}

// TestTamperRejected flips each part of generated bundles and checks that
// sigstore-go rejects every copy, while the untouched bundle verifies.
func TestTamperRejected(t *testing.T) {
	s := newFake(t, fakesigstore.Options{})
	tr := newTrust(t, s)
	integrity, digest := integrityOf("tamper")
	san := "https://github.com/fake-org/tamper/.github/workflows/release.yml@refs/tags/v1.0.0"
	for _, mt := range fakesigstore.MediaTypes {
		for _, kind := range fakesigstore.EntryKinds {
			a := fakesigstore.Attest{Name: "tamper", Version: "1.0.0", Integrity: integrity, MediaType: mt, EntryKind: kind}
			prov, err := s.ProvenanceBundle(a)
			if err != nil {
				t.Fatal(err)
			}
			pub, err := s.PublishBundle(a)
			if err != nil {
				t.Fatal(err)
			}
			for _, bc := range []struct {
				name   string
				bundle []byte
				verify func([]byte) error
				notFor fakesigstore.Part
			}{
				{"provenance", prov, func(b []byte) error {
					_, err := tr.verifyProvenance(b, digest, san, fakesigstore.DefaultIssuer)
					return err
				}, fakesigstore.TamperKeyHint},
				{"publish", pub, func(b []byte) error { _, err := tr.verifyPublish(b, digest); return err }, fakesigstore.TamperCertificate},
			} {
				if err := bc.verify(bc.bundle); err != nil {
					t.Fatalf("%s %s %s: untouched bundle rejected: %v", mt, kind, bc.name, err)
				}
				for _, part := range fakesigstore.TamperParts {
					t.Run(fmt.Sprintf("%s/%s/%s/%s", mt, kind, bc.name, part), func(t *testing.T) {
						bad, err := fakesigstore.Tamper(bc.bundle, part)
						if part == bc.notFor {
							if !errors.Is(err, fakesigstore.ErrTamper) {
								t.Fatalf("Tamper(%s) = %v, want ErrTamper", part, err)
							}
							return
						}
						if err != nil {
							t.Fatalf("Tamper: %v", err)
						}
						if bytes.Equal(bad, bc.bundle) {
							t.Fatal("Tamper changed nothing")
						}
						if err := bc.verify(bad); err == nil {
							t.Fatalf("sigstore-go accepted a bundle with tampered %s", part)
						}
					})
				}
			}
		}
	}
}

func TestTamperAttestation(t *testing.T) {
	s := newFake(t, fakesigstore.Options{})
	tr := newTrust(t, s)
	integrity, digest := integrityOf("tamper-attestation")
	body, err := s.Attestations(fakesigstore.Attest{Name: "ta", Version: "1.0.0", Integrity: integrity})
	if err != nil {
		t.Fatal(err)
	}
	bad, err := fakesigstore.TamperAttestation(body, 0, fakesigstore.TamperSignature)
	if err != nil {
		t.Fatal(err)
	}
	doc := decodeAttestations(t, bad)
	if _, err := tr.verifyPublish(doc.Attestations[0].Bundle, digest); err == nil {
		t.Error("tampered publish attestation accepted")
	}
	san := "https://github.com/fake-org/ta/.github/workflows/release.yml@refs/tags/v1.0.0"
	if _, err := tr.verifyProvenance(doc.Attestations[1].Bundle, digest, san, fakesigstore.DefaultIssuer); err != nil {
		t.Errorf("untouched provenance rejected: %v", err)
	}
	for _, i := range []int{-1, 2} {
		if _, err := fakesigstore.TamperAttestation(body, i, fakesigstore.TamperSET); !errors.Is(err, fakesigstore.ErrTamper) {
			t.Errorf("index %d: err = %v, want ErrTamper", i, err)
		}
	}
	for _, in := range []string{"", "{", `{"attestations":[{"bundle":1}]}`} {
		if _, err := fakesigstore.TamperAttestation([]byte(in), 0, fakesigstore.TamperSET); !errors.Is(err, fakesigstore.ErrTamper) {
			t.Errorf("%q: err = %v, want ErrTamper", in, err)
		}
	}
	if _, err := fakesigstore.Tamper([]byte(`{"dsseEnvelope":{},"verificationMaterial":{}}`), "no-such-part"); !errors.Is(err, fakesigstore.ErrTamper) {
		t.Errorf("unknown part: err = %v, want ErrTamper", err)
	}
}

// TestForeignTrustRejected proves trust is not shared: data of one fake
// fails against another fake's trust material.
func TestForeignTrustRejected(t *testing.T) {
	a, b := newFake(t, fakesigstore.Options{}), newFake(t, fakesigstore.Options{})
	trB := newTrust(t, b)
	integrity, digest := integrityOf("foreign")
	at := fakesigstore.Attest{Name: "foreign", Version: "1.0.0", Integrity: integrity}
	prov, err := a.ProvenanceBundle(at)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := trB.verifyProvenance(prov, digest, "https://github.com/fake-org/foreign/.github/workflows/release.yml@refs/tags/v1.0.0", fakesigstore.DefaultIssuer); err == nil {
		t.Error("provenance accepted by another fake's trust")
	}
	pub, err := a.PublishBundle(at)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := trB.verifyPublish(pub, digest); err == nil {
		t.Error("publish accepted by another fake's trust")
	}
}

// TestTrustedRootChecked proves that sigstore-go checks the provenance
// against each part of the fake's trusted root: replacing the CA, the CT log
// or the Rekor log with another fake's (or moving its validity after the
// entry) makes it fail for that reason. In particular the certificate
// carries an SCT from the fake CT log.
func TestTrustedRootChecked(t *testing.T) {
	s := newFake(t, fakesigstore.Options{})
	other := newFake(t, fakesigstore.Options{})
	integrity, digest := integrityOf("trusted root")
	prov, err := s.ProvenanceBundle(fakesigstore.Attest{Name: "tr", Version: "1.0.0", Integrity: integrity})
	if err != nil {
		t.Fatal(err)
	}
	san := "https://github.com/fake-org/tr/.github/workflows/release.yml@refs/tags/v1.0.0"
	decode := func(b []byte) map[string]any {
		var m map[string]any
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatal(err)
		}
		return m
	}
	own, foreign := decode(s.TrustedRoot()), decode(other.TrustedRoot())
	first := func(m map[string]any, key string) map[string]any { return m[key].([]any)[0].(map[string]any) }
	ownCT := first(own, "ctlogs")
	for _, tc := range []struct {
		name, key string
		value     []any
		want      string
	}{
		{"no CT log", "ctlogs", []any{}, "signed certificate timestamp"},
		{"CT log with another key", "ctlogs", []any{map[string]any{
			"baseUrl": ownCT["baseUrl"], "hashAlgorithm": "SHA2_256", "logId": ownCT["logId"],
			"publicKey": first(foreign, "ctlogs")["publicKey"]}}, "signed certificate timestamp"},
		{"CT log valid later", "ctlogs", []any{withPublicKeyStart(ownCT, s.Now().Add(time.Hour))}, "signed certificate timestamp"},
		{"another CA", "certificateAuthorities", foreign["certificateAuthorities"].([]any), "leaf certificate"},
		{"CA valid later", "certificateAuthorities", []any{withStart(first(own, "certificateAuthorities"), s.Now().Add(time.Hour))}, "leaf certificate"},
		{"another Rekor", "tlogs", foreign["tlogs"].([]any), "log entries"},
		{"Rekor valid later", "tlogs", []any{withPublicKeyStart(first(own, "tlogs"), s.Now().Add(time.Hour))}, "log entries"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			modified := decode(s.TrustedRoot())
			modified[tc.key] = tc.value
			doc, err := json.Marshal(modified)
			if err != nil {
				t.Fatal(err)
			}
			_, err = newTrustFrom(t, doc, s.NpmKeysTUF()).verifyProvenance(prov, digest, san, fakesigstore.DefaultIssuer)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want a failure about %q", err, tc.want)
			}
		})
	}
}

// withStart returns a copy of a trusted root entry whose validFor starts at
// start; withPublicKeyStart does the same for its publicKey.validFor.
func withStart(entry map[string]any, start time.Time) map[string]any {
	out := maps.Clone(entry)
	out["validFor"] = map[string]any{"start": start.UTC().Format(time.RFC3339)}
	return out
}

func withPublicKeyStart(entry map[string]any, start time.Time) map[string]any {
	out := maps.Clone(entry)
	out["publicKey"] = withStart(entry["publicKey"].(map[string]any), start)
	return out
}

// TestNpmKeyValidity checks that a publish attestation verifies only while
// its npm key is valid at the integrated time.
func TestNpmKeyValidity(t *testing.T) {
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	s := newFake(t, fakesigstore.Options{Now: now, NpmKeys: []fakesigstore.KeySpec{
		{Start: now.AddDate(-3, 0, 0), End: now.AddDate(-1, 0, 0)},
		{Start: now.AddDate(-1, 0, 0).Add(-24 * time.Hour)},
	}})
	tr := newTrust(t, s)
	integrity, digest := integrityOf("keys")
	for _, tc := range []struct {
		key  int
		at   time.Time
		want bool
	}{
		{0, now.AddDate(-2, 0, 0), true},
		{0, now, false},                   // expired
		{0, now.AddDate(-4, 0, 0), false}, // not yet valid
		{1, now, true},                    // no end
		{1, now.AddDate(-2, 0, 0), false}, // not yet valid
		{1, now.AddDate(-1, 0, 0), true},  // both keys valid
		{0, now.AddDate(-1, 0, 0), true},  // on the last second
		{0, now.AddDate(-1, 0, 1), false}, // the day after
	} {
		t.Run(fmt.Sprintf("key%d@%s", tc.key, tc.at.Format(time.DateOnly)), func(t *testing.T) {
			pub, err := s.PublishBundle(fakesigstore.Attest{Name: "keys", Version: "1.0.0", Integrity: integrity, NpmKey: tc.key, IntegratedTime: tc.at})
			if err != nil {
				t.Fatal(err)
			}
			info := decodeBundle(t, pub)
			if got := info.VerificationMaterial.PublicKey.Hint; got != s.NpmKeyID(tc.key) {
				t.Errorf("hint = %q, want %q", got, s.NpmKeyID(tc.key))
			}
			if got := info.DSSEEnvelope.Signatures[0].KeyID; got != s.NpmKeyID(tc.key) {
				t.Errorf("envelope keyid = %q, want %q", got, s.NpmKeyID(tc.key))
			}
			_, err = tr.verifyPublish(pub, digest)
			if (err == nil) != tc.want {
				t.Errorf("verify err = %v, want success %v", err, tc.want)
			}
		})
	}
}

// TestSignRegistry checks registry signatures against the keys served at
// /-/npm/v1/keys, and keyids against the OpenSSH fingerprint computed by
// x/crypto/ssh.
func TestSignRegistry(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	end := now.AddDate(0, 1, 0)
	s := newFake(t, fakesigstore.Options{Now: now, NpmKeys: []fakesigstore.KeySpec{{Start: now.AddDate(-2, 0, 0), End: end}, {}}})
	var body struct {
		Keys []struct {
			Expires *string `json:"expires"`
			KeyID   string  `json:"keyid"`
			KeyType string  `json:"keytype"`
			Scheme  string  `json:"scheme"`
			Key     string  `json:"key"`
		} `json:"keys"`
	}
	if err := json.Unmarshal(s.NpmKeys(), &body); err != nil {
		t.Fatal(err)
	}
	if len(body.Keys) != 2 || s.NpmKeyCount() != 2 {
		t.Fatalf("got %d keys (NpmKeyCount %d), want 2", len(body.Keys), s.NpmKeyCount())
	}
	if body.Keys[0].Expires == nil || *body.Keys[0].Expires != "2026-02-02T03:04:05.000Z" {
		t.Errorf("key 0 expires = %v, want 2026-02-02T03:04:05.000Z", body.Keys[0].Expires)
	}
	if body.Keys[1].Expires != nil {
		t.Errorf("key 1 expires = %q, want null", *body.Keys[1].Expires)
	}
	integrity, _ := integrityOf("registry signature")
	for i, k := range body.Keys {
		if k.KeyType != "ecdsa-sha2-nistp256" || k.Scheme != "ecdsa-sha2-nistp256" {
			t.Errorf("key %d type %q scheme %q", i, k.KeyType, k.Scheme)
		}
		der, err := base64.StdEncoding.DecodeString(k.Key)
		if err != nil {
			t.Fatal(err)
		}
		pub, err := x509.ParsePKIXPublicKey(der)
		if err != nil {
			t.Fatal(err)
		}
		sshPub, err := ssh.NewPublicKey(pub)
		if err != nil {
			t.Fatal(err)
		}
		if fp := ssh.FingerprintSHA256(sshPub); k.KeyID != fp || s.NpmKeyID(i) != fp {
			t.Errorf("key %d: keyid %q, NpmKeyID %q, OpenSSH fingerprint %q", i, k.KeyID, s.NpmKeyID(i), fp)
		}
		if !s.NpmPublicKey(i).Equal(pub) {
			t.Errorf("key %d: NpmPublicKey differs from the served key", i)
		}
		keyid, sig := s.SignRegistry(i, "@scope/pkg", "1.0.0", integrity)
		if keyid != k.KeyID {
			t.Errorf("SignRegistry keyid %q, want %q", keyid, k.KeyID)
		}
		raw, err := base64.StdEncoding.DecodeString(sig)
		if err != nil {
			t.Fatal(err)
		}
		msg := sha256.Sum256([]byte("@scope/pkg@1.0.0:" + integrity))
		if !ecdsa.VerifyASN1(pub.(*ecdsa.PublicKey), msg[:], raw) {
			t.Errorf("key %d: signature does not verify", i)
		}
		other := sha256.Sum256([]byte("@scope/pkg@1.0.1:" + integrity))
		if ecdsa.VerifyASN1(pub.(*ecdsa.PublicKey), other[:], raw) {
			t.Errorf("key %d: signature verifies for another version", i)
		}
	}
	if v := s.NpmKeyValidity(1); !v.Start.Equal(now.Add(-10*365*24*time.Hour)) || !v.End.IsZero() {
		t.Errorf("NpmKeyValidity(1) = %+v", v)
	}
}

func TestSignRegistryPanicsOnBadIndex(t *testing.T) {
	s := newFake(t, fakesigstore.Options{})
	for _, i := range []int{-1, 1} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("SignRegistry(%d) did not panic", i)
				}
			}()
			s.SignRegistry(i, "a", "1.0.0", "sha512-x")
		}()
	}
}

// TestSSHFingerprintMatchesNpm checks SSHFingerprint against a real npm
// registry key and its published keyid (public data, see
// testdata/trust/corepack/npm-keys-endpoint.json).
func TestSSHFingerprintMatchesNpm(t *testing.T) {
	const key = "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE1Olb3zMAFFxXKHiIkQO5cJ3Yhl5i6UPp+IhuteBJbuHcA5UogKo0EWtlWwW6KSaKoTNEYL7JlCQiVnkhBktUgg=="
	const keyid = "SHA256:jl3bwswu80PjjokCgh0o2w5c2U4LhQAE57gj9cz1kzA"
	der, err := base64.StdEncoding.DecodeString(key)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := x509.ParsePKIXPublicKey(der)
	if err != nil {
		t.Fatal(err)
	}
	got, err := fakesigstore.SSHFingerprint(pub.(*ecdsa.PublicKey))
	if err != nil || got != keyid {
		t.Errorf("SSHFingerprint = %q, %v; want %q", got, err, keyid)
	}
	if _, err := fakesigstore.SSHFingerprint(nil); !errors.Is(err, fakesigstore.ErrUnsupported) {
		t.Errorf("nil key: err = %v, want ErrUnsupported", err)
	}
}

// TestTrustDocuments checks the shape of TrustedRoot and NpmKeysTUF.
func TestTrustDocuments(t *testing.T) {
	now := time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)
	s := newFake(t, fakesigstore.Options{Now: now, NpmKeys: []fakesigstore.KeySpec{{Start: now.AddDate(-1, 0, 0), End: now}, {Start: now}}})
	var tr struct {
		MediaType     string `json:"mediaType"`
		Tlogs, Ctlogs []struct {
			BaseURL   string `json:"baseUrl"`
			PublicKey struct {
				RawBytes []byte `json:"rawBytes"`
			} `json:"publicKey"`
			LogID struct {
				KeyID []byte `json:"keyId"`
			} `json:"logId"`
		}
		CertificateAuthorities []struct {
			URI       string `json:"uri"`
			CertChain struct {
				Certificates []struct {
					RawBytes []byte `json:"rawBytes"`
				} `json:"certificates"`
			} `json:"certChain"`
		} `json:"certificateAuthorities"`
	}
	if err := json.Unmarshal(s.TrustedRoot(), &tr); err != nil {
		t.Fatal(err)
	}
	if tr.MediaType != fakesigstore.TrustedRootMediaType || len(tr.Tlogs) != 1 || len(tr.Ctlogs) != 1 || len(tr.CertificateAuthorities) != 1 {
		t.Fatalf("trusted root shape: %s", s.TrustedRoot())
	}
	for _, l := range append(tr.Tlogs, tr.Ctlogs...) {
		sum := sha256.Sum256(l.PublicKey.RawBytes)
		if !bytes.Equal(sum[:], l.LogID.KeyID) {
			t.Errorf("%s: log id is not the SHA-256 of its key", l.BaseURL)
		}
	}
	chain := tr.CertificateAuthorities[0].CertChain.Certificates
	if len(chain) != 2 {
		t.Fatalf("CA chain has %d certificates, want intermediate and root", len(chain))
	}
	inter, err := x509.ParseCertificate(chain[0].RawBytes)
	if err != nil {
		t.Fatal(err)
	}
	rootCert, err := x509.ParseCertificate(chain[1].RawBytes)
	if err != nil {
		t.Fatal(err)
	}
	if err := inter.CheckSignatureFrom(rootCert); err != nil {
		t.Errorf("intermediate not signed by root: %v", err)
	}
	if !inter.IsCA || !rootCert.IsCA || inter.NotBefore.After(now.AddDate(-9, 0, 0)) || inter.NotAfter.Before(now.AddDate(9, 0, 0)) {
		t.Errorf("CA validity %s to %s", inter.NotBefore, inter.NotAfter)
	}

	var keys struct {
		Keys []struct {
			KeyID     string `json:"keyId"`
			KeyUsage  string `json:"keyUsage"`
			PublicKey struct {
				KeyDetails string `json:"keyDetails"`
				ValidFor   struct {
					Start string `json:"start"`
					End   string `json:"end"`
				} `json:"validFor"`
			} `json:"publicKey"`
		} `json:"keys"`
	}
	if err := json.Unmarshal(s.NpmKeysTUF(), &keys); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, k := range keys.Keys {
		got = append(got, fmt.Sprintf("%s %s %s %s-%s", k.KeyID, k.KeyUsage, k.PublicKey.KeyDetails, k.PublicKey.ValidFor.Start, k.PublicKey.ValidFor.End))
	}
	want := []string{
		s.NpmKeyID(0) + " npm:signatures PKIX_ECDSA_P256_SHA_256 2024-06-01T00:00:00.000Z-2025-06-01T00:00:00.000Z",
		s.NpmKeyID(0) + " npm:attestations PKIX_ECDSA_P256_SHA_256 2024-06-01T00:00:00.000Z-2025-06-01T00:00:00.000Z",
		s.NpmKeyID(1) + " npm:signatures PKIX_ECDSA_P256_SHA_256 2025-06-01T00:00:00.000Z-",
		s.NpmKeyID(1) + " npm:attestations PKIX_ECDSA_P256_SHA_256 2025-06-01T00:00:00.000Z-",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("TUF keys:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	// Returned documents are copies.
	doc := s.TrustedRoot()
	doc[0] = 'X'
	if s.TrustedRoot()[0] == 'X' {
		t.Error("TrustedRoot returns shared memory")
	}
}

// TestInvalidInput checks that every malformed request fails with the
// package's sentinel errors.
func TestInvalidInput(t *testing.T) {
	s := newFake(t, fakesigstore.Options{})
	integrity, _ := integrityOf("ok")
	ok := fakesigstore.Attest{Name: "ok", Version: "1.0.0", Integrity: integrity}
	for _, tc := range []struct {
		name string
		edit func(*fakesigstore.Attest)
		want error
	}{
		{"no name", func(a *fakesigstore.Attest) { a.Name = "" }, fakesigstore.ErrInvalidAttest},
		{"space in name", func(a *fakesigstore.Attest) { a.Name = "a b" }, fakesigstore.ErrInvalidAttest},
		{"invalid UTF-8 name", func(a *fakesigstore.Attest) { a.Name = "\xf9" }, fakesigstore.ErrInvalidAttest},
		{"control character in name", func(a *fakesigstore.Attest) { a.Name = "a\x00" }, fakesigstore.ErrInvalidAttest},
		{"no version", func(a *fakesigstore.Attest) { a.Version = "" }, fakesigstore.ErrInvalidAttest},
		{"line separator in version", func(a *fakesigstore.Attest) { a.Version = "1\u2028" }, fakesigstore.ErrInvalidAttest},
		{"no integrity", func(a *fakesigstore.Attest) { a.Integrity = "" }, fakesigstore.ErrInvalidAttest},
		{"sha1 integrity", func(a *fakesigstore.Attest) { a.Integrity = "sha1-2jmj7l5rSw0yVb/vlWAYkK/YBwk=" }, fakesigstore.ErrInvalidAttest},
		{"short sha512", func(a *fakesigstore.Attest) { a.Integrity = "sha512-AAAA" }, fakesigstore.ErrInvalidAttest},
		{"bad base64", func(a *fakesigstore.Attest) { a.Integrity = "sha512-!!!" }, fakesigstore.ErrInvalidAttest},
		{"unknown forge", func(a *fakesigstore.Attest) { a.Repository = "https://forge.invalid/a/b" }, fakesigstore.ErrInvalidAttest},
		{"repository without repo", func(a *fakesigstore.Attest) { a.Repository = "https://github.com/a" }, fakesigstore.ErrInvalidAttest},
		{"GitHub subgroup", func(a *fakesigstore.Attest) { a.Repository = "https://github.com/a/b/c" }, fakesigstore.ErrInvalidAttest},
		{"GitLab project without group", func(a *fakesigstore.Attest) { a.Repository = "https://gitlab.com/p" }, fakesigstore.ErrInvalidAttest},
		{"GitLab empty segment", func(a *fakesigstore.Attest) { a.Repository = "https://gitlab.com/g//p" }, fakesigstore.ErrInvalidAttest},
		{"GitLab SLSA v1", func(a *fakesigstore.Attest) {
			a.Repository, a.PredicateType = "https://gitlab.com/g/p", fakesigstore.PredicateSLSAv1
		}, fakesigstore.ErrUnsupported},
		{"GitLab on a GitHub runner", func(a *fakesigstore.Attest) {
			a.Repository, a.Runner = "https://gitlab.com/g/p", fakesigstore.RunnerGitHubHosted
		}, fakesigstore.ErrUnsupported},
		{"ref without refs/", func(a *fakesigstore.Attest) { a.Ref = "main" }, fakesigstore.ErrInvalidAttest},
		{"short commit", func(a *fakesigstore.Attest) { a.Commit = "abc" }, fakesigstore.ErrInvalidAttest},
		{"absolute workflow", func(a *fakesigstore.Attest) { a.Workflow = "/w.yml" }, fakesigstore.ErrInvalidAttest},
		{"integrated time before CA", func(a *fakesigstore.Attest) { a.IntegratedTime = s.Now().AddDate(-20, 0, 0) }, fakesigstore.ErrInvalidAttest},
		{"integrated time after CA", func(a *fakesigstore.Attest) { a.IntegratedTime = s.Now().AddDate(20, 0, 0) }, fakesigstore.ErrInvalidAttest},
		{"predicate", func(a *fakesigstore.Attest) { a.PredicateType = "https://slsa.dev/provenance/v0.1" }, fakesigstore.ErrUnsupported},
		{"media type", func(a *fakesigstore.Attest) { a.MediaType = "application/vnd.dev.sigstore.bundle.v0.4+json" }, fakesigstore.ErrUnsupported},
		{"entry kind", func(a *fakesigstore.Attest) { a.EntryKind = "hashedrekord" }, fakesigstore.ErrUnsupported},
		{"runner", func(a *fakesigstore.Attest) { a.Runner = "laptop" }, fakesigstore.ErrUnsupported},
		{"npm key", func(a *fakesigstore.Attest) { a.NpmKey = 1 }, fakesigstore.ErrUnknownKey},
		{"negative npm key", func(a *fakesigstore.Attest) { a.NpmKey = -1 }, fakesigstore.ErrUnknownKey},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := ok
			tc.edit(&a)
			for name, f := range map[string]func(fakesigstore.Attest) ([]byte, error){
				"Attestations": s.Attestations, "PublishBundle": s.PublishBundle, "ProvenanceBundle": s.ProvenanceBundle,
			} {
				out, err := f(a)
				if !errors.Is(err, tc.want) || out != nil {
					t.Errorf("%s: %d bytes, err %v; want %v", name, len(out), err, tc.want)
				}
			}
		})
	}
	if _, err := fakesigstore.New(fakesigstore.Options{NpmKeys: []fakesigstore.KeySpec{{Start: time.Now(), End: time.Now().Add(-time.Hour)}}}); !errors.Is(err, fakesigstore.ErrInvalidOptions) {
		t.Errorf("New with end before start: err = %v, want ErrInvalidOptions", err)
	}
}

func TestSHA512Hex(t *testing.T) {
	integrity, digest := integrityOf("sri")
	for _, tc := range []struct {
		in, want string
	}{
		{integrity, hexOf(digest)},
		{"sha1-2jmj7l5rSw0yVb/vlWAYkK/YBwk= " + integrity, hexOf(digest)},
		{integrity + "?opt", hexOf(digest)},
	} {
		if got, err := fakesigstore.SHA512Hex(tc.in); err != nil || got != tc.want {
			t.Errorf("SHA512Hex(%q) = %q, %v", tc.in, got, err)
		}
	}
}

func TestSubjectName(t *testing.T) {
	for in, want := range map[string]string{
		"left-pad":     "pkg:npm/left-pad@1.0.0",
		"@scope/pkg":   "pkg:npm/%40scope/pkg@1.0.0",
		"@a/b.c_d-e~f": "pkg:npm/%40a/b.c_d-e~f@1.0.0",
	} {
		if got := fakesigstore.SubjectName(in, "1.0.0"); got != want {
			t.Errorf("SubjectName(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestLogIsOneAppendOnlyTree checks, independently of sigstore-go, that the
// entries form one append-only RFC 6962 log: consecutive indexes; each
// inclusion proof leads to its checkpoint's root; the entries of one
// Attestations call share one checkpoint for the tree right after the last
// of them; and every checkpoint root equals the root of a tree rebuilt here
// from the first entry's proof and every entry's leaf since (so no
// checkpoint contradicts another); the log-wide index is the shard index
// plus a fixed offset.
func TestLogIsOneAppendOnlyTree(t *testing.T) {
	s := newFake(t, fakesigstore.Options{})
	integrity, _ := integrityOf("log")
	var model *compactRange
	var offset int64
	for i := range 40 {
		a := fakesigstore.Attest{Name: "log", Version: fmt.Sprintf("1.0.%d", i), Integrity: integrity, OmitProvenance: i%3 == 0}
		body, err := s.Attestations(a)
		if err != nil {
			t.Fatal(err)
		}
		doc := decodeAttestations(t, body)
		// The provenance is logged before the publish attestation.
		order := []int{1, 0}
		if a.OmitProvenance {
			order = []int{0}
		}
		if len(doc.Attestations) != len(order) {
			t.Fatalf("got %d attestations, want %d", len(doc.Attestations), len(order))
		}
		if doc.Attestations[0].PredicateType != fakesigstore.PredicatePublish {
			t.Fatalf("first attestation is %q, want publish", doc.Attestations[0].PredicateType)
		}
		var batchCheckpoint string
		var batchSize int64
		for k, j := range order {
			e := decodeBundle(t, doc.Attestations[j].Bundle).VerificationMaterial.TlogEntries[0]
			p := e.InclusionProof
			leaf := sha256.Sum256(append([]byte{0}, e.CanonicalizedBody...))
			if model == nil {
				if p.TreeSize != p.LogIndex+1 {
					t.Fatalf("first entry is not the last leaf of its tree: index %d, size %d", p.LogIndex, p.TreeSize)
				}
				model = newCompactRange(uint64(p.LogIndex), p.Hashes)
				offset = e.LogIndex - p.LogIndex
			} else if uint64(p.LogIndex) != model.size {
				t.Fatalf("index %d, want the next one, %d", p.LogIndex, model.size)
			}
			if e.LogIndex-p.LogIndex != offset {
				t.Errorf("log-wide index %d, shard index %d: offset changed from %d", e.LogIndex, p.LogIndex, offset)
			}
			model.append(leaf[:])
			if k == 0 {
				batchCheckpoint, batchSize = p.Checkpoint.Envelope, p.TreeSize
			} else if p.Checkpoint.Envelope != batchCheckpoint {
				t.Errorf("entries of one call have different checkpoints")
			}
			if root := rootFromProof(e.CanonicalizedBody, uint64(p.LogIndex), uint64(p.TreeSize), p.Hashes); !bytes.Equal(root, p.RootHash) {
				t.Fatalf("entry %d: proof gives root %x, bundle says %x", p.LogIndex, root, p.RootHash)
			}
			lines := strings.Split(p.Checkpoint.Envelope, "\n")
			if len(lines) < 5 || lines[1] != fmt.Sprint(p.TreeSize) || lines[2] != base64.StdEncoding.EncodeToString(p.RootHash) || lines[3] != "" || !strings.HasPrefix(lines[4], "\u2014 ") {
				t.Errorf("checkpoint does not commit to size %d root %x:\n%s", p.TreeSize, p.RootHash, p.Checkpoint.Envelope)
			}
		}
		if uint64(batchSize) != model.size {
			t.Fatalf("checkpoint size %d, but the log holds %d entries after this call", batchSize, model.size)
		}
		if root := base64.StdEncoding.EncodeToString(model.root()); !strings.Contains(batchCheckpoint, "\n"+root+"\n") {
			t.Fatalf("checkpoint of size %d does not hold the rebuilt root %s:\n%s", batchSize, root, batchCheckpoint)
		}
	}
}

// compactRange is an RFC 6962 tree kept as the roots of its perfect
// subtrees, written here independently of the package.
type compactRange struct {
	size  uint64
	nodes map[int][]byte // by level, where bit level of size is set
}

// newCompactRange starts from the audit path of the last leaf of a tree of
// size index+1: the roots of the perfect subtrees before it, smallest first.
func newCompactRange(index uint64, path [][]byte) *compactRange {
	c := &compactRange{size: index, nodes: map[int][]byte{}}
	for level := range 64 {
		if index&(1<<level) != 0 && len(path) > 0 {
			c.nodes[level], path = path[0], path[1:]
		}
	}
	return c
}

func (c *compactRange) append(leafHash []byte) {
	carry := leafHash
	level := 0
	for ; c.size&(1<<level) != 0; level++ {
		carry = nodeHash(c.nodes[level], carry)
		delete(c.nodes, level)
	}
	c.nodes[level] = carry
	c.size++
}

func (c *compactRange) root() []byte {
	var acc []byte
	for level := range 64 {
		if n, ok := c.nodes[level]; ok {
			if acc == nil {
				acc = n
			} else {
				acc = nodeHash(n, acc)
			}
		}
	}
	return acc
}

func nodeHash(left, right []byte) []byte {
	sum := sha256.Sum256(append(append([]byte{1}, left...), right...))
	return sum[:]
}

// rootFromProof recomputes an RFC 6962 root from an inclusion proof
// (RFC 9162 section 2.1.3.2).
func rootFromProof(leaf []byte, index, size uint64, proof [][]byte) []byte {
	hash := func(parts ...[]byte) []byte {
		h := sha256.New()
		for _, p := range parts {
			h.Write(p)
		}
		return h.Sum(nil)
	}
	r := hash([]byte{0}, leaf)
	fn, sn := index, size-1
	for _, p := range proof {
		if sn == 0 {
			return nil
		}
		if fn&1 == 1 || fn == sn {
			r = hash([]byte{1}, p, r)
			for fn&1 == 0 && fn != 0 {
				fn, sn = fn>>1, sn>>1
			}
		} else {
			r = hash([]byte{1}, r, p)
		}
		fn, sn = fn>>1, sn>>1
	}
	if sn != 0 {
		return nil
	}
	return r
}

// TestConcurrent generates attestations from several goroutines and checks
// that each verifies and has its own log entry.
func TestConcurrent(t *testing.T) {
	s := newFake(t, fakesigstore.Options{})
	tr := newTrust(t, s)
	const workers, each = 4, 5
	var mu sync.Mutex
	seen := map[int64]bool{}
	var wg sync.WaitGroup
	errs := make(chan error, workers*each)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				integrity, digest := integrityOf(fmt.Sprint(w, i))
				version := fmt.Sprintf("%d.%d.0", w, i)
				body, err := s.Attestations(fakesigstore.Attest{Name: "conc", Version: version, Integrity: integrity})
				if err != nil {
					errs <- err
					return
				}
				var doc attestations
				if err := json.Unmarshal(body, &doc); err != nil {
					errs <- err
					return
				}
				if _, err := tr.verifyPublish(doc.Attestations[0].Bundle, digest); err != nil {
					errs <- fmt.Errorf("publish %s: %w", version, err)
				}
				san := "https://github.com/fake-org/conc/.github/workflows/release.yml@refs/tags/v" + version
				if _, err := tr.verifyProvenance(doc.Attestations[1].Bundle, digest, san, fakesigstore.DefaultIssuer); err != nil {
					errs <- fmt.Errorf("provenance %s: %w", version, err)
				}
				mu.Lock()
				for _, att := range doc.Attestations {
					var info bundleInfo
					if err := json.Unmarshal(att.Bundle, &info); err != nil {
						errs <- err
						continue
					}
					idx := info.VerificationMaterial.TlogEntries[0].LogIndex
					if seen[idx] {
						errs <- fmt.Errorf("log index %d used twice", idx)
					}
					seen[idx] = true
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if len(seen) != workers*each*2 {
		t.Errorf("%d distinct log entries, want %d", len(seen), workers*each*2)
	}
}

// BenchmarkAttestations measures one Attestations call (publish +
// provenance: an ephemeral key, a certificate with SCT, two DSSE signatures,
// two log entries with SETs and one checkpoint). Besides wall time it
// reports the process CPU time per call (cpu-ns/op), which stays meaningful
// on a machine busy with other work.
func BenchmarkAttestations(b *testing.B) {
	s := newFake(b, fakesigstore.Options{})
	integrity, _ := integrityOf("bench")
	a := fakesigstore.Attest{Name: "@bench/pkg", Version: "1.0.0", Integrity: integrity}
	b.ReportAllocs()
	cpu0, ok := processCPUTime()
	for b.Loop() {
		if _, err := s.Attestations(a); err != nil {
			b.Fatal(err)
		}
	}
	if cpu1, ok1 := processCPUTime(); ok && ok1 {
		b.ReportMetric(float64(cpu1-cpu0)/float64(b.N), "cpu-ns/op")
	}
}

// BenchmarkAttestationsParallel is BenchmarkAttestations from GOMAXPROCS
// goroutines sharing one Sigstore (and one log).
func BenchmarkAttestationsParallel(b *testing.B) {
	s := newFake(b, fakesigstore.Options{})
	integrity, _ := integrityOf("bench")
	a := fakesigstore.Attest{Name: "@bench/pkg", Version: "1.0.0", Integrity: integrity}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := s.Attestations(a); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkSignRegistry measures one registry signature.
func BenchmarkSignRegistry(b *testing.B) {
	s := newFake(b, fakesigstore.Options{})
	integrity, _ := integrityOf("bench")
	for b.Loop() {
		s.SignRegistry(0, "@bench/pkg", "1.0.0", integrity)
	}
}
