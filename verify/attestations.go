package verify

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	protobundle "github.com/sigstore/protobuf-specs/gen/pb-go/bundle/v1"
	"github.com/sigstore/sigstore-go/pkg/bundle"
	"github.com/sigstore/sigstore-go/pkg/fulcio/certificate"
	sgverify "github.com/sigstore/sigstore-go/pkg/verify"
	"google.golang.org/protobuf/encoding/protojson"
)

// Predicate types of npm attestations.
const (
	// PredicatePublish is the npm publish attestation.
	PredicatePublish = "https://github.com/npm/attestation/tree/main/specs/publish/v0.1"
	// PredicateSLSAv02 is SLSA provenance v0.2.
	PredicateSLSAv02 = "https://slsa.dev/provenance/v0.2"
	// PredicateSLSAv1 is SLSA provenance v1.
	PredicateSLSAv1 = "https://slsa.dev/provenance/v1"
)

const (
	intotoPayloadType = "application/vnd.in-toto+json"
	// maxAttestations bounds the attestations of one version (npm serves
	// two); each costs milliseconds to verify.
	maxAttestations = 16
)

var statementTypes = map[string]bool{
	"https://in-toto.io/Statement/v0.1": true,
	"https://in-toto.io/Statement/v1":   true,
}

// AttestationInput is what judging a version's attestations needs.
type AttestationInput struct {
	Name, Version string
	// Integrity is the lockfile's SRI.
	Integrity string
	// ServedIntegrity and ServedShasum are dist.integrity and dist.shasum
	// as served; they must agree with Integrity, and bind a sha1-only
	// lockfile to the served sha512.
	ServedIntegrity string
	ServedShasum    string
	// TarballIntegrity is as in [SignatureInput].
	TarballIntegrity string
	// ExpectedPredicate is dist.attestations.provenance.predicateType, ""
	// when the manifest announces none.
	ExpectedPredicate string
	// Body is the body of GET /-/npm/v1/attestations/NAME@VERSION.
	Body []byte
	// ProvenanceOnly verifies the provenance attestations alone: the
	// publish attestation and attestations of other types are neither
	// required nor verified (Publish stays nil). An auditor comparing
	// the identity of an earlier version with a locked one's needs no
	// more, and each bundle costs milliseconds.
	ProvenanceOnly bool
}

// AttestationResult is the verdict on a version's attestations.
type AttestationResult struct {
	// Status is StatusVerified, StatusUntrusted or StatusInvalid. The
	// caller decides StatusMissing when the version has no
	// dist.attestations.
	Status Status
	// Err is nil iff Status is StatusVerified. Several independent failures
	// are reported together (Err has Unwrap() []error).
	Err error
	// PredicateTypes lists the response's predicate types in order.
	PredicateTypes []string
	// Publish describes the verified publish attestation.
	Publish *PublishFacts
	// Provenance describes the verified provenance attestation (the one of
	// ExpectedPredicate's type when given); nil when there is none.
	Provenance *ProvenanceFacts
	// WeakIntegrity is true when the lockfile pins only sha1, so subjects
	// were bound to the served sha512 through dist.shasum.
	WeakIntegrity bool
}

// PublishFacts are the verified facts of the npm publish attestation.
type PublishFacts struct {
	KeyID          string
	Pinned         bool
	LogIndex       int64
	IntegratedTime time.Time
}

// ProvenanceFacts are the verified facts of a provenance attestation. They
// come from the Fulcio certificate where it carries them (it is issued from
// the CI provider's OIDC token) and from the signed predicate otherwise.
type ProvenanceFacts struct {
	PredicateType    string
	SourceRepository string
	Commit           string
	// WorkflowPath is the CI configuration file, e.g.
	// ".github/workflows/release.yml"; WorkflowRef the git ref it ran for.
	WorkflowPath string
	WorkflowRef  string
	BuilderID    string
	BuildType    string
	// Issuer is the OIDC issuer of the signing certificate.
	Issuer string
	// RunnerEnvironment is "github-hosted", "self-hosted", ... ("" when
	// the certificate predates the extension).
	RunnerEnvironment string
	RunURL            string
	LogIndex          int64
	IntegratedTime    time.Time
	CertificateSAN    string
	// RepositoryID and OwnerID are the source repository's and its
	// owner's immutable numeric ids (Fulcio extensions 1.3.6.1.4.1.57264.1.15
	// and .17): names change on rename and transfer, ids do not. Owner is
	// the owner's URL (.16). "" when the certificate predates them.
	RepositoryID, OwnerID, Owner string
	// BuildTrigger is the event that started the build (.20: push,
	// release, workflow_dispatch, ...); BuildSignerURI the workflow that
	// signed (.9), which differs from the source's workflow for reusable
	// workflows.
	BuildTrigger, BuildSignerURI string
}

// rawAttestation is one entry of the attestations response.
type rawAttestation struct {
	PredicateType string          `json:"predicateType"`
	Bundle        json.RawMessage `json:"bundle"`
}

// parseAttestations decodes {"attestations":[{predicateType, bundle}]}.
func parseAttestations(pkg string, body []byte) ([]rawAttestation, error) {
	body = bytes.TrimSpace(body)
	if len(body) == 0 {
		return nil, fmt.Errorf("%w: %s: the attestations response is empty", ErrNoAttestations, pkg)
	}
	var doc struct {
		Attestations *[]rawAttestation `json:"attestations"`
	}
	if err := json.Unmarshal(body, &doc); err != nil {
		return nil, fmt.Errorf("%w: %s: attestations response: %w", ErrMalformed, pkg, foreign(err))
	}
	if doc.Attestations == nil {
		return nil, fmt.Errorf("%w: %w: %s: attestations response has no \"attestations\" array", ErrMalformed, ErrNoAttestations, pkg)
	}
	atts := *doc.Attestations
	if len(atts) == 0 {
		return nil, fmt.Errorf("%w: %s: the attestations response lists none", ErrNoAttestations, pkg)
	}
	if len(atts) > maxAttestations {
		return nil, fmt.Errorf("%w: %s: %d attestations (at most %d)", ErrMalformed, pkg, len(atts), maxAttestations)
	}
	for i, a := range atts {
		if a.PredicateType == "" {
			return nil, fmt.Errorf("%w: %s: attestation %d has no predicateType", ErrMalformed, pkg, i)
		}
		if b := bytes.TrimSpace(a.Bundle); len(b) == 0 || bytes.Equal(b, []byte("null")) {
			return nil, fmt.Errorf("%w: %s: attestation %d (%s) has no bundle", ErrMalformed, pkg, i, a.PredicateType)
		}
	}
	return atts, nil
}

// npmPurl is the subject name npm gives a package version:
// pkg:npm/<name>@<version>, with a scope's leading "@" encoded as %40.
func npmPurl(name, version string) string {
	if strings.HasPrefix(name, "@") {
		name = "%40" + name[1:]
	}
	return "pkg:npm/" + name + "@" + version
}

// Attestations verifies the body of a version's attestations response.
//
// Rules (each failure is reported; all of them are joined into Err; when
// the only problems are keys that nothing trusts, Status is
// StatusUntrusted, else StatusInvalid):
//   - the lockfile integrity must agree with the served one, and a sha512
//     must be known to bind subjects to ([ErrIntegrityMismatch],
//     [ErrNoSHA512]);
//   - the response must list attestations ([ErrNoAttestations]), exactly
//     one of them the npm publish attestation
//     ([ErrPublishAttestationMissing]), and the predicate type the manifest
//     announces ([ErrPredicateMissing]);
//   - every bundle is verified with sigstore-go with a transparency log
//     entry and its integrated time (SET) required; the publish attestation
//     must be signed by the npm key its hint names, usage npm:attestations,
//     valid at the log time, and that key must be trusted ([ErrUnknownKey],
//     [ErrUntrustedKey]: untrusted); provenance must be signed with a Fulcio
//     certificate chaining to the trusted root, with an SCT, issued to a
//     known CI provider ([ErrUntrustedIssuer]) for the source repository
//     (and commit) the predicate names ([ErrIdentityMismatch]); a bundle of
//     a predicate type provaudit does not interpret is verified all the
//     same (keyless with any identity, or with an npm attestation key) and
//     listed in PredicateTypes;
//   - every statement: DSSE payload type in-toto, statement type in-toto
//     v0.1 or v1, predicateType equal to the response's ([ErrPredicateType]),
//     at least one subject and every subject named
//     pkg:npm/<name>@<version> ([ErrSubjectName]) with the bound sha512
//     ([ErrSubjectDigest]); the publish predicate must name this package.
//
// A response without provenance verifies when the manifest announces no
// provenance predicate; callers that require provenance check Provenance.
// With ProvenanceOnly, only the provenance bundles are verified (the rules
// on the publish attestation and other bundles do not apply).
func (v *Verifier) Attestations(in AttestationInput) AttestationResult {
	pkg := in.Name + "@" + in.Version
	res := AttestationResult{Status: StatusInvalid}
	if in.Name == "" || in.Version == "" {
		res.Err = fmt.Errorf("%w: attestations: package name or version missing (%q)", ErrMalformed, pkg)
		return res
	}
	b, err := bindIntegrity(pkg, in.Integrity, in.ServedIntegrity, in.ServedShasum, in.TarballIntegrity)
	if err != nil {
		res.Err = err
		return res
	}
	res.WeakIntegrity = b.weak
	switch {
	case b.sha512 == nil && b.unbound:
		res.Err = fmt.Errorf("%w: %s: the lockfile has no sha512 and shares no hash algorithm with the served integrity", ErrIntegrityMismatch, pkg)
		return res
	case b.sha512 == nil:
		res.Err = fmt.Errorf("%w: %s: neither the lockfile nor the registry gives a sha512 to bind attestation subjects to", ErrNoSHA512, pkg)
		return res
	}
	atts, err := parseAttestations(pkg, in.Body)
	if err != nil {
		res.Err = err
		return res
	}

	var errs, untrusted []error
	publishCount := 0
	expectedFound := in.ExpectedPredicate == ""
	for _, a := range atts {
		res.PredicateTypes = append(res.PredicateTypes, a.PredicateType)
		if a.PredicateType == PredicatePublish {
			publishCount++
		}
		if a.PredicateType == in.ExpectedPredicate {
			expectedFound = true
		}
	}
	switch {
	case in.ProvenanceOnly:
	case publishCount == 0:
		errs = append(errs, fmt.Errorf("%w: %s: no %s attestation among %d", ErrPublishAttestationMissing, pkg, PredicatePublish, len(atts)))
	case publishCount > 1:
		errs = append(errs, fmt.Errorf("%w: %s: %d publish attestations, exactly one is allowed", ErrMalformed, pkg, publishCount))
	}
	if !expectedFound {
		errs = append(errs, fmt.Errorf("%w: %s: the manifest announces %s but the response has %s", ErrPredicateMissing, pkg, clip(in.ExpectedPredicate), strings.Join(res.PredicateTypes, ", ")))
	}

	want := subjectWant{pkg: pkg, name: in.Name, version: in.Version, purl: npmPurl(in.Name, in.Version), sha512: b.sha512}
	for i, a := range atts {
		switch {
		case in.ProvenanceOnly && !isProvenance(a.PredicateType):
			// not verified: see ProvenanceOnly
		case a.PredicateType == PredicatePublish:
			facts, ferrs, funtrusted := v.verifyPublish(&want, i, a.Bundle)
			errs, untrusted = append(errs, ferrs...), append(untrusted, funtrusted...)
			if facts != nil && res.Publish == nil {
				res.Publish = facts
			}
		case isProvenance(a.PredicateType):
			facts, ferrs := v.verifyProvenance(&want, i, a.PredicateType, a.Bundle)
			errs = append(errs, ferrs...)
			if facts != nil && (res.Provenance == nil || a.PredicateType == in.ExpectedPredicate && res.Provenance.PredicateType != in.ExpectedPredicate) {
				res.Provenance = facts
			}
		default:
			ferrs, funtrusted := v.verifyOther(&want, i, a.PredicateType, a.Bundle)
			errs, untrusted = append(errs, ferrs...), append(untrusted, funtrusted...)
		}
	}
	switch {
	case len(errs) > 0:
		res.Err = join(append(errs, untrusted...))
	case len(untrusted) > 0:
		res.Status, res.Err = StatusUntrusted, join(untrusted)
	default:
		res.Status = StatusVerified
		return res
	}
	res.Publish, res.Provenance = nil, nil
	return res
}

func isProvenance(predicateType string) bool {
	return predicateType == PredicateSLSAv02 || predicateType == PredicateSLSAv1
}

// subjectWant is what every statement must be about.
type subjectWant struct {
	pkg, name, version, purl string
	sha512                   []byte
}

// statement is the part of an in-toto statement this package reads.
type statement struct {
	Type    string `json:"_type"`
	Subject []struct {
		Name   string            `json:"name"`
		Digest map[string]string `json:"digest"`
	} `json:"subject"`
	PredicateType string          `json:"predicateType"`
	Predicate     json.RawMessage `json:"predicate"`
}

// parsedBundle is a decoded bundle with its statement.
type parsedBundle struct {
	pb     *protobundle.Bundle
	bundle *bundle.Bundle
	stmt   statement
}

// decodeBundle parses and checks one bundle's structure and statement
// without verifying any signature: the bundle JSON, a DSSE envelope with an
// in-toto payload, the statement type, predicate type and every subject.
// Statement errors are returned in errs; a nil parsedBundle means the bundle
// itself could not be read.
func decodeBundle(w *subjectWant, what, predicateType string, raw []byte) (*parsedBundle, []error) {
	pb := new(protobundle.Bundle)
	if err := protojson.Unmarshal(raw, pb); err != nil {
		return nil, []error{fmt.Errorf("%w: %s: %s: bundle does not parse: %w", ErrMalformed, w.pkg, what, foreign(err))}
	}
	bndl, err := bundle.NewBundle(pb)
	if err != nil {
		return nil, []error{fmt.Errorf("%w: %w: %s: %s: %w", ErrBundleInvalid, ErrMalformed, w.pkg, what, foreign(err))}
	}
	env := pb.GetDsseEnvelope()
	if env == nil {
		return nil, []error{fmt.Errorf("%w: %s: %s: the bundle has no DSSE envelope", ErrMalformed, w.pkg, what)}
	}
	p := &parsedBundle{pb: pb, bundle: bndl}
	var errs []error
	if env.GetPayloadType() != intotoPayloadType {
		errs = append(errs, fmt.Errorf("%w: %s: %s: DSSE payload type %q, want %q", ErrMalformed, w.pkg, what, env.GetPayloadType(), intotoPayloadType))
	}
	if err := json.Unmarshal(env.GetPayload(), &p.stmt); err != nil {
		return p, append(errs, fmt.Errorf("%w: %s: %s: DSSE payload is not an in-toto statement: %w", ErrMalformed, w.pkg, what, foreign(err)))
	}
	s := &p.stmt
	if !statementTypes[s.Type] {
		errs = append(errs, fmt.Errorf("%w: %s: %s: statement type %q is not in-toto v0.1 or v1", ErrMalformed, w.pkg, what, s.Type))
	}
	if s.PredicateType != predicateType {
		errs = append(errs, fmt.Errorf("%w: %s: %s: the signed statement's predicateType is %q, the response says %q", ErrPredicateType, w.pkg, what, s.PredicateType, predicateType))
	}
	if len(s.Subject) == 0 {
		errs = append(errs, fmt.Errorf("%w: %s: %s: the statement has no subject", ErrSubjectName, w.pkg, what))
	}
	for i, sub := range s.Subject {
		if sub.Name != w.purl {
			errs = append(errs, fmt.Errorf("%w: %s: %s: subject %d is %q, want %q", ErrSubjectName, w.pkg, what, i, sub.Name, w.purl))
		}
		hexDigest, ok := sub.Digest["sha512"]
		if !ok {
			errs = append(errs, fmt.Errorf("%w: %s: %s: subject %d has no sha512 digest", ErrSubjectDigest, w.pkg, what, i))
			continue
		}
		d, err := hex.DecodeString(hexDigest)
		if err != nil || !bytes.Equal(d, w.sha512) {
			errs = append(errs, fmt.Errorf("%w: %s: %s: subject %d sha512 %.16s… is not the lockfile's %.16s…", ErrSubjectDigest, w.pkg, what, i, hexDigest, hex.EncodeToString(w.sha512)))
		}
	}
	return p, errs
}

// tlogFacts returns the log index and integrated time of the bundle's entry
// whose integrated time sigstore-go verified.
func tlogFacts(pb *protobundle.Bundle, res *sgverify.VerificationResult) (int64, time.Time) {
	var verified time.Time
	for _, ts := range res.VerifiedTimestamps {
		if ts.Type == "Tlog" {
			verified = ts.Timestamp
			break
		}
	}
	for _, e := range pb.GetVerificationMaterial().GetTlogEntries() {
		if e.GetIntegratedTime() == verified.Unix() {
			return e.GetLogIndex(), verified.UTC()
		}
	}
	return -1, verified.UTC()
}

// claimedIntegratedTime is the integrated time the bundle claims (not yet
// verified), zero when none.
func claimedIntegratedTime(pb *protobundle.Bundle) time.Time {
	for _, e := range pb.GetVerificationMaterial().GetTlogEntries() {
		if t := e.GetIntegratedTime(); t != 0 {
			return time.Unix(t, 0)
		}
	}
	return time.Time{}
}

func (v *Verifier) verifyPublish(w *subjectWant, idx int, raw []byte) (facts *PublishFacts, errs, untrusted []error) {
	what := fmt.Sprintf("publish attestation (%d)", idx)
	p, errs := decodeBundle(w, what, PredicatePublish, raw)
	if p == nil {
		return nil, errs, nil
	}
	if len(p.stmt.Predicate) > 0 {
		var pred struct {
			Name    string `json:"name"`
			Version string `json:"version"`
		}
		if err := json.Unmarshal(p.stmt.Predicate, &pred); err != nil {
			errs = append(errs, fmt.Errorf("%w: %s: %s: predicate: %w", ErrMalformed, w.pkg, what, foreign(err)))
		} else if pred.Name != w.name || pred.Version != w.version {
			errs = append(errs, fmt.Errorf("%w: %s: %s: the predicate names %s@%s", ErrSubjectName, w.pkg, what, pred.Name, pred.Version))
		}
	} else {
		errs = append(errs, fmt.Errorf("%w: %s: %s: no predicate", ErrMalformed, w.pkg, what))
	}
	key, res, kerrs, untrusted := v.verifyKeyed(w, what, p)
	errs = append(errs, kerrs...)
	if len(errs) > 0 || len(untrusted) > 0 {
		return nil, errs, untrusted
	}
	idxLog, at := tlogFacts(p.pb, res)
	return &PublishFacts{KeyID: key.KeyID, Pinned: key.Pinned, LogIndex: idxLog, IntegratedTime: at}, nil, nil
}

// verifyKeyed verifies a bundle signed with an npm attestation key: the
// publish attestation, or a bundle of another predicate type signed the
// same way. Failures go into errs; that the key is unknown, or known but not
// trusted, goes into untrusted (when nothing else failed, the attestations
// are untrusted rather than invalid). res is nil unless both are empty.
func (v *Verifier) verifyKeyed(w *subjectWant, what string, p *parsedBundle) (key *Key, res *sgverify.VerificationResult, errs, untrusted []error) {
	pk := p.pb.GetVerificationMaterial().GetPublicKey()
	if pk == nil {
		return nil, nil, []error{fmt.Errorf("%w: %s: %s: not signed with a registry key (no publicKey hint)", ErrBundleInvalid, w.pkg, what)}, nil
	}
	if id := envelopeKeyID(p.pb); id != "" && id != pk.GetHint() {
		errs = append(errs, fmt.Errorf("%w: %s: %s: the envelope signature names keyid %q, the bundle's key hint %q", ErrUnknownKey, w.pkg, what, id, pk.GetHint()))
	}
	key = v.keys.lookup(pk.GetHint(), UsageAttestations)
	if key == nil {
		return nil, nil, errs, []error{fmt.Errorf("%w: %s: %s: keyid %q is not a registry attestation key that anything trusts", ErrUnknownKey, w.pkg, what, pk.GetHint())}
	}
	if t := claimedIntegratedTime(p.pb); !t.IsZero() && !key.ValidAt(t) {
		return nil, nil, append(errs, fmt.Errorf("%w: %s: %s: key %s is valid %s, the entry was logged at %s", ErrKeyNotValidAtTime, w.pkg, what, key.KeyID, key.window(), t.UTC().Format(time.RFC3339))), nil
	}
	res, err := v.publish.Verify(p.bundle, sgverify.NewPolicy(sgverify.WithArtifactDigest("sha512", w.sha512), sgverify.WithKey()))
	if err != nil {
		errs = append(errs, classify(w.pkg, what, true, err))
	}
	if !key.Trusted {
		untrusted = append(untrusted, fmt.Errorf("%w: %s: %s: signed with %s, a key the registry lists but nothing trusts", ErrUntrustedKey, w.pkg, what, key.KeyID))
	}
	if len(errs) > 0 || len(untrusted) > 0 {
		return key, nil, errs, untrusted
	}
	return key, res, nil, nil
}

func (v *Verifier) verifyProvenance(w *subjectWant, idx int, predicateType string, raw []byte) (*ProvenanceFacts, []error) {
	what := fmt.Sprintf("provenance attestation (%d)", idx)
	p, errs := decodeBundle(w, what, predicateType, raw)
	if p == nil {
		return nil, errs
	}
	pred, err := parseProvenancePredicate(predicateType, p.stmt.Predicate)
	if err != nil {
		errs = append(errs, fmt.Errorf("%w: %s: %s: predicate: %w", ErrMalformed, w.pkg, what, foreign(err)))
	}
	res, kerrs := v.verifyKeyless(w, what, p)
	if errs = append(errs, kerrs...); res == nil {
		return nil, errs
	}
	facts, idErrs := provenanceFacts(w, what, predicateType, res.Signature.Certificate, pred)
	errs = append(errs, idErrs...)
	if len(errs) > 0 {
		return nil, errs
	}
	facts.LogIndex, facts.IntegratedTime = tlogFacts(p.pb, res)
	return facts, nil
}

// verifyKeyless verifies a bundle signed with a Fulcio certificate: the
// chain to the trusted root at the log time, an SCT and the transparency log
// entry. The certificate's identity is the caller's to judge. res is nil
// when verification failed (errs says why).
func (v *Verifier) verifyKeyless(w *subjectWant, what string, p *parsedBundle) (res *sgverify.VerificationResult, errs []error) {
	vc, err := p.bundle.VerificationContent()
	if err != nil {
		return nil, []error{fmt.Errorf("%w: %w: %s: %s: %w", ErrBundleInvalid, ErrCertificate, w.pkg, what, foreign(err))}
	}
	leaf := vc.Certificate()
	if leaf == nil {
		return nil, []error{fmt.Errorf("%w: %w: %s: %s: not signed with a Fulcio certificate", ErrBundleInvalid, ErrCertificate, w.pkg, what)}
	}
	// Fulcio certificates for npm provenance carry ECDSA P-256 keys; other
	// keys would also make sigstore-go try (and log) compatibility verifiers.
	if pub, ok := leaf.PublicKey.(*ecdsa.PublicKey); !ok || pub.Curve != elliptic.P256() {
		return nil, []error{fmt.Errorf("%w: %w: %s: %s: signing key is %T, not ECDSA P-256", ErrBundleInvalid, ErrCertificate, w.pkg, what, leaf.PublicKey)}
	}
	res, err = v.provenance.Verify(p.bundle, sgverify.NewPolicy(sgverify.WithArtifactDigest("sha512", w.sha512), sgverify.WithoutIdentitiesUnsafe()))
	if err != nil {
		err = classify(w.pkg, what, false, err)
		if id := envelopeKeyID(p.pb); id != "" && errors.Is(err, ErrSignatureInvalid) {
			errs = append(errs, fmt.Errorf("%w: %s: %s: the envelope signature names keyid %q, which is not the signing certificate's key", ErrUnknownKey, w.pkg, what, id))
		}
		return nil, append(errs, err)
	}
	if res.Signature == nil || res.Signature.Certificate == nil {
		return nil, []error{fmt.Errorf("%w: %w: %s: %s: no certificate in the verification result", ErrBundleInvalid, ErrCertificate, w.pkg, what)}
	}
	return res, nil
}

// verifyOther verifies a bundle whose predicate type provaudit does not
// interpret: its statement must be about this package and the lockfile's
// sha512 like every other, and its signature must verify, keyless (any
// certificate identity: nothing is read from it) or with an npm attestation
// key. Verified, it is listed among the predicate types; it adds no facts.
func (v *Verifier) verifyOther(w *subjectWant, idx int, predicateType string, raw []byte) (errs, untrusted []error) {
	what := fmt.Sprintf("attestation (%d) of type %s", idx, clip(predicateType))
	p, errs := decodeBundle(w, what, predicateType, raw)
	if p == nil {
		return errs, nil
	}
	if p.pb.GetVerificationMaterial().GetPublicKey() != nil {
		_, _, kerrs, untrusted := v.verifyKeyed(w, what, p)
		return append(errs, kerrs...), untrusted
	}
	_, kerrs := v.verifyKeyless(w, what, p)
	return append(errs, kerrs...), nil
}

// clip shortens registry-supplied text quoted in a message.
func clip(s string) string {
	const n = 120
	if len(s) > n {
		s = s[:n] + "..."
	}
	return fmt.Sprintf("%q", s)
}

// envelopeKeyID is the keyid of the DSSE envelope's first signature.
func envelopeKeyID(pb *protobundle.Bundle) string {
	if sigs := pb.GetDsseEnvelope().GetSignatures(); len(sigs) > 0 {
		return sigs[0].GetKeyid()
	}
	return ""
}

// provenanceFacts checks the certificate identity against the predicate and
// extracts the facts.
func provenanceFacts(w *subjectWant, what, predicateType string, cert *certificate.Summary, pred *provenancePredicate) (*ProvenanceFacts, []error) {
	var errs []error
	origin, known := ciIssuers[cert.Issuer]
	if !known {
		errs = append(errs, fmt.Errorf("%w: %s: %s: certificate issued for %q (%s), not a known CI provider", ErrUntrustedIssuer, w.pkg, what, cert.Issuer, cert.SubjectAlternativeName))
		return nil, errs
	}
	certRepo := cert.SourceRepositoryURI
	if certRepo == "" && cert.GithubWorkflowRepository != "" && cert.Issuer == IssuerGitHubActions {
		certRepo = origin + "/" + cert.GithubWorkflowRepository
	}
	certCommit := cert.SourceRepositoryDigest
	if certCommit == "" {
		certCommit = cert.GithubWorkflowSHA
	}
	if pred == nil {
		pred = &provenancePredicate{}
	}
	switch {
	case certRepo == "":
		errs = append(errs, fmt.Errorf("%w: %s: %s: the certificate names no source repository", ErrIdentityMismatch, w.pkg, what))
	case pred.repository == "":
		errs = append(errs, fmt.Errorf("%w: %s: %s: the predicate names no source repository", ErrIdentityMismatch, w.pkg, what))
	case !strings.EqualFold(strings.TrimSuffix(certRepo, ".git"), strings.TrimSuffix(pred.repository, ".git")):
		errs = append(errs, fmt.Errorf("%w: %s: %s: the certificate's source repository is %s, the predicate's %s", ErrIdentityMismatch, w.pkg, what, certRepo, pred.repository))
	}
	if certCommit != "" && pred.commit != "" && !strings.EqualFold(certCommit, pred.commit) {
		errs = append(errs, fmt.Errorf("%w: %s: %s: the certificate's commit is %s, the predicate's %s", ErrIdentityMismatch, w.pkg, what, certCommit, pred.commit))
	}
	if len(errs) > 0 {
		return nil, errs
	}
	f := &ProvenanceFacts{
		PredicateType:     predicateType,
		SourceRepository:  certRepo,
		Commit:            firstNonEmpty(certCommit, pred.commit),
		WorkflowRef:       firstNonEmpty(cert.SourceRepositoryRef, cert.GithubWorkflowRef, pred.ref),
		BuilderID:         pred.builderID,
		BuildType:         pred.buildType,
		Issuer:            cert.Issuer,
		RunnerEnvironment: firstNonEmpty(cert.RunnerEnvironment, pred.runnerEnvironment),
		RunURL:            firstNonEmpty(cert.RunInvocationURI, pred.runURL),
		CertificateSAN:    cert.SubjectAlternativeName,
		RepositoryID:      cert.SourceRepositoryIdentifier,
		OwnerID:           cert.SourceRepositoryOwnerIdentifier,
		Owner:             cert.SourceRepositoryOwnerURI,
		BuildTrigger:      firstNonEmpty(cert.BuildTrigger, cert.GithubWorkflowTrigger),
		BuildSignerURI:    cert.BuildSignerURI,
	}
	f.WorkflowPath = firstNonEmpty(workflowPathFromURI(certRepo, cert.BuildConfigURI), pred.workflowPath)
	if f.WorkflowPath == "" && cert.BuildConfigURI == "" {
		f.WorkflowPath = workflowPathFromURI(certRepo, cert.SubjectAlternativeName)
	}
	return f, nil
}

// workflowPathFromURI turns "https://github.com/o/r/.github/workflows/x.yml@ref"
// (or GitLab's "https://gitlab.com/g/p//.gitlab-ci.yml@ref") into the path
// of the workflow file within repo; "" when uri is not within repo.
func workflowPathFromURI(repo, uri string) string {
	if repo == "" || !strings.HasPrefix(strings.ToLower(uri), strings.ToLower(repo)+"/") {
		return ""
	}
	rest := strings.TrimLeft(uri[len(repo):], "/")
	path, _, _ := strings.Cut(rest, "@")
	return path
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}
