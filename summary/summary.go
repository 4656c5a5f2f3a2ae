package summary

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	intoto "github.com/in-toto/attestation/go/v1"
	"github.com/secure-systems-lab/go-securesystemslib/dsse"
	"github.com/secure-systems-lab/go-securesystemslib/signerverifier"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/provaudit/provaudit/audit"
)

const (
	// PayloadType is the DSSE payload type of the envelope: an in-toto
	// statement.
	PayloadType = "application/vnd.in-toto+json"
	// PredicateType names provaudit's verification summary predicate
	// (version 1). Its fields are those of [Predicate].
	PredicateType = "https://github.com/provaudit/provaudit/summary/v1"
	// MaxEnvelopeSize bounds the envelopes [Verify] accepts: a summary is a
	// few kilobytes.
	MaxEnvelopeSize = 1 << 20
)

// Errors of [Verify]. [ErrMalformed] means the input cannot be used;
// [ErrSignature] and [ErrSubject] mean it does not verify.
var (
	// ErrMalformed: not a DSSE envelope of an in-toto v1 statement with a
	// provaudit summary predicate.
	ErrMalformed = errors.New("malformed verification summary")
	// ErrSignature: no signature in the envelope verifies with the key.
	ErrSignature = errors.New("signature does not verify")
	// ErrSubject: the signed lockfile digest is not the given lockfile's.
	ErrSubject = errors.New("lockfile does not match the signed subject")
)

// Outcome results, as in [Outcome].Result.
const (
	ResultPass       = "pass"
	ResultFindings   = "findings"
	ResultIncomplete = "incomplete"
)

// Predicate is the signed summary of one audit.
type Predicate struct {
	// Tool is the provaudit that audited.
	Tool audit.Tool `json:"tool"`
	// Lockfile is the lockfile information of the JSON report.
	Lockfile audit.LockfileInfo `json:"lockfile"`
	// ReportSchemaVersion is the schemaVersion of the JSON report whose
	// summary Summary is.
	ReportSchemaVersion int `json:"reportSchemaVersion"`
	// Summary is the JSON report's summary object, as the report writes it.
	Summary json.RawMessage `json:"summary"`
	// Policy holds the options the outcome depends on.
	Policy Policy `json:"policy"`
	// Outcome is the verdict of the audit.
	Outcome Outcome `json:"outcome"`
}

// Policy holds the audit options that decide its outcome, and what the
// audit covered: a reader of a passing summary must be able to tell a
// full audit from one that compared the lockfile with an older one, or
// ran with rules off.
type Policy struct {
	FailOn            string   `json:"failOn"`
	RequireProvenance bool     `json:"requireProvenance"`
	RequireSignatures bool     `json:"requireSignatures"`
	Omit              []string `json:"omit"`
	// History tells whether the release-history rules ran (--no-history
	// turns them off, and an evidence bundle recorded without them).
	History bool `json:"history"`
	// DisabledRules lists the policy rules switched off (by a policy file
	// the person running provaudit gave), [] when none.
	DisabledRules []string `json:"disabledRules"`
	// MinimumReleaseAge is the release-age policy ("" when none), as Go
	// writes a duration.
	MinimumReleaseAge string `json:"minimumReleaseAge,omitempty"`
	// File is the policy file applied, who named it, and the identity
	// baseline compared with (the JSON report's policy object); nil when
	// there was none of them.
	File *audit.PolicyInfo `json:"file,omitempty"`
	// Diff is set for an audit in diff mode: only the packages new or
	// changed against Diff.Baseline were audited, the unchanged ones were
	// skipped (the JSON report's diff object).
	Diff *audit.DiffInfo `json:"diff,omitempty"`
}

// Outcome is the verdict of an audit: its exit code, ResultPass (0),
// ResultFindings (1) or ResultIncomplete (3), and the message provaudit
// printed ("" for a pass).
type Outcome struct {
	ExitCode int    `json:"exitCode"`
	Result   string `json:"result"`
	Message  string `json:"message,omitempty"`
}

// NewPredicate makes the predicate of an audit result.
func NewPredicate(r *audit.Result, policy Policy, outcome Outcome) (*Predicate, error) {
	s, err := json.Marshal(r.Summary)
	if err != nil {
		return nil, err
	}
	if policy.Omit == nil {
		policy.Omit = []string{}
	}
	if policy.DisabledRules == nil {
		policy.DisabledRules = []string{}
	}
	return &Predicate{
		Tool: r.Tool, Lockfile: r.Lockfile, ReportSchemaVersion: r.SchemaVersion,
		Summary: s, Policy: policy, Outcome: outcome,
	}, nil
}

// Subject is the lockfile a summary is about.
type Subject struct {
	// Name is the lockfile path as the audit reported it.
	Name string
	// SHA256 is the digest of the lockfile bytes audited.
	SHA256 [sha256.Size]byte
}

// Sign returns the DSSE envelope, signed with key, of the in-toto statement
// about subject with predicate p, as one JSON line ending in "\n".
func Sign(key ed25519.PrivateKey, subject Subject, p *Predicate) ([]byte, error) {
	if len(key) != ed25519.PrivateKeySize {
		return nil, fmt.Errorf("%w: Ed25519 private key of %d bytes", ErrKey, len(key))
	}
	if err := p.check(); err != nil {
		return nil, fmt.Errorf("signing the summary: %w", err)
	}
	pj, err := json.Marshal(p)
	if err != nil {
		return nil, err
	}
	pred := &structpb.Struct{}
	if err := protojson.Unmarshal(pj, pred); err != nil {
		return nil, err
	}
	st := &intoto.Statement{
		Type: intoto.StatementTypeUri,
		Subject: []*intoto.ResourceDescriptor{{
			Name:   subject.Name,
			Digest: map[string]string{"sha256": hex.EncodeToString(subject.SHA256[:])},
		}},
		PredicateType: PredicateType,
		Predicate:     pred,
	}
	if err := st.Validate(); err != nil {
		return nil, fmt.Errorf("signing the summary: %w", err)
	}
	payload, err := protojson.Marshal(st)
	if err != nil {
		return nil, err
	}
	sv, err := signerVerifier(key.Public().(ed25519.PublicKey), key)
	if err != nil {
		return nil, err
	}
	signer, err := dsse.NewEnvelopeSigner(sv)
	if err != nil {
		return nil, err
	}
	env, err := signer.SignPayload(context.Background(), PayloadType, payload)
	if err != nil {
		return nil, err
	}
	out, err := json.Marshal(env)
	if err != nil {
		return nil, err
	}
	return append(out, '\n'), nil
}

// signerVerifier is securesystemslib's Ed25519 signer and verifier for the
// key, identified by [KeyID]. priv may be nil for verifying only.
func signerVerifier(pub ed25519.PublicKey, priv ed25519.PrivateKey) (*signerverifier.ED25519SignerVerifier, error) {
	id, err := KeyID(pub)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrKey, err)
	}
	k := &signerverifier.SSLibKey{
		KeyType: signerverifier.ED25519KeyType,
		Scheme:  signerverifier.ED25519KeyType,
		KeyID:   id,
		KeyVal:  signerverifier.KeyVal{Public: hex.EncodeToString(pub)},
	}
	if priv != nil {
		k.KeyVal.Private = hex.EncodeToString(priv)
	}
	return signerverifier.NewED25519SignerVerifierFromSSLibKey(k)
}

// Verified is a summary whose signature and subject verified.
type Verified struct {
	// KeyID identifies the key that signed.
	KeyID string
	// Subject is the signed subject; its digest is the lockfile's.
	Subject Subject
	// Predicate is the signed summary.
	Predicate Predicate
}

// Verify checks the DSSE envelope env (one JSON value, as [Sign] writes it)
// against the public key pub and the current bytes of the lockfile, and
// returns what it signs. See the package documentation for the checks and
// their errors.
func Verify(env []byte, pub ed25519.PublicKey, lockfile []byte) (*Verified, error) {
	e, err := parseEnvelope(env)
	if err != nil {
		return nil, err
	}
	sv, err := signerVerifier(pub, nil)
	if err != nil {
		return nil, err
	}
	keyID, _ := sv.KeyID()
	var others []string
	for _, s := range e.Signatures {
		if s.KeyID != "" && s.KeyID != keyID {
			others = append(others, s.KeyID)
		}
	}
	switch {
	case len(e.Signatures) == 0:
		return nil, fmt.Errorf("%w: the envelope carries no signature", ErrSignature)
	case len(others) == len(e.Signatures):
		return nil, fmt.Errorf("%w: signed by %s, not by the given key %s", ErrSignature, strings.Join(others, ", "), keyID)
	}
	ev, err := dsse.NewEnvelopeVerifier(sv)
	if err != nil {
		return nil, err
	}
	_, payload, err := ev.VerifyAndDecode(context.Background(), e)
	if err != nil {
		return nil, fmt.Errorf("%w: no signature by %s verifies over the envelope (altered after signing, or signed by another key under this key's id)", ErrSignature, keyID)
	}

	st := &intoto.Statement{}
	if err := protojson.Unmarshal(payload, st); err != nil {
		return nil, fmt.Errorf("%w: the signed payload is not an in-toto statement: %w", ErrMalformed, err)
	}
	if st.GetType() != intoto.StatementTypeUri {
		return nil, fmt.Errorf("%w: statement type %q, want %q", ErrMalformed, st.GetType(), intoto.StatementTypeUri)
	}
	if err := st.Validate(); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	if st.GetPredicateType() != PredicateType {
		return nil, fmt.Errorf("%w: predicate type %q, want %q", ErrMalformed, st.GetPredicateType(), PredicateType)
	}
	subjects := st.GetSubject()
	if len(subjects) != 1 {
		return nil, fmt.Errorf("%w: %d subjects, want the lockfile alone", ErrMalformed, len(subjects))
	}
	var v Verified
	v.KeyID = keyID
	v.Subject.Name = subjects[0].GetName()
	d, err := hex.DecodeString(subjects[0].GetDigest()["sha256"])
	if err != nil || len(d) != sha256.Size {
		return nil, fmt.Errorf("%w: the subject has no sha256 digest", ErrMalformed)
	}
	copy(v.Subject.SHA256[:], d)
	pj, err := protojson.Marshal(st.GetPredicate())
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(pj))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&v.Predicate); err != nil {
		return nil, fmt.Errorf("%w: predicate: %w", ErrMalformed, err)
	}
	if err := v.Predicate.check(); err != nil {
		return nil, err
	}
	if got := sha256.Sum256(lockfile); got != v.Subject.SHA256 {
		return nil, fmt.Errorf("%w: signed sha256 %x (%s), the lockfile has %x", ErrSubject, v.Subject.SHA256, v.Subject.Name, got)
	}
	return &v, nil
}

// parseEnvelope decodes one DSSE envelope of PayloadType whose payload and
// signatures are valid base64.
func parseEnvelope(b []byte) (*dsse.Envelope, error) {
	if len(b) > MaxEnvelopeSize {
		return nil, fmt.Errorf("%w: %d bytes, more than the %d a summary may have", ErrMalformed, len(b), MaxEnvelopeSize)
	}
	if len(bytes.TrimSpace(b)) == 0 {
		return nil, fmt.Errorf("%w: the file is empty", ErrMalformed)
	}
	var raw struct {
		PayloadType *string          `json:"payloadType"`
		Payload     *string          `json:"payload"`
		Signatures  []dsse.Signature `json:"signatures"`
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(&raw); err != nil {
		return nil, fmt.Errorf("%w: not a JSON DSSE envelope: %w", ErrMalformed, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("%w: more than one JSON value, want one envelope", ErrMalformed)
	}
	if raw.PayloadType == nil || raw.Payload == nil {
		return nil, fmt.Errorf("%w: not a DSSE envelope (no payloadType or payload)", ErrMalformed)
	}
	if *raw.PayloadType != PayloadType {
		return nil, fmt.Errorf("%w: payload type %q, want %q", ErrMalformed, *raw.PayloadType, PayloadType)
	}
	if !isBase64(*raw.Payload) {
		return nil, fmt.Errorf("%w: the payload is not base64", ErrMalformed)
	}
	for i, s := range raw.Signatures {
		if !isBase64(s.Sig) {
			return nil, fmt.Errorf("%w: signature %d is not base64", ErrMalformed, i)
		}
	}
	return &dsse.Envelope{PayloadType: *raw.PayloadType, Payload: *raw.Payload, Signatures: raw.Signatures}, nil
}

// isBase64 reports whether s is standard or URL-safe base64, the two
// encodings DSSE allows.
func isBase64(s string) bool {
	if _, err := base64.StdEncoding.DecodeString(s); err == nil {
		return true
	}
	_, err := base64.URLEncoding.DecodeString(s)
	return err == nil
}

// check validates what verifiers rely on.
func (p *Predicate) check() error {
	want := map[string]int{ResultPass: 0, ResultFindings: 1, ResultIncomplete: 3}
	code, ok := want[p.Outcome.Result]
	switch {
	case !ok:
		return fmt.Errorf("%w: outcome %q, want %s, %s or %s", ErrMalformed, p.Outcome.Result, ResultPass, ResultFindings, ResultIncomplete)
	case code != p.Outcome.ExitCode:
		return fmt.Errorf("%w: outcome %s with exit code %d", ErrMalformed, p.Outcome.Result, p.Outcome.ExitCode)
	case len(p.Summary) == 0 || p.Summary[0] != '{':
		return fmt.Errorf("%w: the predicate has no summary object", ErrMalformed)
	}
	return nil
}
