package report

import (
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/provaudit/provaudit/audit"
	"github.com/provaudit/provaudit/lockfile"
)

// Hand-built results for the golden and contract tests. Tool version and
// times are fixed so that goldens need no redaction.

var (
	goldenStart = time.Date(2025, 3, 14, 15, 9, 26, 0, time.UTC)
	keyNew      = "SHA256:DhQ8wR5APBvFHLF/+Tc+AYvPOdTpcIDqOhxsBHRwC7U"
	keyOld      = "SHA256:jl3bwswu80PjjokCgh0o2w5c2U4LhQAE57gj9cz1kzA"
	pinned      = true
)

const (
	predicatePublish = "https://github.com/npm/attestation/tree/main/specs/publish/v0.1"
	predicateSLSAv1  = "https://slsa.dev/provenance/v1"
)

// integrity is a well-formed SRI for a made-up tarball of name@version.
func integrity(nameVersion string) string {
	sum := sha512.Sum512([]byte("tarball of " + nameVersion))
	return "sha512-" + base64.StdEncoding.EncodeToString(sum[:])
}

// commitOf is a made-up 40-hex commit id.
func commitOf(s string) string {
	sum := sha512.Sum512([]byte("commit " + s))
	return hex.EncodeToString(sum[:20])
}

func newResult(pkgs ...audit.Package) *audit.Result {
	r := &audit.Result{
		SchemaVersion: audit.SchemaVersion,
		Tool:          audit.Tool{Name: "provaudit", Version: "v0.0.0-golden"},
		Lockfile:      audit.LockfileInfo{Path: "package-lock.json", Format: lockfile.FormatNpm, LockfileVersion: 3, Registry: "https://registry.invalid/"},
		Packages:      pkgs,
	}
	r.Summary = summarize(pkgs)
	r.Summary.StartedAt = goldenStart
	r.Summary.DurationMS = 1234
	r.Trust = audit.TrustInfo{TrustedRoot: "embedded", NpmKeys: "embedded"}
	r.Registries = []audit.Registry{{URL: "https://registry.invalid/", Source: "--registry", NamedBy: audit.NamedByUser, Keys: "listed",
		Packages: r.Summary.Audited, Checked: r.Summary.Checked}}
	return r
}

// summarize counts as audit does; the fixtures need a consistent summary.
func summarize(pkgs []audit.Package) audit.Summary {
	var s audit.Summary
	s.Packages = len(pkgs)
	for _, p := range pkgs {
		switch p.Status {
		case audit.StatusVerified:
			s.Verified++
		case audit.StatusSigned:
			s.Signed++
		case audit.StatusUnsigned:
			s.Unsigned++
		case audit.StatusInvalid:
			s.Invalid++
		case audit.StatusSkipped:
			s.Skipped++
		case audit.StatusError:
			s.Error++
		}
		sig := p.RegistrySignature != nil && p.RegistrySignature.Status == audit.CheckVerified
		att := p.Attestations != nil && p.Attestations.Status == audit.CheckVerified
		if sig {
			s.SignaturesVerified++
		}
		if att {
			s.AttestationsVerified++
		}
		if sig || att {
			s.Checked++
		}
		s.Findings += len(p.Findings)
	}
	s.Audited = s.Packages - s.Skipped
	return s
}

func registryPkg(name, version string, line int, paths ...string) audit.Package {
	if len(paths) == 0 {
		paths = []string{"node_modules/" + name}
	}
	return audit.Package{
		Name: name, Version: version, Integrity: integrity(name + "@" + version),
		Paths: paths, Line: line, Kind: "registry", Findings: []audit.Finding{},
	}
}

func sigVerified(key string, judged time.Time, source audit.TimeSource) *audit.SignatureCheck {
	return &audit.SignatureCheck{
		Status: audit.CheckVerified, Reason: "signature by " + key + " verified",
		KeyID: key, Pinned: &pinned, JudgedAt: &judged, TimeSource: source,
	}
}

func attVerified(name, repo string, logIndex int64, at time.Time) *audit.AttestationCheck {
	return &audit.AttestationCheck{
		Status:         audit.CheckVerified,
		Reason:         "publish attestation and provenance verified",
		PredicateTypes: []string{predicatePublish, predicateSLSAv1},
		Publish:        &audit.Publish{KeyID: keyNew, Pinned: true, RekorLogIndex: logIndex + 1, IntegratedTime: at.Add(3 * time.Second)},
		Provenance: &audit.Provenance{
			PredicateType:     predicateSLSAv1,
			SourceRepository:  repo,
			Commit:            commitOf(name),
			WorkflowPath:      ".github/workflows/release.yml",
			WorkflowRef:       "refs/heads/main",
			BuilderID:         "https://github.com/actions/runner/github-hosted",
			BuildType:         "https://slsa-framework.github.io/github-actions-buildtypes/workflow/v1",
			Issuer:            "https://token.actions.githubusercontent.com",
			RunnerEnvironment: "github-hosted",
			RunURL:            repo + "/actions/runs/8123456789/attempts/1",
			RekorLogIndex:     logIndex,
			IntegratedTime:    at,
		},
	}
}

var attMissing = &audit.AttestationCheck{Status: audit.CheckMissing, Reason: "the version has no attestations"}

// mixedResult covers every status and sub-status: verified with provenance
// facts, signed, unsigned, invalid signature, invalid attestation, integrity
// mismatch, skipped (workspace, git, omitted), error (network), and a
// registry without keys (verified by attestations, and unsigned).
func mixedResult() *audit.Result {
	published := time.Date(2024, 5, 2, 10, 11, 12, 0, time.UTC)
	old := time.Date(2021, 9, 7, 8, 0, 0, 0, time.UTC)

	verified := registryPkg("@sigstore/core", "1.1.0", 112, "node_modules/@sigstore/core")
	verified.Status, verified.Reason = audit.StatusVerified, "registry signature and attestations verified"
	verified.RegistrySignature = sigVerified(keyNew, published.Add(3*time.Second), "rekor")
	verified.Attestations = attVerified("@sigstore/core", "https://github.com/sigstore/sigstore-js", 91234567, published)

	signed := registryPkg("ms", "2.1.3", 301, "node_modules/ms", "node_modules/debug/node_modules/ms")
	signed.Status, signed.Reason = audit.StatusSigned, "registry signature verified; the version has no attestations"
	signed.RegistrySignature = sigVerified(keyOld, old, "publish-time")
	signed.Attestations = attMissing

	unsigned := registryPkg("left-pad", "1.3.0", 240)
	unsigned.Status, unsigned.Reason = audit.StatusUnsigned, "no registry signature, although the registry publishes signing keys"
	unsigned.RegistrySignature = &audit.SignatureCheck{Status: audit.CheckMissing, Reason: "the version carries no registry signature"}
	unsigned.Attestations = attMissing
	unsigned.Findings = []audit.Finding{{Rule: audit.RuleSignatureMissing, Severity: audit.SeverityHigh,
		Message: "the registry publishes signing keys but this version carries no registry signature"}}

	badSig := registryPkg("event-stream", "3.3.6", 187)
	badSig.Status = audit.StatusInvalid
	badSig.RegistrySignature = &audit.SignatureCheck{Status: audit.CheckInvalid, KeyID: keyOld, Pinned: &pinned,
		Reason: "signature by " + keyOld + " does not verify over event-stream@3.3.6:" + badSig.Integrity}
	badSig.Attestations = attMissing
	badSig.Findings = []audit.Finding{{Rule: audit.RuleSignatureInvalid, Severity: audit.SeverityCritical,
		Message: "registry signature is invalid: " + badSig.RegistrySignature.Reason}}
	badSig.Reason = badSig.Findings[0].Message

	badAtt := registryPkg("tampered-lib", "2.0.1", 420)
	badAtt.Status = audit.StatusInvalid
	badAtt.RegistrySignature = sigVerified(keyNew, published, "rekor")
	badAtt.Attestations = &audit.AttestationCheck{Status: audit.CheckInvalid,
		PredicateTypes: []string{predicatePublish, predicateSLSAv1},
		Reason:         "provenance subject digest sha512:9f86d081884c7d65 does not match the lockfile integrity"}
	badAtt.Findings = []audit.Finding{{Rule: audit.RuleAttestationInvalid, Severity: audit.SeverityCritical,
		Message: "attestations are invalid: " + badAtt.Attestations.Reason}}
	badAtt.Reason = badAtt.Findings[0].Message

	mismatch := registryPkg("is-odd", "3.0.1", 268)
	mismatch.Status = audit.StatusInvalid
	mismatch.RegistrySignature = sigVerified(keyOld, old, "publish-time")
	mismatch.Attestations = attMissing
	mismatch.Findings = []audit.Finding{{Rule: audit.RuleIntegrityMismatch, Severity: audit.SeverityCritical,
		Message: "the registry serves a different integrity than the lockfile pins: sha512-Zm9v... (registry) vs " + mismatch.Integrity[:20] + "... (lockfile)"}}
	mismatch.Reason = mismatch.Findings[0].Message

	keylessVerified := registryPkg("@internal/logger", "4.2.0", 35)
	keylessVerified.Status, keylessVerified.Reason = audit.StatusVerified, "attestations verified; the registry publishes no signing keys"
	keylessVerified.RegistrySignature = &audit.SignatureCheck{Status: audit.CheckUnsupported, Reason: "the registry publishes no signing keys"}
	keylessVerified.Attestations = attVerified("@internal/logger", "https://github.com/example-org/logger", 99887766, published)

	keylessUnsigned := registryPkg("@internal/config", "1.0.4", 22)
	keylessUnsigned.Status, keylessUnsigned.Reason = audit.StatusUnsigned, "the registry publishes no signing keys and the version has no attestations"
	keylessUnsigned.RegistrySignature = &audit.SignatureCheck{Status: audit.CheckUnsupported, Reason: "the registry publishes no signing keys"}
	keylessUnsigned.Attestations = attMissing

	signedNoProv := registryPkg("lodash", "4.17.21", 255)
	signedNoProv.Status, signedNoProv.Reason = audit.StatusSigned, "registry signature verified; the version has no attestations"
	signedNoProv.RegistrySignature = sigVerified(keyOld, old, "publish-time")
	signedNoProv.Attestations = attMissing
	signedNoProv.Findings = []audit.Finding{{Rule: audit.RuleProvenanceMissing, Severity: audit.SeverityMedium,
		Message: "the version has no provenance attestation (--require-provenance)"}}

	untrusted := registryPkg("@evil/pkg", "1.0.0", 60)
	untrusted.Status = audit.StatusUnsigned
	untrusted.RegistrySignature = &audit.SignatureCheck{Status: audit.CheckUntrusted, KeyID: "SHA256:evilkey", Pinned: new(bool),
		Reason: "signature 0 verifies only with SHA256:evilkey, a key the registry lists but nothing trusts"}
	untrusted.Attestations = &audit.AttestationCheck{Status: audit.CheckUntrusted, PredicateTypes: []string{predicatePublish},
		Reason: "publish attestation (0): signed with SHA256:evilkey, a key the registry lists but nothing trusts"}
	untrusted.Reason = "no registry signature by a trusted key: " + untrusted.RegistrySignature.Reason
	hint := " (https://evil.invalid/ was named only by the audited project, in /src/app/.npmrc:1, so the keys its key endpoint lists are not trusted)"
	untrusted.Findings = []audit.Finding{
		{Rule: audit.RuleAttestationUntrusted, Severity: audit.SeverityHigh, Message: "the publish attestation is signed by a key nothing trusts: " + untrusted.Attestations.Reason + hint},
		{Rule: audit.RuleSignatureUntrusted, Severity: audit.SeverityHigh, Message: "the registry signature is by a key nothing trusts: " + untrusted.RegistrySignature.Reason + hint},
	}

	netErr := registryPkg("chalk", "5.3.0", 76)
	netErr.Status = audit.StatusError
	netErr.Reason = "GET https://registry.invalid/chalk: dial tcp: lookup registry.invalid: no such host"

	workspace := audit.Package{Name: "@acme/app", Version: "1.0.0", Paths: []string{"packages/app"}, Line: 10,
		Kind: "workspace", Status: audit.StatusSkipped, Reason: "not from a registry (workspace)", Findings: []audit.Finding{}}
	git := audit.Package{Name: "forked-util", Version: "0.4.0", Paths: []string{"node_modules/forked-util"}, Line: 150,
		Kind: "git", Status: audit.StatusSkipped, Reason: "not from a registry (git)", Findings: []audit.Finding{}}
	omitted := registryPkg("typescript", "5.4.5", 470)
	omitted.Dev = true
	omitted.Status, omitted.Reason = audit.StatusSkipped, "omitted by --omit"

	// Lockfile order (by line) is the order audit reports packages in.
	r := newResult(workspace, keylessUnsigned, keylessVerified, untrusted, netErr, verified, git, badSig, unsigned,
		signedNoProv, mismatch, signed, badAtt, omitted)
	// Three registries: the default one, a scoped one without keys, and
	// one only the project's .npmrc names.
	r.Registries[0].Packages, r.Registries[0].Checked = 8, 6
	r.Registries = append(r.Registries,
		audit.Registry{URL: "https://evil.invalid/", Source: "/src/app/.npmrc:1", NamedBy: audit.NamedByProject, Keys: "listed", Packages: 1},
		audit.Registry{URL: "https://internal.invalid/", Source: "/home/dev/.npmrc:3", NamedBy: audit.NamedByUser, Keys: "none", Packages: 2, Checked: 1})
	return r
}

// uncheckedResult audits packages and checks none of them: a mirror that
// strips signatures, attestations and its key endpoint. No finding, and
// still no pass.
func uncheckedResult() *audit.Result {
	a := registryPkg("semver", "7.6.3", 90)
	a.Status, a.Reason = audit.StatusUnsigned, "the registry publishes no signing keys and the version has no attestations"
	a.RegistrySignature = &audit.SignatureCheck{Status: audit.CheckUnsupported, Reason: "the version carries no signature and the registry publishes no signing keys"}
	a.Attestations = attMissing
	b := registryPkg("ms", "2.1.3", 120)
	b.Status, b.Reason, b.RegistrySignature, b.Attestations = a.Status, a.Reason, a.RegistrySignature, attMissing
	r := newResult(a, b)
	r.Registries[0].Keys = "none"
	r.Registries[0].Source = "environment variable npm_config_registry"
	return r
}

// cleanResult passes: every package verified or signed, one skipped.
func cleanResult() *audit.Result {
	published := time.Date(2024, 11, 20, 9, 30, 0, 0, time.UTC)
	a := registryPkg("@sigstore/bundle", "2.3.2", 40)
	a.Status, a.Reason = audit.StatusVerified, "registry signature and attestations verified"
	a.RegistrySignature = sigVerified(keyNew, published, "rekor")
	a.Attestations = attVerified("@sigstore/bundle", "https://github.com/sigstore/sigstore-js", 150000001, published)
	b := registryPkg("semver", "7.6.3", 90)
	b.Status, b.Reason = audit.StatusSigned, "registry signature verified; the version has no attestations"
	b.RegistrySignature = sigVerified(keyNew, published, "publish-time")
	b.Attestations = attMissing
	c := audit.Package{Name: "local-tool", Version: "0.0.1", Paths: []string{"node_modules/local-tool"}, Line: 12,
		Kind: "link", Status: audit.StatusSkipped, Reason: "not from a registry (link)", Findings: []audit.Finding{}}
	return newResult(c, a, b)
}

// incompleteResult has no findings but packages that could not be checked.
func incompleteResult() *audit.Result {
	a := registryPkg("semver", "7.6.3", 90)
	a.Status, a.Reason = audit.StatusSigned, "registry signature verified; the version has no attestations"
	a.RegistrySignature = sigVerified(keyNew, goldenStart, "key-valid-now")
	a.Attestations = attMissing
	b := registryPkg("undici", "6.19.8", 140)
	b.Status, b.Reason = audit.StatusError, "GET https://registry.invalid/undici/6.19.8: 503 Service Unavailable after 4 attempts"
	c := registryPkg("ws", "8.18.0", 160)
	c.Status = audit.StatusError
	c.RegistrySignature = &audit.SignatureCheck{Status: audit.CheckInvalid, KeyID: keyOld,
		Reason: "key " + keyOld + " expired on 2025-01-29 and the publish time could not be established"}
	c.Reason = "registry signature could not be judged: " + c.RegistrySignature.Reason
	// Two packages left unchecked by one registry-wide problem: said once.
	problem := "https://mirror.invalid answered HTTP 401 Unauthorized: check the credentials for it (//host/:_authToken in your npmrc) and the proxy settings"
	d := registryPkg("@corp/ui", "2.0.0", 20)
	d.Status, d.Reason = audit.StatusError, problem
	e := registryPkg("@corp/api", "1.4.0", 30)
	e.Status, e.Reason = audit.StatusError, problem
	r := newResult(a, b, c, d, e)
	r.Problems = []audit.Problem{{Message: problem, Packages: 2}}
	r.Registries[0].Packages = 3
	r.Registries = append(r.Registries, audit.Registry{URL: "https://mirror.invalid/", Source: "/home/dev/.npmrc:3", NamedBy: audit.NamedByUser,
		Keys: "unknown", KeysReason: problem, Packages: 2})
	return r
}

// hostileResult carries text that tries to break every format: terminal
// escapes, table pipes, line breaks, markup, mentions, bidi overrides,
// backticks and very long words.
func hostileResult() *audit.Result {
	a := registryPkg("evil\x1b[2J\x1b]0;pwned\x07", "1.0.0|x", 7)
	a.Status = audit.StatusInvalid
	a.Attestations = &audit.AttestationCheck{Status: audit.CheckInvalid, Reason: "line one\nline two | </details> <script>alert(1)</script> @octocat"}
	a.Findings = []audit.Finding{
		{Rule: audit.RuleAttestationInvalid, Severity: audit.SeverityCritical, Message: "attestations are invalid: " + a.Attestations.Reason},
		{Rule: "identity-drift", Severity: audit.SeverityHigh, Message: "source moved from github.com/a/b to github.com/\u202eevil/b"},
		{Rule: "identity-drift", Severity: audit.SeverityLow, Message: "second drift finding with `back`ticks``` and *stars* _under_ [link](http://x.invalid)"},
	}
	a.Reason = a.Findings[0].Message
	b := registryPkg("pkg-with-a-very-long-reason", "0.0.1", 9)
	b.Status = audit.StatusError
	b.Reason = "Supercalifragilisticexpialidocious" + fmt.Sprint(make([]int, 30)) + " " +
		"https://registry.invalid/a/really/long/url/that/has/no/spaces/in/it/at/all/and/must/be/broken/somewhere/to/fit"
	b.Paths, b.Findings = nil, nil // JSON must still write [] for both
	c := registryPkg("ünïcødé-名前", "1.0.0-β.1", 11)
	c.Status, c.Reason = audit.StatusUnsigned, "the registry publishes no signing keys\tand\r\nthe version has no attestations \x00\x7f\u0085"
	c.RegistrySignature = &audit.SignatureCheck{Status: audit.CheckUnsupported, Reason: "no keys"}
	c.Attestations = attMissing
	d := registryPkg("victim", "1.0.0", 13)
	d.Status, d.Reason = audit.StatusError, "https://x.invalid answered HTTP 401 | </details> \x1b[31m<b>*red*</b>"
	r := newResult(a, b, c, d)
	r.Problems = []audit.Problem{{Message: d.Reason, Packages: 1}}
	r.Lockfile.Path = `sub dir\pkg|lock.json`
	return r
}

// emptyResult is a lockfile without packages.
func emptyResult() *audit.Result {
	r := newResult()
	r.Summary.DurationMS = 3
	return r
}
