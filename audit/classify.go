package audit

import (
	"fmt"
	"strings"
)

// verdict is what verification said about one package, before it is turned
// into a status, a reason and findings. It is also what the result cache
// stores, so it holds only plain data.
type verdict struct {
	Sig *SignatureCheck   `json:"sig"`
	Att *AttestationCheck `json:"att"`
	// SigUndetermined: the signature could not be judged for a reason that
	// is not tampering (its key's validity at publish time could not be
	// established).
	SigUndetermined bool `json:"sigUndetermined,omitempty"`
	// KeysUnknown: the version carries no signature and the registry's key
	// list is unknown, so whether it should carry one cannot be told.
	KeysUnknown bool `json:"keysUnknown,omitempty"`
	// IntegrityMismatch: the registry serves another integrity than the
	// lockfile pins.
	IntegrityMismatch bool `json:"integrityMismatch,omitempty"`
	// WeakIntegrity: the binding rests on sha1 only.
	WeakIntegrity bool `json:"weakIntegrity,omitempty"`
	// ViaTarball: the lockfile and the registry share no hash algorithm and
	// the digests of the registry's tarball linked them.
	ViaTarball bool `json:"viaTarball,omitempty"`
	// Unbound: they share no hash algorithm and nothing linked them, so the
	// signature cannot be tied to what the lockfile installs.
	Unbound bool `json:"unbound,omitempty"`
}

// policy holds the options that turn verdicts into findings.
type policy struct {
	RequireProvenance bool
	RequireSignatures bool
}

// classify derives the overall status, its reason and the findings of a
// package from its verdict. It is the single place where the status table
// of the README is implemented. trustHint is appended to the message of an
// untrusted-key finding: how to trust the key on purpose.
//
// Order: anything invalid (critical findings) makes the package invalid;
// a signature that could not be judged, or a registry whose keys are
// unknown with nothing else to vouch for the version, makes it error
// (never a pass); then the registry signature decides between verified,
// signed and unsigned, and the attestations between verified and signed.
// Keys nothing trusts are high findings (signature-untrusted,
// attestation-untrusted), never "verified". Under --require-provenance a
// version without verified SLSA provenance is a finding: a publish
// attestation alone is not provenance.
func classify(v verdict, p policy, trustHint string) (Status, string, []Finding) {
	findings := []Finding{}
	sig, att := v.Sig, v.Att
	if sig == nil || att == nil {
		// Both checks always run for registry packages; a missing one is a
		// bug upstream and must never read as success.
		return StatusError, "internal error: verification result incomplete", findings
	}

	if v.IntegrityMismatch {
		findings = append(findings, Finding{Rule: RuleIntegrityMismatch, Severity: SeverityCritical,
			Message: "the registry serves a different integrity than the lockfile pins: " + firstNonEmpty(sig.Reason, att.Reason)})
	}
	if sig.Status == CheckInvalid && !v.SigUndetermined && !v.Unbound && !v.IntegrityMismatch {
		findings = append(findings, Finding{Rule: RuleSignatureInvalid, Severity: SeverityCritical,
			Message: "registry signature is invalid: " + sig.Reason})
	}
	if att.Status == CheckInvalid {
		findings = append(findings, Finding{Rule: RuleAttestationInvalid, Severity: SeverityCritical,
			Message: "attestations are invalid: " + att.Reason})
	}
	if len(findings) > 0 {
		return StatusInvalid, joinReasons(findings), findings
	}
	if v.SigUndetermined {
		return StatusError, "registry signature could not be judged: " + sig.Reason, findings
	}
	if v.Unbound {
		return StatusError, "registry signature could not be tied to the lockfile: " + sig.Reason, findings
	}

	if att.Status == CheckUntrusted {
		findings = append(findings, Finding{Rule: RuleAttestationUntrusted, Severity: SeverityHigh,
			Message: "attestations: " + att.Reason + trustHint})
	}
	// provenance is the finding --require-provenance adds.
	provenance := func() {
		if p.RequireProvenance && (att.Status != CheckVerified || att.Provenance == nil) {
			findings = append(findings, ProvenanceMissing(att, "--require-provenance"))
		}
	}
	attVerified := att.Status == CheckVerified

	switch sig.Status {
	case CheckUntrusted:
		findings = append(findings, Finding{Rule: RuleSignatureUntrusted, Severity: SeverityHigh,
			Message: "registry signature: " + sig.Reason + trustHint})
		provenance()
		return StatusUnsigned, "no registry signature by a trusted key: " + sig.Reason, findings
	case CheckMissing:
		if v.KeysUnknown {
			if attVerified {
				provenance()
				return StatusVerified, "attestations verified; the version carries no registry signature and the registry's signing keys are unknown", findings
			}
			if att.Status == CheckUntrusted {
				provenance()
				return StatusUnsigned, "no registry signature and no attestation signed by a trusted key", findings
			}
			return StatusError, "cannot tell whether the version should carry a registry signature: " + sig.Reason, findings
		}
		findings = append(findings, Finding{Rule: RuleSignatureMissing, Severity: SeverityHigh,
			Message: "the registry publishes signing keys but this version carries no registry signature"})
		provenance()
		return StatusUnsigned, "no registry signature, although the registry publishes signing keys", findings
	case CheckUnsupported:
		provenance()
		if attVerified {
			return StatusVerified, "attestations verified; the registry publishes no signing keys", findings
		}
		if p.RequireSignatures {
			findings = append(findings, Finding{Rule: RuleSignatureMissing, Severity: SeverityHigh,
				Message: "the registry publishes no signing keys and the version has no attestations a trusted key verifies (--require-signatures)"})
		}
		if att.Status == CheckUntrusted {
			return StatusUnsigned, "the registry publishes no signing keys and the attestations are signed by a key nothing trusts", findings
		}
		return StatusUnsigned, "the registry publishes no signing keys and the version has no attestations", findings
	case CheckVerified:
		provenance()
		if attVerified {
			return StatusVerified, "registry signature and attestations verified", findings
		}
		if att.Status == CheckUntrusted {
			return StatusSigned, "registry signature verified; the attestations are signed by a key nothing trusts", findings
		}
		return StatusSigned, "registry signature verified; the version has no attestations", findings
	}
	return StatusError, fmt.Sprintf("internal error: unexpected signature status %q", sig.Status), findings
}

// ProvenanceMissing is the finding of a version that lacks the SLSA
// provenance that why (--require-provenance, or where a policy file asks
// for it) requires, saying what the version has instead. att may be nil
// (nothing was checked).
func ProvenanceMissing(att *AttestationCheck, why string) Finding {
	msg := "the version has no verified SLSA provenance (" + why + ")"
	if att != nil && att.Status == CheckVerified && att.Publish != nil {
		msg = "the version has a publish attestation but no SLSA provenance (" + why + ")"
	}
	return Finding{Rule: RuleProvenanceMissing, Severity: SeverityMedium, Message: msg}
}

// HasProvenance reports whether p has verified SLSA provenance.
func HasProvenance(p *Package) bool {
	return p.Attestations != nil && p.Attestations.Status == CheckVerified && p.Attestations.Provenance != nil
}

func joinReasons(fs []Finding) string {
	parts := make([]string, len(fs))
	for i, f := range fs {
		parts[i] = f.Message
	}
	return strings.Join(parts, "; ")
}

func firstNonEmpty(s ...string) string {
	for _, x := range s {
		if x != "" {
			return x
		}
	}
	return ""
}
