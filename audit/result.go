package audit

import (
	"fmt"
	"time"

	"github.com/provaudit/provaudit/lockfile"
)

// SchemaVersion is the version of the JSON contract of [Result]. Any change
// that removes or renames a field, or changes its meaning, bumps it.
//
// Version 2 (from 1): registrySignature.status and attestations.status may
// be "untrusted" (a key nothing trusts: unknown, or listed only by a
// registry the audited project named); findings may have the rules
// signature-untrusted, attestation-untrusted and integrity-unbound;
// registrySignature.status "unsupported" now means only "no signatures
// from a registry without keys" (signatures are checked with the pinned
// keys whatever the key endpoint says); attestations of predicate types
// provaudit does not interpret are verified and listed instead of making
// the attestations invalid; provenance-missing under --require-provenance
// means no verified SLSA provenance (a publish attestation alone is not
// provenance). New fields: summary.checked, registries[], trust.
const SchemaVersion = 2

// Status is the one overall verdict of a package.
type Status string

// The overall statuses of a package (see the README for their meaning).
const (
	// StatusVerified: registry signature valid (or the registry publishes no
	// keys) and every attestation valid and bound to the lockfile integrity.
	StatusVerified Status = "verified"
	// StatusSigned: registry signature valid; the version has no attestations.
	StatusSigned Status = "signed"
	// StatusUnsigned: no signature a trusted key verifies: the registry has
	// keys but the version carries no signature, or carries only signatures
	// by keys nothing trusts; or the registry publishes no keys and the
	// version has no attestations.
	StatusUnsigned Status = "unsigned"
	// StatusInvalid: a signature or attestation failed, or digests or names
	// disagree: possible tampering.
	StatusInvalid Status = "invalid"
	// StatusSkipped: not from a registry, or filtered out with --omit.
	StatusSkipped Status = "skipped"
	// StatusError: the package could not be checked.
	StatusError Status = "error"
)

// Statuses lists every Status in the order reports show them.
var Statuses = []Status{StatusVerified, StatusSigned, StatusUnsigned, StatusInvalid, StatusSkipped, StatusError}

// Severity ranks findings; --fail-on compares against it.
type Severity string

// Finding severities, from most to least severe.
const (
	SeverityCritical Severity = "critical"
	SeverityHigh     Severity = "high"
	SeverityMedium   Severity = "medium"
	SeverityLow      Severity = "low"
)

// Severities lists every Severity, most severe first. It is the one place
// that orders them.
var Severities = []Severity{SeverityCritical, SeverityHigh, SeverityMedium, SeverityLow}

// Rank orders severities: a more severe one has a higher rank; an unknown
// severity has rank 0, below every known one.
func (s Severity) Rank() int {
	for i, known := range Severities {
		if s == known {
			return len(Severities) - i
		}
	}
	return 0
}

// AtLeast reports whether s is as severe as min or more.
func (s Severity) AtLeast(min Severity) bool { return s.Rank() >= min.Rank() && s.Rank() > 0 }

// ParseSeverity returns the Severity named s (critical, high, medium, low).
func ParseSeverity(s string) (Severity, error) {
	if sev := Severity(s); sev.Rank() > 0 {
		return sev, nil
	}
	return "", fmt.Errorf("unknown severity %q: use critical, high, medium or low", s)
}

// Rule is the stable id of a kind of finding: SARIF rules, policy
// exceptions and dashboards key on it.
type Rule string

// Rule ids of findings.
const (
	RuleSignatureInvalid     Rule = "signature-invalid"
	RuleSignatureMissing     Rule = "signature-missing"
	RuleSignatureUntrusted   Rule = "signature-untrusted"
	RuleAttestationInvalid   Rule = "attestation-invalid"
	RuleAttestationUntrusted Rule = "attestation-untrusted"
	RuleProvenanceMissing    Rule = "provenance-missing"
	RuleIntegrityMismatch    Rule = "integrity-mismatch"
	RuleIntegrityUnbound     Rule = "integrity-unbound"
	// Policy rules: signals that fire while signatures and provenance are
	// valid (the policy issue).
	RuleProvenanceRegression Rule = "provenance-regression"
	RuleIdentityDrift        Rule = "identity-drift"
	RuleInstallScriptAdded   Rule = "install-script-added"
	RulePublisherChanged     Rule = "publisher-changed"
	RuleReleaseAge           Rule = "release-age"
	RuleIdentityPolicy       Rule = "identity-policy"
	RuleSourceUnverified     Rule = "source-unverified"
)

// Result is the outcome of one audit: the contract every report format
// renders and the JSON output encodes.
type Result struct {
	SchemaVersion int          `json:"schemaVersion"`
	Tool          Tool         `json:"tool"`
	Lockfile      LockfileInfo `json:"lockfile"`
	// Trust says where the trust material came from.
	Trust TrustInfo `json:"trust"`
	// Registries lists every registry packages were checked against, the
	// default one first, with where each came from and what its keys are.
	Registries []Registry `json:"registries"`
	// Problems lists the failures of a whole registry (it cannot be
	// reached, its certificate is not trusted, it refuses the credentials,
	// it stopped answering), each once, with how many packages it left
	// unchecked, most packages first; [] when none. Those packages are
	// errors whose reason is the problem's message.
	Problems []Problem `json:"problems"`
	Summary  Summary   `json:"summary"`
	// Policy says which policy file and identity baseline the audit
	// applied; nil when none.
	Policy *PolicyInfo `json:"policy,omitempty"`
	// Diff says what the audit was compared with in diff mode (--baseline,
	// --baseline-ref); nil otherwise.
	Diff     *DiffInfo `json:"diff,omitempty"`
	Packages []Package `json:"packages"`
}

// Problem is one registry-wide failure and the number of packages it left
// unchecked.
type Problem struct {
	Message  string `json:"message"`
	Packages int    `json:"packages"`
}

// TrustInfo says where each piece of trust material came from:
// "embedded", "updated on DATE via TUF", "--trusted-root FILE" or
// "--npm-keys FILE".
type TrustInfo struct {
	TrustedRoot string `json:"trustedRoot"`
	NpmKeys     string `json:"npmKeys"`
}

// Registry describes one registry an audit used.
type Registry struct {
	URL string `json:"url"`
	// Source is where the setting naming it came from: "--registry",
	// "environment variable npm_config_registry", an npmrc "file:line",
	// "npm's own configuration (npm config get registry)" or "the
	// lockfile's resolved URLs".
	Source string `json:"source"`
	// NamedBy is "user" when the person running provaudit named the
	// registry in their own settings (its key endpoint's keys are then
	// trusted, unpinned), "project" when only the audited project's files
	// did (its keys are not trusted: only pinned keys count).
	NamedBy string `json:"namedBy"`
	// Keys is what its key endpoint said: "listed" (it lists keys),
	// "none" (404, 400 or an empty list), "unknown" (not had: offline
	// without an authenticated cached copy, or the endpoint failed) or
	// "pinned" (--npm-keys: the pinned keys stand for it, the endpoint is
	// not asked). KeysReason says why when unknown.
	Keys       string `json:"keys"`
	KeysReason string `json:"keysReason,omitempty"`
	// Packages counts the audited packages from this registry, and Checked
	// those a trusted key or a verified attestation vouches for.
	Packages int `json:"packages"`
	Checked  int `json:"checked"`
}

// Who named a registry ([Registry].NamedBy).
const (
	NamedByUser    = "user"
	NamedByProject = "project"
)

// Tool identifies the program that produced a Result.
type Tool struct {
	Name    string `json:"name"`
	Version string `json:"version"`
}

// LockfileInfo describes the audited lockfile.
type LockfileInfo struct {
	// Path is the lockfile path as the user gave it (or as found in the
	// project directory they gave).
	Path string `json:"path"`
	// Format is the kind of lockfile audited: npm, npm-shrinkwrap, pnpm,
	// yarn-v1, yarn-berry or bun.
	Format          lockfile.Format `json:"format"`
	LockfileVersion int             `json:"lockfileVersion"`
	// Registry is the default registry the packages were checked against.
	Registry string `json:"registry"`
}

// Summary counts packages by status and totals the findings.
type Summary struct {
	Packages int `json:"packages"`
	// Audited counts packages that were not skipped.
	Audited int `json:"audited"`
	// Checked counts audited packages that a trusted key or a verified
	// attestation vouches for: a verified registry signature, or verified
	// attestations. Reports say "checked N of M"; an audit that checked
	// none of its packages is never a pass.
	Checked  int `json:"checked"`
	Verified int `json:"verified"`
	Signed   int `json:"signed"`
	Unsigned int `json:"unsigned"`
	Invalid  int `json:"invalid"`
	Skipped  int `json:"skipped"`
	Error    int `json:"error"`
	// SignaturesVerified counts packages whose registry signature verified.
	SignaturesVerified int `json:"signaturesVerified"`
	// AttestationsVerified counts packages whose attestations verified.
	AttestationsVerified int `json:"attestationsVerified"`
	Findings             int `json:"findings"`
	// Waived counts the findings policy exceptions waived (they are no
	// longer in Findings; each package lists them under its exceptions).
	Waived int `json:"waived,omitempty"`
	// SourceUnchecked counts packages whose source check (--check-source)
	// could not be completed: the audit is then incomplete.
	SourceUnchecked int `json:"sourceUnchecked,omitempty"`
	// StartedAt and DurationMS time the audit; golden tests redact them.
	StartedAt  time.Time `json:"startedAt"`
	DurationMS int64     `json:"durationMs"`
}

// Package is the result for one unique name@version#integrity.
type Package struct {
	Name      string `json:"name"`
	Version   string `json:"version"`
	Integrity string `json:"integrity"`
	// Paths lists every install path of the package in the lockfile.
	Paths []string `json:"paths"`
	// Line is the 1-based line of the package's first entry in the lockfile.
	Line int `json:"line"`
	// Kind is the lockfile entry kind: registry, git, file, link,
	// workspace, remote, or invalid (an entry the lockfile records wrongly:
	// status error, with its line in the reason).
	Kind     lockfile.Kind `json:"kind"`
	Dev      bool          `json:"dev,omitempty"`
	Optional bool          `json:"optional,omitempty"`
	Peer     bool          `json:"peer,omitempty"`
	// Unpinned: the lockfile records no integrity for this package, so it
	// was checked against the integrity the registry serves (what npm would
	// install), not bound to the lockfile.
	Unpinned bool   `json:"unpinned,omitempty"`
	Status   Status `json:"status"`
	// Reason says in one sentence why the status is what it is.
	Reason string `json:"reason"`
	// Publication says how the version was published and how that
	// compares with earlier versions of its release line (the policy
	// rules); nil when it was not looked at (skipped and error packages,
	// or a run that asked for no history).
	Publication *Publication `json:"publication,omitempty"`
	// Change is, in diff mode, how the package relates to the baseline
	// lockfile: "new" (its name is not in the baseline), "changed" (its
	// name is, at another version or integrity) or "unchanged" (skipped:
	// the baseline has exactly this name@version#integrity); "" outside
	// diff mode.
	Change lockfile.Change `json:"change,omitempty"`
	// SourceCheck is the result of --check-source for a package with
	// verified provenance; nil when not checked.
	SourceCheck *SourceCheck `json:"sourceCheck,omitempty"`
	// Exceptions lists the policy exceptions that applied to this
	// package's findings (the findings they waived are gone from
	// Findings), and the expired ones that no longer apply.
	Exceptions []AppliedException `json:"exceptions,omitempty"`
	// RegistrySignature is null when the check was not performed
	// (skipped packages, and errors before the check).
	RegistrySignature *SignatureCheck `json:"registrySignature"`
	// Attestations is null when the check was not performed.
	Attestations *AttestationCheck `json:"attestations"`
	Findings     []Finding         `json:"findings"`
}

// CheckStatus is the status of a sub-result: [SignatureCheck] or
// [AttestationCheck].
type CheckStatus string

// Sub-result statuses of [SignatureCheck] and [AttestationCheck].
const (
	CheckVerified CheckStatus = "verified"
	CheckMissing  CheckStatus = "missing"
	CheckInvalid  CheckStatus = "invalid"
	// CheckUntrusted: nothing failed, but a signature (or the publish
	// attestation) is by a key nothing trusts.
	CheckUntrusted   CheckStatus = "untrusted"
	CheckUnsupported CheckStatus = "unsupported"
)

// SignatureStatuses and AttestationStatuses list the statuses each
// sub-result may have.
var (
	SignatureStatuses   = []CheckStatus{CheckVerified, CheckMissing, CheckInvalid, CheckUntrusted, CheckUnsupported}
	AttestationStatuses = []CheckStatus{CheckVerified, CheckMissing, CheckInvalid, CheckUntrusted}
)

// TimeSource says where the time a registry signature was judged at came
// from.
type TimeSource string

// Time sources of [SignatureCheck].
const (
	// TimeSourceRekor: the integrated time of the version's own publish
	// attestation in the transparency log.
	TimeSourceRekor TimeSource = "rekor"
	// TimeSourcePublish: the version's publish time in the packument.
	TimeSourcePublish TimeSource = "publish-time"
	// TimeSourceKeyValidNow: no time was known; the key is valid now.
	TimeSourceKeyValidNow TimeSource = "key-valid-now"
)

// SignatureCheck is the registry signature sub-result. Status is one of
// verified, missing, invalid, untrusted or unsupported.
type SignatureCheck struct {
	Status CheckStatus `json:"status"`
	Reason string      `json:"reason"`
	KeyID  string      `json:"keyid,omitempty"`
	// Pinned tells whether the key was pinned in provaudit's trust material
	// (false: it came only from the registry's key endpoint).
	Pinned *bool `json:"pinned,omitempty"`
	// JudgedAt is the time the key's validity was judged at, and TimeSource
	// where it came from: publish-time, rekor or key-valid-now.
	JudgedAt   *time.Time `json:"judgedAt,omitempty"`
	TimeSource TimeSource `json:"timeSource,omitempty"`
}

// AttestationCheck is the attestations sub-result. Status is one of
// verified, missing, invalid or untrusted.
type AttestationCheck struct {
	Status         CheckStatus `json:"status"`
	Reason         string      `json:"reason"`
	PredicateTypes []string    `json:"predicateTypes,omitempty"`
	Publish        *Publish    `json:"publish,omitempty"`
	Provenance     *Provenance `json:"provenance,omitempty"`
}

// Publish holds the facts of a verified npm publish attestation.
type Publish struct {
	KeyID          string    `json:"keyid"`
	Pinned         bool      `json:"pinned"`
	RekorLogIndex  int64     `json:"rekorLogIndex"`
	IntegratedTime time.Time `json:"integratedTime"`
}

// Provenance holds the facts of a verified SLSA provenance attestation.
type Provenance struct {
	PredicateType     string    `json:"predicateType"`
	SourceRepository  string    `json:"sourceRepository"`
	Commit            string    `json:"commit"`
	WorkflowPath      string    `json:"workflowPath,omitempty"`
	WorkflowRef       string    `json:"workflowRef,omitempty"`
	BuilderID         string    `json:"builderId,omitempty"`
	BuildType         string    `json:"buildType,omitempty"`
	Issuer            string    `json:"issuer"`
	RunnerEnvironment string    `json:"runnerEnvironment,omitempty"`
	RunURL            string    `json:"runUrl,omitempty"`
	RekorLogIndex     int64     `json:"rekorLogIndex"`
	IntegratedTime    time.Time `json:"integratedTime"`
	// RepositoryID and OwnerID are the immutable numeric ids of the source
	// repository and its owner from the signing certificate (they survive
	// renames and transfers); Owner the owner's URL; BuildTrigger the event
	// that started the build; BuildSignerURI the workflow that signed. ""
	// when the certificate predates them.
	RepositoryID   string `json:"repositoryId,omitempty"`
	OwnerID        string `json:"ownerId,omitempty"`
	Owner          string `json:"owner,omitempty"`
	BuildTrigger   string `json:"buildTrigger,omitempty"`
	BuildSignerURI string `json:"buildSignerUri,omitempty"`
}

// Finding is something that fails a gate.
type Finding struct {
	Rule     Rule     `json:"rule"`
	Severity Severity `json:"severity"`
	Message  string   `json:"message"`
}

// TrustLevel ranks how a version was published, from the strongest
// evidence to none. The locked version's level rests on verified evidence
// (its attestations); earlier versions' on registry metadata.
type TrustLevel string

// Trust levels, strongest first (see TrustLevels).
const (
	// LevelApprovedTrustedPublishing: published by a trusted publisher
	// (OIDC) with a human approval (npm's staged publishing).
	LevelApprovedTrustedPublishing TrustLevel = "approved-trusted-publishing"
	// LevelTrustedPublishing: published by a trusted publisher, with
	// provenance.
	LevelTrustedPublishing TrustLevel = "trusted-publishing"
	// LevelProvenance: SLSA provenance, without trusted publishing.
	LevelProvenance TrustLevel = "provenance"
	// LevelSignature: a registry signature only.
	LevelSignature TrustLevel = "signature"
	// LevelNone: nothing.
	LevelNone TrustLevel = "none"
)

// TrustLevels lists every TrustLevel, strongest first: the one order.
var TrustLevels = []TrustLevel{LevelApprovedTrustedPublishing, LevelTrustedPublishing, LevelProvenance, LevelSignature, LevelNone}

// Rank orders trust levels: a stronger one has a higher rank; an unknown
// level has rank 0.
func (l TrustLevel) Rank() int {
	for i, known := range TrustLevels {
		if l == known {
			return len(TrustLevels) - i
		}
	}
	return 0
}

// Publication is how a version was published, and the release line it
// belongs to.
type Publication struct {
	// Level is the version's trust level. TrustedPublishing, Provenance
	// and Approved are the separate facts it is made of: packages publish
	// with one and not the other.
	Level             TrustLevel `json:"level"`
	TrustedPublishing bool       `json:"trustedPublishing"`
	Provenance        bool       `json:"provenance"`
	Approved          bool       `json:"approved"`
	// Publisher is the npm account that published (_npmUser.name), ""
	// when the registry does not say.
	Publisher string `json:"publisher,omitempty"`
	// PublishedAt is the publish time from the packument, when known.
	PublishedAt *time.Time `json:"publishedAt,omitempty"`
	// InstallScripts lists the install-time scripts the version declares
	// (preinstall, install, postinstall).
	InstallScripts []string `json:"installScripts,omitempty"`
	// Line is the release line: "2.x" (same major), "0.3.x" (same minor for
	// 0.x), "" for a prerelease or a version that is not semver.
	Line string `json:"line,omitempty"`
	// Baseline names the earlier version of the line this one was compared
	// with (its newest earlier version with provenance, for identity
	// continuity), "" when there was none.
	Baseline string `json:"baseline,omitempty"`
}

// AppliedException is a policy exception as it applied to a package.
type AppliedException struct {
	// Rule is the rule it waives ("" for every rule).
	Rule Rule `json:"rule,omitempty"`
	// Package is the package pattern as the policy file writes it.
	Package string `json:"package"`
	Reason  string `json:"reason"`
	// Expires is the day it stops applying (YYYY-MM-DD).
	Expires string `json:"expires,omitempty"`
	// Expired: it no longer applies (its findings stand), and says so.
	Expired bool `json:"expired,omitempty"`
	// Where is the policy file and line that declares it.
	Where string `json:"where"`
	// Waived lists the findings it waived (none when expired).
	Waived []Finding `json:"waived,omitempty"`
}
