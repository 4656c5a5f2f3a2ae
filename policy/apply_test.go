package policy

import (
	"fmt"
	"hash/crc32"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/provaudit/provaudit/audit"
)

var now = time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)

// provenance is a GitHub Actions provenance of repository REPO (owner
// and repository ids derived from it).
func provenance(repo string) audit.Provenance {
	return audit.Provenance{
		PredicateType:     "https://slsa.dev/provenance/v1",
		SourceRepository:  "https://github.com/" + repo,
		Commit:            "0123456789abcdef0123456789abcdef01234567",
		WorkflowPath:      ".github/workflows/release.yml",
		WorkflowRef:       "refs/tags/v1.0.0",
		BuilderID:         "https://github.com/actions/runner/github-hosted",
		Issuer:            "https://token.actions.githubusercontent.com",
		RunnerEnvironment: "github-hosted",
		RepositoryID:      fmt.Sprint(crc32.ChecksumIEEE([]byte(repo))),
		OwnerID:           "7",
		Owner:             "https://github.com/" + strings.Split(repo, "/")[0],
	}
}

// attested is a verified package with provenance pv.
func attested(name, version string, pv audit.Provenance) audit.Package {
	p := signed(name, version)
	p.Status = audit.StatusVerified
	p.Attestations = &audit.AttestationCheck{Status: audit.CheckVerified, Provenance: &pv, Publish: &audit.Publish{KeyID: "k"}}
	return p
}

// signed is a package with a verified registry signature and no
// attestations.
func signed(name, version string) audit.Package {
	return audit.Package{Name: name, Version: version, Status: audit.StatusSigned, Kind: "registry", Line: 1, Paths: []string{"node_modules/" + name},
		RegistrySignature: &audit.SignatureCheck{Status: audit.CheckVerified},
		Attestations:      &audit.AttestationCheck{Status: audit.CheckMissing},
		Findings:          []audit.Finding{}}
}

func result(pkgs ...audit.Package) *audit.Result {
	r := &audit.Result{SchemaVersion: audit.SchemaVersion, Packages: pkgs}
	audit.Recount(r)
	return r
}

func mustParse(t *testing.T, namedBy, doc string) *Policy {
	t.Helper()
	p, err := Parse("provaudit.yaml", namedBy, []byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func rules(p *audit.Package) []string {
	var out []string
	for _, f := range p.Findings {
		out = append(out, string(f.Rule)+"/"+string(f.Severity))
	}
	return out
}

func TestApplyIdentity(t *testing.T) {
	pol := mustParse(t, audit.NamedByUser, `
identity:
  issuers: [https://token.actions.githubusercontent.com]
  hostedRunnersOnly: true
  packages:
    "@myorg/*":
      repository: github.com/myorg/*
      workflows: [.github/workflows/release.yml]
      refs: ["refs/tags/v*"]
    "@myorg/special":
      repository: github.com/elsewhere/special
`)
	selfHosted := provenance("someone/tool")
	selfHosted.RunnerEnvironment = "self-hosted"
	gitlab := provenance("someone/gl")
	gitlab.Issuer = "https://gitlab.com"
	noRunner := provenance("someone/old")
	noRunner.RunnerEnvironment = ""
	branch := provenance("myorg/b")
	branch.WorkflowRef = "refs/heads/main"
	branch.WorkflowPath = ".github/workflows/other.yml"

	tests := []struct {
		pkg  audit.Package
		want string // "" for no finding, else part of its message
	}{
		{attested("fine", "1.0.0", provenance("someone/fine")), ""},
		{attested("@myorg/a", "1.0.0", provenance("MyOrg/a")), ""},
		{attested("@myorg/evil", "1.0.0", provenance("attacker/evil")), "source repository https://github.com/attacker/evil is not the expected github.com/myorg/*"},
		{attested("@myorg/b", "1.0.0", branch), "workflow .github/workflows/other.yml is not one of the allowed workflows (.github/workflows/release.yml); ref refs/heads/main is not one of the allowed refs (refs/tags/v*)"},
		{attested("@myorg/special", "1.0.0", provenance("elsewhere/special")), ""},
		{attested("@myorg/special", "1.0.1", provenance("myorg/special")), "breaks the identity policy (provaudit.yaml:10): source repository https://github.com/myorg/special is not the expected github.com/elsewhere/special"},
		{attested("tool", "1.0.0", selfHosted), "it was built on a self-hosted runner, and only hosted runners are allowed"},
		{attested("gl", "1.0.0", gitlab), "issuer https://gitlab.com is not one of the allowed issuers"},
		{attested("old", "1.0.0", noRunner), "the signing certificate does not say which runner built it"},
		{signed("unattested", "1.0.0"), ""},
		{signed("@myorg/unattested", "1.0.0"), "@myorg/unattested@1.0.0 has no verified SLSA provenance, so the identity the policy expects of it (provaudit.yaml:6) cannot be verified"},
	}
	for _, tt := range tests {
		r := result(tt.pkg)
		Apply(r, pol, nil, now)
		p := &r.Packages[0]
		switch {
		case tt.want == "" && len(p.Findings) > 0:
			t.Errorf("%s@%s: unexpected findings %+v", p.Name, p.Version, p.Findings)
		case tt.want != "" && (len(p.Findings) != 1 || p.Findings[0].Rule != audit.RuleIdentityPolicy || !strings.Contains(p.Findings[0].Message, tt.want)):
			t.Errorf("%s@%s: findings %+v, want one identity-policy finding saying %q", p.Name, p.Version, p.Findings, tt.want)
		case tt.want != "" && r.Summary.Findings != 1:
			t.Errorf("%s@%s: summary.findings = %d, want 1", p.Name, p.Version, r.Summary.Findings)
		}
	}
}

// TestApplyIdentitySkipsUnaudited: invalid, skipped and error packages
// get no policy findings.
func TestApplyIdentitySkipsUnaudited(t *testing.T) {
	pol := mustParse(t, audit.NamedByUser, "requireProvenance: true\nidentity:\n  packages:\n    a: {repository: github.com/a/a}\n")
	var pkgs []audit.Package
	for _, s := range []audit.Status{audit.StatusInvalid, audit.StatusSkipped, audit.StatusError} {
		p := signed("a", "1.0.0")
		p.Status = s
		pkgs = append(pkgs, p)
	}
	r := result(pkgs...)
	Apply(r, pol, nil, now)
	if r.Summary.Findings != 0 {
		t.Fatalf("findings on packages that were not audited: %+v", r.Packages)
	}
}

func TestApplyRequireProvenance(t *testing.T) {
	pol := mustParse(t, audit.NamedByProject, "requireProvenance: [left-pad, \"@myorg/*\"]\n")
	publishOnly := signed("@myorg/pub", "1.0.0")
	publishOnly.Status = audit.StatusVerified
	publishOnly.Attestations = &audit.AttestationCheck{Status: audit.CheckVerified, Publish: &audit.Publish{KeyID: "k"}}
	already := signed("@myorg/flagged", "1.0.0")
	already.Findings = []audit.Finding{audit.ProvenanceMissing(already.Attestations, "--require-provenance")}
	r := result(signed("left-pad", "1.0.0"), signed("right-pad", "1.0.0"), attested("@myorg/a", "1.0.0", provenance("myorg/a")), publishOnly, already)
	Apply(r, pol, nil, now)
	want := [][]string{{"provenance-missing/medium"}, nil, nil, {"provenance-missing/medium"}, {"provenance-missing/medium"}}
	for i, w := range want {
		if got := rules(&r.Packages[i]); !slices.Equal(got, w) {
			t.Errorf("%s: findings %v, want %v", r.Packages[i].Name, got, w)
		}
	}
	if msg := r.Packages[0].Findings[0].Message; msg != "the version has no verified SLSA provenance (requireProvenance in provaudit.yaml:1)" {
		t.Errorf("message %q", msg)
	}
	if msg := r.Packages[3].Findings[0].Message; !strings.Contains(msg, "publish attestation but no SLSA provenance") {
		t.Errorf("message %q", msg)
	}
	if r.Summary.Findings != 3 || r.Policy == nil || r.Policy.File != "provaudit.yaml" || r.Policy.NamedBy != audit.NamedByProject {
		t.Errorf("summary %+v, policy %+v", r.Summary, r.Policy)
	}
}

func TestApplyRules(t *testing.T) {
	finding := func(rule audit.Rule, sev audit.Severity) audit.Finding {
		return audit.Finding{Rule: rule, Severity: sev, Message: string(rule)}
	}
	pkg := func() audit.Package {
		p := signed("a", "1.0.0")
		p.Findings = []audit.Finding{
			finding(audit.RulePublisherChanged, audit.SeverityMedium),
			finding(audit.RuleReleaseAge, audit.SeverityMedium),
			finding(audit.RuleInstallScriptAdded, audit.SeverityHigh),
			finding(audit.RuleSignatureMissing, audit.SeverityHigh),
		}
		return p
	}
	doc := "rules:\n  release-age: low\n  install-script-added: critical\n"

	r := result(pkg())
	Apply(r, mustParse(t, audit.NamedByUser, doc+"  publisher-changed: off\n"), nil, now)
	if got, want := rules(&r.Packages[0]), []string{"release-age/low", "install-script-added/critical", "signature-missing/high"}; !slices.Equal(got, want) {
		t.Errorf("the person's policy: %v, want %v", got, want)
	}
	if r.Summary.Findings != 3 {
		t.Errorf("summary.findings = %d, want 3", r.Summary.Findings)
	}

	// The project's own file only raises severities.
	r = result(pkg(), pkg())
	warnings := Apply(r, mustParse(t, audit.NamedByProject, doc), nil, now)
	if got, want := rules(&r.Packages[0]), []string{"publisher-changed/medium", "release-age/medium", "install-script-added/critical", "signature-missing/high"}; !slices.Equal(got, want) {
		t.Errorf("the project's policy: %v, want %v", got, want)
	}
	if want := []string{"provaudit.yaml:2: rules.release-age: release-age findings stay medium: the project's own policy file can only raise a severity"}; !slices.Equal(warnings, want) {
		t.Errorf("warnings %q, want %q", warnings, want)
	}
}

func TestApplyExceptions(t *testing.T) {
	pol := mustParse(t, audit.NamedByProject, `
exceptions:
  - package: left-pad@<2.0.0
    rule: provenance-missing
    reason: no provenance yet
    expires: 2027-01-01
  - package: right-pad
    reason: every rule
    expires: 2027-01-01
  - package: old-pad
    rule: provenance-missing
    reason: too old
    expires: 2026-11-30
  - package: old-pad
    rule: identity-policy
    reason: renewed
    expires: 2027-06-30
  - package: unused-pad
    reason: gone
    expires: 2027-01-01
requireProvenance: true
identity:
  packages:
    right-pad: {repository: github.com/x/right-pad}
    old-pad: {repository: github.com/x/old-pad}
`)
	tampered := signed("right-pad", "3.0.0")
	tampered.Findings = []audit.Finding{{Rule: audit.RuleSignatureMissing, Severity: audit.SeverityHigh, Message: "no signature"}}
	tampered.Status = audit.StatusUnsigned
	r := result(
		signed("left-pad", "1.5.0"), // waived
		signed("left-pad", "2.0.0"), // out of the range: stands
		signed("right-pad", "1.0.0"),
		tampered,
		signed("old-pad", "1.0.0"),
	)
	warnings := Apply(r, pol, nil, now)

	lp := &r.Packages[0]
	if len(lp.Findings) != 0 || len(lp.Exceptions) != 1 {
		t.Fatalf("left-pad@1.5.0: findings %+v, exceptions %+v", lp.Findings, lp.Exceptions)
	}
	e := lp.Exceptions[0]
	if e.Rule != audit.RuleProvenanceMissing || e.Package != "left-pad@<2.0.0" || e.Reason != "no provenance yet" || e.Expires != "2027-01-01" ||
		e.Expired || e.Where != "provaudit.yaml:3" || len(e.Waived) != 1 || e.Waived[0].Rule != audit.RuleProvenanceMissing {
		t.Errorf("left-pad@1.5.0: exception %+v", e)
	}
	if got := rules(&r.Packages[1]); !slices.Equal(got, []string{"provenance-missing/medium"}) || len(r.Packages[1].Exceptions) != 0 {
		t.Errorf("left-pad@2.0.0: %v %+v", got, r.Packages[1].Exceptions)
	}
	rp := &r.Packages[2]
	if len(rp.Findings) != 0 || len(rp.Exceptions) != 1 || len(rp.Exceptions[0].Waived) != 2 || rp.Exceptions[0].Rule != "" {
		t.Errorf("right-pad@1.0.0: an exception without a rule waives every policy finding: %+v %+v", rp.Findings, rp.Exceptions)
	}
	// A verification finding is never waived, even by an exception for
	// every rule.
	if got := rules(&r.Packages[3]); !slices.Contains(got, "signature-missing/high") {
		t.Errorf("right-pad@3.0.0: %v", got)
	}
	op := &r.Packages[4]
	if got := rules(op); !slices.Equal(got, []string{"provenance-missing/medium"}) {
		t.Errorf("old-pad: %v", got)
	}
	if !strings.Contains(op.Findings[0].Message, "(the exception in provaudit.yaml:10 expired on 2026-11-30 and no longer applies)") {
		t.Errorf("old-pad: the expired exception is not named: %q", op.Findings[0].Message)
	}
	if len(op.Exceptions) != 2 || !op.Exceptions[0].Expired && !op.Exceptions[1].Expired {
		t.Errorf("old-pad: exceptions %+v, want the renewed identity-policy one and the expired one", op.Exceptions)
	}
	// Waived: left-pad@1.5.0 one, right-pad@1.0.0 and @3.0.0 two each
	// (provenance-missing, identity-policy), old-pad one (identity-policy).
	if r.Summary.Findings != 3 || r.Summary.Waived != 6 {
		t.Errorf("summary: findings %d waived %d, want 3 and 6", r.Summary.Findings, r.Summary.Waived)
	}
	wantWarnings := []string{
		"provaudit.yaml:10: the exception for old-pad (rule provenance-missing) expired on 2026-11-30 and no longer applies: renew it or remove it",
		"provaudit.yaml:18: the exception for unused-pad (every policy rule) covers no finding: remove it if it is no longer needed",
	}
	if !slices.Equal(warnings, wantWarnings) {
		t.Errorf("warnings\n%q\nwant\n%q", warnings, wantWarnings)
	}

	// In diff mode an unused exception is not worth a warning: most
	// packages were not audited.
	r = result(signed("left-pad", "1.5.0"))
	r.Diff = &audit.DiffInfo{Baseline: "old.json"}
	if w := Apply(r, pol, nil, now); len(w) != 1 {
		t.Errorf("diff mode warnings %q, want only the expired exception", w)
	}
}

func TestApplyNothing(t *testing.T) {
	r := result(signed("a", "1.0.0"))
	if w := Apply(r, nil, nil, now); w != nil || r.Policy != nil {
		t.Errorf("no policy and no baseline changed the result: %q %+v", w, r.Policy)
	}
}

// TestMergeFinding: a baseline finding of a rule the release-history rules
// already reported joins that finding (messages joined, higher severity);
// one of another rule is added.
func TestMergeFinding(t *testing.T) {
	pk := &audit.Package{Name: "lib", Version: "1.3.0", Findings: []audit.Finding{
		{Rule: audit.RuleIdentityDrift, Severity: audit.SeverityMedium, Message: "from history"},
	}}
	mergeFinding(pk, audit.Finding{Rule: audit.RuleIdentityDrift, Severity: audit.SeverityHigh, Message: "against the baseline"})
	mergeFinding(pk, audit.Finding{Rule: audit.RuleProvenanceRegression, Severity: audit.SeverityHigh, Message: "level dropped"})
	want := []audit.Finding{
		{Rule: audit.RuleIdentityDrift, Severity: audit.SeverityHigh, Message: "from history; and against the baseline"},
		{Rule: audit.RuleProvenanceRegression, Severity: audit.SeverityHigh, Message: "level dropped"},
	}
	if !slices.Equal(pk.Findings, want) {
		t.Errorf("findings %+v, want %+v", pk.Findings, want)
	}
}
