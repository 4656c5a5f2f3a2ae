package audit

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/provaudit/provaudit/fetch"
	"github.com/provaudit/provaudit/verify"
)

// lineRules are the rules that compare a version with the earlier versions
// of its release line.
var lineRules = []Rule{RuleProvenanceRegression, RuleIdentityDrift, RuleInstallScriptAdded, RulePublisherChanged}

// historyPlan is what an audit asks of release histories.
type historyPlan struct {
	disabled map[Rule]bool
	// lines: some rule compares with the release line; age: release-age
	// is on; baseline: identity-drift is on (the baseline's attestations
	// are fetched and verified).
	lines, baseline bool
	age             time.Duration
}

func newHistoryPlan(opts Options) historyPlan {
	p := historyPlan{disabled: map[Rule]bool{}}
	for _, r := range opts.DisabledRules {
		p.disabled[r] = true
	}
	if !opts.NoHistory {
		for _, r := range lineRules {
			p.lines = p.lines || !p.disabled[r]
		}
		p.baseline = !p.disabled[RuleIdentityDrift]
	}
	if !p.disabled[RuleReleaseAge] {
		p.age = opts.MinimumReleaseAge
	}
	return p
}

// wanted reports whether packages need their release history.
func (p historyPlan) wanted() bool { return p.lines || p.age > 0 }

// checkPolicyOptions refuses DisabledRules that are not policy rules and a
// negative MinimumReleaseAge.
func checkPolicyOptions(opts Options) error {
	for _, r := range opts.DisabledRules {
		if !slices.Contains(PolicyRules, r) {
			return fmt.Errorf("%w: DisabledRules names %q, which is not a policy rule (%s)", ErrOptions, r, joinRules(PolicyRules))
		}
	}
	if opts.MinimumReleaseAge < 0 {
		return fmt.Errorf("%w: MinimumReleaseAge is negative (%s)", ErrOptions, opts.MinimumReleaseAge)
	}
	return nil
}

func joinRules(rs []Rule) string {
	s := make([]string, len(rs))
	for i, r := range rs {
		s[i] = string(r)
	}
	return strings.Join(s, ", ")
}

// baseline is the earlier version of a package's release line its identity
// is compared with: the newest one with provenance.
type baseline struct {
	facts *fetch.VersionFacts
	// key names its verified identity in the cache; prov is that identity
	// when the cache held it, else body holds its attestations (and held
	// their share of the memory budget) for the verify stage.
	key  string
	prov *Provenance
	body []byte
	held *fetch.Body
}

// fetchHistory gets the release history of one package. A failure goes
// into w.histErr: the package can be fetched and verified, but its history
// cannot be judged.
func (a *auditor) fetchHistory(ctx context.Context, w *work) {
	u := w.unit
	h, err := a.opts.Client.History(ctx, u.Name, u.Version, a.versions[u.Name]...)
	if err != nil {
		w.histErr = fmt.Errorf("release history of %s@%s: %w", u.Name, u.Version, err)
		return
	}
	w.history = h
}

// fetchBaseline gets, for a package that may have provenance, the
// attestations of its baseline (the newest earlier version of its line
// with provenance) when identity-drift is on, unless the cache holds the
// baseline's verified identity, for the verify stage to verify and
// compare. It does nothing when the history is missing or the baseline
// was already fetched.
func (a *auditor) fetchBaseline(ctx context.Context, w *work) {
	h, u := w.history, w.unit
	if h == nil || w.base != nil || w.histErr != nil || !a.plan.baseline || h.Earlier.Provenance == nil {
		return
	}
	b := h.Earlier.Provenance
	if b.Integrity == "" {
		w.histErr = fmt.Errorf("the registry records no integrity for %s@%s, the newest earlier version of %s with provenance: its identity cannot be verified", u.Name, b.Version, h.Line)
		return
	}
	base := &baseline{facts: b, key: a.baselineKey(w, b)}
	w.base = base
	if a.cache != nil {
		if data, ok := a.cache.GetSealed(base.key); ok {
			var p Provenance
			if json.Unmarshal(data, &p) == nil && p.PredicateType != "" {
				base.prov = &p
				return
			}
		}
	}
	m := &fetch.Manifest{Name: u.Name, Version: b.Version, Integrity: b.Integrity, Registry: w.reg.url,
		Attestations: &fetch.AttestationRef{PredicateType: b.Provenance}}
	body, err := a.opts.Client.AttestationsBody(ctx, m)
	if err != nil {
		w.histErr = fmt.Errorf("attestations of %s@%s, the newest earlier version of %s with provenance: %w", u.Name, b.Version, h.Line, err)
		return
	}
	base.body, base.held = body.Data, body
}

// baselineFormat names the format of cached baseline identities.
const baselineFormat = "baseline/v1"

// baselineKey names the verified identity of baseline b of w's package by
// everything it depends on: the format, the tool's version, the trust
// material, the registry and its key list, and the version with the
// integrity and predicate type the registry records for it.
func (a *auditor) baselineKey(w *work, b *fetch.VersionFacts) string {
	h := sha256.New()
	for _, s := range []string{baselineFormat, a.opts.Tool.Name + " " + a.opts.Tool.Version, a.trustD, w.reg.keysDigest, w.reg.url,
		w.unit.Name, b.Version, b.Integrity, b.Provenance} {
		fmt.Fprintf(h, "%d:%s\n", len(s), s)
	}
	return "baseline/" + hex.EncodeToString(h.Sum(nil))
}

// errHistory reports a release history that could not be judged.
var errHistory = errors.New("release history incomplete")

// publication judges a verified package against its release history: its
// Publication and the findings of the history rules. An error means the
// history could not be judged (the package then cannot pass).
//
// The version's own facts rest on verification where verification speaks:
// provenance is a verified SLSA provenance, the signature a verified
// registry signature. Trusted publishing, the staged-publishing approval,
// the publisher, the publish time and the install scripts are registry
// metadata (nothing signs them), as are all facts of earlier versions.
func (a *auditor) publication(w *work, v verdict) (*Publication, []Finding, error) {
	if w.histErr != nil {
		return nil, nil, fmt.Errorf("%w: %w", errHistory, w.histErr)
	}
	h := w.history
	if h == nil {
		return nil, nil, fmt.Errorf("%w: internal error: no release history", errHistory)
	}
	own := &h.Version
	pub := &Publication{
		TrustedPublishing: own.TrustedPublisher != "",
		Provenance:        v.Att != nil && v.Att.Status == CheckVerified && v.Att.Provenance != nil,
		Approved:          own.Approver != "",
		Publisher:         own.Publisher,
		InstallScripts:    own.InstallScripts,
		Line:              h.Line,
	}
	signed := v.Sig != nil && v.Sig.Status == CheckVerified
	pub.Level = trustLevel(pub.TrustedPublishing, pub.Approved, pub.Provenance, signed)
	if !own.Time.IsZero() {
		t := own.Time.UTC()
		pub.PublishedAt = &t
	}
	var findings []Finding
	add := func(r Rule, f *Finding) {
		if f != nil && !a.plan.disabled[r] {
			findings = append(findings, *f)
		}
	}
	if a.plan.lines {
		add(RuleProvenanceRegression, regression(h, pub))
		if a.plan.baseline && pub.Provenance && w.base != nil {
			pub.Baseline = w.base.facts.Version
			f, err := a.identityDrift(w, v.Att.Provenance)
			if err != nil {
				return nil, nil, err
			}
			add(RuleIdentityDrift, f)
		}
		add(RuleInstallScriptAdded, installScriptAdded(h))
		add(RulePublisherChanged, publisherChanged(h, pub))
	}
	if a.plan.age > 0 {
		add(RuleReleaseAge, releaseAge(own, a.plan.age, a.judge()))
	}
	return pub, findings, nil
}

// trustLevel is the level the facts make (see TrustLevel). An approval
// through staged publishing stands in for trusted publishing: npm's staged
// publishing may record the approving maintainer as the publisher and lose
// the trusted publisher, so an approved version with provenance is never
// below one published by a trusted publisher. Trusted publishing without
// provenance (a private repository) is not a level of its own: it shows as
// the signature level, with TrustedPublishing set.
func trustLevel(tp, approved, prov, signed bool) TrustLevel {
	switch {
	case approved && (tp || prov):
		return LevelApprovedTrustedPublishing
	case tp && prov:
		return LevelTrustedPublishing
	case prov:
		return LevelProvenance
	case signed:
		return LevelSignature
	}
	return LevelNone
}

// regression is the provenance-regression finding: the version lacks a
// fact that an earlier version of its line had. The facts are compared one
// by one rather than by level, because packages publish with trusted
// publishing and not provenance and the other way round: provenance
// (high), trusted publishing (high; an approval stands in for it) and the
// staged-publishing approval (medium: a maintainer who tried staged
// publishing once and went back to trusted publishing drops it, but so
// does a hijacked workflow publishing directly). Registry signatures are
// not compared: a missing or untrusted one is a finding of its own.
//
// There is no finding for a line that never had the fact, or for a
// version published before the line first had it: both follow from
// comparing with earlier versions only.
func regression(h *fetch.History, pub *Publication) *Finding {
	e := &h.Earlier
	var lost []string
	sev := SeverityMedium
	if !pub.Provenance && e.Provenance != nil {
		msg := fmt.Sprintf("provenance: %s had SLSA provenance, this version has none that verifies", e.Provenance.Version)
		if h.Version.Provenance != "" {
			msg += " (although the registry's packument announces provenance for it)"
		}
		lost, sev = append(lost, msg), SeverityHigh
	}
	if !pub.TrustedPublishing && !pub.Approved && e.TrustedPublishing != "" {
		msg := fmt.Sprintf("trusted publishing: %s was published by a trusted publisher (OIDC), this version was not", e.TrustedPublishing)
		if h.Version.Publisher != "" {
			msg += fmt.Sprintf(" (the npm account %q published it)", h.Version.Publisher)
		}
		lost, sev = append(lost, msg), SeverityHigh
	}
	if !pub.Approved && e.Approved != "" {
		lost = append(lost, fmt.Sprintf("staged-publishing approval: %s was approved by a maintainer before it went live, this version was published without approval", e.Approved))
	}
	if len(lost) == 0 {
		return nil
	}
	return &Finding{Rule: RuleProvenanceRegression, Severity: sev,
		Message: fmt.Sprintf("lacks what earlier versions of its release line %s had (its trust level is %s): %s. A release missing what its predecessors had is how the nx and axios compromises looked",
			h.Line, pub.Level, strings.Join(lost, "; "))}
}

// identityDrift compares the verified identity of the version (prov) with
// that of its baseline, verifying the baseline's attestations against the
// registry's integrity for it unless the cache holds the result. A
// baseline whose attestations do not verify, or carry no provenance, is a
// finding: continuity cannot be shown.
func (a *auditor) identityDrift(w *work, prov *Provenance) (*Finding, error) {
	base := w.base
	b := base.facts
	old := base.prov
	if old == nil {
		if base.body == nil {
			return nil, fmt.Errorf("%w: internal error: no attestations of the baseline %s", errHistory, b.Version)
		}
		ar := w.reg.verifier.Attestations(verify.AttestationInput{
			Name: w.unit.Name, Version: b.Version,
			Integrity: b.Integrity, ServedIntegrity: b.Integrity,
			ExpectedPredicate: b.Provenance,
			Body:              base.body,
			ProvenanceOnly:    true,
		})
		c := attestationCheck(ar)
		if c.Status != CheckVerified || c.Provenance == nil {
			why := c.Reason
			if c.Status == CheckVerified {
				why = "they carry no SLSA provenance, although the packument announces it"
			}
			return &Finding{Rule: RuleIdentityDrift, Severity: SeverityHigh,
				Message: fmt.Sprintf("identity continuity cannot be shown: the attestations of %s, the newest earlier version of %s with provenance, do not verify against the registry's integrity for it: %s", b.Version, w.history.Line, why)}, nil
		}
		old = c.Provenance
		base.prov = old // for the verdict store's record
		if a.cache != nil && !a.opts.ReadOnlyCache {
			if data, err := json.Marshal(old); err == nil {
				_ = a.cache.PutSealed(base.key, data) // a failed cache write only costs time
			}
		}
	}
	changes := identityChanges(old, prov)
	if len(changes) == 0 {
		return nil, nil
	}
	return &Finding{Rule: RuleIdentityDrift, Severity: SeverityHigh,
		Message: fmt.Sprintf("built by another identity than %s, the newest earlier version of %s with provenance: %s", b.Version, w.history.Line, strings.Join(changes, "; "))}, nil
}

// identityChanges lists what differs between the baseline's verified
// identity (old) and the version's (new): the repository and its owner by
// their numeric ids (names change on rename and transfer, ids do not; by
// URL only when the baseline's certificate predates the ids), the workflow
// path, the build trigger, the runner (hosted or self-hosted), the builder
// and the OIDC issuer. A field the baseline lacks (an older certificate)
// is not compared; one the version lacks while the baseline had it is a
// change.
func identityChanges(old, new *Provenance) []string {
	var out []string
	change := func(what, o, n string) {
		if o != "" && o != n {
			out = append(out, fmt.Sprintf("%s %s -> %s", what, quoteOrNone(o), quoteOrNone(n)))
		}
	}
	switch {
	case old.RepositoryID != "":
		if old.RepositoryID != new.RepositoryID {
			out = append(out, fmt.Sprintf("repository id %s (%s) -> %s (%s)", old.RepositoryID, old.SourceRepository, orNone(new.RepositoryID), new.SourceRepository))
		}
	case !strings.EqualFold(old.SourceRepository, new.SourceRepository):
		out = append(out, fmt.Sprintf("repository %s -> %s", quoteOrNone(old.SourceRepository), quoteOrNone(new.SourceRepository)))
	}
	if old.OwnerID != "" && old.OwnerID != new.OwnerID {
		out = append(out, fmt.Sprintf("owner id %s (%s) -> %s (%s)", old.OwnerID, old.Owner, orNone(new.OwnerID), new.Owner))
	}
	change("workflow", old.WorkflowPath, new.WorkflowPath)
	change("build trigger", old.BuildTrigger, new.BuildTrigger)
	change("runner", old.RunnerEnvironment, new.RunnerEnvironment)
	change("builder", old.BuilderID, new.BuilderID)
	change("OIDC issuer", old.Issuer, new.Issuer)
	return out
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

func quoteOrNone(s string) string {
	if s == "" {
		return "none"
	}
	return strconv.Quote(s)
}

// installScriptAdded is the install-script-added finding: the version
// declares an install script and no earlier version of its line did.
// Install scripts run on every install; adding one to a line that had none
// is what the 2026-08 worm did through the maintainers' own workflows.
func installScriptAdded(h *fetch.History) *Finding {
	e := &h.Earlier
	if len(h.Version.InstallScripts) == 0 || e.Versions == 0 || e.InstallScripts != "" {
		return nil
	}
	return &Finding{Rule: RuleInstallScriptAdded, Severity: SeverityHigh,
		Message: fmt.Sprintf("declares an install script (%s) that none of the %d earlier versions of its release line %s declared: it runs on every install",
			strings.Join(h.Version.InstallScripts, ", "), e.Versions, h.Line)}
}

// publisherChanged is the publisher-changed finding: without trusted
// publishing (or a staged-publishing approval, which a maintainer gave
// with two-factor authentication), the version was published by an npm
// account that published none of the earlier versions of its line. New
// maintainers join projects, so it is medium: a signal worth a look, as
// when a stolen token publishes from a personal account.
func publisherChanged(h *fetch.History, pub *Publication) *Finding {
	e := &h.Earlier
	if pub.TrustedPublishing || pub.Approved || h.Version.Publisher == "" || len(e.Publishers) == 0 || e.PublisherSeen {
		return nil
	}
	return &Finding{Rule: RulePublisherChanged, Severity: SeverityMedium,
		Message: fmt.Sprintf("published without trusted publishing by the npm account %q, which published none of the %d earlier versions of its release line %s (they were published by %s)",
			h.Version.Publisher, e.Versions, h.Line, strings.Join(e.Publishers, ", "))}
}

// releaseAge is the release-age finding: the version was published less
// than min before now, or when is unknown. Medium: a young release is a
// window in which a compromise has not been noticed yet, not evidence of
// one.
func releaseAge(own *fetch.VersionFacts, min time.Duration, now time.Time) *Finding {
	if own.Time.IsZero() {
		return &Finding{Rule: RuleReleaseAge, Severity: SeverityMedium,
			Message: fmt.Sprintf("the registry records no publish time for this version, so it cannot be shown to be older than the minimum release age of %s", min)}
	}
	age := now.Sub(own.Time)
	switch {
	case age >= min:
		return nil
	case age < 0:
		return &Finding{Rule: RuleReleaseAge, Severity: SeverityMedium,
			Message: fmt.Sprintf("the registry records a publish time in the future (%s), so the version cannot be shown to be older than the minimum release age of %s", own.Time.UTC().Format(time.RFC3339), min)}
	}
	return &Finding{Rule: RuleReleaseAge, Severity: SeverityMedium,
		Message: fmt.Sprintf("published %s ago (%s), less than the minimum release age of %s", age.Round(time.Minute), own.Time.UTC().Format(time.RFC3339), min)}
}
