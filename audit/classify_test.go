package audit

import (
	"strings"
	"testing"
)

func rules(fs []Finding) []Rule {
	out := make([]Rule, len(fs))
	for i, f := range fs {
		out[i] = f.Rule
	}
	return out
}

func TestClassify(t *testing.T) {
	sig := func(status CheckStatus) *SignatureCheck {
		return &SignatureCheck{Status: status, Reason: "sig " + string(status)}
	}
	att := func(status CheckStatus) *AttestationCheck {
		a := &AttestationCheck{Status: status, Reason: "att " + string(status)}
		if status == CheckVerified {
			a.Publish = &Publish{KeyID: "k"}
			a.Provenance = &Provenance{PredicateType: "https://slsa.dev/provenance/v1"}
		}
		return a
	}
	publishOnly := &AttestationCheck{Status: CheckVerified, Reason: "publish attestation verified; no provenance", Publish: &Publish{KeyID: "k"}}
	tests := []struct {
		name   string
		v      verdict
		pol    policy
		status Status
		rules  []Rule
	}{
		{"both verified", verdict{Sig: sig(CheckVerified), Att: att(CheckVerified)}, policy{}, StatusVerified, nil},
		{"signed only", verdict{Sig: sig(CheckVerified), Att: att(CheckMissing)}, policy{}, StatusSigned, nil},
		{"signed only, provenance required", verdict{Sig: sig(CheckVerified), Att: att(CheckMissing)}, policy{RequireProvenance: true}, StatusSigned, []Rule{RuleProvenanceMissing}},
		{"no keys, attested", verdict{Sig: sig(CheckUnsupported), Att: att(CheckVerified)}, policy{}, StatusVerified, nil},
		{"no keys, attested, signatures required", verdict{Sig: sig(CheckUnsupported), Att: att(CheckVerified)}, policy{RequireSignatures: true}, StatusVerified, nil},
		{"no keys, nothing", verdict{Sig: sig(CheckUnsupported), Att: att(CheckMissing)}, policy{}, StatusUnsigned, nil},
		{"no keys, nothing, signatures required", verdict{Sig: sig(CheckUnsupported), Att: att(CheckMissing)}, policy{RequireSignatures: true}, StatusUnsigned, []Rule{RuleSignatureMissing}},
		{"no keys, nothing, provenance required", verdict{Sig: sig(CheckUnsupported), Att: att(CheckMissing)}, policy{RequireProvenance: true}, StatusUnsigned, []Rule{RuleProvenanceMissing}},
		{"keys but no signature", verdict{Sig: sig(CheckMissing), Att: att(CheckMissing)}, policy{}, StatusUnsigned, []Rule{RuleSignatureMissing}},
		{"keys but no signature, attested", verdict{Sig: sig(CheckMissing), Att: att(CheckVerified)}, policy{}, StatusUnsigned, []Rule{RuleSignatureMissing}},
		{"invalid signature", verdict{Sig: sig(CheckInvalid), Att: att(CheckMissing)}, policy{}, StatusInvalid, []Rule{RuleSignatureInvalid}},
		{"invalid signature, valid attestations", verdict{Sig: sig(CheckInvalid), Att: att(CheckVerified)}, policy{}, StatusInvalid, []Rule{RuleSignatureInvalid}},
		{"invalid attestations", verdict{Sig: sig(CheckVerified), Att: att(CheckInvalid)}, policy{}, StatusInvalid, []Rule{RuleAttestationInvalid}},
		{"invalid both", verdict{Sig: sig(CheckInvalid), Att: att(CheckInvalid)}, policy{}, StatusInvalid, []Rule{RuleSignatureInvalid, RuleAttestationInvalid}},
		{"integrity mismatch", verdict{Sig: sig(CheckInvalid), Att: att(CheckMissing), IntegrityMismatch: true}, policy{}, StatusInvalid, []Rule{RuleIntegrityMismatch}},
		{"integrity mismatch with attestations", verdict{Sig: sig(CheckInvalid), Att: att(CheckInvalid), IntegrityMismatch: true}, policy{}, StatusInvalid, []Rule{RuleIntegrityMismatch, RuleAttestationInvalid}},
		{"publish time unknown", verdict{Sig: sig(CheckInvalid), Att: att(CheckMissing), SigUndetermined: true}, policy{}, StatusError, nil},
		{"publish time unknown but attestations invalid", verdict{Sig: sig(CheckInvalid), Att: att(CheckInvalid), SigUndetermined: true}, policy{}, StatusInvalid, []Rule{RuleAttestationInvalid}},
		{"missing sub-result never passes", verdict{Sig: sig(CheckVerified)}, policy{}, StatusError, nil},
		{"missing signature result never passes", verdict{Att: att(CheckVerified)}, policy{}, StatusError, nil},
		{"unknown signature status never passes", verdict{Sig: sig("bogus"), Att: att(CheckVerified)}, policy{}, StatusError, nil},
		{"attested with provenance, provenance required", verdict{Sig: sig(CheckVerified), Att: att(CheckVerified)}, policy{RequireProvenance: true}, StatusVerified, nil},
		{"publish attestation only, provenance required", verdict{Sig: sig(CheckVerified), Att: publishOnly}, policy{RequireProvenance: true}, StatusVerified, []Rule{RuleProvenanceMissing}},
		{"publish attestation only, no keys, provenance required", verdict{Sig: sig(CheckUnsupported), Att: publishOnly}, policy{RequireProvenance: true}, StatusVerified, []Rule{RuleProvenanceMissing}},
		{"signature by an untrusted key", verdict{Sig: sig(CheckUntrusted), Att: att(CheckMissing)}, policy{}, StatusUnsigned, []Rule{RuleSignatureUntrusted}},
		{"signature by an untrusted key, attested", verdict{Sig: sig(CheckUntrusted), Att: att(CheckVerified)}, policy{}, StatusUnsigned, []Rule{RuleSignatureUntrusted}},
		{"signature by an untrusted key, attestations untrusted", verdict{Sig: sig(CheckUntrusted), Att: att(CheckUntrusted)}, policy{}, StatusUnsigned, []Rule{RuleAttestationUntrusted, RuleSignatureUntrusted}},
		{"signed, attestations untrusted", verdict{Sig: sig(CheckVerified), Att: att(CheckUntrusted)}, policy{}, StatusSigned, []Rule{RuleAttestationUntrusted}},
		{"no keys, attestations untrusted", verdict{Sig: sig(CheckUnsupported), Att: att(CheckUntrusted)}, policy{}, StatusUnsigned, []Rule{RuleAttestationUntrusted}},
		{"untrusted key but another signature invalid", verdict{Sig: sig(CheckInvalid), Att: att(CheckUntrusted)}, policy{}, StatusInvalid, []Rule{RuleSignatureInvalid}},
		{"integrity unbound (no shared algorithm, no tarball)", verdict{Sig: sig(CheckInvalid), Att: att(CheckMissing), Unbound: true}, policy{}, StatusError, nil},
		{"integrity unbound but attestations invalid", verdict{Sig: sig(CheckInvalid), Att: att(CheckInvalid), Unbound: true}, policy{}, StatusInvalid, []Rule{RuleAttestationInvalid}},
		{"keys unknown, attested", verdict{Sig: sig(CheckMissing), Att: att(CheckVerified), KeysUnknown: true}, policy{}, StatusVerified, nil},
		{"keys unknown, nothing else", verdict{Sig: sig(CheckMissing), Att: att(CheckMissing), KeysUnknown: true}, policy{}, StatusError, nil},
		{"keys unknown, attestations untrusted", verdict{Sig: sig(CheckMissing), Att: att(CheckUntrusted), KeysUnknown: true}, policy{}, StatusUnsigned, []Rule{RuleAttestationUntrusted}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, reason, findings := classify(tt.v, tt.pol, " (hint)")
			if status != tt.status {
				t.Errorf("status = %s, want %s (reason %q)", status, tt.status, reason)
			}
			if reason == "" {
				t.Error("empty reason")
			}
			if findings == nil {
				t.Error("findings is nil; JSON needs [] for none")
			}
			for _, f := range findings {
				if strings.HasSuffix(string(f.Rule), "-untrusted") && !strings.HasSuffix(f.Message, " (hint)") {
					t.Errorf("%s finding without the trust hint: %q", f.Rule, f.Message)
				}
			}
			got := rules(findings)
			if len(got) != len(tt.rules) {
				t.Fatalf("findings = %v, want %v", got, tt.rules)
			}
			for i := range got {
				if got[i] != tt.rules[i] {
					t.Errorf("finding %d = %s, want %s", i, got[i], tt.rules[i])
				}
			}
		})
	}
}
