package fakesigstore_test

import (
	"testing"

	"github.com/provaudit/provaudit/internal/registrytest/fakesigstore"
)

func TestQuickMatrix(t *testing.T) {
	s := newFake(t, fakesigstore.Options{})
	tr := newTrust(t, s)
	integrity, digest := integrityOf("x")
	for _, mt := range fakesigstore.MediaTypes {
		for _, k := range fakesigstore.EntryKinds {
			for _, p := range fakesigstore.ProvenancePredicateTypes {
				a := fakesigstore.Attest{Name: "@scope/pkg", Version: "1.0.0", Integrity: integrity, MediaType: mt, EntryKind: k, PredicateType: p}
				prov, err := s.ProvenanceBundle(a)
				if err != nil {
					t.Fatal(err)
				}
				if _, err := tr.verifyProvenance(prov, digest, "https://github.com/fake-org/scope-pkg/.github/workflows/release.yml@refs/tags/v1.0.0", fakesigstore.DefaultIssuer); err != nil {
					t.Errorf("%s %s %s: %v", mt, k, p, err)
				}
				pub, err := s.PublishBundle(a)
				if err != nil {
					t.Fatal(err)
				}
				if _, err := tr.verifyPublish(pub, digest); err != nil {
					t.Errorf("publish %s %s: %v", mt, k, err)
				}
			}
		}
	}
}
