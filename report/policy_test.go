package report

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/provaudit/provaudit/audit"
	"github.com/provaudit/provaudit/lockfile"
)

// policyResult is an audit with the project's own policy, an identity
// baseline, diff mode and the source check: a policy finding, a waived
// one, an expired exception, a source check left incomplete and a package
// skipped as unchanged.
func policyResult() *audit.Result {
	published := time.Date(2024, 5, 2, 10, 11, 12, 0, time.UTC)
	drift := registryPkg("@acme/lib", "2.1.0", 40)
	drift.Status, drift.Reason = audit.StatusVerified, "registry signature and attestations verified"
	drift.Change = lockfile.ChangeChanged
	drift.RegistrySignature = sigVerified(keyNew, published, "rekor")
	drift.Attestations = attVerified("@acme/lib", "https://github.com/attacker/lib", 5551, published)
	drift.SourceCheck = &audit.SourceCheck{Status: audit.SourceVerified, Reason: "commit exists and tag v2.1.0 reaches it", Ref: "refs/tags/v2.1.0"}
	drift.Findings = []audit.Finding{{Rule: audit.RuleIdentityPolicy, Severity: audit.SeverityHigh,
		Message: "the verified identity of @acme/lib@2.1.0 breaks the identity policy (provaudit.yaml:4): source repository https://github.com/attacker/lib is not the expected github.com/acme/*"}}

	waived := registryPkg("left-pad", "1.3.0", 60)
	waived.Status, waived.Reason = audit.StatusSigned, "registry signature verified; the version has no attestations"
	waived.Change = lockfile.ChangeNew
	waived.RegistrySignature = sigVerified(keyOld, published, "publish-time")
	waived.Attestations = attMissing
	waived.Exceptions = []audit.AppliedException{{Rule: audit.RuleProvenanceMissing, Package: "left-pad@<2", Reason: "maintainers publish without provenance, issue 12",
		Expires: "2027-03-31", Where: "provaudit.yaml:9", Waived: []audit.Finding{{Rule: audit.RuleProvenanceMissing, Severity: audit.SeverityMedium,
			Message: "the version has no verified SLSA provenance (requireProvenance in provaudit.yaml:1)"}}}}

	expired := registryPkg("right-pad", "1.0.0", 70)
	expired.Status, expired.Reason = audit.StatusSigned, "registry signature verified; the version has no attestations"
	expired.Change = lockfile.ChangeNew
	expired.RegistrySignature = sigVerified(keyOld, published, "publish-time")
	expired.Attestations = attMissing
	expired.Exceptions = []audit.AppliedException{{Rule: audit.RuleProvenanceMissing, Package: "right-pad", Reason: "temporary", Expires: "2024-01-01", Expired: true, Where: "provaudit.yaml:13"}}
	expired.Findings = []audit.Finding{{Rule: audit.RuleProvenanceMissing, Severity: audit.SeverityMedium,
		Message: "the version has no verified SLSA provenance (requireProvenance in provaudit.yaml:1) (the exception in provaudit.yaml:13 expired on 2024-01-01 and no longer applies)"}}

	unchecked := registryPkg("@acme/cli", "1.0.0", 20)
	unchecked.Status, unchecked.Reason = audit.StatusVerified, "registry signature and attestations verified"
	unchecked.Change = lockfile.ChangeNew
	unchecked.RegistrySignature = sigVerified(keyNew, published, "rekor")
	unchecked.Attestations = attVerified("@acme/cli", "https://github.com/acme/cli", 5553, published)
	unchecked.SourceCheck = &audit.SourceCheck{Status: audit.SourceIncomplete, Reason: "source check of acme/cli@0123: unreachable: https://api.github.invalid: connection refused"}

	same := registryPkg("ms", "2.1.3", 80)
	same.Status, same.Reason, same.Change = audit.StatusSkipped, "unchanged since the baseline (origin/main:package-lock.json)", lockfile.ChangeUnchanged

	r := newResult(drift, waived, expired, unchecked, same)
	r.Policy = &audit.PolicyInfo{File: "provaudit.yaml", NamedBy: audit.NamedByProject, Baseline: "provaudit-baseline.json"}
	r.Diff = &audit.DiffInfo{Baseline: "origin/main:package-lock.json", New: 3, Changed: 1, Unchanged: 1}
	audit.Recount(r)
	r.Registries[0].Packages, r.Registries[0].Checked = r.Summary.Audited, r.Summary.Checked
	return r
}

func render(t *testing.T, r *audit.Result, f func(*bytes.Buffer, *audit.Result) error) string {
	t.Helper()
	var buf bytes.Buffer
	if err := f(&buf, r); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

func TestPolicyTableAndMarkdown(t *testing.T) {
	r := policyResult()
	if r.Summary.Waived != 1 || r.Summary.SourceUnchecked != 1 || r.Summary.Findings != 2 {
		t.Fatalf("fixture summary %+v", r.Summary)
	}
	table := render(t, r, func(b *bytes.Buffer, r *audit.Result) error { return Table(b, r, Options{Width: 200}) })
	md := render(t, r, func(b *bytes.Buffer, r *audit.Result) error { return Markdown(b, r, Options{}) })
	for _, want := range []string{
		"policy provaudit.yaml (the audited project's own: it can only make the gate stricter and waive findings with the exceptions listed below)",
		"identity baseline provaudit-baseline.json",
		"diff against origin/main:package-lock.json: 3 new, 1 changed, 1 unchanged (skipped)",
		"1 finding waived by a policy exception",
		"the source of 1 package could not be checked (--check-source)",
		"left-pad@1.3.0: waived provenance-missing (medium) until 2027-03-31; reason: maintainers publish without provenance, issue 12 (provaudit.yaml:9)",
		"right-pad@1.0.0: the exception for provenance-missing expired on 2024-01-01 and no longer applies; reason: temporary (provaudit.yaml:13)",
		"source check incomplete: source check of acme/cli@0123",
	} {
		if !strings.Contains(table, want) {
			t.Errorf("the table lacks %q:\n%s", want, table)
		}
		if !strings.Contains(md, mdText(want)) {
			t.Errorf("the markdown lacks %q:\n%s", mdText(want), md)
		}
	}
	if !strings.Contains(table, "policy exceptions (2):") || !strings.Contains(md, "### Policy exceptions (2)") {
		t.Error("no exceptions section")
	}
	if strings.Contains(table, "omitted or bundled") {
		t.Errorf("a package skipped as unchanged counted as omitted or bundled:\n%s", table)
	}
	if strings.HasPrefix(md, "## ✅") {
		t.Error("markdown claims success")
	}
	// The source check left incomplete is incomplete even without findings.
	r.Packages = []audit.Package{r.Packages[3]}
	audit.Recount(r)
	if md := render(t, r, func(b *bytes.Buffer, r *audit.Result) error { return Markdown(b, r, Options{}) }); !strings.HasPrefix(md, "## ❗ provaudit: audit incomplete, the source of 1 package could not be checked") {
		t.Errorf("heading: %s", strings.SplitN(md, "\n", 2)[0])
	}
}

func TestPolicySARIF(t *testing.T) {
	r := policyResult()
	doc := renderSARIF(t, r)
	var d struct {
		Runs []struct {
			Invocations []struct {
				ExecutionSuccessful        bool `json:"executionSuccessful"`
				ToolExecutionNotifications []struct {
					Message struct{ Text string } `json:"message"`
				} `json:"toolExecutionNotifications"`
			} `json:"invocations"`
			Results []struct {
				RuleID       string `json:"ruleId"`
				Suppressions []struct {
					Kind, Status, Justification string
				} `json:"suppressions"`
				Properties struct{ Package string } `json:"properties"`
			} `json:"results"`
			Properties struct {
				Policy *audit.PolicyInfo `json:"provaudit/policy"`
				Diff   *audit.DiffInfo   `json:"provaudit/diff"`
			} `json:"properties"`
		} `json:"runs"`
	}
	if err := json.Unmarshal(doc, &d); err != nil {
		t.Fatal(err)
	}
	run := d.Runs[0]
	var suppressed int
	for _, res := range run.Results {
		if len(res.Suppressions) == 0 {
			continue
		}
		suppressed++
		s := res.Suppressions[0]
		if res.Properties.Package != "left-pad" || res.RuleID != "provenance-missing" || s.Kind != "external" || s.Status != "accepted" ||
			s.Justification != "maintainers publish without provenance, issue 12 (policy exception in provaudit.yaml:9, until 2027-03-31)" {
			t.Errorf("suppressed result %+v", res)
		}
	}
	if suppressed != 1 || len(run.Results) != 3 {
		t.Errorf("%d results, %d suppressed; want 3 and 1", len(run.Results), suppressed)
	}
	inv := run.Invocations[0]
	if inv.ExecutionSuccessful || len(inv.ToolExecutionNotifications) != 1 || !strings.Contains(inv.ToolExecutionNotifications[0].Message.Text, "@acme/cli@1.0.0: source check incomplete") {
		t.Errorf("invocation %+v", inv)
	}
	if p := run.Properties.Policy; p == nil || p.File != "provaudit.yaml" || run.Properties.Diff == nil || run.Properties.Diff.Changed != 1 {
		t.Errorf("run properties %+v", run.Properties)
	}
}

func TestPolicySBOMProperties(t *testing.T) {
	r := policyResult()
	for _, f := range sbomFormats {
		doc := string(renderSBOM(t, f.render, r))
		for _, want := range []string{PropException, "waived provenance-missing (medium) until 2027-03-31", PropChange, PropSourceCheck, "incomplete: source check of acme/cli"} {
			if !strings.Contains(doc, want) {
				t.Errorf("%s lacks %q", f.name, want)
			}
		}
	}
}
