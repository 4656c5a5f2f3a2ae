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
// the published documents (TrustedRoot, NpmKeysTUF) as a consumer would.
type trust struct {
	provenance *verify.Verifier // SCT + tlog + observer timestamps
	publish    *verify.Verifier // tlog + observer timestamps: keys carry no SCTs
}

func newTrust(t testing.TB, s *fakesigstore.Sigstore) *trust {
	t.Helper()
	return newTrustFrom(t, s.TrustedRoot(), s.NpmKeysTUF())
}

func newTrustFrom(t testing.TB, trustedRoot, npmKeysTUF []byte) *trust {
	t.Helper()
	tr, err := root.NewTrustedRootFromJSON(trustedRoot)
	if err != nil {
		t.Fatalf("parsing trusted root: %v", err)
	}
	var keys struct {
		Keys []struct {
			KeyID     string `json:"keyId"`
			KeyUsage  string `json:"keyUsage"`
			PublicKey struct {
				RawBytes []byte `json:"rawBytes"`
				ValidFor struct {
					Start time.Time  `json:"start"`
					End   *time.Time `json:"end"`
				} `json:"validFor"`
			} `json:"publicKey"`
		} `json:"keys"`
	}
	if err := json.Unmarshal(npmKeysTUF, &keys); err != nil {
		t.Fatalf("parsing npm TUF keys: %v", err)
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
	if len(expiring) == 0 {
		t.Fatal("no npm:attestations keys")
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
	return &trust{provenance: prov, publish: pub}
}

func parseBundle(bundleJSON []byte) (*bundle.Bundle, error) {
	var b bundle.Bundle
	if err := b.UnmarshalJSON(bundleJSON); err != nil {
		return nil, fmt.Errorf("parsing bundle: %w", err)
	}
	return &b, nil
}

// verifyProvenance verifies a provenance bundle with sigstore-go, bound to
// the artifact digest and to the expected certificate identity.
func (tr *trust) verifyProvenance(bundleJSON, digest []byte, san, issuer string) (*verify.VerificationResult, error) {
	b, err := parseBundle(bundleJSON)
	if err != nil {
		return nil, err
	}
	id, err := verify.NewShortCertificateIdentity(issuer, "", san, "")
	if err != nil {
		return nil, err
	}
	return tr.provenance.Verify(b, verify.NewPolicy(verify.WithArtifactDigest("sha512", digest), verify.WithCertificateIdentity(id)))
}

// verifyPublish verifies a publish bundle with sigstore-go against the npm
// keys, bound to the artifact digest.
func (tr *trust) verifyPublish(bundleJSON, digest []byte) (*verify.VerificationResult, error) {
	b, err := parseBundle(bundleJSON)
	if err != nil {
		return nil, err
	}
	return tr.publish.Verify(b, verify.NewPolicy(verify.WithArtifactDigest("sha512", digest), verify.WithKey()))
}

// attestations is the decoded body of Sigstore.Attestations.
type attestations struct {
	Attestations []struct {
		PredicateType string          `json:"predicateType"`
		Bundle        json.RawMessage `json:"bundle"`
	} `json:"attestations"`
}

func decodeAttestations(t testing.TB, body []byte) attestations {
	t.Helper()
	var a attestations
	if err := json.Unmarshal(body, &a); err != nil {
		t.Fatalf("attestations body: %v\n%s", err, body)
	}
	return a
}

// bundleInfo is what the tests read back from a bundle's JSON, independently
// of the generator.
type bundleInfo struct {
	MediaType            string `json:"mediaType"`
	VerificationMaterial struct {
		PublicKey *struct {
			Hint string `json:"hint"`
		} `json:"publicKey"`
		Certificate *struct {
			RawBytes []byte `json:"rawBytes"`
		} `json:"certificate"`
		X509CertificateChain *struct {
			Certificates []struct {
				RawBytes []byte `json:"rawBytes"`
			} `json:"certificates"`
		} `json:"x509CertificateChain"`
		TlogEntries []struct {
			LogIndex    int64 `json:"logIndex,string"`
			KindVersion struct {
				Kind, Version string
			} `json:"kindVersion"`
			IntegratedTime   int64 `json:"integratedTime,string"`
			InclusionPromise *struct {
				SignedEntryTimestamp []byte `json:"signedEntryTimestamp"`
			} `json:"inclusionPromise"`
			InclusionProof *struct {
				LogIndex   int64    `json:"logIndex,string"`
				RootHash   []byte   `json:"rootHash"`
				TreeSize   int64    `json:"treeSize,string"`
				Hashes     [][]byte `json:"hashes"`
				Checkpoint struct {
					Envelope string `json:"envelope"`
				} `json:"checkpoint"`
			} `json:"inclusionProof"`
			CanonicalizedBody []byte `json:"canonicalizedBody"`
		} `json:"tlogEntries"`
	} `json:"verificationMaterial"`
	DSSEEnvelope struct {
		Payload     []byte `json:"payload"`
		PayloadType string `json:"payloadType"`
		Signatures  []struct {
			Sig   string `json:"sig"`
			KeyID string `json:"keyid"`
		} `json:"signatures"`
	} `json:"dsseEnvelope"`
}

func decodeBundle(t testing.TB, b []byte) bundleInfo {
	t.Helper()
	var info bundleInfo
	if err := json.Unmarshal(b, &info); err != nil {
		t.Fatalf("bundle: %v\n%s", err, b)
	}
	if len(info.VerificationMaterial.TlogEntries) != 1 {
		t.Fatalf("bundle has %d tlog entries, want 1", len(info.VerificationMaterial.TlogEntries))
	}
	return info
}

func hexOf(b []byte) string { return hex.EncodeToString(b) }
