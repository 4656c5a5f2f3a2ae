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
	// IntegrityMismatch: the registry serves another integrity than the
	// lockfile pins.
	IntegrityMismatch bool `json:"integrityMismatch,omitempty"`
	// WeakIntegrity: the lockfile pins only a sha1 digest, so the binding
	// went through the registry's dist.shasum.
	WeakIntegrity bool `json:"weakIntegrity,omitempty"`
}

// policy holds the options that turn verdicts into findings.
type policy struct {
	RequireProvenance bool
	RequireSignatures bool
}

// classify derives the overall status, its reason and the findings of a
// package from its verdict. It is the single place where DESIGN.md's status
// table is implemented.
func classify(v verdict, p policy) (Status, string, []Finding) {
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
	if sig.Status == CheckInvalid && !v.SigUndetermined && !v.IntegrityMismatch {
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

	switch sig.Status {
	case CheckMissing:
		findings = append(findings, Finding{Rule: RuleSignatureMissing, Severity: SeverityHigh,
			Message: "the registry publishes signing keys but this version carries no registry signature"})
		if att.Status == CheckMissing && p.RequireProvenance {
			findings = append(findings, provenanceMissing())
		}
		return StatusUnsigned, "no registry signature, although the registry publishes signing keys", findings
	case CheckUnsupported:
		if att.Status == CheckVerified {
			return StatusVerified, "attestations verified; the registry publishes no signing keys", findings
		}
		if p.RequireSignatures {
			findings = append(findings, Finding{Rule: RuleSignatureMissing, Severity: SeverityHigh,
				Message: "the registry publishes no signing keys and the version has no attestations (--require-signatures)"})
		}
		if p.RequireProvenance {
			findings = append(findings, provenanceMissing())
		}
		return StatusUnsigned, "the registry publishes no signing keys and the version has no attestations", findings
	case CheckVerified:
		if att.Status == CheckVerified {
			return StatusVerified, "registry signature and attestations verified", findings
		}
		if p.RequireProvenance {
			findings = append(findings, provenanceMissing())
		}
		return StatusSigned, "registry signature verified; the version has no attestations", findings
	}
	return StatusError, fmt.Sprintf("internal error: unexpected signature status %q", sig.Status), findings
}

func provenanceMissing() Finding {
	return Finding{Rule: RuleProvenanceMissing, Severity: SeverityMedium,
		Message: "the version has no provenance attestation (--require-provenance)"}
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
