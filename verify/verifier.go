package verify

import (
	"crypto"
	"fmt"
	"time"

	"github.com/sigstore/sigstore-go/pkg/root"
	sgverify "github.com/sigstore/sigstore-go/pkg/verify"
	"github.com/sigstore/sigstore/pkg/signature"
)

// Known CI providers whose OIDC issuers may sign npm provenance.
const (
	// IssuerGitHubActions is the OIDC issuer of GitHub Actions.
	IssuerGitHubActions = "https://token.actions.githubusercontent.com"
	// IssuerGitLab is the OIDC issuer of GitLab CI on gitlab.com.
	IssuerGitLab = "https://gitlab.com"
)

// ciIssuers maps each accepted provenance OIDC issuer to the web origin of
// its repositories. Self-managed GitLab instances are not accepted: each is
// its own issuer, and nothing in the trust material says which of them to
// believe.
var ciIssuers = map[string]string{
	IssuerGitHubActions: "https://github.com",
	IssuerGitLab:        "https://gitlab.com",
}

type options struct {
	now func() time.Time
}

// Option configures a [Verifier].
type Option func(*options)

// WithNow sets the clock used to decide whether a key is valid now (only
// when no publish time is known). The default is [time.Now]. Sigstore
// bundles are always judged at their transparency log time, never now.
func WithNow(now func() time.Time) Option {
	return func(o *options) { o.now = now }
}

// Verifier checks registry signatures and attestations against one [Trust]
// and one [Keyring]. It builds its sigstore-go verifiers once; all methods
// are safe for concurrent use and do no I/O.
type Verifier struct {
	trust *Trust
	keys  *Keyring
	now   func() time.Time

	// provenance verifies keyless bundles: Fulcio chain to the trusted
	// root at the log time, SCT, transparency log entry with SET.
	provenance *sgverify.Verifier
	// publish verifies bundles signed by npm attestation keys: transparency
	// log entry with SET, key valid at the log time.
	publish *sgverify.Verifier
}

// NewVerifier builds a Verifier. Both t and kr are required; every key kr
// marks as pinned must be one of t's pinned keys.
func NewVerifier(t *Trust, kr *Keyring, opts ...Option) (*Verifier, error) {
	if t == nil {
		return nil, fmt.Errorf("%w: verifier: no trust material", ErrMalformed)
	}
	if kr == nil {
		return nil, fmt.Errorf("%w: verifier: no keyring", ErrMalformed)
	}
	o := options{now: time.Now}
	for _, opt := range opts {
		opt(&o)
	}
	if o.now == nil {
		return nil, fmt.Errorf("%w: verifier: WithNow(nil)", ErrMalformed)
	}
	for _, k := range kr.keys {
		if k.Pinned && !trustPins(t, &k) {
			return nil, fmt.Errorf("%w: verifier: keyring pins %s (%s) but the trust material does not", ErrMalformed, k.KeyID, k.Usage)
		}
	}

	provenance, err := sgverify.NewVerifier(t.root,
		sgverify.WithSignedCertificateTimestamps(1),
		sgverify.WithTransparencyLog(1),
		sgverify.WithIntegratedTimestamps(1),
		sgverify.WithoutStatementPredicate(),
	)
	if err != nil {
		return nil, fmt.Errorf("verifier: provenance: %w", err)
	}

	pm := &publishMaterial{logs: t.root.RekorLogs(), keys: map[string]*root.ExpiringKey{}}
	for _, k := range kr.keys {
		if !k.usableFor(UsageAttestations) {
			continue
		}
		sv, err := signature.LoadECDSAVerifier(k.Public, crypto.SHA256)
		if err != nil {
			return nil, fmt.Errorf("%w: verifier: key %s: %w", ErrMalformed, k.KeyID, err)
		}
		// sigstore-go's validity check is inclusive at the end; a key is
		// valid strictly before its expires instant.
		end := k.End
		if !end.IsZero() {
			end = end.Add(-time.Nanosecond)
		}
		pm.keys[k.KeyID] = root.NewExpiringKey(sv, k.Start, end)
	}
	publish, err := sgverify.NewVerifier(pm,
		sgverify.WithTransparencyLog(1),
		sgverify.WithIntegratedTimestamps(1),
		sgverify.WithoutStatementPredicate(),
	)
	if err != nil {
		return nil, fmt.Errorf("verifier: publish: %w", err)
	}
	return &Verifier{trust: t, keys: kr, now: o.now, provenance: provenance, publish: publish}, nil
}

func trustPins(t *Trust, k *Key) bool {
	for i := range t.pinned {
		p := &t.pinned[i]
		if p.KeyID == k.KeyID && p.Usage == k.Usage && p.Public.Equal(k.Public) && p.Start.Equal(k.Start) && p.End.Equal(k.End) {
			return true
		}
	}
	return false
}

// Keyring returns the verifier's keyring.
func (v *Verifier) Keyring() *Keyring { return v.keys }

// Trust returns the verifier's trust material.
func (v *Verifier) Trust() *Trust { return v.trust }

// publishMaterial is the trusted material of the publish verifier: the
// trusted root's transparency logs and the npm attestation keys by keyid,
// nothing else (no Fulcio CA, so a certificate-signed bundle cannot pass as
// a publish attestation). It plays the role of a
// root.TrustedMaterialCollection{rekor logs, key material} without copying
// the log map on every lookup.
type publishMaterial struct {
	root.BaseTrustedMaterial
	logs map[string]*root.TransparencyLog
	keys map[string]*root.ExpiringKey
}

func (m *publishMaterial) RekorLogs() map[string]*root.TransparencyLog { return m.logs }

func (m *publishMaterial) PublicKeyVerifier(keyID string) (root.TimeConstrainedVerifier, error) {
	if k, ok := m.keys[keyID]; ok {
		return k, nil
	}
	return nil, fmt.Errorf("%w: %s", ErrUnknownKey, keyID)
}
