package registrytest

import (
	"crypto"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/sigstore/sigstore-go/pkg/bundle"
	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore-go/pkg/verify"
	sigsig "github.com/sigstore/sigstore/pkg/signature"

	"github.com/provaudit/provaudit/internal/registrytest/fakesigstore"
)

// sigstoreVerifiers builds sigstore-go verifiers from what a consumer gets:
// the fake's trusted_root.json and the registry's /-/npm/v1/keys body.
func sigstoreVerifiers(t *testing.T, trustedRoot, npmKeys []byte) (prov, pub *verify.Verifier) {
	t.Helper()
	tr, err := root.NewTrustedRootFromJSON(trustedRoot)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Keys []struct {
			Expires *time.Time `json:"expires"`
			KeyID   string     `json:"keyid"`
			Key     string     `json:"key"`
		} `json:"keys"`
	}
	if err := json.Unmarshal(npmKeys, &doc); err != nil {
		t.Fatal(err)
	}
	keys := map[string]*root.ExpiringKey{}
	for _, k := range doc.Keys {
		der, err := base64.StdEncoding.DecodeString(k.Key)
		if err != nil {
			t.Fatal(err)
		}
		pk, err := x509.ParsePKIXPublicKey(der)
		if err != nil {
			t.Fatal(err)
		}
		v, err := sigsig.LoadVerifier(pk, crypto.SHA256)
		if err != nil {
			t.Fatal(err)
		}
		var end time.Time
		if k.Expires != nil {
			end = *k.Expires
		}
		keys[k.KeyID] = root.NewExpiringKey(v, time.Time{}, end)
	}
	coll := root.TrustedMaterialCollection{tr, root.NewTrustedPublicKeyMaterialFromMapping(keys)}
	if prov, err = verify.NewVerifier(tr, verify.WithSignedCertificateTimestamps(1), verify.WithTransparencyLog(1), verify.WithObserverTimestamps(1)); err != nil {
		t.Fatal(err)
	}
	if pub, err = verify.NewVerifier(coll, verify.WithTransparencyLog(1), verify.WithObserverTimestamps(1)); err != nil {
		t.Fatal(err)
	}
	return prov, pub
}

// TestServedAttestationsVerify checks the whole path a client takes: version
// document -> dist.attestations.url -> bundles, verified by sigstore-go
// against the fake trusted root and the served keys, bound to the lockfile
// integrity, with the integrated time the package's publish time.
func TestServedAttestationsVerify(t *testing.T) {
	r := newRegistry(t, Options{})
	tarball := []byte("the tarball of @fake/lib@3.1.4")
	integrity := sriSHA512(tarball)
	if err := r.Add(Package{Name: "@fake/lib", Version: "3.1.4", Integrity: integrity, Signed: true, Attested: true, PublishTime: published}); err != nil {
		t.Fatal(err)
	}
	prov, pub := sigstoreVerifiers(t, r.Sigstore().TrustedRoot(), mustGet(t, r, "/-/npm/v1/keys"))
	doc := decode[testVersionDoc](t, mustGet(t, r, "/@fake%2flib/3.1.4"))
	att := decode[testAttestations](t, mustGet(t, r, strings.TrimPrefix(doc.Dist.Attestations.URL, r.URL())))
	digest, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(integrity, "sha512-"))
	if err != nil {
		t.Fatal(err)
	}
	id, err := verify.NewShortCertificateIdentity(fakesigstore.DefaultIssuer, "", "", `^https://github\.com/.+/\.github/workflows/release\.yml@refs/tags/v3\.1\.4$`)
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range att.Attestations {
		var b bundle.Bundle
		if err := b.UnmarshalJSON(a.Bundle); err != nil {
			t.Fatalf("%s: %v", a.PredicateType, err)
		}
		var res *verify.VerificationResult
		if a.PredicateType == publishPredicate {
			res, err = pub.Verify(&b, verify.NewPolicy(verify.WithArtifactDigest("sha512", digest), verify.WithKey()))
		} else {
			res, err = prov.Verify(&b, verify.NewPolicy(verify.WithArtifactDigest("sha512", digest), verify.WithCertificateIdentity(id)))
		}
		if err != nil {
			t.Fatalf("%s does not verify: %v", a.PredicateType, err)
		}
		if len(res.VerifiedTimestamps) == 0 || !res.VerifiedTimestamps[0].Timestamp.Equal(published) {
			t.Errorf("%s: verified timestamps %+v, want the publish time %v", a.PredicateType, res.VerifiedTimestamps, published)
		}
		// Bound to the integrity: another digest fails.
		other := append([]byte(nil), digest...)
		other[0] ^= 1
		if a.PredicateType == publishPredicate {
			_, err = pub.Verify(&b, verify.NewPolicy(verify.WithArtifactDigest("sha512", other), verify.WithKey()))
		} else {
			_, err = prov.Verify(&b, verify.NewPolicy(verify.WithArtifactDigest("sha512", other), verify.WithCertificateIdentity(id)))
		}
		if err == nil {
			t.Errorf("%s verifies for another digest", a.PredicateType)
		}
	}
}
