package fakesigstore_test

import (
	"crypto/sha512"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"log"
	"strings"

	"github.com/sigstore/sigstore-go/pkg/bundle"
	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore-go/pkg/verify"

	"github.com/provaudit/provaudit/internal/registrytest/fakesigstore"
)

// A fake registry serves Attestations at /-/npm/v1/attestations/NAME@VERSION,
// TrustedRoot and NpmKeys as the trust material, and SignRegistry's output
// as dist.signatures.
func ExampleSigstore_Attestations() {
	s, err := fakesigstore.New(fakesigstore.Options{})
	if err != nil {
		log.Fatal(err)
	}
	tarball := sha512.Sum512([]byte("package/package.json ..."))
	integrity := "sha512-" + base64.StdEncoding.EncodeToString(tarball[:])
	body, err := s.Attestations(fakesigstore.Attest{Name: "@acme/widget", Version: "1.2.3", Integrity: integrity})
	if err != nil {
		log.Fatal(err)
	}
	var doc struct {
		Attestations []struct {
			PredicateType string `json:"predicateType"`
		} `json:"attestations"`
	}
	if err := json.Unmarshal(body, &doc); err != nil {
		log.Fatal(err)
	}
	for _, a := range doc.Attestations {
		fmt.Println(a.PredicateType)
	}
	keyid, _ := s.SignRegistry(0, "@acme/widget", "1.2.3", integrity)
	fmt.Println(strings.HasPrefix(keyid, "SHA256:"), keyid == s.NpmKeyID(0))
	// Output:
	// https://github.com/npm/attestation/tree/main/specs/publish/v0.1
	// https://slsa.dev/provenance/v1
	// true true
}

// The provenance verifies with sigstore-go given only the fake's trusted
// root, with the same options as the public-good data.
func ExampleSigstore_TrustedRoot() {
	s, err := fakesigstore.New(fakesigstore.Options{})
	if err != nil {
		log.Fatal(err)
	}
	tarball := sha512.Sum512([]byte("package/package.json ..."))
	integrity := "sha512-" + base64.StdEncoding.EncodeToString(tarball[:])
	prov, err := s.ProvenanceBundle(fakesigstore.Attest{Name: "widget", Version: "1.2.3", Integrity: integrity})
	if err != nil {
		log.Fatal(err)
	}

	trusted, err := root.NewTrustedRootFromJSON(s.TrustedRoot())
	if err != nil {
		log.Fatal(err)
	}
	v, err := verify.NewVerifier(trusted, verify.WithSignedCertificateTimestamps(1), verify.WithTransparencyLog(1), verify.WithObserverTimestamps(1))
	if err != nil {
		log.Fatal(err)
	}
	var b bundle.Bundle
	if err := b.UnmarshalJSON(prov); err != nil {
		log.Fatal(err)
	}
	id, err := verify.NewShortCertificateIdentity(fakesigstore.DefaultIssuer, "",
		"https://github.com/fake-org/widget/.github/workflows/release.yml@refs/tags/v1.2.3", "")
	if err != nil {
		log.Fatal(err)
	}
	res, err := v.Verify(&b, verify.NewPolicy(verify.WithArtifactDigest("sha512", tarball[:]), verify.WithCertificateIdentity(id)))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(res.Statement.GetSubject()[0].GetName())
	fmt.Println(res.Signature.Certificate.SourceRepositoryURI)
	// Output:
	// pkg:npm/widget@1.2.3
	// https://github.com/fake-org/widget
}
