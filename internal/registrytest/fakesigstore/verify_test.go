package fakesigstore_test

import (
	"crypto"
	"crypto/sha512"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/sigstore/sigstore-go/pkg/bundle"
	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore-go/pkg/verify"
	"github.com/sigstore/sigstore/pkg/signature"

	"github.com/provaudit/provaudit/internal/registrytest/fakesigstore"
)

// integrityOf returns the npm integrity of some tarball bytes and the raw
// sha512 digest.
func integrityOf(data string) (string, []byte) {
	sum := sha512.Sum512([]byte(data))
	return "sha512-" + base64.StdEncoding.EncodeToString(sum[:]), sum[:]
}

func newFake(t testing.TB, opts fakesigstore.Options) *fakesigstore.Sigstore {
	t.Helper()
	s, err := fakesigstore.New(opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return s
}

// trust is the sigstore-go view of a fake's trust material, built only from
// the published JSON documents (TrustedRoot, NpmKeysTUF), as a consumer
// would.
type trust struct {
	root       *root.TrustedRoot
	withNpm    root.TrustedMaterialCollection
	provenance *verify.Verifier // SCT + tlog + observer timestamps
	publish    *verify.Verifier // tlog + observer timestamps (keys carry no SCTs)
}

func newTrust(t testing.TB, s *fakesigstore.Sigstore) *trust {
	t.Helper()
	tr, err := root.NewTrustedRootFromJSON(s.TrustedRoot())
	if err != nil {
		t.Fatalf("parsing TrustedRoot: %v", err)
	}
	var keys struct {
		Keys []struct {
			KeyID     string `json:"keyId"`
			KeyUsage  string `json:"keyUsage"`
			PublicKey struct {
				RawBytes   []byte `json:"rawBytes"`
				KeyDetails string `json:"keyDetails"`
				ValidFor   struct {
					Start time.Time  `json:"start"`
					End   *time.Time `json:"end"`
				} `json:"validFor"`
			} `json:"publicKey"`
		} `json:"keys"`
	}
	if err := json.Unmarshal(s.NpmKeysTUF(), &keys); err != nil {
		t.Fatalf("parsing NpmKeysTUF: %v", err)
	}
	expiring := map[string]*root.ExpiringKey{}
	for _, k := range keys.Keys {
		if k.KeyUsage != "npm:attestations" {
			continue
		}
		pub, err := x509.ParsePKIXPublicKey(k.PublicKey.RawBytes)
		if err != nil {
			t.Fatalf("key %s: %v", k.KeyID, err)
		}
		v, err := signature.LoadVerifier(pub, crypto.SHA256)
		if err != nil {
			t.Fatalf("key %s: %v", k.KeyID, err)
		}
		var end time.Time
		if k.PublicKey.ValidFor.End != nil {
			end = *k.PublicKey.ValidFor.End
		}
		expiring[k.KeyID] = root.NewExpiringKey(v, k.PublicKey.ValidFor.Start, end)
	}
	coll := root.TrustedMaterialCollection{tr, root.NewTrustedPublicKeyMaterialFromMapping(expiring)}
	prov, err := verify.NewVerifier(tr, verify.WithSignedCertificateTimestamps(1), verify.WithTransparencyLog(1), verify.WithObserverTimestamps(1))
	if err != nil {
		t.Fatalf("NewVerifier: %v", err)
	}
	pub, err := verify.NewVerifier(coll, verify.WithTransparencyLog(1), verify.WithObserverTimestamps(1))
	if err != nil {
		t.Fatalf("NewVerifier: %v", err)
	}
	return &trust{root: tr, withNpm: coll, provenance: prov, publish: pub}
}

// verifyProvenance verifies a provenance bundle with sigstore-go, bound to
// the artifact digest and to the expected certificate identity.
func (tr *trust) verifyProvenance(bundleJSON []byte, digest []byte, san, issuer string) (*verify.VerificationResult, error) {
	var b bundle.Bundle
	if err := b.UnmarshalJSON(bundleJSON); err != nil {
		return nil, fmt.Errorf("parsing bundle: %w", err)
	}
	id, err := verify.NewShortCertificateIdentity(issuer, "", san, "")
	if err != nil {
		return nil, err
	}
	return tr.provenance.Verify(&b, verify.NewPolicy(verify.WithArtifactDigest("sha512", digest), verify.WithCertificateIdentity(id)))
}

// verifyPublish verifies a publish bundle with sigstore-go against the npm
// keys, bound to the artifact digest.
func (tr *trust) verifyPublish(bundleJSON []byte, digest []byte) (*verify.VerificationResult, error) {
	var b bundle.Bundle
	if err := b.UnmarshalJSON(bundleJSON); err != nil {
		return nil, fmt.Errorf("parsing bundle: %w", err)
	}
	return tr.publish.Verify(&b, verify.NewPolicy(verify.WithArtifactDigest("sha512", digest), verify.WithKey()))
}

func TestProvenanceAndPublishVerify(t *testing.T) {
	s := newFake(t, fakesigstore.Options{})
	tr := newTrust(t, s)
	integrity, digest := integrityOf("tarball of left-pad@1.3.0")
	a := fakesigstore.Attest{Name: "left-pad", Version: "1.3.0", Integrity: integrity}
	prov, err := s.ProvenanceBundle(a)
	if err != nil {
		t.Fatal(err)
	}
	res, err := tr.verifyProvenance(prov, digest, "https://github.com/fake-org/left-pad/.github/workflows/release.yml@refs/tags/v1.3.0", fakesigstore.DefaultIssuer)
	if err != nil {
		t.Fatalf("provenance: %v\n%s", err, prov)
	}
	_ = res
	pub, err := s.PublishBundle(a)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tr.verifyPublish(pub, digest); err != nil {
		t.Fatalf("publish: %v\n%s", err, pub)
	}
	_ = hex.EncodeToString
}
