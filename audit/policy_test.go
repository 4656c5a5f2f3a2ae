package audit

import (
	"context"
	"errors"
	"testing"

	"github.com/provaudit/provaudit/lockfile"
)

// TestRunDiff: in diff mode only the units new or changed against the
// baseline lockfile are fetched and verified; the unchanged ones are
// skipped with the reason, and every package says how it changed.
func TestRunDiff(t *testing.T) {
	s := newSetup(t, 2, 3) // att-000, att-001, plain-000..002
	base, _ := testLockfile(t, 2, 1)
	// The baseline pins att-001 at another integrity: changed.
	for i := range base.Entries {
		if base.Entries[i].Name == "att-001" {
			base.Entries[i].Integrity = registrytestSRI("other")
		}
	}
	s.reg.ResetStats()
	res, err := Run(context.Background(), Options{Lockfile: s.lf, Config: s.cfg, Client: s.client(t, ""), Trust: s.trust,
		DiffBase: base, DiffLabel: "origin/main:package-lock.json"})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]lockfile.Change{"att-000": lockfile.ChangeUnchanged, "att-001": lockfile.ChangeChanged,
		"plain-000": lockfile.ChangeUnchanged, "plain-001": lockfile.ChangeNew, "plain-002": lockfile.ChangeNew}
	for _, p := range res.Packages {
		if p.Change != want[p.Name] {
			t.Errorf("%s: change %q, want %q", p.Name, p.Change, want[p.Name])
		}
		unchanged := p.Change == lockfile.ChangeUnchanged
		if unchanged != (p.Status == StatusSkipped) {
			t.Errorf("%s: status %s", p.Name, p.Status)
		}
		if unchanged && (p.Reason != "unchanged since the baseline (origin/main:package-lock.json)" || p.RegistrySignature != nil) {
			t.Errorf("%s: reason %q, signature %+v", p.Name, p.Reason, p.RegistrySignature)
		}
	}
	if d := res.Diff; d == nil || d.Baseline != "origin/main:package-lock.json" || d.New != 2 || d.Changed != 1 || d.Unchanged != 2 {
		t.Errorf("diff %+v", res.Diff)
	}
	if res.Summary.Audited != 3 || res.Summary.Skipped != 2 {
		t.Errorf("summary %+v", res.Summary)
	}
	// Nothing of the skipped packages was asked for: only the keys and
	// the audited three (their version documents and packuments, and the
	// attestations of the one that has them).
	for _, name := range []string{"att-000", "plain-000"} {
		if n := s.reg.RequestsFor("/" + name); n != 0 {
			t.Errorf("%d requests for the unchanged %s", n, name)
		}
	}
	if n := s.reg.Requests(); n != 1+3+3+1 {
		t.Errorf("%d requests, want 8", n)
	}
}

// TestRunDisabledRules: findings of a policy rule the policy switched off
// are not made; verification rules cannot be switched off.
func TestRunDisabledRules(t *testing.T) {
	s := newSetup(t, 0, 2)
	opts := Options{Lockfile: s.lf, Config: s.cfg, Client: s.client(t, ""), Trust: s.trust, RequireProvenance: true}
	res, err := Run(context.Background(), opts)
	if err != nil || res.Summary.Findings != 2 {
		t.Fatalf("without disabled rules: %v, %+v", err, res.Summary)
	}
	opts.DisabledRules = []Rule{RuleProvenanceMissing}
	res, err = Run(context.Background(), opts)
	if err != nil || res.Summary.Findings != 0 {
		t.Fatalf("provenance-missing disabled: %v, %+v", err, res.Summary)
	}
	opts.DisabledRules = []Rule{RuleSignatureInvalid}
	if _, err := Run(context.Background(), opts); !errors.Is(err, ErrOptions) {
		t.Errorf("disabling a verification rule: err = %v, want ErrOptions", err)
	}
}

func TestRecountKeepsTiming(t *testing.T) {
	r := &Result{Packages: []Package{{Status: StatusSigned, Findings: []Finding{{Rule: RuleReleaseAge}},
		Exceptions:  []AppliedException{{Waived: []Finding{{Rule: RuleReleaseAge}, {Rule: RuleIdentityDrift}}}},
		SourceCheck: &SourceCheck{Status: SourceIncomplete}}}}
	r.Summary.DurationMS = 42
	Recount(r)
	if r.Summary.Findings != 1 || r.Summary.Waived != 2 || r.Summary.SourceUnchecked != 1 || r.Summary.Signed != 1 || r.Summary.DurationMS != 42 {
		t.Errorf("summary %+v", r.Summary)
	}
}
