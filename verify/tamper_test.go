package verify

import (
	"crypto/sha1"
	"encoding/base64"
	"encoding/json"
	"strconv"
	"strings"
	"testing"
)

// mutateBundle decodes attestation i of an attestations body, applies f to
// its bundle (as generic JSON) and re-encodes the body.
func mutateBundle(t testing.TB, body []byte, i int, f func(b map[string]any)) []byte {
	t.Helper()
	var doc map[string]any
	if err := json.Unmarshal(body, &doc); err != nil {
		t.Fatal(err)
	}
	atts := doc["attestations"].([]any)
	f(atts[i].(map[string]any)["bundle"].(map[string]any))
	out, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// path walks a generic JSON value ("a.b.0.c").
func path(t testing.TB, v any, p string) any {
	t.Helper()
	for _, part := range strings.Split(p, ".") {
		switch x := v.(type) {
		case map[string]any:
			v = x[part]
		case []any:
			i, err := strconv.Atoi(part)
			if err != nil || i >= len(x) {
				t.Fatalf("bad path %s at %s", p, part)
			}
			v = x[i]
		default:
			t.Fatalf("bad path %s at %s", p, part)
		}
		if v == nil {
			t.Fatalf("path %s: %s missing", p, part)
		}
	}
	return v
}

// setPath sets the last element of p.
func setPath(t testing.TB, root any, p string, val any) {
	t.Helper()
	i := strings.LastIndex(p, ".")
	parent := path(t, root, p[:i])
	key := p[i+1:]
	switch x := parent.(type) {
	case map[string]any:
		x[key] = val
	case []any:
		n, err := strconv.Atoi(key)
		if err != nil {
			t.Fatal(err)
		}
		x[n] = val
	}
}

// flipB64 flips one bit of the base64 field at p, at byte offset off (from
// the end when negative).
func flipB64(t testing.TB, b map[string]any, p string, off int) {
	t.Helper()
	raw, err := base64.StdEncoding.DecodeString(path(t, b, p).(string))
	if err != nil {
		t.Fatal(err)
	}
	if off < 0 {
		off += len(raw)
	}
	raw[off] ^= 0x01
	setPath(t, b, p, base64.StdEncoding.EncodeToString(raw))
}

// TestTamperReal changes one part of a real attestation at a time; each
// change must make the response invalid, for the right reason.
func TestTamperReal(t *testing.T) {
	v := embeddedVerifier(t)
	// gundam-visor: bundle v0.2 with SET and inclusion proof; attestation 0
	// is the publish attestation, 1 the provenance.
	var ra realAttestation
	for _, r := range realAttestations {
		if strings.Contains(r.file, "gundam-visor") {
			ra = r
		}
	}
	base := ra.input(t)
	if res := v.Attestations(base); res.Status != StatusVerified {
		t.Fatalf("untampered: %v", res.Err)
	}
	payloadFlip := func(b map[string]any) {
		p, err := base64.StdEncoding.DecodeString(path(t, b, "dsseEnvelope.payload").(string))
		if err != nil {
			t.Fatal(err)
		}
		// Change one character of the predicate, keeping valid JSON and the
		// subject intact.
		s := strings.Replace(string(p), `"predicate":{"`, `"predicate":{"x`, 1)
		if s == string(p) {
			t.Fatal("payload not changed")
		}
		setPath(t, b, "dsseEnvelope.payload", base64.StdEncoding.EncodeToString([]byte(s)))
	}
	tlog := "verificationMaterial.tlogEntries.0."
	tests := []struct {
		name string
		att  int
		f    func(b map[string]any)
		want []error
	}{
		{"publish payload", 0, payloadFlip, []error{ErrBundleInvalid, ErrSignatureInvalid}},
		{"provenance payload", 1, payloadFlip, []error{ErrBundleInvalid, ErrSignatureInvalid}},
		{"publish signature", 0, func(b map[string]any) { flipB64(t, b, "dsseEnvelope.signatures.0.sig", -2) }, []error{ErrBundleInvalid, ErrSignatureInvalid}},
		{"provenance signature", 1, func(b map[string]any) { flipB64(t, b, "dsseEnvelope.signatures.0.sig", -2) }, []error{ErrBundleInvalid, ErrSignatureInvalid}},
		{"provenance certificate", 1, func(b map[string]any) {
			flipB64(t, b, "verificationMaterial.x509CertificateChain.certificates.0.rawBytes", -5)
		}, []error{ErrBundleInvalid, ErrCertificate, ErrTransparencyLog}},
		{"publish SET", 0, func(b map[string]any) { flipB64(t, b, tlog+"inclusionPromise.signedEntryTimestamp", -3) }, []error{ErrBundleInvalid, ErrTransparencyLog}},
		{"provenance SET", 1, func(b map[string]any) { flipB64(t, b, tlog+"inclusionPromise.signedEntryTimestamp", -3) }, []error{ErrBundleInvalid, ErrTransparencyLog}},
		{"publish inclusion proof", 0, func(b map[string]any) { flipB64(t, b, tlog+"inclusionProof.hashes.0", 3) }, []error{ErrBundleInvalid, ErrTransparencyLog}},
		{"provenance inclusion proof", 1, func(b map[string]any) { flipB64(t, b, tlog+"inclusionProof.hashes.0", 3) }, []error{ErrBundleInvalid, ErrTransparencyLog}},
		{"provenance root hash", 1, func(b map[string]any) { flipB64(t, b, tlog+"inclusionProof.rootHash", 3) }, []error{ErrBundleInvalid, ErrTransparencyLog}},
		{"provenance integrated time", 1, func(b map[string]any) {
			n, _ := strconv.Atoi(path(t, b, tlog+"integratedTime").(string))
			setPath(t, b, tlog+"integratedTime", strconv.Itoa(n+1))
		}, []error{ErrBundleInvalid, ErrTransparencyLog}},
		{"publish log index", 0, func(b map[string]any) {
			n, _ := strconv.Atoi(path(t, b, tlog+"logIndex").(string))
			setPath(t, b, tlog+"logIndex", strconv.Itoa(n+1))
		}, []error{ErrBundleInvalid, ErrTransparencyLog}},
		{"provenance canonicalized body", 1, func(b map[string]any) { flipB64(t, b, tlog+"canonicalizedBody", 40) }, []error{ErrBundleInvalid}},
		{"publish key hint", 0, func(b map[string]any) {
			setPath(t, b, "verificationMaterial.publicKey.hint", "SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")
		}, []error{ErrUnknownKey}},
		{"publish key hint names the 2025 key", 0, func(b map[string]any) {
			setPath(t, b, "verificationMaterial.publicKey.hint", "SHA256:DhQ8wR5APBvFHLF/+Tc+AYvPOdTpcIDqOhxsBHRwC7U")
		}, []error{ErrKeyNotValidAtTime}},
		{"no tlog entries", 1, func(b map[string]any) { setPath(t, b, "verificationMaterial.tlogEntries", []any{}) }, []error{ErrBundleInvalid, ErrTransparencyLog}},
		{"provenance media type unknown", 1, func(b map[string]any) {
			b["mediaType"] = "application/vnd.dev.sigstore.bundle+json;version=9.9"
		}, []error{ErrBundleInvalid, ErrMalformed}},
		{"no DSSE envelope", 1, func(b map[string]any) {
			delete(b, "dsseEnvelope")
			b["messageSignature"] = map[string]any{"messageDigest": map[string]any{"algorithm": "SHA2_256", "digest": base64.StdEncoding.EncodeToString(make([]byte, 32))}, "signature": "AAAA"}
		}, []error{ErrMalformed}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := base
			in.Body = mutateBundle(t, base.Body, tt.att, tt.f)
			res := v.Attestations(in)
			if res.Status != StatusInvalid || res.Publish != nil || res.Provenance != nil {
				t.Fatalf("status %s", res.Status)
			}
			wantErrs(t, res.Err, tt.want...)
			t.Log(res.Err)
		})
	}
}

// TestAttestationsBindingReal checks the package and integrity binding and
// the response-level rules on real data.
func TestAttestationsBindingReal(t *testing.T) {
	v := embeddedVerifier(t)
	ra := realAttestations[0] // sigstore@1.0.0, SLSA v0.2
	base := ra.input(t)
	otherTarball := sriOf(fixture(t, "tarballs-npm-pack/sigstore-0.4.0.tgz"))
	sum := sha1Hex(fixture(t, ra.tarball))
	sha1SRI := func() string {
		d := sha1.Sum(fixture(t, ra.tarball))
		return "sha1-" + base64.StdEncoding.EncodeToString(d[:])
	}
	var body map[string]any
	if err := json.Unmarshal(base.Body, &body); err != nil {
		t.Fatal(err)
	}
	atts := body["attestations"].([]any)
	encode := func(v any) []byte {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	onlyPublish := encode(map[string]any{"attestations": []any{atts[1]}})
	onlyProvenance := encode(map[string]any{"attestations": []any{atts[0]}})
	twoPublish := encode(map[string]any{"attestations": []any{atts[0], atts[1], atts[1]}})
	unknownType := mutateJSON(t, base.Body, func(doc map[string]any) {
		doc["attestations"].([]any)[0].(map[string]any)["predicateType"] = "https://example.com/other/v1"
	})

	tests := []struct {
		name   string
		mutate func(in *AttestationInput)
		status Status
		want   []error
	}{
		{"verified", func(*AttestationInput) {}, StatusVerified, nil},
		{"sha1-only lockfile binds through shasum", func(in *AttestationInput) {
			in.Integrity, in.ServedShasum = sha1SRI(), sum
		}, StatusVerified, nil},
		{"no expected predicate", func(in *AttestationInput) { in.ExpectedPredicate = "" }, StatusVerified, nil},
		{"publish only, no provenance announced", func(in *AttestationInput) { in.Body, in.ExpectedPredicate = onlyPublish, "" }, StatusVerified, nil},
		{"publish only, provenance announced", func(in *AttestationInput) { in.Body = onlyPublish }, StatusInvalid, []error{ErrPredicateMissing}},
		{"provenance only", func(in *AttestationInput) { in.Body = onlyProvenance }, StatusInvalid, []error{ErrPublishAttestationMissing}},
		{"two publish attestations", func(in *AttestationInput) { in.Body = twoPublish }, StatusInvalid, []error{ErrMalformed}},
		{"other announced predicate", func(in *AttestationInput) { in.ExpectedPredicate = PredicateSLSAv1 }, StatusInvalid, []error{ErrPredicateMissing}},
		{"unknown announced predicate, absent", func(in *AttestationInput) { in.ExpectedPredicate = "https://example.com/p" }, StatusInvalid, []error{ErrPredicateMissing}},
		{"unknown predicate type in response", func(in *AttestationInput) { in.Body = unknownType }, StatusInvalid, []error{ErrPredicateType}},
		{"lockfile integrity of another tarball", func(in *AttestationInput) { in.Integrity, in.ServedIntegrity = otherTarball, otherTarball },
			StatusInvalid, []error{ErrSubjectDigest}},
		{"served integrity differs from lockfile", func(in *AttestationInput) { in.ServedIntegrity = otherTarball },
			StatusInvalid, []error{ErrIntegrityMismatch}},
		{"other package name", func(in *AttestationInput) { in.Name = "sigstore-evil" }, StatusInvalid, []error{ErrSubjectName}},
		{"other version", func(in *AttestationInput) { in.Version = "1.0.1" }, StatusInvalid, []error{ErrSubjectName}},
		{"scoped name of the same package", func(in *AttestationInput) { in.Name = "@sigstore/sigstore" }, StatusInvalid, []error{ErrSubjectName}},
		{"sha1-only lockfile, nothing served", func(in *AttestationInput) { in.Integrity, in.ServedIntegrity = sha1SRI(), "" },
			StatusInvalid, []error{ErrNoSHA512}},
		{"sha1-only lockfile, served sha512 without shasum", func(in *AttestationInput) { in.Integrity = sha1SRI() },
			StatusInvalid, []error{ErrIntegrityMismatch}},
		{"no lockfile integrity", func(in *AttestationInput) { in.Integrity = "" }, StatusInvalid, []error{ErrMalformed}},
		{"no name", func(in *AttestationInput) { in.Name = "" }, StatusInvalid, []error{ErrMalformed}},
		{"no version", func(in *AttestationInput) { in.Version = "" }, StatusInvalid, []error{ErrMalformed}},
		{"empty body", func(in *AttestationInput) { in.Body = nil }, StatusInvalid, []error{ErrNoAttestations}},
		{"blank body", func(in *AttestationInput) { in.Body = []byte("  \n") }, StatusInvalid, []error{ErrNoAttestations}},
		{"garbage body", func(in *AttestationInput) { in.Body = []byte("<html>502</html>") }, StatusInvalid, []error{ErrMalformed}},
		{"truncated body", func(in *AttestationInput) { in.Body = in.Body[:len(in.Body)/2] }, StatusInvalid, []error{ErrMalformed}},
		{"no attestations key", func(in *AttestationInput) { in.Body = []byte(`{}`) }, StatusInvalid, []error{ErrNoAttestations}},
		{"null attestations", func(in *AttestationInput) { in.Body = []byte(`{"attestations":null}`) }, StatusInvalid, []error{ErrNoAttestations}},
		{"zero attestations", func(in *AttestationInput) { in.Body = []byte(`{"attestations":[]}`) }, StatusInvalid, []error{ErrNoAttestations}},
		{"attestation without bundle", func(in *AttestationInput) {
			in.Body = []byte(`{"attestations":[{"predicateType":"` + PredicatePublish + `"}]}`)
		}, StatusInvalid, []error{ErrMalformed}},
		{"attestation with null bundle", func(in *AttestationInput) {
			in.Body = []byte(`{"attestations":[{"predicateType":"` + PredicatePublish + `","bundle":null}]}`)
		}, StatusInvalid, []error{ErrMalformed}},
		{"attestation without predicate type", func(in *AttestationInput) {
			in.Body = []byte(`{"attestations":[{"bundle":{}}]}`)
		}, StatusInvalid, []error{ErrMalformed}},
		{"empty bundles", func(in *AttestationInput) {
			in.Body = []byte(`{"attestations":[{"predicateType":"` + PredicatePublish + `","bundle":{}},{"predicateType":"` + PredicateSLSAv02 + `","bundle":{}}]}`)
		}, StatusInvalid, []error{ErrMalformed}},
		{"too many attestations", func(in *AttestationInput) {
			var many []any
			for range maxAttestations + 1 {
				many = append(many, atts[1])
			}
			in.Body = encode(map[string]any{"attestations": many})
		}, StatusInvalid, []error{ErrMalformed}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := base
			tt.mutate(&in)
			res := v.Attestations(in)
			if res.Status != tt.status {
				t.Fatalf("status %s, want %s: %v", res.Status, tt.status, res.Err)
			}
			if tt.status == StatusVerified {
				if res.Err != nil || res.Publish == nil {
					t.Fatalf("verified with err %v publish %v", res.Err, res.Publish)
				}
				return
			}
			if res.Publish != nil || res.Provenance != nil {
				t.Fatal("facts on an invalid result")
			}
			wantErrs(t, res.Err, tt.want...)
			t.Log(res.Err)
		})
	}
}

func mutateJSON(t testing.TB, body []byte, f func(doc map[string]any)) []byte {
	t.Helper()
	var doc map[string]any
	if err := json.Unmarshal(body, &doc); err != nil {
		t.Fatal(err)
	}
	f(doc)
	out, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	return out
}
