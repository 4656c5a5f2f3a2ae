package fakesigstore_test

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"testing"

	"github.com/provaudit/provaudit/internal/registrytest/fakesigstore"
)

// FuzzSHA512Hex: any string either yields the hex of 64 bytes or fails with
// ErrInvalidAttest.
func FuzzSHA512Hex(f *testing.F) {
	integrity, _ := integrityOf("fuzz")
	for _, seed := range []string{integrity, "", "sha512-", "sha512-AAAA", "sha1-x " + integrity, integrity + "?x", "sha512-!!"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, in string) {
		got, err := fakesigstore.SHA512Hex(in)
		if err != nil {
			if !errors.Is(err, fakesigstore.ErrInvalidAttest) {
				t.Fatalf("error %v does not wrap ErrInvalidAttest", err)
			}
			return
		}
		if raw, err := hex.DecodeString(got); err != nil || len(raw) != 64 {
			t.Fatalf("SHA512Hex(%q) = %q, not 64 bytes of hex", in, got)
		}
	})
}

// FuzzTamper: any bytes and part either yield JSON or fail with ErrTamper;
// never a panic.
func FuzzTamper(f *testing.F) {
	s, err := fakesigstore.New(fakesigstore.Options{})
	if err != nil {
		f.Fatal(err)
	}
	integrity, _ := integrityOf("fuzz")
	a := fakesigstore.Attest{Name: "fuzz", Version: "1.0.0", Integrity: integrity}
	prov, err := s.ProvenanceBundle(a)
	if err != nil {
		f.Fatal(err)
	}
	pub, err := s.PublishBundle(a)
	if err != nil {
		f.Fatal(err)
	}
	for _, part := range fakesigstore.TamperParts {
		f.Add(prov, string(part))
		f.Add(pub, string(part))
	}
	f.Add([]byte(`{"dsseEnvelope":{"signatures":[{}]},"verificationMaterial":{"tlogEntries":[{"inclusionProof":{"hashes":[""]}}]}}`), "inclusion-proof")
	f.Fuzz(func(t *testing.T, in []byte, part string) {
		out, err := fakesigstore.Tamper(in, fakesigstore.Part(part))
		if err != nil {
			if !errors.Is(err, fakesigstore.ErrTamper) {
				t.Fatalf("error %v does not wrap ErrTamper", err)
			}
			return
		}
		if !json.Valid(out) {
			t.Fatalf("Tamper returned invalid JSON: %s", out)
		}
	})
}

// FuzzAttestations: any name and version either fail with a sentinel error
// or give a body whose subjects are SubjectName(name, version).
func FuzzAttestations(f *testing.F) {
	s, err := fakesigstore.New(fakesigstore.Options{})
	if err != nil {
		f.Fatal(err)
	}
	integrity, _ := integrityOf("fuzz")
	for _, seed := range [][2]string{{"left-pad", "1.0.0"}, {"@s/p", "0.0.0-rc.1"}, {"", "1"}, {"a\"b", "1\\"}, {"@", "é"}} {
		f.Add(seed[0], seed[1])
	}
	f.Fuzz(func(t *testing.T, name, version string) {
		body, err := s.Attestations(fakesigstore.Attest{Name: name, Version: version, Integrity: integrity})
		if err != nil {
			if !errors.Is(err, fakesigstore.ErrInvalidAttest) {
				t.Fatalf("error %v does not wrap ErrInvalidAttest", err)
			}
			return
		}
		var doc attestations
		if err := json.Unmarshal(body, &doc); err != nil || len(doc.Attestations) != 2 {
			t.Fatalf("body: %v\n%s", err, body)
		}
		for _, att := range doc.Attestations {
			var info bundleInfo
			if err := json.Unmarshal(att.Bundle, &info); err != nil {
				t.Fatal(err)
			}
			var st struct {
				Subject []struct{ Name string } `json:"subject"`
			}
			if err := json.Unmarshal(info.DSSEEnvelope.Payload, &st); err != nil {
				t.Fatalf("payload: %v", err)
			}
			if want := fakesigstore.SubjectName(name, version); len(st.Subject) != 1 || st.Subject[0].Name != want {
				t.Fatalf("subjects %+v, want %q", st.Subject, want)
			}
		}
	})
}
