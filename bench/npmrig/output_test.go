package npmrig

import (
	"errors"
	"strings"
	"testing"
)

// Outputs as npm 11 prints them (lib/utils/verify-signatures.js).
const (
	outVerified = `audited 20 packages in 0s

20 packages have verified registry signatures

7 packages have verified attestations
(use --json --include-attestations to view attestation details)

`
	outInvalid = `audited 386 packages in 12s

383 packages have verified registry signatures

120 packages have verified attestations

1 package has a missing registry signature but the registry is providing signing keys:

left-pad@1.3.0 (http://127.0.0.1:4873/)

1 package has an invalid registry signature:

right-pad@1.0.1 (http://127.0.0.1:4873/)

1 package has an invalid attestation:

@s/c@3.0.0 (http://127.0.0.1:4873/)

Someone might have tampered with these packages since they were published on the registry!

`
	outPlural = `npm warn config something
audited 10 packages in 1s

5 packages have verified registry signatures

2 packages have missing registry signatures but the registry is providing signing keys:

a@1.0.0 (http://127.0.0.1:1/)
b@1.0.0 (http://127.0.0.1:1/)

3 packages have invalid registry signatures:

c@1.0.0 (http://127.0.0.1:1/)

2 packages have invalid attestations:

`
	outOne = "audited 1 package in 0s\n\n1 package has a verified registry signature\n\n1 package has a verified attestation\n"
)

func TestParseOutput(t *testing.T) {
	tests := []struct {
		name string
		out  string
		want summary
	}{
		{"verified", outVerified, summary{audited: 20, signatures: 20, attestations: 7}},
		{"findings", outInvalid, summary{audited: 386, signatures: 383, attestations: 120, missing: 1, invalidSignatures: 1, invalidAttestations: 1}},
		{"plural findings", outPlural, summary{audited: 10, signatures: 5, missing: 2, invalidSignatures: 3, invalidAttestations: 2}},
		{"singular", outOne, summary{audited: 1, signatures: 1, attestations: 1}},
		{"colour and CRLF", "audited 2 packages in 0s\r\n\x1b[1mverified\x1b[22m\r\n2 packages have \x1b[1mverified\x1b[22m registry signatures\r\n", summary{audited: 2, signatures: 2}},
		{"zero audited (npm's own grammar)", "audited 0 package in 0s\n", summary{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseOutput([]byte(tt.out))
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Fatalf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestParseOutputRejects(t *testing.T) {
	tests := []struct {
		name, out, want string
	}{
		{"empty", "", "no \"audited"},
		{"npm error", "npm error code E404\nnpm error 404 Not Found - GET http://127.0.0.1:1/a\n", "no \"audited"},
		{"summary lines without audited", "20 packages have verified registry signatures\n", "no \"audited"},
		{"audited twice", "audited 2 packages in 0s\naudited 2 packages in 0s\n", "twice"},
		{"verified twice", "audited 2 packages in 0s\n2 packages have verified registry signatures\n1 package has a verified registry signature\n", "twice"},
		{"huge count", "audited 99999999999999999999 packages in 0s\n", "out of range"},
		{"singular with 2", "audited 2 packages in 0s\n2 package has a verified registry signature\n", "grammatical"},
		{"plural with 1", "audited 2 packages in 0s\n1 packages have verified registry signatures\n", "grammatical"},
		{"audited plural with 1", "audited 1 packages in 0s\n", "grammatical"},
		{"more verified than audited", "audited 2 packages in 0s\n3 packages have verified registry signatures\n", "more packages"},
		{"more invalid than audited", "audited 2 packages in 0s\n2 packages have invalid registry signatures:\n1 package has an invalid attestation:\n", "more packages"},
		{"line too long", "audited 1 package in 0s\n" + strings.Repeat("x", 2<<20) + "\n", "too long"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parseOutput([]byte(tt.out))
			if !errors.Is(err, ErrOutput) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want ErrOutput saying %q", err, tt.want)
			}
		})
	}
}
