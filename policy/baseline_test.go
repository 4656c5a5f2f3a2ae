package policy

import (
	"bytes"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/provaudit/provaudit/audit"
)

func TestRecordAndCheck(t *testing.T) {
	renamed := provenance("acme/lib")
	renamed.SourceRepository = "https://github.com/acme/lib-renamed" // same ids
	invalid := attested("bad", "1.0.0", provenance("x/bad"))
	invalid.Status = audit.StatusInvalid
	withUntrusted := attested("unbound", "1.0.0", provenance("x/unbound"))
	withUntrusted.Findings = []audit.Finding{{Rule: audit.RuleIntegrityUnbound, Severity: audit.SeverityHigh, Message: "m"}}
	pre := attested("pre", "2.0.0-beta.1", provenance("x/pre"))

	base := Record(result(
		attested("lib", "1.2.0", provenance("acme/lib")),
		signed("lib", "0.9.0"),
		attested("lib", "0.3.1", provenance("acme/lib")),
		signed("plain", "3.1.0"),
		invalid, withUntrusted, pre,
	))
	base.File = "provaudit-baseline.json"
	if _, ok := base.Packages["bad"]; ok {
		t.Error("an invalid package was recorded")
	}
	if _, ok := base.Packages["unbound"]; ok {
		t.Error("a package with a verification finding was recorded")
	}
	lib := base.Packages["lib"]
	if lib == nil || len(lib.Identities) != 1 || lib.Identities[0].Version != "0.3.1" {
		t.Fatalf("lib: %+v", lib)
	}
	if want := map[string]audit.TrustLevel{"1.x": audit.LevelProvenance, "0.9.x": audit.LevelSignature, "0.3.x": audit.LevelProvenance}; !equalLines(lib.Lines, want) {
		t.Errorf("lib lines %v, want %v", lib.Lines, want)
	}
	if p := base.Packages["pre"]; p == nil || len(p.Lines) != 0 || len(p.Identities) != 1 {
		t.Errorf("a prerelease records its identity and no line: %+v", p)
	}

	selfHosted := provenance("acme/lib")
	selfHosted.RunnerEnvironment = "self-hosted"
	selfHosted.BuilderID = "https://github.com/actions/runner/self-hosted"
	otherRepo := provenance("attacker/lib")
	otherRepo.OwnerID = "8"
	otherRepo.Owner = "https://github.com/attacker"
	noIDs := provenance("acme/lib")
	noIDs.RepositoryID, noIDs.OwnerID = "", ""
	noIDs.SourceRepository = "https://github.com/acme/other"

	tests := []struct {
		pkg  audit.Package
		want []string // rule: message part
	}{
		{attested("lib", "1.3.0", provenance("acme/lib")), nil},
		{attested("lib", "1.3.0", renamed), nil},
		{attested("lib", "1.3.0", selfHosted), []string{"identity-drift: verified identity drifted against the baseline (provaudit-baseline.json, recorded from lib@0.3.1): runner github-hosted → self-hosted; builder https://github.com/actions/runner/github-hosted → https://github.com/actions/runner/self-hosted"}},
		{attested("lib", "1.3.0", otherRepo), []string{"identity-drift: verified identity drifted against the baseline (provaudit-baseline.json, recorded from lib@0.3.1): repository https://github.com/acme/lib (id 2291830843) → https://github.com/attacker/lib (id 2424486091); owner https://github.com/acme (id 7) → https://github.com/attacker (id 8)"}},
		{attested("lib", "1.3.0", noIDs), []string{"identity-drift: verified identity drifted against the baseline (provaudit-baseline.json, recorded from lib@0.3.1): repository https://github.com/acme/lib → https://github.com/acme/other"}},
		{signed("lib", "1.3.0"), []string{"provenance-regression: trust level dropped against the baseline (provaudit-baseline.json): lib@1.3.0 has signature, the baseline recorded provenance for its release line 1.x"}},
		{signed("lib", "0.9.1"), nil},
		{signed("lib", "2.0.0"), nil},
		{signed("lib", "1.3.0-rc.1"), nil},
		{attested("plain", "3.2.0", provenance("x/plain")), nil},
		{signed("unknown", "1.0.0"), nil},
	}
	for _, tt := range tests {
		var got []string
		for _, f := range base.Check(&tt.pkg) {
			got = append(got, string(f.Rule)+": "+f.Message)
		}
		if !slices.Equal(got, tt.want) {
			t.Errorf("%s@%s:\n got %q\nwant %q", tt.pkg.Name, tt.pkg.Version, got, tt.want)
		}
	}
}

func equalLines(a, b map[string]audit.TrustLevel) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// TestCheckLevels: trusted publishing recorded from the registry's
// history is compared as such only when the audit looked at the version's
// publication; an approval is not part of the level.
func TestCheckLevels(t *testing.T) {
	b := &Baseline{File: "b.json", Packages: map[string]*BaselinePackage{
		"tp": {Lines: map[string]audit.TrustLevel{"1.x": audit.LevelTrustedPublishing}},
		"ap": {Lines: map[string]audit.TrustLevel{"1.x": audit.LevelApprovedTrustedPublishing}},
	}}
	withPub := func(p audit.Package, l audit.TrustLevel) audit.Package {
		p.Publication = &audit.Publication{Level: l}
		return p
	}
	prov := attested("tp", "1.1.0", provenance("a/tp"))
	for _, tt := range []struct {
		pkg  audit.Package
		drop bool
	}{
		{prov, false}, // no publication: provenance is all that can be told
		{withPub(prov, audit.LevelProvenance), true},
		{withPub(prov, audit.LevelTrustedPublishing), false},
		{signed("tp", "1.1.0"), true},
		{withPub(attested("ap", "1.1.0", provenance("a/ap")), audit.LevelTrustedPublishing), false},
	} {
		fs := b.Check(&tt.pkg)
		if got := len(fs) == 1 && fs[0].Rule == audit.RuleProvenanceRegression; got != tt.drop {
			t.Errorf("%s@%s with %+v: findings %+v, want a regression: %v", tt.pkg.Name, tt.pkg.Version, tt.pkg.Publication, fs, tt.drop)
		}
	}
}

// TestBaselineDeterministic: the same result gives the same bytes, which
// read back as the same baseline.
func TestBaselineDeterministic(t *testing.T) {
	pkgs := []audit.Package{
		attested("b", "1.0.0", provenance("x/b")), attested("a", "2.0.0", provenance("x/a")),
		attested("a", "2.1.0", provenance("y/a")), signed("c", "0.1.0"),
	}
	first, err := Record(result(pkgs...)).Marshal()
	if err != nil {
		t.Fatal(err)
	}
	slices.Reverse(pkgs)
	second, err := Record(result(pkgs...)).Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(first, second) {
		t.Fatalf("the order of packages changed the file:\n%s\n%s", first, second)
	}
	b, err := ParseBaseline("b.json", first)
	if err != nil {
		t.Fatal(err)
	}
	again, _ := b.Marshal()
	if !bytes.Equal(first, again) {
		t.Errorf("read back differently:\n%s\n%s", first, again)
	}
	if !bytes.HasPrefix(first, []byte("{\n  \"provauditBaseline\": 1,\n  \"packages\": {\n    \"a\": {")) || !bytes.HasSuffix(first, []byte("}\n")) {
		t.Errorf("unexpected layout:\n%s", first)
	}
	if ids := b.Packages["a"].Identities; len(ids) != 2 || ids[0].Version != "2.0.0" {
		t.Errorf("identities of a: %+v", ids)
	}
}

func TestParseBaselineErrors(t *testing.T) {
	id := `{"version": "1.0.0", "repository": "https://github.com/a/b", "issuer": "https://i"}`
	for _, tt := range []struct{ doc, want string }{
		{``, "b.json: the file is empty"},
		{`{"provauditBaseline": 1, "packages": {}} {}`, "b.json:1:42: data after the JSON document"},
		{`{"provauditBaseline": 2, "packages": {}}`, "provauditBaseline is 2, want 1"},
		{`{"provauditBaseline": 1}`, "packages is missing"},
		{"{\"provauditBaseline\": 1,\n \"packages\": {\"a\": {\"lines\": {\"1.x\": 3}}}}", `b.json:2:38: packages.a.lines.1.x: want a string, got a JSON number`},
		{"{\"provauditBaseline\": 1,\n \"packages\": [}", "b.json:2:15: invalid character '}'"},
		{`{"provauditBaseline": 1, "packages": {}, "extra": 1}`, `unknown field "extra"`},
		{`{"provauditBaseline": 1, "packages": {"a": {"line": {}}}}`, `unknown field "line"`},
		{`{"provauditBaseline": 1, "packages": {"Bad Name": {}}}`, `packages: invalid package name: "Bad Name"`},
		{`{"provauditBaseline": 1, "packages": {"a": null}}`, "packages.a is null"},
		{`{"provauditBaseline": 1, "packages": {"a": {"lines": {"1.2.x": "provenance"}}}}`, `packages.a.lines: "1.2.x" is not a release line`},
		{`{"provauditBaseline": 1, "packages": {"a": {"lines": {"1.x": "great"}}}}`, `packages.a.lines.1.x: unknown trust level "great"`},
		{`{"provauditBaseline": 1, "packages": {"a": {"identities": [{"version": "x", "repository": "r", "issuer": "i"}]}}}`, "packages.a.identities[0]: invalid version"},
		{`{"provauditBaseline": 1, "packages": {"a": {"identities": [{"version": "1.0.0", "issuer": "i"}]}}}`, "packages.a.identities[0]: repository and issuer are required"},
		{`{"provauditBaseline": 1, "packages": {"a": {"identities": [{"version": "1.0.0", "repository": "` + strings.Repeat("r", maxField+1) + `", "issuer": "i"}]}}}`, "more than 4096"},
	} {
		_, err := ParseBaseline("b.json", []byte(tt.doc))
		if !errors.Is(err, ErrMalformedBaseline) || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%.60s: err = %v, want %q", tt.doc, err, tt.want)
		}
	}
	if _, err := ParseBaseline("b.json", []byte(`{"provauditBaseline": 1, "packages": {"a": {"lines": {"0.3.x": "provenance"}, "identities": [`+id+`]}}}`)); err != nil {
		t.Errorf("a valid baseline: %v", err)
	}
}

func TestApplyBaseline(t *testing.T) {
	b := Record(result(attested("lib", "1.0.0", provenance("acme/lib"))))
	b.File = "provaudit-baseline.json"
	r := result(signed("lib", "1.0.1"))
	Apply(r, nil, b, now)
	if got := rules(&r.Packages[0]); !slices.Equal(got, []string{"provenance-regression/high"}) {
		t.Fatalf("findings %v", got)
	}
	if r.Policy == nil || r.Policy.Baseline != "provaudit-baseline.json" || r.Policy.File != "" || r.Summary.Findings != 1 {
		t.Errorf("policy %+v, summary %+v", r.Policy, r.Summary)
	}
	// A baseline only adds findings: an exception can still waive them,
	// but the baseline itself never removes one.
	pol := mustParse(t, audit.NamedByUser, "exceptions:\n  - {package: lib, rule: provenance-regression, reason: moved to a signed-only release, expires: 2027-01-01}\n")
	r = result(signed("lib", "1.0.1"))
	Apply(r, pol, b, now)
	if len(r.Packages[0].Findings) != 0 || r.Summary.Waived != 1 {
		t.Errorf("the exception did not waive the baseline finding: %+v", r.Packages[0])
	}
}

func TestReleaseLine(t *testing.T) {
	for in, want := range map[string]string{"1.2.3": "1.x", "0.3.1": "0.3.x", "0.0.7": "0.0.x", "12.0.0": "12.x", "1.0.0-rc.1": "", "v1.2.3": "", "latest": ""} {
		if got := ReleaseLine(in); got != want {
			t.Errorf("ReleaseLine(%q) = %q, want %q", in, got, want)
		}
	}
}
