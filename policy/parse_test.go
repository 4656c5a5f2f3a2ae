package policy

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/provaudit/provaudit/audit"
)

const fullPolicy = `# provaudit.yaml
requireProvenance: [left-pad, "@myorg/*"]
identity:
  issuers: [https://token.actions.githubusercontent.com]
  hostedRunnersOnly: true
  packages:
    "@myorg/*":
      repository: https://github.com/MyOrg/*
      workflows: [.github/workflows/release.yml]
      refs: ["refs/tags/v*"]
    "@myorg/legacy":
      repository: gitlab.com/myorg/legacy
      issuers: [https://gitlab.com]
minimumReleaseAge: 1d12h
rules:
  publisher-changed: off
  release-age: high
exceptions:
  - package: left-pad@<2.0.0
    rule: provenance-missing
    reason: published without provenance, tracked in issue 123
    expires: 2027-03-31
  - package: "@myorg/tool"
    reason: moving to the new workflow
    expires: "2027-01-15"
`

func TestParseFull(t *testing.T) {
	p, err := Parse("provaudit.yaml", audit.NamedByUser, []byte(fullPolicy))
	if err != nil {
		t.Fatal(err)
	}
	if p.RequireAll || len(p.RequireProvenance) != 2 || p.RequireProvenance[1].Text != "@myorg/*" {
		t.Errorf("requireProvenance = %+v, all %v", p.RequireProvenance, p.RequireAll)
	}
	if !requires(p, "@myorg/a") || !requires(p, "left-pad") || requires(p, "@other/a") || requires(p, "@myorg/a/b") {
		t.Error("RequiresProvenance disagrees with the patterns")
	}
	id := p.Identity
	if len(id.Issuers) != 1 || id.HostedRunnersOnly == nil || !*id.HostedRunnersOnly || len(id.Packages) != 2 {
		t.Fatalf("identity = %+v", id)
	}
	if got := id.Packages[0].Repository; got != "github.com/myorg/*" {
		t.Errorf("repository normalized to %q", got)
	}
	if p.MinimumReleaseAge != 36*time.Hour {
		t.Errorf("minimumReleaseAge = %v", p.MinimumReleaseAge)
	}
	if s := p.Rules[audit.RulePublisherChanged]; !s.Off || s.Where != "provaudit.yaml:16" {
		t.Errorf("publisher-changed = %+v", s)
	}
	if s := p.Rules[audit.RuleReleaseAge]; s.Off || s.Severity != audit.SeverityHigh {
		t.Errorf("release-age = %+v", s)
	}
	if len(p.Exceptions) != 2 {
		t.Fatalf("exceptions = %+v", p.Exceptions)
	}
	e := p.Exceptions[0]
	if e.Name != "left-pad" || e.Range == nil || e.Rule != audit.RuleProvenanceMissing || e.ExpiresText != "2027-03-31" || e.Where != "provaudit.yaml:19" {
		t.Errorf("exception 0 = %+v", e)
	}
	if !e.Covers("left-pad", "1.3.0") || e.Covers("left-pad", "2.0.0") || e.Covers("left-pad", "not-semver") || e.Covers("right-pad", "1.0.0") {
		t.Error("exception 0 covers the wrong versions")
	}
	if e := p.Exceptions[1]; e.Name != "@myorg/tool" || e.Range != nil || e.Rule != "" || !e.Covers("@myorg/tool", "9.9.9") {
		t.Errorf("exception 1 = %+v", e)
	}
	if !e.ExpiredAt(time.Date(2027, 3, 31, 0, 0, 0, 0, time.UTC)) || e.ExpiredAt(time.Date(2027, 3, 30, 23, 59, 59, 0, time.UTC)) {
		t.Error("an exception stops applying at 00:00 UTC of its expiry day")
	}
}

func requires(p *Policy, name string) bool {
	_, ok := p.provenanceRequirement(name)
	return ok
}

func TestParseEmpty(t *testing.T) {
	for _, doc := range []string{"", "# nothing\n", "---\n", "~\n"} {
		p, err := Parse("p.yaml", audit.NamedByProject, []byte(doc))
		if err != nil {
			t.Errorf("%q: %v", doc, err)
			continue
		}
		if p.RequireAll || len(p.Exceptions) > 0 || p.MinimumReleaseAge != 0 {
			t.Errorf("%q: not an empty policy: %+v", doc, p)
		}
	}
}

func TestParseRequireAll(t *testing.T) {
	p, err := Parse("p.yaml", audit.NamedByProject, []byte("requireProvenance: true\n"))
	if err != nil || !p.RequireAll || !requires(p, "anything") {
		t.Fatalf("%+v, %v", p, err)
	}
	p, err = Parse("p.yaml", audit.NamedByProject, []byte("requireProvenance: false\n"))
	if err != nil || p.RequireAll || requires(p, "anything") {
		t.Fatalf("%+v, %v", p, err)
	}
}

// TestParseErrors pins the position and the wording of each kind of
// malformed policy.
func TestParseErrors(t *testing.T) {
	tests := []struct {
		name, doc string
		namedBy   string
		want      string
	}{
		{"unknown top key", "requireProvenence: true\n", "", `p.yaml:1:1: the policy: unknown key "requireProvenence" (did you mean "requireProvenance"?)`},
		{"not a mapping", "- a\n", "", "p.yaml:1:1: the policy: want a mapping, got a list"},
		{"require wrong type", "requireProvenance: yes\n", "", `p.yaml:1:20: requireProvenance: want true, false or a list of package names and scopes (@scope/*), got "yes"`},
		{"require bad name", "requireProvenance: [Bad Name]\n", "", `p.yaml:1:21: requireProvenance: invalid package name: "Bad Name"`},
		{"require bad pattern", "requireProvenance: [\"@a/[\"]\n", "", `p.yaml:1:21: requireProvenance: "@a/[" is not a valid pattern`},
		{"empty list", "requireProvenance: []\n", "", "p.yaml:1:20: requireProvenance: the list is empty"},
		{"age number", "minimumReleaseAge: 3\n", "", "p.yaml:1:20: minimumReleaseAge: want a string, got the number 3"},
		{"age unit", "minimumReleaseAge: 3days\n", "", `p.yaml:1:20: minimumReleaseAge: "3days" is not an age: a number is missing at "ays"`},
		{"age unit letter", "minimumReleaseAge: 3y\n", "", `p.yaml:1:20: minimumReleaseAge: "3y" is not an age: unknown unit "y"`},
		{"age no unit", "minimumReleaseAge: 3d4\n", "", `p.yaml:1:20: minimumReleaseAge: "3d4" is not an age: 4 has no unit`},
		{"age too long", "minimumReleaseAge: 99999999w\n", "", "more than ten years"},
		{"identity unknown key", "identity:\n  issuer: [https://x.example]\n", "", `p.yaml:2:3: identity: unknown key "issuer" (did you mean "issuers"?)`},
		{"issuer not https", "identity:\n  issuers: [http://x.example]\n", "", `p.yaml:2:13: identity.issuers: "http://x.example" is not an https URL`},
		{"issuers scalar", "identity:\n  issuers: https://x.example\n", "", `p.yaml:2:12: identity.issuers: want a list, got "https://x.example"`},
		{"hosted not bool", "identity:\n  hostedRunnersOnly: \"true\"\n", "", `p.yaml:2:22: identity.hostedRunnersOnly: want true or false, got "true"`},
		{"ref not full", "identity:\n  packages:\n    a:\n      refs: [v*]\n", "", `p.yaml:4:14: identity.packages.a.refs: "v*" is not a full git ref: write refs/tags/v* or refs/heads/v*`},
		{"repository not a repository", "identity:\n  packages:\n    a:\n      repository: myorg\n", "", `p.yaml:4:19: identity.packages.a.repository: "myorg" is not a repository`},
		{"package entry key", "identity:\n  packages:\n    a:\n      repo: github.com/a/b\n", "", `p.yaml:4:7: identity.packages.a: unknown key "repo" (did you mean "refs"?)`},
		{"package pattern", "identity:\n  packages:\n    \"a b\":\n      repository: github.com/a/b\n", "", `p.yaml:3:5: identity.packages: invalid package name: "a b"`},
		{"unknown rule", "rules:\n  release-ages: off\n", "", `p.yaml:2:3: rules: unknown rule "release-ages" (did you mean "release-age"?)`},
		{"verification rule", "rules:\n  signature-invalid: off\n", "", `p.yaml:2:3: rules: signature-invalid is a verification rule`},
		{"rule value", "rules:\n  release-age: severe\n", "", `p.yaml:2:16: rules.release-age: want off or a severity (critical, high, medium, low), got "severe"`},
		{"rule value bool", "rules:\n  release-age: false\n", "", `p.yaml:2:16: rules.release-age: want off or a severity (critical, high, medium, low), got false`},
		{"project rule off", "rules:\n  identity-drift: off\n", audit.NamedByProject, "p.yaml:2:19: rules.identity-drift: the project's own policy file cannot switch a rule off"},
		{"exceptions not list", "exceptions:\n  package: a\n", "", "p.yaml:2:3: exceptions: want a list of {package, rule, reason, expires}, got a mapping"},
		{"exception missing", "exceptions:\n  - package: a\n", "", "p.yaml:2:5: exceptions[0]: reason is required"},
		{"exception bad date", "exceptions:\n  - {package: a, reason: r, expires: 2027-02-30}\n", "", `p.yaml:2:38: exceptions[0].expires: "2027-02-30" is not a date`},
		{"exception date form", "exceptions:\n  - {package: a, reason: r, expires: 31/12/2027}\n", "", `p.yaml:2:38: exceptions[0].expires: want a date YYYY-MM-DD, got "31/12/2027"`},
		{"exception bad range", "exceptions:\n  - {package: a@>>1, reason: r, expires: 2027-01-01}\n", "", `p.yaml:2:15: exceptions[0].package: ">>1" is not a semver range`},
		{"exception empty range", "exceptions:\n  - {package: a@, reason: r, expires: 2027-01-01}\n", "", `exceptions[0].package: "a@" has an empty version range`},
		{"exception bad name", "exceptions:\n  - {package: ../a, reason: r, expires: 2027-01-01}\n", "", `p.yaml:2:15: exceptions[0].package: invalid package name`},
		{"exception rule", "exceptions:\n  - {package: a, rule: integrity-mismatch, reason: r, expires: 2027-01-01}\n", "", "p.yaml:2:24: exceptions[0].rule: integrity-mismatch is a verification rule"},
		{"exception unknown key", "exceptions:\n  - {package: a, reason: r, expires: 2027-01-01, until: x}\n", "", `p.yaml:2:50: exceptions[0]: unknown key "until"`},
		{"empty reason", "exceptions:\n  - {package: a, reason: \"\", expires: 2027-01-01}\n", "", "p.yaml:2:26: exceptions[0].reason: the string is empty"},
		{"duplicate key", "rules:\n  release-age: high\n  release-age: low\n", "", `p.yaml:3:3: rules: key "release-age" appears twice`},
		{"alias", "a: &x [1]\nrequireProvenance: *x\n", "", "p.yaml:1:4: YAML anchors and aliases are not supported in a policy file"},
		{"second document", "rules: {}\n---\nrules: {}\n", "", "p.yaml:2:1: a second YAML document: a policy file has one"},
		{"syntax", "rules: [\n  a: b\n x", "", "p.yaml:3: not valid YAML: did not find expected ',' or ']'"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			namedBy := tt.namedBy
			if namedBy == "" {
				namedBy = audit.NamedByUser
			}
			p, err := Parse("p.yaml", namedBy, []byte(tt.doc))
			if err == nil {
				t.Fatalf("parsed: %+v", p)
			}
			if !errors.Is(err, ErrMalformed) {
				t.Errorf("%v does not wrap ErrMalformed", err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error\n  %v\nwant it to contain\n  %s", err, tt.want)
			}
		})
	}
}

// TestParseReportsEveryProblem: one run names every problem, not only
// the first.
func TestParseReportsEveryProblem(t *testing.T) {
	_, err := Parse("p.yaml", audit.NamedByUser, []byte("minimumReleaseAge: x\nrules:\n  nope: off\nexceptions:\n  - {package: a}\n"))
	if err == nil {
		t.Fatal("parsed")
	}
	for _, want := range []string{"p.yaml:1:20:", "p.yaml:3:3:", "p.yaml:5:5: exceptions[0]: reason is required", "p.yaml:5:5: exceptions[0]: expires is required"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("%v\nlacks %s", err, want)
		}
	}
	var many strings.Builder
	many.WriteString("rules:\n")
	for i := range 50 {
		many.WriteString("  bad-rule-" + string(rune('a'+i%26)) + string(rune('a'+i/26)) + ": off\n")
	}
	_, err = Parse("p.yaml", audit.NamedByUser, []byte(many.String()))
	if n := strings.Count(err.Error(), "\n") + 1; n != maxErrors+1 || !strings.Contains(err.Error(), "further problems not reported") {
		t.Errorf("%d lines reported, want %d and a note", n, maxErrors+1)
	}
}

func TestParseTooLarge(t *testing.T) {
	_, err := Parse("p.yaml", audit.NamedByUser, make([]byte, MaxSize+1))
	if !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), "more than the") {
		t.Fatalf("err = %v", err)
	}
}

func TestProjectSeverityParses(t *testing.T) {
	p, err := Parse("p.yaml", audit.NamedByProject, []byte("rules:\n  release-age: critical\n"))
	if err != nil || p.Rules[audit.RuleReleaseAge].Severity != audit.SeverityCritical {
		t.Fatalf("%+v, %v", p, err)
	}
}

func TestParseAge(t *testing.T) {
	for in, want := range map[string]time.Duration{
		"3d": 72 * time.Hour, "72h": 72 * time.Hour, "1w": 168 * time.Hour, "1d12h": 36 * time.Hour,
		"90m": 90 * time.Minute, "30s": 30 * time.Second, "0d": 0, "3650d": 3650 * 24 * time.Hour,
	} {
		got, err := ParseAge(in)
		if err != nil || got != want {
			t.Errorf("ParseAge(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "3", "d", "3x", "-3d", "3.5d", "3 d", "3651d", "522w1d", "9223372036854775807s", "1h-1m"} {
		if got, err := ParseAge(in); err == nil {
			t.Errorf("ParseAge(%q) = %v, want an error", in, got)
		}
	}
}

func TestNormalizeRepository(t *testing.T) {
	for in, want := range map[string]string{
		"https://github.com/Org/Repo":         "github.com/org/repo",
		"git+https://github.com/org/repo.git": "github.com/org/repo",
		"github.com/org/repo/":                "github.com/org/repo",
		"http://gitlab.com/g/sub/p":           "gitlab.com/g/sub/p",
	} {
		if got := NormalizeRepository(in); got != want {
			t.Errorf("NormalizeRepository(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestConfigure(t *testing.T) {
	p, err := Parse("p.yaml", audit.NamedByUser, []byte("minimumReleaseAge: 3d\nrules:\n  publisher-changed: off\n  release-age: low\n"))
	if err != nil {
		t.Fatal(err)
	}
	var o audit.Options
	p.Configure(&o)
	if o.MinimumReleaseAge != 72*time.Hour {
		t.Errorf("MinimumReleaseAge = %v", o.MinimumReleaseAge)
	}
	if len(o.DisabledRules) != 1 || o.DisabledRules[0] != audit.RulePublisherChanged {
		t.Errorf("DisabledRules = %v", o.DisabledRules)
	}
	var none *Policy
	none.Configure(&o) // a nil policy changes nothing
	if o.MinimumReleaseAge != 72*time.Hour {
		t.Error("a nil policy changed the options")
	}
}
