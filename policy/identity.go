package policy

import (
	"fmt"
	"path"
	"slices"
	"strings"

	"github.com/provaudit/provaudit/audit"
)

// hostedRunners are the runner environments of hosted CI runners, as
// Fulcio certificates name them.
var hostedRunners = []string{"github-hosted", "gitlab-hosted"}

// For returns the constraints that apply to the package name: the
// identity section's own, with each field that the most specific
// identity.packages entry for name sets replacing it; and that entry (nil
// when none names the package).
func (id *Identity) For(name string) (Constraints, *PackageIdentity) {
	c := id.Constraints
	e := id.entryFor(name)
	if e == nil {
		return c, nil
	}
	if e.Issuers != nil {
		c.Issuers = e.Issuers
	}
	if e.Repository != "" {
		c.Repository = e.Repository
	}
	if e.Workflows != nil {
		c.Workflows = e.Workflows
	}
	if e.Refs != nil {
		c.Refs = e.Refs
	}
	if e.HostedRunnersOnly != nil {
		c.HostedRunnersOnly = e.HostedRunnersOnly
	}
	c.Where = e.Where
	return c, e
}

// entryFor returns the most specific entry naming name: its exact name,
// else the longest matching pattern (the first of equal length).
func (id *Identity) entryFor(name string) *PackageIdentity {
	var best *PackageIdentity
	for i := range id.Packages {
		e := &id.Packages[i]
		if !e.Pattern.Match(name) {
			continue
		}
		if e.Pattern.Text == name {
			return e
		}
		if best == nil || len(e.Pattern.Text) > len(best.Pattern.Text) {
			best = e
		}
	}
	return best
}

// empty reports constraints that constrain nothing.
func (c *Constraints) empty() bool {
	return len(c.Issuers) == 0 && c.Repository == "" && len(c.Workflows) == 0 && len(c.Refs) == 0 &&
		(c.HostedRunnersOnly == nil || !*c.HostedRunnersOnly)
}

// Problems lists how the verified provenance pv breaks the constraints,
// nil when it keeps them. A fact the provenance does not carry breaks a
// constraint on it.
func (c *Constraints) Problems(pv *audit.Provenance) []string {
	var out []string
	if len(c.Issuers) > 0 && !slices.Contains(c.Issuers, pv.Issuer) {
		out = append(out, fmt.Sprintf("issuer %s is not one of the allowed issuers (%s)", orNone(pv.Issuer), strings.Join(c.Issuers, ", ")))
	}
	if c.Repository != "" {
		if repo := NormalizeRepository(pv.SourceRepository); !globMatch(c.Repository, repo) {
			out = append(out, fmt.Sprintf("source repository %s is not the expected %s", orNone(pv.SourceRepository), c.Repository))
		}
	}
	if len(c.Workflows) > 0 && !anyMatch(c.Workflows, pv.WorkflowPath) {
		out = append(out, fmt.Sprintf("workflow %s is not one of the allowed workflows (%s)", orNone(pv.WorkflowPath), strings.Join(c.Workflows, ", ")))
	}
	if len(c.Refs) > 0 && !anyMatch(c.Refs, pv.WorkflowRef) {
		out = append(out, fmt.Sprintf("ref %s is not one of the allowed refs (%s)", orNone(pv.WorkflowRef), strings.Join(c.Refs, ", ")))
	}
	if c.HostedRunnersOnly != nil && *c.HostedRunnersOnly && !slices.Contains(hostedRunners, pv.RunnerEnvironment) {
		if pv.RunnerEnvironment == "" {
			out = append(out, "the signing certificate does not say which runner built it, and only hosted runners are allowed")
		} else {
			out = append(out, fmt.Sprintf("it was built on a %s runner, and only hosted runners are allowed", pv.RunnerEnvironment))
		}
	}
	return out
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

// globMatch matches s against a glob (path.Match), or compares them when
// the pattern has no glob characters.
func globMatch(pattern, s string) bool {
	if !strings.ContainsAny(pattern, "*?[") {
		return pattern == s
	}
	ok, err := path.Match(pattern, s)
	return ok && err == nil
}

func anyMatch(patterns []string, s string) bool {
	if s == "" {
		return false
	}
	for _, p := range patterns {
		if globMatch(p, s) {
			return true
		}
	}
	return false
}

// checkIdentity returns the identity-policy finding of pk, if any: its
// verified provenance breaks the constraints that apply to it, or an
// identity.packages entry names it and it has no verified provenance.
func (p *Policy) checkIdentity(pk *audit.Package) (audit.Finding, bool) {
	c, entry := p.Identity.For(pk.Name)
	if !audit.HasProvenance(pk) {
		if entry == nil {
			return audit.Finding{}, false
		}
		return audit.Finding{Rule: audit.RuleIdentityPolicy, Severity: audit.SeverityHigh,
			Message: fmt.Sprintf("%s@%s has no verified SLSA provenance, so the identity the policy expects of it (%s) cannot be verified", pk.Name, pk.Version, entry.Where)}, true
	}
	if c.empty() {
		return audit.Finding{}, false
	}
	problems := c.Problems(pk.Attestations.Provenance)
	if len(problems) == 0 {
		return audit.Finding{}, false
	}
	return audit.Finding{Rule: audit.RuleIdentityPolicy, Severity: audit.SeverityHigh,
		Message: fmt.Sprintf("the verified identity of %s@%s breaks the identity policy (%s): %s", pk.Name, pk.Version, c.Where, strings.Join(problems, "; "))}, true
}
