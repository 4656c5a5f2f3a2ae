package audit

import "testing"

// Only passes are shared: every verdict that is not one (something
// invalid, untrusted or undetermined) stays out of the verdict store, in
// both directions.
func TestStorable(t *testing.T) {
	check := func(status CheckStatus) *SignatureCheck { return &SignatureCheck{Status: status} }
	att := func(status CheckStatus) *AttestationCheck { return &AttestationCheck{Status: status} }
	for _, c := range []struct {
		name string
		v    verdict
		want bool
	}{
		{"signature and attestations verified", verdict{Sig: check(CheckVerified), Att: att(CheckVerified)}, true},
		{"signature verified, no attestations", verdict{Sig: check(CheckVerified), Att: att(CheckMissing)}, true},
		{"no registry keys, attestations verified", verdict{Sig: check(CheckUnsupported), Att: att(CheckVerified)}, true},
		{"no registry keys, no attestations", verdict{Sig: check(CheckUnsupported), Att: att(CheckMissing)}, false},
		{"signature invalid", verdict{Sig: check(CheckInvalid), Att: att(CheckVerified)}, false},
		{"signature missing", verdict{Sig: check(CheckMissing), Att: att(CheckVerified)}, false},
		{"signature untrusted", verdict{Sig: check(CheckUntrusted), Att: att(CheckMissing)}, false},
		{"attestations invalid", verdict{Sig: check(CheckVerified), Att: att(CheckInvalid)}, false},
		{"attestations untrusted", verdict{Sig: check(CheckVerified), Att: att(CheckUntrusted)}, false},
		{"undetermined", verdict{Sig: check(CheckVerified), Att: att(CheckVerified), SigUndetermined: true}, false},
		{"integrity mismatch", verdict{Sig: check(CheckVerified), Att: att(CheckVerified), IntegrityMismatch: true}, false},
		{"unbound", verdict{Sig: check(CheckVerified), Att: att(CheckMissing), Unbound: true}, false},
		{"keys unknown", verdict{Sig: check(CheckVerified), Att: att(CheckVerified), KeysUnknown: true}, false},
		{"no signature check", verdict{Att: att(CheckVerified)}, false},
		{"no attestation check", verdict{Sig: check(CheckVerified)}, false},
	} {
		if got := storable(c.v); got != c.want {
			t.Errorf("%s: storable %t, want %t", c.name, got, c.want)
		}
	}
}
