package report

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/provaudit/provaudit/audit"
	"github.com/provaudit/provaudit/internal/sbomschema"
	"github.com/provaudit/provaudit/lockfile"
)

// sbomFormat is an SBOM renderer with its schema validator.
type sbomFormat struct {
	name     string
	render   func(*bytes.Buffer, *audit.Result) error
	validate func([]byte) error
}

var sbomFormats = []sbomFormat{
	{"cyclonedx", func(b *bytes.Buffer, r *audit.Result) error { return CycloneDX(b, r) }, sbomschema.ValidateCycloneDX},
	{"spdx", func(b *bytes.Buffer, r *audit.Result) error { return SPDX(b, r) }, sbomschema.ValidateSPDX},
}

func renderSBOM(t *testing.T, render func(*bytes.Buffer, *audit.Result) error, r *audit.Result) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := render(&buf, r); err != nil {
		t.Fatalf("render: %v", err)
	}
	return buf.Bytes()
}

func TestSBOMValidatesAgainstSchema(t *testing.T) {
	for _, f := range sbomFormats {
		for _, fx := range fixtures {
			t.Run(f.name+"/"+fx.name, func(t *testing.T) {
				if err := f.validate(renderSBOM(t, f.render, fx.result())); err != nil {
					t.Errorf("%s output does not validate against its official schema: %v", f.name, err)
				}
			})
		}
	}
}

// TestSBOMSchemaRejects proves that the schema validation can fail: each
// edit breaks a rule of the official schema.
func TestSBOMSchemaRejects(t *testing.T) {
	tests := []struct{ format, name, old, new string }{
		{"cyclonedx", "hash algorithm", `"alg": "SHA-512"`, `"alg": "SHA512"`},
		{"cyclonedx", "scope", `"scope": "excluded"`, `"scope": "dev"`},
		{"cyclonedx", "serial number", `"serialNumber": "urn:uuid:`, `"serialNumber": "uuid:`},
		{"cyclonedx", "unknown field", `"purl":`, `"verified": true, "purl":`},
		{"cyclonedx", "timestamp", `"timestamp": "2025-03-14T15:09:26Z"`, `"timestamp": "yesterday"`},
		{"cyclonedx", "hash length", `"content": "`, `"content": "ab`},
		{"spdx", "SPDX id", `"SPDXID": "SPDXRef-Package-ms-2.1.3"`, `"SPDXID": "SPDXRef-Package-ms@2.1.3"`},
		{"spdx", "annotation date", `"annotationDate": "2025-03-14T15:09:26Z"`, `"annotationDate": "2025-03-14 15:09"`},
		{"spdx", "checksum", `"checksumValue": "`, `"checksumValue": "not hex `},
		{"spdx", "reference category", `"referenceCategory": "OTHER"`, `"referenceCategory": "VCS"`},
		{"spdx", "unknown field", `"filesAnalyzed": false,`, `"filesAnalyzed": false, "status": "verified",`},
	}
	for _, tt := range tests {
		t.Run(tt.format+"/"+tt.name, func(t *testing.T) {
			i := slices.IndexFunc(sbomFormats, func(f sbomFormat) bool { return f.name == tt.format })
			f := sbomFormats[i]
			good := string(renderSBOM(t, f.render, mixedResult()))
			if !strings.Contains(good, tt.old) {
				t.Fatalf("output lacks %s", tt.old)
			}
			if err := f.validate([]byte(good)); err != nil {
				t.Fatalf("unedited output is invalid: %v", err)
			}
			if err := f.validate([]byte(strings.Replace(good, tt.old, tt.new, 1))); err == nil {
				t.Errorf("the schema accepted %s with a broken %s", tt.format, tt.name)
			}
		})
	}
}

// cdxDoc is what the tests read back from CycloneDX output.
type cdxDoc struct {
	SpecVersion  string `json:"specVersion"`
	SerialNumber string `json:"serialNumber"`
	Metadata     struct {
		Timestamp  string    `json:"timestamp"`
		Properties []nameVal `json:"properties"`
		Tools      struct {
			Components []struct{ Name, Version string }
		}
	} `json:"metadata"`
	Components []cdxComp `json:"components"`
}

type cdxComp struct {
	BOMRef  string `json:"bom-ref"`
	Name    string `json:"name"`
	Version string `json:"version"`
	Purl    string `json:"purl"`
	Scope   string `json:"scope"`
	Hashes  []struct {
		Alg     string `json:"alg"`
		Content string `json:"content"`
	} `json:"hashes"`
	ExternalReferences []struct{ URL, Type, Comment string } `json:"externalReferences"`
	Properties         []nameVal                             `json:"properties"`
}

type nameVal struct{ Name, Value string }

func values(ps []nameVal, name string) []string {
	var out []string
	for _, p := range ps {
		if p.Name == name {
			out = append(out, p.Value)
		}
	}
	return out
}

func decode[T any](t *testing.T, b []byte) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("output is not JSON: %v", err)
	}
	return v
}

// sriHex decodes the SRI integrity of a fixture package independently of
// the code under test: algorithm and hex digest of its first token.
func sriHex(t *testing.T, sri string) (string, string) {
	t.Helper()
	alg, b64, _ := strings.Cut(sri, "-")
	d, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		t.Fatal(err)
	}
	return alg, hex.EncodeToString(d)
}

// verifiedNames lists the packages of r with status verified.
func verifiedNames(r *audit.Result) []string {
	var out []string
	for _, p := range r.Packages {
		if p.Status == audit.StatusVerified {
			out = append(out, p.Name)
		}
	}
	return out
}

func TestCycloneDXContent(t *testing.T) {
	r := mixedResult()
	doc := decode[cdxDoc](t, renderSBOM(t, func(b *bytes.Buffer, r *audit.Result) error { return CycloneDX(b, r) }, r))
	if doc.SpecVersion != "1.6" || !strings.HasPrefix(doc.SerialNumber, "urn:uuid:") || doc.Metadata.Timestamp != "2025-03-14T15:09:26Z" {
		t.Errorf("header: spec %s, serial %s, timestamp %s", doc.SpecVersion, doc.SerialNumber, doc.Metadata.Timestamp)
	}
	if tools := doc.Metadata.Tools.Components; len(tools) != 1 || tools[0].Name != "provaudit" || tools[0].Version != "v0.0.0-golden" {
		t.Errorf("tools = %+v", tools)
	}
	if got := values(doc.Metadata.Properties, "provaudit:summary:verified"); !slices.Equal(got, []string{"2"}) {
		t.Errorf("summary verified = %v", got)
	}
	if got := values(doc.Metadata.Properties, PropLockfile); !slices.Equal(got, []string{"package-lock.json"}) {
		t.Errorf("lockfile = %v", got)
	}
	if len(doc.Components) != len(r.Packages) {
		t.Fatalf("%d components for %d packages", len(doc.Components), len(r.Packages))
	}

	// Consumers filter on provaudit:status.
	var verified []string
	refs := map[string]bool{}
	for i, c := range doc.Components {
		p := r.Packages[i]
		if c.Name != p.Name || c.Version != p.Version {
			t.Errorf("component %d is %s@%s, want %s", i, c.Name, c.Version, pkgID(&p))
		}
		if refs[c.BOMRef] {
			t.Errorf("bom-ref %s repeats", c.BOMRef)
		}
		refs[c.BOMRef] = true
		if got := values(c.Properties, PropStatus); !slices.Equal(got, []string{string(p.Status)}) {
			t.Errorf("%s: status properties %v, want [%s]", p.Name, got, p.Status)
		}
		if slices.Equal(values(c.Properties, PropStatus), []string{"verified"}) {
			verified = append(verified, c.Name)
		}
		wantScope := "required"
		if p.Dev {
			wantScope = "excluded"
		} else if p.Optional {
			wantScope = "optional"
		}
		if c.Scope != wantScope {
			t.Errorf("%s: scope %s, want %s", p.Name, c.Scope, wantScope)
		}
		if p.Integrity == "" {
			if len(c.Hashes) != 0 {
				t.Errorf("%s: hashes without an integrity", p.Name)
			}
		} else if alg, want := sriHex(t, p.Integrity); alg != "sha512" || len(c.Hashes) != 1 || c.Hashes[0].Alg != "SHA-512" || c.Hashes[0].Content != want {
			t.Errorf("%s: hashes %+v, want SHA-512 %s", p.Name, c.Hashes, want)
		}
		if p.Kind != "registry" && c.Purl != "" {
			t.Errorf("%s (%s) has purl %s", p.Name, p.Kind, c.Purl)
		}
	}
	if want := verifiedNames(r); !slices.Equal(verified, want) {
		t.Errorf("components with provaudit:status verified: %v, want %v", verified, want)
	}

	core := doc.Components[slices.IndexFunc(doc.Components, func(c cdxComp) bool { return c.Name == "@sigstore/core" })]
	if core.Purl != "pkg:npm/%40sigstore/core@1.1.0" || core.BOMRef != core.Purl {
		t.Errorf("purl %s, bom-ref %s", core.Purl, core.BOMRef)
	}
	commit := commitOf("@sigstore/core")
	if len(core.ExternalReferences) != 2 ||
		core.ExternalReferences[0].Type != "vcs" || core.ExternalReferences[0].URL != "git+https://github.com/sigstore/sigstore-js@"+commit ||
		core.ExternalReferences[1].Type != "build-system" || core.ExternalReferences[1].URL != "https://github.com/sigstore/sigstore-js/actions/runs/8123456789/attempts/1" {
		t.Errorf("external references %+v", core.ExternalReferences)
	}
	for name, want := range map[string][]string{
		PropSignatureStatus:         {"verified"},
		PropSignatureKeyID:          {keyNew},
		PropSignaturePinned:         {"true"},
		PropAttestationsStatus:      {"verified"},
		PropPredicateType:           {predicatePublish, predicateSLSAv1},
		PropPublishKeyID:            {keyNew},
		PropPublishLogIndex:         {"91234568"},
		PropProvenancePredicateType: {predicateSLSAv1},
		PropSourceRepository:        {"https://github.com/sigstore/sigstore-js"},
		PropCommit:                  {commit},
		PropWorkflowPath:            {".github/workflows/release.yml"},
		PropWorkflowRef:             {"refs/heads/main"},
		PropBuilderID:               {"https://github.com/actions/runner/github-hosted"},
		PropIssuer:                  {"https://token.actions.githubusercontent.com"},
		PropProvenanceLogIndex:      {"91234567"},
		PropPath:                    {"node_modules/@sigstore/core"},
		PropLine:                    {"112"},
	} {
		if got := values(core.Properties, name); !slices.Equal(got, want) {
			t.Errorf("%s = %v, want %v", name, got, want)
		}
	}
}

// spdxDoc is what the tests read back from SPDX output.
type spdxDoc struct {
	SPDXVersion       string `json:"spdxVersion"`
	DocumentNamespace string `json:"documentNamespace"`
	CreationInfo      struct {
		Created  string   `json:"created"`
		Creators []string `json:"creators"`
	} `json:"creationInfo"`
	Packages []struct {
		SPDXID    string `json:"SPDXID"`
		Name      string `json:"name"`
		Version   string `json:"versionInfo"`
		Checksums []struct {
			Algorithm string `json:"algorithm"`
			Value     string `json:"checksumValue"`
		} `json:"checksums"`
		ExternalRefs []struct {
			Category string `json:"referenceCategory"`
			Type     string `json:"referenceType"`
			Locator  string `json:"referenceLocator"`
		} `json:"externalRefs"`
		Annotations []struct {
			Annotator string `json:"annotator"`
			Comment   string `json:"comment"`
		} `json:"annotations"`
	} `json:"packages"`
	Relationships []struct {
		A    string `json:"spdxElementId"`
		B    string `json:"relatedSpdxElement"`
		Type string `json:"relationshipType"`
	} `json:"relationships"`
}

func TestSPDXContent(t *testing.T) {
	r := mixedResult()
	doc := decode[spdxDoc](t, renderSBOM(t, func(b *bytes.Buffer, r *audit.Result) error { return SPDX(b, r) }, r))
	if doc.SPDXVersion != "SPDX-2.3" || !strings.HasPrefix(doc.DocumentNamespace, SPDXNamespacePrefix) ||
		doc.CreationInfo.Created != "2025-03-14T15:09:26Z" || !slices.Equal(doc.CreationInfo.Creators, []string{"Tool: provaudit-v0.0.0-golden"}) {
		t.Errorf("header: %s %s %+v", doc.SPDXVersion, doc.DocumentNamespace, doc.CreationInfo)
	}
	if len(doc.Packages) != len(r.Packages) || len(doc.Relationships) != len(r.Packages) {
		t.Fatalf("%d packages and %d relationships for %d packages", len(doc.Packages), len(doc.Relationships), len(r.Packages))
	}
	var verified []string
	ids := map[string]bool{}
	for i, sp := range doc.Packages {
		p := r.Packages[i]
		if sp.Name != p.Name || sp.Version != p.Version {
			t.Errorf("package %d is %s@%s, want %s", i, sp.Name, sp.Version, pkgID(&p))
		}
		if ids[sp.SPDXID] {
			t.Errorf("SPDXID %s repeats", sp.SPDXID)
		}
		ids[sp.SPDXID] = true
		if rel := doc.Relationships[i]; rel.A != "SPDXRef-DOCUMENT" || rel.B != sp.SPDXID || rel.Type != "DESCRIBES" {
			t.Errorf("relationship %d = %+v", i, rel)
		}
		var comments []string
		for _, a := range sp.Annotations {
			if a.Annotator != "Tool: provaudit-v0.0.0-golden" {
				t.Errorf("%s: annotator %q", p.Name, a.Annotator)
			}
			comments = append(comments, a.Comment)
		}
		if slices.Contains(comments, "provaudit:status=verified") {
			verified = append(verified, sp.Name)
		}
		if !slices.Contains(comments, "provaudit:status="+string(p.Status)) {
			t.Errorf("%s: no status annotation in %v", p.Name, comments)
		}
		if p.Dev != slices.Contains(comments, "provaudit:dev=true") {
			t.Errorf("%s: dev %v, annotations %v", p.Name, p.Dev, comments)
		}
		if p.Integrity != "" {
			_, want := sriHex(t, p.Integrity)
			if len(sp.Checksums) != 1 || sp.Checksums[0].Algorithm != "SHA512" || sp.Checksums[0].Value != want {
				t.Errorf("%s: checksums %+v, want SHA512 %s", p.Name, sp.Checksums, want)
			}
		}
		wantPurl := p.Kind == "registry"
		if hasPurl := len(sp.ExternalRefs) > 0 && sp.ExternalRefs[0].Type == "purl"; hasPurl != wantPurl {
			t.Errorf("%s (%s): external refs %+v", p.Name, p.Kind, sp.ExternalRefs)
		}
		if p.Name == "@sigstore/core" {
			refs := sp.ExternalRefs
			if len(refs) != 2 || refs[0].Category != "PACKAGE-MANAGER" || refs[0].Locator != "pkg:npm/%40sigstore/core@1.1.0" ||
				refs[1].Category != "OTHER" || refs[1].Type != "vcs" || refs[1].Locator != "git+https://github.com/sigstore/sigstore-js@"+commitOf("@sigstore/core") {
				t.Errorf("@sigstore/core external refs %+v", refs)
			}
			for _, want := range []string{
				"provaudit:registrySignature:keyid=" + keyNew,
				"provaudit:attestations:predicateType=" + predicatePublish,
				"provaudit:attestations:predicateType=" + predicateSLSAv1,
				"provaudit:provenance:commit=" + commitOf("@sigstore/core"),
				"provaudit:provenance:workflowPath=.github/workflows/release.yml",
				"provaudit:provenance:builderId=https://github.com/actions/runner/github-hosted",
				"provaudit:provenance:rekorLogIndex=91234567",
			} {
				if !slices.Contains(comments, want) {
					t.Errorf("@sigstore/core lacks annotation %s", want)
				}
			}
		}
	}
	if want := verifiedNames(r); !slices.Equal(verified, want) {
		t.Errorf("packages annotated provaudit:status=verified: %v, want %v", verified, want)
	}
}

func TestPurl(t *testing.T) {
	tests := []struct{ name, version, kind, want string }{
		{"left-pad", "1.3.0", "registry", "pkg:npm/left-pad@1.3.0"},
		{"@sigstore/core", "1.1.0", "registry", "pkg:npm/%40sigstore/core@1.1.0"},
		{"JSONStream", "1.3.5", "registry", "pkg:npm/JSONStream@1.3.5"},
		{"semver", "1.0.0-rc.1+build.5", "registry", "pkg:npm/semver@1.0.0-rc.1%2Bbuild.5"},
		{"ünï", "1.0.0", "registry", "pkg:npm/%C3%BCn%C3%AF@1.0.0"},
		{"odd/name", "1.0.0", "registry", "pkg:npm/odd%2Fname@1.0.0"},
		{"@scope/a b", "1.0.0", "registry", "pkg:npm/%40scope/a%20b@1.0.0"},
		{"forked-util", "0.4.0", "git", ""},
		{"@acme/app", "1.0.0", "workspace", ""},
		{"no-version", "", "registry", ""},
	}
	for _, tt := range tests {
		p := audit.Package{Name: tt.name, Version: tt.version, Kind: lockfile.Kind(tt.kind)}
		if got := purl(&p); got != tt.want {
			t.Errorf("purl(%s@%s, %s) = %q, want %q", tt.name, tt.version, tt.kind, got, tt.want)
		}
	}
}

// TestSBOMIntegrityHashes: every token of a known algorithm becomes a
// hash, others only stay in the integrity property.
func TestSBOMIntegrityHashes(t *testing.T) {
	sha1 := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{0xab}, 20))
	md5 := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{0xcd}, 16))
	r := cleanResult()
	p := &r.Packages[2] // semver
	_, want512 := sriHex(t, p.Integrity)
	p.Integrity += " sha1-" + sha1 + " md5-" + md5

	cdx := decode[cdxDoc](t, renderSBOM(t, func(b *bytes.Buffer, r *audit.Result) error { return CycloneDX(b, r) }, r))
	hs := cdx.Components[2].Hashes
	if len(hs) != 2 || hs[0].Alg != "SHA-512" || hs[0].Content != want512 || hs[1].Alg != "SHA-1" || hs[1].Content != strings.Repeat("ab", 20) {
		t.Errorf("CycloneDX hashes %+v", hs)
	}
	if got := values(cdx.Components[2].Properties, PropIntegrity); !slices.Equal(got, []string{p.Integrity}) {
		t.Errorf("integrity property %v", got)
	}
	sp := decode[spdxDoc](t, renderSBOM(t, func(b *bytes.Buffer, r *audit.Result) error { return SPDX(b, r) }, r))
	cs := sp.Packages[2].Checksums
	if len(cs) != 2 || cs[0].Algorithm != "SHA512" || cs[1].Algorithm != "SHA1" || cs[1].Value != strings.Repeat("ab", 20) {
		t.Errorf("SPDX checksums %+v", cs)
	}
}

// TestSBOMMalformedIntegrity: an integrity the lockfile parser would have
// refused breaks the contract; nothing is written.
func TestSBOMMalformedIntegrity(t *testing.T) {
	for _, f := range sbomFormats {
		r := cleanResult()
		r.Packages[2].Integrity = "sha512-not base64!"
		var buf bytes.Buffer
		err := f.render(&buf, r)
		if !errors.Is(err, ErrInvalidResult) || !strings.Contains(err.Error(), "semver@7.6.3") {
			t.Errorf("%s: err = %v, want ErrInvalidResult naming semver@7.6.3", f.name, err)
		}
		if buf.Len() != 0 {
			t.Errorf("%s wrote %d bytes", f.name, buf.Len())
		}
	}
}

// TestSBOMDuplicateIDs: the same name@version locked with two integrities
// gives two components with distinct references.
func TestSBOMDuplicateIDs(t *testing.T) {
	a := registryPkg("dup", "1.0.0", 10)
	a.Status, a.Reason = audit.StatusSkipped, "omitted by --omit"
	b := a
	b.Integrity, b.Line = integrity("dup@1.0.0 other"), 20
	c := registryPkg("dup_", "1.0.0", 30) // same SPDX id text as "dup-"
	c.Status, c.Reason = audit.StatusSkipped, "omitted by --omit"
	d := c
	d.Name, d.Line = "dup-", 40
	r := newResult(a, b, c, d)

	cdx := decode[cdxDoc](t, renderSBOM(t, func(b *bytes.Buffer, r *audit.Result) error { return CycloneDX(b, r) }, r))
	var refs []string
	for _, c := range cdx.Components {
		refs = append(refs, c.BOMRef)
	}
	if want := []string{"pkg:npm/dup@1.0.0", "pkg:npm/dup@1.0.0#2", "pkg:npm/dup_@1.0.0", "pkg:npm/dup-@1.0.0"}; !slices.Equal(refs, want) {
		t.Errorf("bom-refs %v, want %v", refs, want)
	}
	sp := decode[spdxDoc](t, renderSBOM(t, func(b *bytes.Buffer, r *audit.Result) error { return SPDX(b, r) }, r))
	var ids []string
	for _, p := range sp.Packages {
		ids = append(ids, p.SPDXID)
	}
	if want := []string{"SPDXRef-Package-dup-1.0.0", "SPDXRef-Package-dup-1.0.0-2", "SPDXRef-Package-dup--1.0.0", "SPDXRef-Package-dup--1.0.0-2"}; !slices.Equal(ids, want) {
		t.Errorf("SPDX ids %v, want %v", ids, want)
	}
	for _, f := range sbomFormats {
		if err := f.validate(renderSBOM(t, f.render, r)); err != nil {
			t.Errorf("%s: %v", f.name, err)
		}
	}
}

// TestSBOMReproducible: the same result renders to the same bytes; any
// change of the result (a verdict, the start time) changes the serial
// number and the document namespace.
func TestSBOMReproducible(t *testing.T) {
	serial := func(r *audit.Result) (string, string) {
		cdx := decode[cdxDoc](t, renderSBOM(t, func(b *bytes.Buffer, r *audit.Result) error { return CycloneDX(b, r) }, r))
		sp := decode[spdxDoc](t, renderSBOM(t, func(b *bytes.Buffer, r *audit.Result) error { return SPDX(b, r) }, r))
		return cdx.SerialNumber, sp.DocumentNamespace
	}
	for _, f := range sbomFormats {
		if a, b := renderSBOM(t, f.render, mixedResult()), renderSBOM(t, f.render, mixedResult()); !bytes.Equal(a, b) {
			t.Errorf("%s: two renderings of the same result differ", f.name)
		}
	}
	s0, n0 := serial(mixedResult())
	if !strings.HasSuffix(n0, strings.TrimPrefix(s0, "urn:uuid:")) {
		t.Errorf("serial %s and namespace %s name different audits", s0, n0)
	}
	changed := mixedResult()
	changed.Packages[4].Status = audit.StatusSigned
	later := mixedResult()
	later.Summary.StartedAt = later.Summary.StartedAt.Add(time.Second)
	for name, r := range map[string]*audit.Result{"verdict": changed, "start time": later} {
		if s, n := serial(r); s == s0 || n == n0 {
			t.Errorf("another %s keeps serial %s / namespace %s", name, s, n)
		}
	}
}

// TestSBOMHostileReferences: a source repository or run URL that is not a
// plain URL gives no external reference (the schemas would refuse it, and
// consumers would follow it); the properties keep the facts.
func TestSBOMHostileReferences(t *testing.T) {
	r := cleanResult()
	pv := r.Packages[1].Attestations.Provenance // @sigstore/bundle, verified
	pv.SourceRepository = "https://github.com/evil org/repo\x1b[2J"
	pv.RunURL = "javascript:alert(1)"
	for _, f := range sbomFormats {
		out := renderSBOM(t, f.render, r)
		if err := f.validate(out); err != nil {
			t.Errorf("%s: %v", f.name, err)
		}
		if bytes.Contains(out, []byte("git+https://github.com/evil")) || bytes.Contains(out, []byte(`"url": "javascript:`)) {
			t.Errorf("%s made a reference of a hostile URL", f.name)
		}
		if !bytes.Contains(out, []byte(`https://github.com/evil org/repo\u001b[2J`)) {
			t.Errorf("%s dropped the source repository property", f.name)
		}
	}
}
