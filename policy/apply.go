package policy

import (
	"fmt"
	"slices"
	"time"

	"github.com/provaudit/provaudit/audit"
)

// Apply evaluates the policy pol and the identity baseline base (either
// may be nil) over the audit result r, in this order:
//
//  1. identity constraints: identity-policy findings;
//  2. requireProvenance: provenance-missing findings for the packages it
//     names that have no verified SLSA provenance (none twice);
//  3. the baseline: identity-drift and provenance-regression findings
//     "against the baseline" (joined to a finding of the same rule that
//     the release-history rules made, see mergeFinding);
//  4. rules: findings of rules switched off are removed, severities set
//     (in the project's own file only raised);
//  5. exceptions: a finding of a policy rule that an exception covers and
//     that has not expired at now is waived: removed from the package's
//     findings and listed, with the exception, in its exceptions; an
//     expired exception that would have covered a finding is listed as
//     expired and says so in the finding's message.
//
// Only packages that were audited and not found invalid get findings of
// steps 1-3. Then r.Policy is set and the summary recounted. Apply returns
// warnings about the policy itself: severities the project's own file
// could not lower, exceptions that expired, and exceptions that covered
// no finding (not in diff mode, where most packages are not audited).
func Apply(r *audit.Result, pol *Policy, base *Baseline, now time.Time) []string {
	if pol == nil && base == nil {
		return nil
	}
	for i := range r.Packages {
		pk := &r.Packages[i]
		if !audited(pk) {
			continue
		}
		if pol != nil {
			if f, ok := pol.checkIdentity(pk); ok {
				pk.Findings = append(pk.Findings, f)
			}
			if f, ok := pol.checkProvenance(pk); ok {
				pk.Findings = append(pk.Findings, f)
			}
		}
		if base != nil {
			for _, f := range base.Check(pk) {
				mergeFinding(pk, f)
			}
		}
	}
	var warnings []string
	info := &audit.PolicyInfo{}
	if pol != nil {
		info.File, info.NamedBy = pol.File, pol.NamedBy
		warnings = append(pol.applyRules(r), pol.applyExceptions(r, now)...)
	}
	if base != nil {
		info.Baseline = base.File
	}
	r.Policy = info
	audit.Recount(r)
	return warnings
}

// mergeFinding adds f to pk's findings, or, when the release-history
// rules already made a finding of the same rule (the registry's history
// and the baseline often tell of the same drift), adds f's message to
// that finding and keeps the higher severity: one finding per rule and
// package, with all of its evidence.
func mergeFinding(pk *audit.Package, f audit.Finding) {
	for i := range pk.Findings {
		g := &pk.Findings[i]
		if g.Rule != f.Rule {
			continue
		}
		g.Message += "; and " + f.Message
		if f.Severity.Rank() > g.Severity.Rank() {
			g.Severity = f.Severity
		}
		return
	}
	pk.Findings = append(pk.Findings, f)
}

// audited reports packages whose findings the policy judges: checked, and
// not already invalid (possible tampering outranks any policy).
func audited(pk *audit.Package) bool {
	switch pk.Status {
	case audit.StatusVerified, audit.StatusSigned, audit.StatusUnsigned:
		return true
	}
	return false
}

// provenanceRequirement returns where the policy asks name for
// provenance: the requireProvenance key, or the pattern that names it.
func (p *Policy) provenanceRequirement(name string) (string, bool) {
	if p.RequireAll {
		return p.requireWhere, true
	}
	for _, pt := range p.RequireProvenance {
		if pt.Match(name) {
			return pt.Where, true
		}
	}
	return "", false
}

// checkProvenance returns the provenance-missing finding of pk when the
// policy requires provenance of it, it has none, and it has no such
// finding yet (--require-provenance makes the same one).
func (p *Policy) checkProvenance(pk *audit.Package) (audit.Finding, bool) {
	where, ok := p.provenanceRequirement(pk.Name)
	if !ok || audit.HasProvenance(pk) {
		return audit.Finding{}, false
	}
	if slices.ContainsFunc(pk.Findings, func(f audit.Finding) bool { return f.Rule == audit.RuleProvenanceMissing }) {
		return audit.Finding{}, false
	}
	return audit.ProvenanceMissing(pk.Attestations, "requireProvenance in "+where), true
}

// applyRules removes the findings of rules switched off and sets the
// severity of configured ones: exactly in a file the person gave, as a
// floor in the project's own file (which may only make the gate
// stricter). It warns once per rule the project's file could not lower.
func (p *Policy) applyRules(r *audit.Result) []string {
	if len(p.Rules) == 0 {
		return nil
	}
	var warnings []string
	warned := map[audit.Rule]bool{}
	for i := range r.Packages {
		pk := &r.Packages[i]
		pk.Findings = slices.DeleteFunc(pk.Findings, func(f audit.Finding) bool { return p.Rules[f.Rule].Off })
		for j := range pk.Findings {
			f := &pk.Findings[j]
			s, ok := p.Rules[f.Rule]
			if !ok || s.Severity == "" {
				continue
			}
			switch {
			case p.NamedBy != audit.NamedByProject || s.Severity.Rank() > f.Severity.Rank():
				f.Severity = s.Severity
			case s.Severity != f.Severity && !warned[f.Rule]:
				warned[f.Rule] = true
				warnings = append(warnings, fmt.Sprintf("%s: rules.%s: %s findings stay %s: the project's own policy file can only raise a severity", s.Where, f.Rule, f.Rule, f.Severity))
			}
		}
	}
	return warnings
}

// applyExceptions waives the findings that live exceptions cover and
// records expired ones (see Apply).
func (p *Policy) applyExceptions(r *audit.Result, now time.Time) []string {
	if len(p.Exceptions) == 0 {
		return nil
	}
	used := make([]bool, len(p.Exceptions))
	for i := range r.Packages {
		pk := &r.Packages[i]
		var applied []audit.AppliedException
		at := map[int]int{} // exception index -> index in applied
		record := func(x int, expired bool) *audit.AppliedException {
			used[x] = true
			if j, ok := at[x]; ok {
				return &applied[j]
			}
			e := &p.Exceptions[x]
			at[x] = len(applied)
			applied = append(applied, audit.AppliedException{
				Rule: e.Rule, Package: e.Package, Reason: e.Reason, Expires: e.ExpiresText, Expired: expired, Where: e.Where,
			})
			return &applied[len(applied)-1]
		}
		kept := pk.Findings[:0]
		for _, f := range pk.Findings {
			live, expired := p.covering(pk, f, now)
			switch {
			case live >= 0:
				a := record(live, false)
				a.Waived = append(a.Waived, f)
				continue
			case expired >= 0:
				record(expired, true)
				e := &p.Exceptions[expired]
				f.Message += fmt.Sprintf(" (the exception in %s expired on %s and no longer applies)", e.Where, e.ExpiresText)
			}
			kept = append(kept, f)
		}
		pk.Findings = kept
		pk.Exceptions = append(pk.Exceptions, applied...)
	}
	var warnings []string
	for x := range p.Exceptions {
		e := &p.Exceptions[x]
		switch {
		case e.ExpiredAt(now):
			warnings = append(warnings, fmt.Sprintf("%s: the exception for %s%s expired on %s and no longer applies: renew it or remove it", e.Where, e.Package, forRule(e.Rule), e.ExpiresText))
		case !used[x] && r.Diff == nil:
			warnings = append(warnings, fmt.Sprintf("%s: the exception for %s%s covers no finding: remove it if it is no longer needed", e.Where, e.Package, forRule(e.Rule)))
		}
	}
	return warnings
}

// covering returns the index of the first exception that covers finding f
// of pk and has not expired, and of the first expired one that would, -1
// for none.
func (p *Policy) covering(pk *audit.Package, f audit.Finding, now time.Time) (live, expired int) {
	live, expired = -1, -1
	if !audit.IsPolicyRule(f.Rule) {
		return live, expired
	}
	for x := range p.Exceptions {
		e := &p.Exceptions[x]
		if (e.Rule != "" && e.Rule != f.Rule) || !e.Covers(pk.Name, pk.Version) {
			continue
		}
		if !e.ExpiredAt(now) {
			return x, expired
		}
		if expired < 0 {
			expired = x
		}
	}
	return live, expired
}

func forRule(r audit.Rule) string {
	if r == "" {
		return " (every policy rule)"
	}
	return " (rule " + string(r) + ")"
}
