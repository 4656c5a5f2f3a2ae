package fakesigstore

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// Part names the piece of a bundle that [Tamper] changes.
type Part string

// The parts [Tamper] can change. Each change is the smallest that breaks
// what the part proves, and leaves the bundle parseable, so a verifier must
// reject it for the right reason, not as malformed JSON.
const (
	// TamperPayload flips one character of a string inside the DSSE payload
	// (the statement stays valid JSON).
	TamperPayload Part = "payload"
	// TamperSignature flips a bit in the DSSE signature.
	TamperSignature Part = "signature"
	// TamperCertificate flips one character of the SAN URI inside the leaf
	// certificate, breaking the CA's signature (provenance bundles only).
	TamperCertificate Part = "certificate"
	// TamperKeyHint replaces the public key hint with an unknown keyid
	// (publish bundles only).
	TamperKeyHint Part = "key-hint"
	// TamperSET flips a bit in the signed entry timestamp.
	TamperSET Part = "set"
	// TamperInclusionProof flips a bit in the first inclusion proof hash.
	TamperInclusionProof Part = "inclusion-proof"
	// TamperRootHash flips a bit in the inclusion proof's root hash.
	TamperRootHash Part = "root-hash"
	// TamperCheckpoint flips a bit in the checkpoint's signature.
	TamperCheckpoint Part = "checkpoint"
	// TamperBody flips one character inside the canonicalized Rekor body.
	TamperBody Part = "body"
	// TamperIntegratedTime moves the integrated time one second later.
	TamperIntegratedTime Part = "integrated-time"
	// TamperLogIndex moves the log index one entry later.
	TamperLogIndex Part = "log-index"
)

// TamperParts lists every Part.
var TamperParts = []Part{
	TamperPayload, TamperSignature, TamperCertificate, TamperKeyHint, TamperSET,
	TamperInclusionProof, TamperRootHash, TamperCheckpoint, TamperBody,
	TamperIntegratedTime, TamperLogIndex,
}

// Tamper returns a copy of a bundle (JSON) with one part changed. It fails
// with ErrTamper when the bundle does not have that part (a certificate in a
// publish bundle, a key hint in a provenance bundle) or is not a bundle.
func Tamper(bundleJSON []byte, part Part) ([]byte, error) {
	var b map[string]any
	if err := json.Unmarshal(bundleJSON, &b); err != nil {
		return nil, fmt.Errorf("%w: bundle is not JSON: %w", ErrTamper, err)
	}
	if err := tamper(b, part); err != nil {
		return nil, err
	}
	return marshal(b)
}

// TamperAttestation returns a copy of an attestations body (as made by
// Attestations) with one part of its i-th bundle changed.
func TamperAttestation(body []byte, i int, part Part) ([]byte, error) {
	var doc map[string]any
	if err := json.Unmarshal(body, &doc); err != nil {
		return nil, fmt.Errorf("%w: attestations body is not JSON: %w", ErrTamper, err)
	}
	list, _ := doc["attestations"].([]any)
	if i < 0 || i >= len(list) {
		return nil, fmt.Errorf("%w: attestation %d of %d", ErrTamper, i, len(list))
	}
	item, _ := list[i].(map[string]any)
	b, _ := item["bundle"].(map[string]any)
	if b == nil {
		return nil, fmt.Errorf("%w: attestation %d has no bundle", ErrTamper, i)
	}
	if err := tamper(b, part); err != nil {
		return nil, err
	}
	return marshal(doc)
}

func tamper(b map[string]any, part Part) error {
	vm, _ := b["verificationMaterial"].(map[string]any)
	env, _ := b["dsseEnvelope"].(map[string]any)
	if vm == nil || env == nil {
		return fmt.Errorf("%w: not a DSSE bundle with verification material", ErrTamper)
	}
	entries, _ := vm["tlogEntries"].([]any)
	var entry map[string]any
	if len(entries) > 0 {
		entry, _ = entries[0].(map[string]any)
	}
	switch part {
	case TamperPayload:
		return editBase64(env, "payload", flipLastAlnum)
	case TamperSignature:
		sigs, _ := env["signatures"].([]any)
		if len(sigs) == 0 {
			return fmt.Errorf("%w: envelope has no signature", ErrTamper)
		}
		sig, _ := sigs[0].(map[string]any)
		return editBase64(sig, "sig", flipLastBit)
	case TamperCertificate:
		cert := leafCertificate(vm)
		if cert == nil {
			return fmt.Errorf("%w: bundle has no certificate", ErrTamper)
		}
		return editBase64(cert, "rawBytes", func(der []byte) error {
			i := bytes.Index(der, []byte("https://"))
			if i < 0 {
				return fmt.Errorf("%w: certificate has no URI", ErrTamper)
			}
			der[i+len("https://")] ^= 1
			return nil
		})
	case TamperKeyHint:
		pk, _ := vm["publicKey"].(map[string]any)
		if pk == nil {
			return fmt.Errorf("%w: bundle has no public key hint", ErrTamper)
		}
		pk["hint"] = "SHA256:" + strings.Repeat("A", 43)
		return nil
	}
	if entry == nil {
		return fmt.Errorf("%w: bundle has no tlog entry", ErrTamper)
	}
	proof, _ := entry["inclusionProof"].(map[string]any)
	switch part {
	case TamperSET:
		promise, _ := entry["inclusionPromise"].(map[string]any)
		if promise == nil {
			return fmt.Errorf("%w: tlog entry has no inclusion promise", ErrTamper)
		}
		return editBase64(promise, "signedEntryTimestamp", flipLastBit)
	case TamperInclusionProof:
		hashes, _ := proof["hashes"].([]any)
		if len(hashes) == 0 {
			return fmt.Errorf("%w: tlog entry has no inclusion proof hashes", ErrTamper)
		}
		h, _ := hashes[0].(string)
		raw, err := base64.StdEncoding.DecodeString(h)
		if err != nil || len(raw) == 0 {
			return fmt.Errorf("%w: inclusion proof hash is not base64", ErrTamper)
		}
		raw[0] ^= 1
		hashes[0] = base64.StdEncoding.EncodeToString(raw)
		return nil
	case TamperRootHash:
		if proof == nil {
			return fmt.Errorf("%w: tlog entry has no inclusion proof", ErrTamper)
		}
		return editBase64(proof, "rootHash", flipLastBit)
	case TamperCheckpoint:
		cp, _ := proof["checkpoint"].(map[string]any)
		text, _ := cp["envelope"].(string)
		i := strings.LastIndex(text, " ")
		if i < 0 {
			return fmt.Errorf("%w: tlog entry has no checkpoint", ErrTamper)
		}
		sig, err := base64.StdEncoding.DecodeString(strings.TrimSuffix(text[i+1:], "\n"))
		if err != nil || len(sig) == 0 {
			return fmt.Errorf("%w: checkpoint signature is not base64", ErrTamper)
		}
		sig[len(sig)-1] ^= 1
		cp["envelope"] = text[:i+1] + base64.StdEncoding.EncodeToString(sig) + "\n"
		return nil
	case TamperBody:
		return editBase64(entry, "canonicalizedBody", flipLastAlnum)
	case TamperIntegratedTime:
		return bumpInt(entry, "integratedTime")
	case TamperLogIndex:
		return bumpInt(entry, "logIndex")
	}
	return fmt.Errorf("%w: unknown part %q", ErrTamper, part)
}

func leafCertificate(vm map[string]any) map[string]any {
	if c, ok := vm["certificate"].(map[string]any); ok {
		return c
	}
	chain, _ := vm["x509CertificateChain"].(map[string]any)
	certs, _ := chain["certificates"].([]any)
	if len(certs) == 0 {
		return nil
	}
	c, _ := certs[0].(map[string]any)
	return c
}

func editBase64(m map[string]any, key string, edit func([]byte) error) error {
	s, ok := m[key].(string)
	if !ok {
		return fmt.Errorf("%w: no %s", ErrTamper, key)
	}
	raw, err := base64.StdEncoding.DecodeString(s)
	if err != nil || len(raw) == 0 {
		return fmt.Errorf("%w: %s is not base64", ErrTamper, key)
	}
	if err := edit(raw); err != nil {
		return err
	}
	m[key] = base64.StdEncoding.EncodeToString(raw)
	return nil
}

func flipLastBit(b []byte) error {
	b[len(b)-1] ^= 1
	return nil
}

// flipLastAlnum changes the last letter or digit, which in our JSON is
// always inside a string, so the document stays valid JSON.
func flipLastAlnum(b []byte) error {
	for i := len(b) - 1; i >= 0; i-- {
		c := b[i]
		if c >= 'a' && c <= 'y' || c >= 'A' && c <= 'Y' || c >= '0' && c <= '8' {
			b[i]++
			return nil
		}
	}
	return fmt.Errorf("%w: nothing to change", ErrTamper)
}

func bumpInt(m map[string]any, key string) error {
	s, _ := m[key].(string)
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return fmt.Errorf("%w: %s %q is not an integer", ErrTamper, key, s)
	}
	m[key] = strconv.FormatInt(v+1, 10)
	return nil
}
