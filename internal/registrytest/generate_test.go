package registrytest

import (
	"bytes"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/provaudit/provaudit/internal/registrytest/fakesigstore"
)

var published = time.Date(2024, 3, 5, 10, 20, 30, 0, time.UTC)

func TestVersionDocument(t *testing.T) {
	r := newRegistry(t, Options{})
	integ := sriSHA512([]byte("lockfile bytes"))
	if err := r.Add(Package{Name: "ms", Version: "2.1.3", Integrity: integ, Signed: true, PublishTime: published}); err != nil {
		t.Fatal(err)
	}
	resp := get(t, r, "/ms/2.1.3")
	if resp.status != http.StatusOK || resp.header.Get("Content-Type") != "application/json" {
		t.Fatalf("status %d, Content-Type %q", resp.status, resp.header.Get("Content-Type"))
	}
	doc := decode[testVersionDoc](t, resp.body)
	if doc.Name != "ms" || doc.Version != "2.1.3" || doc.ID != "ms@2.1.3" {
		t.Errorf("name %q version %q _id %q", doc.Name, doc.Version, doc.ID)
	}
	if doc.Dist.Integrity != integ {
		t.Errorf("integrity %q, want the lockfile's %q", doc.Dist.Integrity, integ)
	}
	if len(doc.Dist.Shasum) != 40 {
		t.Errorf("shasum %q", doc.Dist.Shasum)
	}
	if doc.Dist.Tarball != r.URL()+"ms/-/ms-2.1.3.tgz" {
		t.Errorf("tarball %q", doc.Dist.Tarball)
	}
	if doc.NpmUser == nil || doc.NpmUser.Name == "" || doc.NpmUser.Email == "" {
		t.Errorf("_npmUser %+v", doc.NpmUser)
	}
	if doc.Dist.Attestations != nil {
		t.Errorf("unattested package has dist.attestations %+v", doc.Dist.Attestations)
	}
	if len(doc.Dist.Signatures) != 1 {
		t.Fatalf("%d signatures, want 1", len(doc.Dist.Signatures))
	}
	keys := keysFrom(t, mustGet(t, r, "/-/npm/v1/keys"))
	s := doc.Dist.Signatures[0]
	if s.KeyID != r.Sigstore().NpmKeyID(0) {
		t.Errorf("keyid %q, want key 0 %q", s.KeyID, r.Sigstore().NpmKeyID(0))
	}
	if !verifyRegistrySig(keys, s.KeyID, s.Sig, "ms", "2.1.3", integ) {
		t.Error("registry signature does not verify with the served key")
	}
	// The check can fail: another integrity or name does not verify.
	if verifyRegistrySig(keys, s.KeyID, s.Sig, "ms", "2.1.3", sriSHA512([]byte("other"))) ||
		verifyRegistrySig(keys, s.KeyID, s.Sig, "ms", "2.1.4", integ) {
		t.Error("registry signature verifies over other data")
	}
	// A dist-tag resolves to the version.
	if got := mustGet(t, r, "/ms/latest"); !bytes.Equal(got, resp.body) {
		t.Error("/ms/latest is not the 2.1.3 document")
	}
}

func TestSignKeyAndUnsigned(t *testing.T) {
	ss, err := fakesigstore.New(fakesigstore.Options{NpmKeys: []fakesigstore.KeySpec{
		{Start: published.AddDate(-2, 0, 0), End: published.AddDate(-1, 0, 0)},
		{Start: published.AddDate(-1, 0, 0)},
	}})
	if err != nil {
		t.Fatal(err)
	}
	r := newRegistry(t, Options{Sigstore: ss})
	if r.Sigstore() != ss {
		t.Fatal("Sigstore() is not the one given")
	}
	if err := r.Add(
		Package{Name: "a", Version: "1.0.0", Signed: true, SignKey: 1, Attested: true},
		Package{Name: "b", Version: "1.0.0"},
	); err != nil {
		t.Fatal(err)
	}
	keys := keysFrom(t, mustGet(t, r, "/-/npm/v1/keys"))
	a := decode[testVersionDoc](t, mustGet(t, r, "/a/1.0.0"))
	if len(a.Dist.Signatures) != 1 || a.Dist.Signatures[0].KeyID != ss.NpmKeyID(1) {
		t.Fatalf("signatures %+v, want one by key 1", a.Dist.Signatures)
	}
	if !verifyRegistrySig(keys, a.Dist.Signatures[0].KeyID, a.Dist.Signatures[0].Sig, "a", "1.0.0", a.Dist.Integrity) {
		t.Error("signature by key 1 does not verify")
	}
	// The publish attestation is signed by the same key.
	att := decode[testAttestations](t, mustGet(t, r, "/-/npm/v1/attestations/a@1.0.0"))
	hint := decode[struct {
		VerificationMaterial struct {
			PublicKey struct {
				Hint string `json:"hint"`
			} `json:"publicKey"`
		} `json:"verificationMaterial"`
	}](t, att.Attestations[0].Bundle).VerificationMaterial.PublicKey.Hint
	if att.Attestations[0].PredicateType != publishPredicate || hint != ss.NpmKeyID(1) {
		t.Errorf("publish attestation %s signed by %q, want key 1 %q", att.Attestations[0].PredicateType, hint, ss.NpmKeyID(1))
	}
	if b := decode[testVersionDoc](t, mustGet(t, r, "/b/1.0.0")); len(b.Dist.Signatures) != 0 {
		t.Errorf("unsigned package has signatures %+v", b.Dist.Signatures)
	}
}

func TestGeneratedIntegrity(t *testing.T) {
	r := newRegistry(t, Options{})
	tgz := []byte("not really a tarball")
	if err := r.Add(
		Package{Name: "with-tarball", Version: "1.0.0", Tarball: tgz},
		Package{Name: "nothing", Version: "1.0.0"},
	); err != nil {
		t.Fatal(err)
	}
	d := decode[testVersionDoc](t, mustGet(t, r, "/with-tarball/1.0.0"))
	if d.Dist.Integrity != sriSHA512(tgz) {
		t.Errorf("integrity %q, want the tarball's", d.Dist.Integrity)
	}
	if got := mustGet(t, r, strings.TrimPrefix(d.Dist.Tarball, r.URL())); !bytes.Equal(got, tgz) {
		t.Error("dist.tarball does not serve the tarball")
	}
	n := decode[testVersionDoc](t, mustGet(t, r, "/nothing/1.0.0"))
	if !strings.HasPrefix(n.Dist.Integrity, "sha512-") || n.Dist.Integrity == d.Dist.Integrity {
		t.Errorf("generated integrity %q", n.Dist.Integrity)
	}
}

func TestScopedRouting(t *testing.T) {
	r := newRegistry(t, Options{})
	if err := r.Add(Package{Name: "@scope/pkg", Version: "1.0.0", Signed: true, Attested: true, Tarball: []byte("tgz")}); err != nil {
		t.Fatal(err)
	}
	want := mustGet(t, r, "/@scope%2fpkg/1.0.0")
	doc := decode[testVersionDoc](t, want)
	if doc.Name != "@scope/pkg" {
		t.Fatalf("name %q", doc.Name)
	}
	for _, p := range []string{"/@scope%2Fpkg/1.0.0", "/%40scope%2fpkg/1.0.0", "/@scope/pkg/1.0.0", "/%40scope%2Fpkg/1.0.0"} {
		if got := mustGet(t, r, p); !bytes.Equal(got, want) {
			t.Errorf("GET %s: another document", p)
		}
	}
	pk := mustGet(t, r, "/@scope%2fpkg")
	for _, p := range []string{"/@scope/pkg", "/%40scope%2Fpkg"} {
		if got := mustGet(t, r, p); !bytes.Equal(got, pk) {
			t.Errorf("GET %s: another packument", p)
		}
	}
	if doc.Dist.Tarball != r.URL()+"@scope/pkg/-/pkg-1.0.0.tgz" {
		t.Errorf("tarball URL %q", doc.Dist.Tarball)
	}
	mustGet(t, r, "/@scope%2fpkg/-/pkg-1.0.0.tgz")
	if doc.Dist.Attestations == nil || doc.Dist.Attestations.URL != r.URL()+"-/npm/v1/attestations/@scope%2fpkg@1.0.0" {
		t.Fatalf("attestations %+v", doc.Dist.Attestations)
	}
	att := mustGet(t, r, "/-/npm/v1/attestations/@scope%2fpkg@1.0.0")
	if got := mustGet(t, r, "/-/npm/v1/attestations/@scope/pkg@1.0.0"); !bytes.Equal(got, att) {
		t.Error("unescaped attestation path serves another body")
	}
	if got := r.RequestsFor("/@scope/pkg/"); got != 6 {
		t.Errorf("RequestsFor(/@scope/pkg/) = %d, want 6 (escaped and unescaped alike)", got)
	}
	if resp := get(t, r, "/@scope"); resp.status != http.StatusNotFound {
		t.Errorf("bare scope: status %d", resp.status)
	}
}

// statementOf decodes the in-toto statement of one attestation bundle.
func statementOf(t *testing.T, bundle json.RawMessage) (subject, digest string) {
	t.Helper()
	b := decode[struct {
		DSSEEnvelope struct {
			Payload string `json:"payload"`
		} `json:"dsseEnvelope"`
	}](t, bundle)
	payload, err := base64.StdEncoding.DecodeString(b.DSSEEnvelope.Payload)
	if err != nil {
		t.Fatal(err)
	}
	st := decode[statement](t, payload)
	if len(st.Subject) != 1 {
		t.Fatalf("%d subjects", len(st.Subject))
	}
	return st.Subject[0].Name, st.Subject[0].Digest["sha512"]
}

type testAttestations struct {
	Attestations []struct {
		PredicateType string          `json:"predicateType"`
		Bundle        json.RawMessage `json:"bundle"`
	} `json:"attestations"`
}

func TestAttestationsServed(t *testing.T) {
	r := newRegistry(t, Options{})
	integ := sriSHA512([]byte("attested tarball"))
	sum := sha512.Sum512([]byte("attested tarball"))
	err := r.Add(
		Package{Name: "@sigstore/fake", Version: "2.0.0", Integrity: integ, Signed: true, Attested: true, PublishTime: published},
		Package{Name: "v02", Version: "1.0.0", Attested: true, Attest: &fakesigstore.Attest{PredicateType: "https://slsa.dev/provenance/v0.2"}},
		Package{Name: "publish-only", Version: "1.0.0", Attested: true, Attest: &fakesigstore.Attest{OmitProvenance: true}},
	)
	if err != nil {
		t.Fatal(err)
	}
	doc := decode[testVersionDoc](t, mustGet(t, r, "/@sigstore%2ffake/2.0.0"))
	if doc.Dist.Attestations == nil || doc.Dist.Attestations.Provenance == nil ||
		doc.Dist.Attestations.Provenance.PredicateType != "https://slsa.dev/provenance/v1" {
		t.Fatalf("dist.attestations %+v", doc.Dist.Attestations)
	}
	body := mustGet(t, r, strings.TrimPrefix(doc.Dist.Attestations.URL, r.URL()))
	att := decode[testAttestations](t, body)
	if len(att.Attestations) != 2 || att.Attestations[0].PredicateType != publishPredicate ||
		att.Attestations[1].PredicateType != "https://slsa.dev/provenance/v1" {
		t.Fatalf("predicate types: %+v", att.Attestations)
	}
	for i, a := range att.Attestations {
		subject, digest := statementOf(t, a.Bundle)
		if subject != "pkg:npm/%40sigstore/fake@2.0.0" || digest != hex.EncodeToString(sum[:]) {
			t.Errorf("attestation %d: subject %s digest %s", i, subject, digest)
		}
	}

	v02 := decode[testVersionDoc](t, mustGet(t, r, "/v02/1.0.0"))
	if v02.Dist.Attestations == nil || v02.Dist.Attestations.Provenance.PredicateType != "https://slsa.dev/provenance/v0.2" {
		t.Errorf("v0.2: dist.attestations %+v", v02.Dist.Attestations)
	}
	po := decode[testVersionDoc](t, mustGet(t, r, "/publish-only/1.0.0"))
	if po.Dist.Attestations == nil || po.Dist.Attestations.Provenance != nil {
		t.Errorf("publish only: dist.attestations %+v", po.Dist.Attestations)
	}
	if n := len(decode[testAttestations](t, mustGet(t, r, "/-/npm/v1/attestations/publish-only@1.0.0")).Attestations); n != 1 {
		t.Errorf("publish only: %d attestations", n)
	}
}

func TestNpmUser(t *testing.T) {
	r := newRegistry(t, Options{})
	if err := r.Add(
		Package{Name: "plain", Version: "1.0.0"},
		Package{Name: "named", Version: "1.0.0", NpmUser: "alice"},
		Package{Name: "oidc", Version: "1.0.0", TrustedPublisher: "github"},
	); err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]string{"/plain/1.0.0": "plain-maintainer", "/named/1.0.0": "alice", "/oidc/1.0.0": "GitHub Actions"} {
		d := decode[testVersionDoc](t, mustGet(t, r, path))
		if d.NpmUser == nil || d.NpmUser.Name != want {
			t.Errorf("%s: _npmUser %+v, want %s", path, d.NpmUser, want)
		}
		if tp := d.NpmUser.TrustedPublisher; (tp != nil) != (want == "GitHub Actions") || (tp != nil && (tp.ID != "github" || tp.OIDCConfigID == "")) {
			t.Errorf("%s: trustedPublisher %+v", path, tp)
		}
	}
}

// TestApproverAndScripts checks the staged-publishing approver and the
// extra scripts of a Package, in the version document and the full
// packument.
func TestApproverAndScripts(t *testing.T) {
	r := newRegistry(t, Options{})
	if err := r.Add(
		Package{Name: "staged", Version: "1.0.0", TrustedPublisher: "github", Approver: "carol", Scripts: map[string]string{"preinstall": "node x.js"}},
		Package{Name: "staged", Version: "0.9.0"},
	); err != nil {
		t.Fatal(err)
	}
	d := decode[testVersionDoc](t, mustGet(t, r, "/staged/1.0.0"))
	if d.NpmUser == nil || d.NpmUser.Approver == nil || d.NpmUser.Approver.Name != "carol" || d.NpmUser.TrustedPublisher == nil {
		t.Errorf("_npmUser %+v, want an approver carol and a trusted publisher", d.NpmUser)
	}
	if d.Scripts["preinstall"] != "node x.js" || d.Scripts["test"] == "" {
		t.Errorf("scripts %v, want preinstall added to test", d.Scripts)
	}
	full := decode[testPackument](t, mustGet(t, r, "/staged"))
	if v := full.Versions["0.9.0"]; v.NpmUser == nil || v.NpmUser.Approver != nil || v.Scripts["preinstall"] != "" {
		t.Errorf("0.9.0 in the packument: %+v", v)
	}
	if v := full.Versions["1.0.0"]; v.NpmUser == nil || v.NpmUser.Approver == nil || v.Scripts["preinstall"] == "" {
		t.Errorf("1.0.0 in the packument: %+v", v)
	}
}

type testPackument struct {
	Name     string                    `json:"name"`
	Modified string                    `json:"modified"`
	DistTags map[string]string         `json:"dist-tags"`
	Versions map[string]testVersionDoc `json:"versions"`
	Time     map[string]string         `json:"time"`
}

func TestPackumentFullAndAbbreviated(t *testing.T) {
	r := newRegistry(t, Options{})
	if err := r.Add(
		Package{Name: "pad", Version: "1.0.0", Signed: true, PublishTime: published},
		Package{Name: "pad", Version: "2.0.0-rc.1", Signed: true, PublishTime: published.Add(48 * time.Hour)},
		Package{Name: "pad", Version: "1.1.0", Signed: true, Attested: true, PublishTime: published.Add(24 * time.Hour), Versions: 50},
	); err != nil {
		t.Fatal(err)
	}
	for _, accept := range []string{"", "application/json"} {
		var resp response
		if accept == "" {
			resp = get(t, r, "/pad")
		} else {
			resp = get(t, r, "/pad", "Accept", accept)
		}
		if resp.status != http.StatusOK || resp.header.Get("Content-Type") != "application/json" {
			t.Fatalf("Accept %q: status %d, Content-Type %q", accept, resp.status, resp.header.Get("Content-Type"))
		}
		full := decode[testPackument](t, resp.body)
		if full.Name != "pad" || len(full.Versions) != 53 {
			t.Fatalf("full: name %q, %d versions, want 53", full.Name, len(full.Versions))
		}
		if full.DistTags["latest"] != "1.1.0" {
			t.Errorf("dist-tags %v, want latest 1.1.0 (highest release)", full.DistTags)
		}
		for v, want := range map[string]time.Time{"1.0.0": published, "1.1.0": published.Add(24 * time.Hour), "2.0.0-rc.1": published.Add(48 * time.Hour)} {
			got, err := time.Parse(time.RFC3339, full.Time[v])
			if err != nil || !got.Equal(want) {
				t.Errorf("time[%s] = %q (%v), want %v", v, full.Time[v], err, want)
			}
			if full.Versions[v].NpmUser == nil {
				t.Errorf("full: %s has no _npmUser", v)
			}
		}
		if full.Time["created"] == "" || full.Time["modified"] == "" || len(full.Time) != 55 {
			t.Errorf("time has %d entries (created %q, modified %q), want 55", len(full.Time), full.Time["created"], full.Time["modified"])
		}
		real := full.Versions["1.1.0"]
		if real.Dist.Attestations == nil || len(real.Dist.Signatures) != 1 {
			t.Errorf("full: 1.1.0 dist %+v", real.Dist)
		}
	}

	resp := get(t, r, "/pad", "Accept", "application/vnd.npm.install-v1+json; q=1.0, application/json; q=0.8, */*")
	if resp.header.Get("Content-Type") != "application/vnd.npm.install-v1+json" {
		t.Fatalf("abbreviated Content-Type %q", resp.header.Get("Content-Type"))
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(resp.body, &raw); err != nil {
		t.Fatal(err)
	}
	if _, ok := raw["time"]; ok {
		t.Error("abbreviated packument has a time map")
	}
	if bytes.Contains(resp.body, []byte(`"_npmUser"`)) {
		t.Error("abbreviated packument has _npmUser")
	}
	ab := decode[testPackument](t, resp.body)
	if ab.Name != "pad" || ab.Modified == "" || len(ab.Versions) != 53 || ab.DistTags["latest"] != "1.1.0" {
		t.Errorf("abbreviated: name %q modified %q %d versions tags %v", ab.Name, ab.Modified, len(ab.Versions), ab.DistTags)
	}
	v := ab.Versions["1.1.0"]
	if v.Dist.Integrity == "" || len(v.Dist.Signatures) != 1 || v.Dist.Attestations == nil {
		t.Errorf("abbreviated 1.1.0 dist %+v", v.Dist)
	}
	if len(resp.body)*3 > len(get(t, r, "/pad").body) {
		t.Errorf("abbreviated packument (%d bytes) is not much smaller than the full one", len(resp.body))
	}
}

func TestPackumentRealisticSize(t *testing.T) {
	r := newRegistry(t, Options{})
	if err := r.Add(Package{Name: "popular", Version: "4.17.21", Versions: 1000}); err != nil {
		t.Fatal(err)
	}
	body := mustGet(t, r, "/popular")
	if len(body) < 3<<20 {
		t.Errorf("full packument with 1000 padding versions is %d bytes, want several MB", len(body))
	}
	pk := decode[testPackument](t, body)
	if len(pk.Versions) != 1001 {
		t.Errorf("%d versions", len(pk.Versions))
	}
	for v, d := range pk.Versions {
		if d.Name != "popular" || d.Version != v || !strings.HasPrefix(d.Dist.Integrity, "sha512-") {
			t.Fatalf("version %s: %+v", v, d)
		}
	}
}

func TestStripSignatures(t *testing.T) {
	r := newRegistry(t, Options{})
	if err := r.Add(Package{Name: "s", Version: "1.0.0", Signed: true, Attested: true}); err != nil {
		t.Fatal(err)
	}
	r.SetStripSignatures(true)
	d := decode[testVersionDoc](t, mustGet(t, r, "/s/1.0.0"))
	if len(d.Dist.Signatures) != 0 {
		t.Errorf("stripped document has signatures %+v", d.Dist.Signatures)
	}
	if d.Dist.Integrity == "" || d.Dist.Attestations == nil {
		t.Errorf("stripping lost other dist fields: %+v", d.Dist)
	}
	for _, accept := range []string{"application/json", abbreviatedType} {
		pk := decode[testPackument](t, mustGet(t, r, "/s", "Accept", accept))
		if len(pk.Versions["1.0.0"].Dist.Signatures) != 1 {
			t.Errorf("Accept %s: packument lost its signatures", accept)
		}
	}
	r.SetStripSignatures(false)
	if d := decode[testVersionDoc](t, mustGet(t, r, "/s/1.0.0")); len(d.Dist.Signatures) != 1 {
		t.Error("signatures not back")
	}
}

func TestNoVersionEndpoint(t *testing.T) {
	r := newRegistry(t, Options{})
	if err := r.Add(Package{Name: "nv", Version: "1.0.0", Signed: true}); err != nil {
		t.Fatal(err)
	}
	r.SetNoVersionEndpoint(true)
	if s := get(t, r, "/nv/1.0.0").status; s != http.StatusNotFound {
		t.Errorf("version endpoint: status %d, want 404", s)
	}
	ab := decode[testPackument](t, mustGet(t, r, "/nv", "Accept", abbreviatedType))
	if len(ab.Versions["1.0.0"].Dist.Signatures) != 1 {
		t.Error("abbreviated packument lacks the version")
	}
	r.SetNoVersionEndpoint(false)
	mustGet(t, r, "/nv/1.0.0")
}

func TestKeys(t *testing.T) {
	r := newRegistry(t, Options{})
	if got := mustGet(t, r, "/-/npm/v1/keys"); !bytes.Equal(got, r.Sigstore().NpmKeys()) {
		t.Error("keys endpoint does not serve the fake sigstore's keys")
	}
	r.SetNoKeys(true)
	if s := get(t, r, "/-/npm/v1/keys").status; s != http.StatusNotFound {
		t.Errorf("SetNoKeys: status %d, want 404", s)
	}
	r.SetNoKeys(false)
	r.SetKeys([]byte(`{"keys":[]}`))
	if got := mustGet(t, r, "/-/npm/v1/keys"); string(got) != `{"keys":[]}` {
		t.Errorf("SetKeys: %s", got)
	}
	r.SetKeys(nil)
	if got := mustGet(t, r, "/-/npm/v1/keys"); !bytes.Equal(got, r.Sigstore().NpmKeys()) {
		t.Error("SetKeys(nil) did not restore the fake keys")
	}
}

func TestAddRejectsBadPackages(t *testing.T) {
	good := Package{Name: "ok", Version: "1.0.0"}
	for _, tc := range []struct {
		name string
		p    Package
	}{
		{"empty name", Package{Version: "1.0.0"}},
		{"space in name", Package{Name: "a b", Version: "1.0.0"}},
		{"slash in name", Package{Name: "a/b", Version: "1.0.0"}},
		{"scope without name", Package{Name: "@scope/", Version: "1.0.0"}},
		{"empty version", Package{Name: "a"}},
		{"slash in version", Package{Name: "a", Version: "1/0"}},
		{"integrity not SRI", Package{Name: "a", Version: "1.0.0", Integrity: "deadbeef"}},
		{"integrity bad base64", Package{Name: "a", Version: "1.0.0", Integrity: "sha512-!!!"}},
		{"attested with sha1", Package{Name: "a", Version: "1.0.0", Integrity: "sha1-2jmj7l5rSw0yVb/vlWAYkK/YBwk=", Attested: true}},
		{"sign key out of range", Package{Name: "a", Version: "1.0.0", Signed: true, SignKey: 7}},
		{"negative sign key", Package{Name: "a", Version: "1.0.0", SignKey: -1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newRegistry(t, Options{})
			err := r.Add(good, tc.p)
			if !errors.Is(err, ErrInvalidPackage) {
				t.Fatalf("err = %v, want ErrInvalidPackage", err)
			}
			if s := get(t, r, "/ok/1.0.0").status; s != http.StatusNotFound {
				t.Errorf("a failed Add still added the good package (status %d)", s)
			}
		})
	}
}

func TestAddReplaces(t *testing.T) {
	r := newRegistry(t, Options{})
	a, b := sriSHA512([]byte("a")), sriSHA512([]byte("b"))
	for _, integ := range []string{a, b} {
		if err := r.Add(Package{Name: "x", Version: "1.0.0", Integrity: integ}); err != nil {
			t.Fatal(err)
		}
	}
	if d := decode[testVersionDoc](t, mustGet(t, r, "/x/1.0.0")); d.Dist.Integrity != b {
		t.Errorf("integrity %q after replacing, want %q", d.Dist.Integrity, b)
	}
}

func TestPackages(t *testing.T) {
	var locked []Locked
	for i := range 3000 {
		integ := sriSHA512(fmt.Appendf(nil, "%d", i))
		if i%10 == 0 {
			integ = "sha1-2jmj7l5rSw0yVb/vlWAYkK/YBwk="
		}
		locked = append(locked, Locked{Name: fmt.Sprintf("pkg-%d", i), Version: "1.0.0", Integrity: integ})
	}
	locked = append(locked, locked[5]) // a duplicate name@version
	pkgs := Packages(locked, 0.33, published)
	if len(pkgs) != 3000 {
		t.Fatalf("%d packages, want 3000 (duplicates dropped)", len(pkgs))
	}
	attested := 0
	for i, p := range pkgs {
		if p.Name != locked[i].Name || p.Integrity != locked[i].Integrity || !p.Signed || !p.PublishTime.Equal(published) {
			t.Fatalf("package %d: %+v", i, p)
		}
		if p.Attested {
			attested++
			if !hasSHA512(p.Integrity) {
				t.Errorf("%s attested with integrity %s", p.Name, p.Integrity)
			}
		}
	}
	// About 0.33 of the 90% with sha512.
	if frac := float64(attested) / 2700; frac < 0.28 || frac > 0.38 {
		t.Errorf("attested fraction %.3f, want about 0.33", frac)
	}
	again := Packages(locked, 0.33, published)
	for i := range pkgs {
		if pkgs[i].Attested != again[i].Attested {
			t.Fatal("Packages is not deterministic")
		}
	}
	for _, p := range Packages(locked, 0, published) {
		if p.Attested {
			t.Fatal("fraction 0 attested a package")
		}
	}
	// A bundled copy without integrity listed first does not decide what
	// the registry serves for that name@version.
	bundled := []Locked{
		{Name: "wrappy", Version: "1.0.2"},
		{Name: "wrappy", Version: "1.0.2", Integrity: sriSHA512([]byte("wrappy"))},
	}
	if got := Packages(bundled, 1, published); len(got) != 1 || got[0].Integrity != bundled[1].Integrity || !got[0].Attested {
		t.Errorf("bundled copy first: %+v", got)
	}
}
