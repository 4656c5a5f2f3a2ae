package report

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/google/uuid"

	"github.com/provaudit/provaudit/audit"
	"github.com/provaudit/provaudit/internal/npmspec"
	"github.com/provaudit/provaudit/lockfile"
)

// Property names that the CycloneDX and SPDX outputs give every package
// (CycloneDX component properties; SPDX package annotations whose comment
// is "NAME=VALUE"). A property is left out when the result has no value
// for it; properties marked "repeated" appear once per value.
const (
	// PropStatus is the package's overall status: verified, signed,
	// unsigned, invalid, skipped or error. It is the property to filter
	// on: a package has verified provenance exactly when it is "verified".
	PropStatus = "provaudit:status"
	// PropReason says why the status is what it is.
	PropReason = "provaudit:reason"
	// PropKind is the lockfile entry kind: registry, git, file, link,
	// workspace or remote.
	PropKind = "provaudit:kind"
	// PropIntegrity is the lockfile's integrity as written (SRI).
	PropIntegrity = "provaudit:integrity"
	// PropUnpinned is "true" when the lockfile records no integrity.
	PropUnpinned = "provaudit:unpinned"
	// PropDev, PropOptional and PropPeer are "true" for dev, optional and
	// peer dependencies.
	PropDev      = "provaudit:dev"
	PropOptional = "provaudit:optional"
	PropPeer     = "provaudit:peer"
	// PropPath is an install path of the package (repeated).
	PropPath = "provaudit:path"
	// PropLine is the line of the package's first entry in the lockfile.
	PropLine = "provaudit:line"
	// PropSignatureStatus is the registry signature sub-status: verified,
	// missing, invalid or unsupported.
	PropSignatureStatus = "provaudit:registrySignature:status"
	// PropSignatureKeyID is the keyid of the registry key that signed.
	PropSignatureKeyID = "provaudit:registrySignature:keyid"
	// PropSignaturePinned tells whether that key is pinned in provaudit's
	// trust material.
	PropSignaturePinned = "provaudit:registrySignature:pinned"
	// PropAttestationsStatus is the attestations sub-status: verified,
	// missing or invalid.
	PropAttestationsStatus = "provaudit:attestations:status"
	// PropPredicateType is a predicate type of the version's attestations
	// (repeated).
	PropPredicateType = "provaudit:attestations:predicateType"
	// PropPublishKeyID and PropPublishLogIndex are the registry key and the
	// Rekor log index of the verified npm publish attestation.
	PropPublishKeyID    = "provaudit:publish:keyid"
	PropPublishLogIndex = "provaudit:publish:rekorLogIndex"
	// The facts of the verified SLSA provenance: its predicate type, source
	// repository and commit, workflow path and ref, builder id, OIDC issuer,
	// CI run URL and Rekor log index.
	PropProvenancePredicateType = "provaudit:provenance:predicateType"
	PropSourceRepository        = "provaudit:provenance:sourceRepository"
	PropCommit                  = "provaudit:provenance:commit"
	PropWorkflowPath            = "provaudit:provenance:workflowPath"
	PropWorkflowRef             = "provaudit:provenance:workflowRef"
	PropBuilderID               = "provaudit:provenance:builderId"
	PropIssuer                  = "provaudit:provenance:issuer"
	PropRunURL                  = "provaudit:provenance:runUrl"
	PropProvenanceLogIndex      = "provaudit:provenance:rekorLogIndex"
	// PropFinding is a finding, as "RULE (SEVERITY): MESSAGE" (repeated).
	PropFinding = "provaudit:finding"
	// PropChange is, in diff mode, new, changed or unchanged.
	PropChange = "provaudit:change"
	// PropSourceCheck is the source check's outcome (--check-source), as
	// "STATUS: REASON".
	PropSourceCheck = "provaudit:sourceCheck"
	// PropException is a policy exception recorded on the package
	// (repeated), as the report's exception lists say it.
	PropException = "provaudit:exception"
)

// Document-level property names (CycloneDX metadata properties; SPDX
// document annotations).
const (
	// PropLockfile is the audited lockfile's path as given.
	PropLockfile = "provaudit:lockfile"
	// PropLockfileFormat is the kind of lockfile audited (npm,
	// npm-shrinkwrap, pnpm, yarn-v1, yarn-berry, bun).
	PropLockfileFormat = "provaudit:lockfileFormat"
	// PropRegistry is the default registry the packages were checked
	// against.
	PropRegistry = "provaudit:registry"
	// PropSummaryPrefix prefixes one property per field of the JSON
	// report's summary, with its name: provaudit:summary:packages,
	// provaudit:summary:verified and so on.
	PropSummaryPrefix = "provaudit:summary:"
)

// uuidNamespace is the name-based UUID namespace of provaudit's SBOM
// serial numbers and SPDX document namespaces.
var uuidNamespace = uuid.NewSHA1(uuid.NameSpaceURL, []byte(informationURI))

// sbomProp is one name-value pair of a package or document.
type sbomProp struct{ name, value string }

// sbomDocument returns what both SBOM formats say about the audit as a
// whole: its UUID (see auditUUID) and its properties (see documentProps).
func sbomDocument(r *audit.Result) (uuid.UUID, []sbomProp, error) {
	id, err := auditUUID(r)
	if err != nil {
		return uuid.Nil, nil, err
	}
	ps, err := documentProps(r)
	return id, ps, err
}

// auditUUID is the identity of one audit result in SBOM form: a
// name-based (version 5) UUID of the result's JSON report. The same result
// (same packages, verdicts, lockfile path and start time) always gets the
// same UUID, so SBOMs are reproducible; any other result, including the
// same lockfile audited at another time, gets another.
func auditUUID(r *audit.Result) (uuid.UUID, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(normalized(r)); err != nil {
		return uuid.Nil, err
	}
	return uuid.NewSHA1(uuidNamespace, buf.Bytes()), nil
}

// sbomTime formats t as SBOM timestamps want it: UTC, whole seconds,
// "2006-01-02T15:04:05Z" (SPDX requires exactly this form; CycloneDX
// accepts it).
func sbomTime(t time.Time) string {
	return t.UTC().Format("2006-01-02T15:04:05Z")
}

// purl returns the package URL of a registry package: pkg:npm/NAME@VERSION
// with a scope as the namespace ("@" encoded as %40) and every component
// percent-encoded as the purl specification requires. Packages not from a
// registry, and packages without a version, have none ("").
func purl(p *audit.Package) string {
	if p.Kind != lockfile.KindRegistry || p.Version == "" || p.Name == "" {
		return ""
	}
	name := p.Name
	var b strings.Builder
	b.WriteString("pkg:npm/")
	if scope, rest, ok := strings.Cut(name, "/"); ok && strings.HasPrefix(scope, "@") {
		b.WriteString(purlEscape(scope))
		b.WriteByte('/')
		name = rest
	}
	b.WriteString(purlEscape(name))
	b.WriteByte('@')
	b.WriteString(purlEscape(p.Version))
	return b.String()
}

// purlEscape percent-encodes every byte but the unreserved characters
// A-Z a-z 0-9 . - _ ~.
func purlEscape(s string) string {
	const hexDigits = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '.' || c == '-' || c == '_' || c == '~' {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hexDigits[c>>4])
		b.WriteByte(hexDigits[c&15])
	}
	return b.String()
}

// sbomHash is one digest of a package's lockfile integrity, hex-encoded,
// with its algorithm as each format names it.
type sbomHash struct {
	names hashNames
	hex   string
}

// hashNames are an algorithm's names in CycloneDX and SPDX.
type hashNames struct{ cdx, spdx string }

// sbomHashNames maps the SRI algorithms both SBOM formats know to their
// names there.
var sbomHashNames = map[string]hashNames{
	"sha1":   {"SHA-1", "SHA1"},
	"sha256": {"SHA-256", "SHA256"},
	"sha384": {"SHA-384", "SHA384"},
	"sha512": {"SHA-512", "SHA512"},
}

// integrityHashes decodes the lockfile integrity of p (SRI, base64) into
// hex digests, one per algorithm both SBOM formats name, strongest first.
// Tokens of other algorithms are left out (the integrity property keeps
// them), and so is the integrity of an entry the lockfile could not use
// (kind invalid), which may be anything. Any other integrity that is not
// well-formed breaks the result's contract: the lockfile parser makes such
// an entry invalid.
func integrityHashes(p *audit.Package) ([]sbomHash, error) {
	if p.Integrity == "" || p.Kind == lockfile.KindInvalid {
		return nil, nil
	}
	in, err := npmspec.ParseIntegrity(p.Integrity)
	if err != nil {
		return nil, fmt.Errorf("%w: package %s: %w", ErrInvalidResult, pkgID(p), err)
	}
	var out []sbomHash
	for _, a := range npmspec.Algorithms() {
		if names, ok := sbomHashNames[string(a)]; ok && in.Has(a) {
			out = append(out, sbomHash{names: names, hex: hex.EncodeToString(in.Digest(a))})
		}
	}
	return out, nil
}

// vcsLocation is the source repository and commit of a verified
// provenance in the VCS location form both SPDX (download location) and
// purl (vcs_url) use: git+https://host/org/repo@COMMIT. It is "" without a
// repository, or when the result is not a URL without spaces, which both
// formats require of references (the properties keep the facts as they
// are).
func vcsLocation(pv *audit.Provenance) string {
	if pv == nil || pv.SourceRepository == "" {
		return ""
	}
	loc := pv.SourceRepository
	if !strings.HasPrefix(loc, "git+") {
		loc = "git+" + loc
	}
	if pv.Commit != "" {
		loc += "@" + pv.Commit
	}
	return referenceURL(loc)
}

// referenceURL returns s when it is an absolute URL with no space or
// control character, else "".
func referenceURL(s string) string {
	if strings.ContainsFunc(s, func(r rune) bool { return r <= ' ' || r == 0x7f || unicode.IsSpace(r) || unicode.IsControl(r) }) {
		return ""
	}
	if u, err := url.Parse(s); err != nil || !u.IsAbs() || u.Host == "" {
		return ""
	}
	return s
}

// packageProps lists the properties of p, in a fixed order (see the Prop
// constants).
func packageProps(p *audit.Package) []sbomProp {
	var ps []sbomProp
	add := func(name, value string) {
		if value != "" {
			ps = append(ps, sbomProp{name, value})
		}
	}
	flag := func(name string, set bool) {
		if set {
			add(name, "true")
		}
	}
	add(PropStatus, string(p.Status))
	add(PropReason, p.Reason)
	add(PropKind, string(p.Kind))
	add(PropIntegrity, p.Integrity)
	flag(PropUnpinned, p.Unpinned)
	flag(PropDev, p.Dev)
	flag(PropOptional, p.Optional)
	flag(PropPeer, p.Peer)
	for _, path := range p.Paths {
		add(PropPath, path)
	}
	add(PropLine, strconv.Itoa(p.Line))
	if s := p.RegistrySignature; s != nil {
		add(PropSignatureStatus, string(s.Status))
		add(PropSignatureKeyID, s.KeyID)
		if s.Pinned != nil {
			add(PropSignaturePinned, strconv.FormatBool(*s.Pinned))
		}
	}
	if a := p.Attestations; a != nil {
		add(PropAttestationsStatus, string(a.Status))
		for _, t := range a.PredicateTypes {
			add(PropPredicateType, t)
		}
		if pub := a.Publish; pub != nil {
			add(PropPublishKeyID, pub.KeyID)
			add(PropPublishLogIndex, strconv.FormatInt(pub.RekorLogIndex, 10))
		}
		if pv := a.Provenance; pv != nil {
			add(PropProvenancePredicateType, pv.PredicateType)
			add(PropSourceRepository, pv.SourceRepository)
			add(PropCommit, pv.Commit)
			add(PropWorkflowPath, pv.WorkflowPath)
			add(PropWorkflowRef, pv.WorkflowRef)
			add(PropBuilderID, pv.BuilderID)
			add(PropIssuer, pv.Issuer)
			add(PropRunURL, pv.RunURL)
			add(PropProvenanceLogIndex, strconv.FormatInt(pv.RekorLogIndex, 10))
		}
	}
	for _, f := range p.Findings {
		add(PropFinding, fmt.Sprintf("%s (%s): %s", f.Rule, f.Severity, f.Message))
	}
	add(PropChange, string(p.Change))
	if sc := p.SourceCheck; sc != nil {
		add(PropSourceCheck, string(sc.Status)+": "+sc.Reason)
	}
	for i := range p.Exceptions {
		add(PropException, exceptionText(exceptionRow{p, &p.Exceptions[i]}))
	}
	return ps
}

// documentProps lists the properties of the whole audit: the lockfile,
// the registry and every field of the JSON report's summary, by name in
// sorted order (so that summary fields added to the contract appear
// without a change here).
func documentProps(r *audit.Result) ([]sbomProp, error) {
	ps := []sbomProp{{PropLockfile, r.Lockfile.Path}}
	if r.Lockfile.Format != "" {
		ps = append(ps, sbomProp{PropLockfileFormat, string(r.Lockfile.Format)})
	}
	if r.Lockfile.Registry != "" {
		ps = append(ps, sbomProp{PropRegistry, r.Lockfile.Registry})
	}
	b, err := json.Marshal(r.Summary)
	if err != nil {
		return nil, err
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(b, &fields); err != nil {
		return nil, err
	}
	for _, name := range slices.Sorted(maps.Keys(fields)) {
		v := fields[name]
		var s string
		if json.Unmarshal(v, &s) != nil {
			s = string(v) // numbers, booleans, objects: their JSON
		}
		ps = append(ps, sbomProp{PropSummaryPrefix + name, s})
	}
	return ps, nil
}
