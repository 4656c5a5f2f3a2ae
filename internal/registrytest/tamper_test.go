package registrytest

import (
	"bytes"
	"errors"
	"testing"

	"github.com/provaudit/provaudit/internal/registrytest/fakesigstore"
)

func TestTamperAttestations(t *testing.T) {
	r := newRegistry(t, Options{})
	if err := r.Add(
		Package{Name: "attested", Version: "1.0.0", Signed: true, Attested: true},
		Package{Name: "plain", Version: "1.0.0", Signed: true},
	); err != nil {
		t.Fatal(err)
	}
	const path = "/-/npm/v1/attestations/attested@1.0.0"
	genuine := mustGet(t, r, path)
	if err := r.TamperAttestations("attested", "1.0.0", 1, fakesigstore.TamperSignature); err != nil {
		t.Fatal(err)
	}
	want, err := fakesigstore.TamperAttestation(genuine, 1, fakesigstore.TamperSignature)
	if err != nil {
		t.Fatal(err)
	}
	if got := mustGet(t, r, path); !bytes.Equal(got, want) || bytes.Equal(got, genuine) {
		t.Fatal("the tampered attestations are not served")
	}
	r.ClearFaults()
	if got := mustGet(t, r, path); !bytes.Equal(got, genuine) {
		t.Fatal("ClearFaults did not restore the genuine attestations")
	}
	for _, spec := range [][2]string{{"plain", "1.0.0"}, {"attested", "2.0.0"}, {"missing", "1.0.0"}} {
		if err := r.TamperAttestations(spec[0], spec[1], 0, fakesigstore.TamperSignature); !errors.Is(err, ErrInvalidPackage) {
			t.Errorf("%s@%s: %v", spec[0], spec[1], err)
		}
	}
}
