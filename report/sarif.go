package report

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/provaudit/provaudit/audit"
)

// SARIF constants.
const (
	// SARIFSchema is the URI of the SARIF 2.1.0 (errata 01) JSON schema that
	// SARIF output names in its "$schema".
	SARIFSchema = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
	// FingerprintKey is the key of the stable fingerprint in every SARIF
	// result's partialFingerprints: the hex SHA-256 of
	// "rule|name@version#integrity" (with "|n" appended for the n-th
	// repeat of a rule in the same package, n ≥ 1). It does not depend on
	// the line, so an alert survives edits elsewhere in the lockfile.
	FingerprintKey = "provaudit/v1"
	// informationURI is the project's home page.
	informationURI = "https://github.com/provaudit/provaudit"
)

// SARIF writes r as a SARIF 2.1.0 log with one run, fit for upload to
// GitHub code scanning:
//
//   - tool.driver names provaudit and its version and lists a rule for
//     every known finding rule (see [Rules]) and for any other rule id
//     that appears, each with descriptions, help and a default level;
//   - one result per (package, finding), in attention order, with the
//     level of the finding's severity (critical and high: error, medium:
//     warning, low: note), a message naming name@version, the finding and
//     the package's reason, a location in the lockfile (the path as given
//     in r.Lockfile.Path, with forward slashes, and the package's line) and
//     a stable fingerprint under [FingerprintKey];
//   - a result for every finding a policy exception waived, with the same
//     fingerprint scheme and a suppression (kind external, status
//     accepted, the exception's reason, file:line and expiry as
//     justification), so that reviewers see every waiver;
//   - an invocation that lists, as tool execution notifications, every
//     package that could not be checked (its source check with
//     --check-source included), and is executionSuccessful only when
//     there is none;
//   - the policy and diff mode that applied in the run's properties.
//
// Packages without findings produce no result. GitHub accepts at most
// 25,000 results per run; a lockfile would need thousands of failing
// packages to reach that, and the output is not truncated if it does.
func SARIF(w io.Writer, r *audit.Result) error {
	return emit(w, "sarif", r, func(buf *bytes.Buffer, r *audit.Result) error {
		if r.Lockfile.Path == "" {
			return fmt.Errorf("%w: lockfile.path is empty: SARIF results need the lockfile as their location", ErrInvalidResult)
		}
		enc := json.NewEncoder(buf)
		enc.SetIndent("", "  ")
		enc.SetEscapeHTML(false)
		return enc.Encode(buildSARIF(r))
	})
}

// Rule describes one finding rule for SARIF and documentation.
type Rule struct {
	ID audit.Rule
	// Name is the rule's PascalCase name (SARIF reportingDescriptor.name).
	Name string
	// Short and Full describe what the rule detects; Help says what to do.
	Short, Full, Help string
	// Severity is the severity findings of the rule usually carry; it sets
	// the rule's default SARIF level and GitHub security-severity.
	Severity audit.Severity
}

// Rules lists the finding rules provaudit knows, in a stable order. SARIF
// output lists all of them, so that rule indices and metadata do not
// change from run to run.
var Rules = []Rule{
	{
		ID: audit.RuleSignatureInvalid, Name: "RegistrySignatureInvalid",
		Short:    "Registry signature does not verify",
		Full:     "The registry's signature over name@version:integrity does not verify with the registry key it names, so the tarball the lockfile pins may not be the one the registry published.",
		Help:     "Do not install this version until the cause is known. Check whether the lockfile's integrity was edited and whether the registry, mirror or proxy in use serves altered metadata; re-resolve the dependency from a registry you trust.",
		Severity: audit.SeverityCritical,
	},
	{
		ID: audit.RuleSignatureMissing, Name: "RegistrySignatureMissing",
		Short:    "Registry signature missing",
		Full:     "The registry publishes signing keys but this version carries no signature over its name, version and integrity (or, with --require-signatures, the registry publishes no keys and the version has no attestations).",
		Help:     "A registry that signs what it serves returned this version unsigned: it may come through a mirror or proxy that rewrites metadata, or have been altered. Find out where the version is served from before trusting it.",
		Severity: audit.SeverityHigh,
	},
	{
		ID: audit.RuleSignatureUntrusted, Name: "RegistrySignatureUntrusted",
		Short:    "Registry signature by a key nothing trusts",
		Full:     "The version's registry signature is by a key that no pinned key carries and that only a registry named by the audited project lists (or that nothing lists at all): it proves nothing about who published the version.",
		Help:     "If the registry is one you use on purpose, name it yourself (--registry URL, npm_config_registry or your user npmrc) or pin its keys with --npm-keys FILE. A registry named only by the project's .npmrc or its lockfile's resolved URLs could be anyone's.",
		Severity: audit.SeverityHigh,
	},
	{
		ID: audit.RuleAttestationInvalid, Name: "AttestationInvalid",
		Short:    "Attestation does not verify",
		Full:     "A Sigstore attestation of this version (the npm publish attestation or the SLSA provenance) failed verification, or its subject does not name this package and the lockfile's integrity.",
		Help:     "Treat the version as possibly tampered with. Compare the attestation's subject with the lockfile entry, and check the package's source repository and release for what was actually published.",
		Severity: audit.SeverityCritical,
	},
	{
		ID: audit.RuleAttestationUntrusted, Name: "AttestationUntrusted",
		Short:    "Publish attestation signed by a key nothing trusts",
		Full:     "The npm publish attestation of this version is signed by a key that no pinned key carries and that only a registry named by the audited project lists (or that nothing lists at all).",
		Help:     "Trust the registry's keys on purpose (name the registry yourself, or pin its keys with --npm-keys FILE), or find out why the attestation is signed by an unknown key.",
		Severity: audit.SeverityHigh,
	},
	{
		ID: audit.RuleProvenanceMissing, Name: "ProvenanceMissing",
		Short:    "Provenance attestation missing",
		Full:     "Provenance is required (--require-provenance) but this version has no verified SLSA provenance attestation (a publish attestation alone is not provenance), so nothing ties it to a source repository and build.",
		Help:     "Ask the maintainers to publish with provenance (npm publish --provenance from a CI workflow), pick a version that has it, or record a policy exception.",
		Severity: audit.SeverityMedium,
	},
	{
		ID: audit.RuleIntegrityMismatch, Name: "IntegrityMismatch",
		Short:    "Registry integrity differs from the lockfile",
		Full:     "The registry serves this version with another integrity than the one the lockfile pins: the lockfile and the registry disagree about the tarball's content.",
		Help:     "Find out which side changed: a lockfile edited by hand or by a compromised tool, or a registry or mirror serving different content for a published version. Do not install until they agree.",
		Severity: audit.SeverityCritical,
	},
	{
		ID: audit.RuleProvenanceRegression, Name: "ProvenanceRegression",
		Short:    "Published with less than earlier versions of its release line",
		Full:     "An earlier version of the same release line (same major; same minor for 0.x), published before this one, had SLSA provenance, a trusted publisher or a staged-publishing approval that this version lacks. Releases that simply lacked what their predecessors had are how several real compromises looked.",
		Help:     "Check who published this version and how (the registry's page, the project's release notes and CI runs). If the project changed how it publishes on purpose, record a policy exception with the reason; otherwise do not install it.",
		Severity: audit.SeverityHigh,
	},
	{
		ID: audit.RuleIdentityDrift, Name: "IdentityDrift",
		Short:    "Provenance from another identity than the release line's",
		Full:     "This version's verified provenance names another source repository or owner (by their numeric ids, which survive renames and transfers), workflow, build trigger, runner or builder than the verified provenance of the newest earlier version of its release line, or that version's provenance does not verify.",
		Help:     "A release built by another workflow, repository or runner than its predecessors may come from a hijacked or abused pipeline. Confirm the change with the project (a moved repository, a new release workflow) before trusting it, and record a policy exception if it is expected.",
		Severity: audit.SeverityHigh,
	},
	{
		ID: audit.RuleInstallScriptAdded, Name: "InstallScriptAdded",
		Short:    "Install script added on a release line that had none",
		Full:     "This version declares a preinstall, install or postinstall script, and none of the earlier versions of its release line did. Install scripts run on every install.",
		Help:     "Read the script before installing (npm pack the version and inspect package.json and what it runs). Install with --ignore-scripts until it is understood.",
		Severity: audit.SeverityHigh,
	},
	{
		ID: audit.RulePublisherChanged, Name: "PublisherChanged",
		Short:    "Published by an account that published none of the earlier versions of its line",
		Full:     "Without trusted publishing, this version was published by an npm account that published none of the earlier versions of its release line.",
		Help:     "New maintainers join projects; a stolen token publishes from a personal account too. Check that the account is a known maintainer of the project before trusting the version.",
		Severity: audit.SeverityMedium,
	},
	{
		ID: audit.RuleReleaseAge, Name: "ReleaseAge",
		Short:    "Release younger than the minimum release age",
		Full:     "This version was published less than the policy's minimum release age ago (or its publish time is unknown): compromised releases are usually found and removed within days.",
		Help:     "Wait until the version is older than the minimum age, or pin the previous version.",
		Severity: audit.SeverityMedium,
	},
	{
		ID: audit.RuleIdentityPolicy, Name: "IdentityPolicy",
		Short:    "Verified identity breaks the policy",
		Full:     "The verified SLSA provenance of this version names an OIDC issuer, source repository, workflow, git ref or runner that the identity section of the policy file does not allow, or the policy names the identity this package must be built with and the version has no verified provenance.",
		Help:     "Compare the provenance's repository, workflow and ref with the package's real release process. A build from another repository, workflow, ref or a self-hosted runner is how a hijacked or abused workflow publishes; if the change is legitimate, update the policy file.",
		Severity: audit.SeverityHigh,
	},
	{
		ID: audit.RuleSourceUnverified, Name: "SourceUnverified",
		Short:    "Provenance commit not found in the repository's history",
		Full:     "With --check-source, the commit that this version's provenance says was built does not exist in the claimed GitHub or GitLab repository, or no branch or tag there reaches it (a commit from a fork, served through the parent repository, or from a deleted branch).",
		Help:     "Find the commit in the repository's history. A release built from a commit that is not in any branch or tag was not built from the project's reviewed code; do not install it until the maintainers explain it.",
		Severity: audit.SeverityHigh,
	},
}

// sarifLevel maps a finding severity to a SARIF level.
func sarifLevel(s audit.Severity) string {
	switch s {
	case audit.SeverityCritical, audit.SeverityHigh:
		return "error"
	case audit.SeverityMedium:
		return "warning"
	}
	return "note"
}

// securitySeverity is GitHub's numeric security-severity of a severity
// (over 9.0 critical, 7.0-8.9 high, 4.0-6.9 medium, below low).
func securitySeverity(s audit.Severity) string {
	switch s {
	case audit.SeverityCritical:
		return "9.5"
	case audit.SeverityHigh:
		return "8.0"
	case audit.SeverityMedium:
		return "5.5"
	}
	return "2.0"
}

// The subset of SARIF 2.1.0 provaudit writes.
type (
	sarifLog struct {
		Schema  string     `json:"$schema"`
		Version string     `json:"version"`
		Runs    []sarifRun `json:"runs"`
	}
	sarifRun struct {
		Tool        sarifTool         `json:"tool"`
		Invocations []sarifInvocation `json:"invocations"`
		Results     []sarifResult     `json:"results"`
		Properties  sarifRunProps     `json:"properties"`
	}
	// sarifRunProps is the run's property bag: how much was checked and
	// against which registries, so that a SARIF consumer sees an audit that
	// checked nothing for what it is.
	sarifRunProps struct {
		// LockfileFormat is the kind of lockfile audited.
		LockfileFormat string           `json:"provaudit/lockfileFormat,omitempty"`
		Audited        int              `json:"provaudit/audited"`
		Checked        int              `json:"provaudit/checked"`
		Registries     []audit.Registry `json:"provaudit/registries"`
		// Policy and Diff say which policy applied and what a diff-mode
		// audit compared with.
		Policy *audit.PolicyInfo `json:"provaudit/policy,omitempty"`
		Diff   *audit.DiffInfo   `json:"provaudit/diff,omitempty"`
	}
	sarifTool struct {
		Driver sarifDriver `json:"driver"`
	}
	sarifDriver struct {
		Name           string      `json:"name"`
		Version        string      `json:"version,omitempty"`
		InformationURI string      `json:"informationUri"`
		Rules          []sarifRule `json:"rules"`
	}
	sarifRule struct {
		ID                   audit.Rule        `json:"id"`
		Name                 string            `json:"name"`
		ShortDescription     sarifText         `json:"shortDescription"`
		FullDescription      sarifText         `json:"fullDescription"`
		Help                 sarifText         `json:"help"`
		DefaultConfiguration sarifRuleConfig   `json:"defaultConfiguration"`
		Properties           sarifRuleProperty `json:"properties"`
	}
	sarifText struct {
		Text string `json:"text"`
	}
	sarifRuleConfig struct {
		Level string `json:"level"`
	}
	sarifRuleProperty struct {
		Tags             []string `json:"tags"`
		SecuritySeverity string   `json:"security-severity"`
	}
	sarifInvocation struct {
		ExecutionSuccessful        bool                `json:"executionSuccessful"`
		StartTimeUTC               string              `json:"startTimeUtc,omitempty"`
		EndTimeUTC                 string              `json:"endTimeUtc,omitempty"`
		ToolExecutionNotifications []sarifNotification `json:"toolExecutionNotifications,omitempty"`
	}
	sarifNotification struct {
		Level     string          `json:"level"`
		Message   sarifText       `json:"message"`
		Locations []sarifLocation `json:"locations,omitempty"`
	}
	sarifResult struct {
		RuleID              audit.Rule          `json:"ruleId"`
		RuleIndex           int                 `json:"ruleIndex"`
		Level               string              `json:"level"`
		Message             sarifText           `json:"message"`
		Locations           []sarifLocation     `json:"locations"`
		PartialFingerprints map[string]string   `json:"partialFingerprints"`
		Properties          sarifResultProperty `json:"properties"`
		// Suppressions mark a finding a policy exception waived.
		Suppressions []sarifSuppression `json:"suppressions,omitempty"`
	}
	sarifSuppression struct {
		Kind          string `json:"kind"`
		Status        string `json:"status"`
		Justification string `json:"justification"`
	}
	sarifResultProperty struct {
		Package   string         `json:"package"`
		Version   string         `json:"version"`
		Integrity string         `json:"integrity"`
		Status    audit.Status   `json:"status"`
		Severity  audit.Severity `json:"severity"`
	}
	sarifLocation struct {
		PhysicalLocation sarifPhysical `json:"physicalLocation"`
	}
	sarifPhysical struct {
		ArtifactLocation sarifArtifact `json:"artifactLocation"`
		Region           sarifRegion   `json:"region"`
	}
	sarifArtifact struct {
		URI       string `json:"uri"`
		URIBaseID string `json:"uriBaseId,omitempty"`
	}
	sarifRegion struct {
		StartLine int `json:"startLine"`
	}
)

func buildSARIF(r *audit.Result) *sarifLog {
	pkgs := attention(r)
	rules, index := sarifRules(byName(r))
	artifact := artifactLocation(r.Lockfile.Path)
	at := func(p *audit.Package) []sarifLocation {
		return []sarifLocation{{PhysicalLocation: sarifPhysical{ArtifactLocation: artifact, Region: sarifRegion{StartLine: p.Line}}}}
	}

	results := []sarifResult{}
	result := func(p *audit.Package, f audit.Finding, seen map[audit.Rule]int) sarifResult {
		n := seen[f.Rule]
		seen[f.Rule]++
		return sarifResult{
			RuleID:              f.Rule,
			RuleIndex:           index[f.Rule],
			Level:               sarifLevel(f.Severity),
			Message:             sarifText{Text: resultMessage(p, f)},
			Locations:           at(p),
			PartialFingerprints: map[string]string{FingerprintKey: fingerprint(f.Rule, p, n)},
			Properties: sarifResultProperty{
				Package: p.Name, Version: p.Version, Integrity: p.Integrity,
				Status: p.Status, Severity: f.Severity,
			},
		}
	}
	for _, p := range pkgs {
		seen := map[audit.Rule]int{}
		for _, f := range p.Findings {
			results = append(results, result(p, f, seen))
		}
	}
	// Findings that policy exceptions waived are results too, suppressed
	// with the exception's justification, so that reviewers see them.
	for _, x := range exceptionRows(r) {
		seen := map[audit.Rule]int{}
		for _, f := range x.pkg.Findings {
			seen[f.Rule]++
		}
		for _, f := range x.e.Waived {
			sr := result(x.pkg, f, seen)
			sr.Suppressions = []sarifSuppression{{Kind: "external", Status: "accepted", Justification: justification(x.e)}}
			results = append(results, sr)
		}
	}

	inv := sarifInvocation{}
	if !r.Summary.StartedAt.IsZero() {
		start := r.Summary.StartedAt.UTC()
		inv.StartTimeUTC = start.Format(time.RFC3339Nano)
		inv.EndTimeUTC = start.Add(time.Duration(r.Summary.DurationMS) * time.Millisecond).Format(time.RFC3339Nano)
	}
	for _, p := range pkgs {
		if p.Status != audit.StatusError {
			continue
		}
		text := pkgID(p) + " could not be checked"
		if p.Reason != "" {
			text += ": " + p.Reason
		}
		inv.ToolExecutionNotifications = append(inv.ToolExecutionNotifications, sarifNotification{
			Level: "error", Message: sarifText{Text: text}, Locations: at(p),
		})
	}
	for _, p := range sourceNotes(byName(r)) {
		inv.ToolExecutionNotifications = append(inv.ToolExecutionNotifications, sarifNotification{
			Level: "error", Message: sarifText{Text: pkgID(p) + ": source check incomplete: " + p.SourceCheck.Reason}, Locations: at(p),
		})
	}
	if nothingChecked(r.Summary) {
		msg := audit.NothingVerified(r)
		if msg == "" {
			msg = "nothing was verified: " + checkedLine(r.Summary)
		}
		inv.ToolExecutionNotifications = append(inv.ToolExecutionNotifications, sarifNotification{
			Level: "error", Message: sarifText{Text: msg},
		})
	}
	inv.ExecutionSuccessful = len(inv.ToolExecutionNotifications) == 0

	name := r.Tool.Name
	if name == "" {
		name = "provaudit"
	}
	return &sarifLog{
		Schema:  SARIFSchema,
		Version: "2.1.0",
		Runs: []sarifRun{{
			Tool: sarifTool{Driver: sarifDriver{
				Name: name, Version: r.Tool.Version, InformationURI: informationURI, Rules: rules,
			}},
			Invocations: []sarifInvocation{inv},
			Results:     results,
			Properties: sarifRunProps{LockfileFormat: string(r.Lockfile.Format), Audited: r.Summary.Audited, Checked: r.Summary.Checked,
				Registries: registriesOf(r), Policy: r.Policy, Diff: r.Diff},
		}},
	}
}

// sarifRules returns every known rule followed by any other rule id the
// packages use (sorted), and the index of each rule id.
func sarifRules(pkgs []*audit.Package) ([]sarifRule, map[audit.Rule]int) {
	all := slices.Clone(Rules)
	known := map[audit.Rule]bool{}
	for _, rl := range Rules {
		known[rl.ID] = true
	}
	// The most severe severity of each unknown rule becomes its default.
	unknown := map[audit.Rule]audit.Severity{}
	for _, p := range pkgs {
		fs := slices.Clone(p.Findings)
		for _, e := range p.Exceptions {
			fs = append(fs, e.Waived...)
		}
		for _, f := range fs {
			if known[f.Rule] {
				continue
			}
			if s, ok := unknown[f.Rule]; !ok || f.Severity.Rank() > s.Rank() {
				unknown[f.Rule] = f.Severity
			}
		}
	}
	ids := make([]audit.Rule, 0, len(unknown))
	for id := range unknown {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		all = append(all, Rule{
			ID:       id,
			Name:     ruleName(string(id)),
			Short:    "provaudit finding " + string(id),
			Full:     "provaudit reported a finding of rule " + string(id) + " for this package.",
			Help:     "See the result's message and provaudit's documentation of rule " + string(id) + ".",
			Severity: unknown[id],
		})
	}

	out := make([]sarifRule, len(all))
	index := make(map[audit.Rule]int, len(all))
	for i, rl := range all {
		index[rl.ID] = i
		out[i] = sarifRule{
			ID:                   rl.ID,
			Name:                 rl.Name,
			ShortDescription:     sarifText{Text: rl.Short},
			FullDescription:      sarifText{Text: rl.Full},
			Help:                 sarifText{Text: rl.Help},
			DefaultConfiguration: sarifRuleConfig{Level: sarifLevel(rl.Severity)},
			Properties: sarifRuleProperty{
				Tags:             []string{"security", "supply-chain"},
				SecuritySeverity: securitySeverity(rl.Severity),
			},
		}
	}
	return out, index
}

// ruleName turns a rule id such as "release-age" into "ReleaseAge".
func ruleName(id string) string {
	var b strings.Builder
	up := true
	for _, r := range id {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
			up = true
			continue
		}
		if up && r >= 'a' && r <= 'z' {
			r -= 'a' - 'A'
		}
		up = false
		b.WriteRune(r)
	}
	if b.Len() == 0 {
		return "Finding"
	}
	return b.String()
}

// resultMessage names the package and says what is wrong: the finding's
// message, and the package's reason when it adds to it.
func resultMessage(p *audit.Package, f audit.Finding) string {
	msg := f.Message
	if msg == "" {
		msg = string(f.Rule)
	}
	text := pkgID(p) + ": " + msg
	if p.Reason != "" && !strings.Contains(msg, p.Reason) && !strings.Contains(p.Reason, msg) {
		text += " (" + p.Reason + ")"
	}
	return text
}

// fingerprint is the stable identity of a finding across runs.
func fingerprint(rule audit.Rule, p *audit.Package, repeat int) string {
	s := string(rule) + "|" + p.Name + "@" + p.Version + "#" + p.Integrity
	if repeat > 0 {
		s += "|" + strconv.Itoa(repeat)
	}
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// artifactLocation turns the lockfile path into a SARIF artifact location:
// forward slashes, percent-encoded as a URI reference; relative paths are
// relative to the source root (%SRCROOT%), absolute ones become file URIs.
func artifactLocation(path string) sarifArtifact {
	p := strings.ReplaceAll(path, `\`, "/")
	for strings.HasPrefix(p, "./") {
		p = p[2:]
	}
	abs := strings.HasPrefix(p, "/")
	if len(p) >= 3 && p[1] == ':' && p[2] == '/' && isLetter(p[0]) { // C:/...
		p, abs = "/"+p, true
	}
	if abs {
		return sarifArtifact{URI: (&url.URL{Scheme: "file", Path: p}).String()}
	}
	return sarifArtifact{URI: (&url.URL{Path: p}).String(), URIBaseID: "%SRCROOT%"}
}

func isLetter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }

// registriesOf is r.Registries, never nil (SARIF consumers read an array).
func registriesOf(r *audit.Result) []audit.Registry {
	if r.Registries == nil {
		return []audit.Registry{}
	}
	return r.Registries
}
