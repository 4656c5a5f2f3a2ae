package audit

import (
	"slices"

	"github.com/provaudit/provaudit/lockfile"
)

// PolicyRules lists the rules a policy may configure: turn off, give
// another severity, or waive with an exception. They are requirements and
// signals of the policy issue, findings about how a version was published
// while its signatures and attestations verify. Every other rule is
// verification (possible tampering, an untrusted key, an install bound to
// nothing verified) and no policy can switch it off or waive it.
var PolicyRules = []Rule{
	RuleProvenanceMissing,
	RuleProvenanceRegression,
	RuleIdentityDrift,
	RuleInstallScriptAdded,
	RulePublisherChanged,
	RuleReleaseAge,
	RuleIdentityPolicy,
	RuleSourceUnverified,
}

// IsPolicyRule reports whether r is one of [PolicyRules].
func IsPolicyRule(r Rule) bool { return slices.Contains(PolicyRules, r) }

// PolicyInfo says which policy an audit applied.
type PolicyInfo struct {
	// File is the policy file applied, "" when none.
	File string `json:"file,omitempty"`
	// NamedBy is "user" when the person running provaudit gave the file
	// (--policy FILE), "project" when it is the audited project's own
	// provaudit.yaml beside the lockfile (which may make the gate stricter
	// and waive single findings with exceptions, never switch a rule off
	// or lower a severity).
	NamedBy string `json:"namedBy,omitempty"`
	// Baseline is the identity baseline file (provaudit-baseline.json
	// beside the lockfile) that verified identities were compared with,
	// "" when there is none.
	Baseline string `json:"baseline,omitempty"`
}

// DiffInfo says what a diff-mode audit compared the lockfile with, and how
// many of its packages were new, changed and unchanged (skipped).
type DiffInfo struct {
	// Baseline names the baseline lockfile: its path (--baseline FILE) or
	// REF:PATH (--baseline-ref REF).
	Baseline  string `json:"baseline"`
	New       int    `json:"new"`
	Changed   int    `json:"changed"`
	Unchanged int    `json:"unchanged"`
}

// count counts a unit's change and returns it.
func (d *DiffInfo) count(c lockfile.Change) lockfile.Change {
	switch c {
	case lockfile.ChangeNew:
		d.New++
	case lockfile.ChangeChanged:
		d.Changed++
	case lockfile.ChangeUnchanged:
		d.Unchanged++
	}
	return c
}

// SourceStatus is the outcome of a source check.
type SourceStatus string

// Source check outcomes.
const (
	// SourceVerified: the provenance's commit exists in its repository and
	// is reachable from a branch or tag.
	SourceVerified SourceStatus = "verified"
	// SourceUnverified: the commit does not exist there, or no branch or
	// tag reaches it (a source-unverified finding).
	SourceUnverified SourceStatus = "unverified"
	// SourceIncomplete: the check could not be made (API unreachable, rate
	// limited, a host without a known API, not in cache offline): the
	// audit is incomplete.
	SourceIncomplete SourceStatus = "incomplete"
)

// SourceCheck is the result of the source check (--check-source) of a
// package's verified provenance.
type SourceCheck struct {
	Status SourceStatus `json:"status"`
	Reason string       `json:"reason"`
	// Ref is the branch or tag the commit was found reachable from.
	Ref string `json:"ref,omitempty"`
}

// Recount recomputes r.Summary from r.Packages after findings were added,
// changed or waived (package policy does), keeping its timing.
func Recount(r *Result) {
	start, d := r.Summary.StartedAt, r.Summary.DurationMS
	r.Summary = summarize(r.Packages)
	r.Summary.StartedAt, r.Summary.DurationMS = start, d
}
