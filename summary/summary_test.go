package summary

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/secure-systems-lab/go-securesystemslib/dsse"

	"github.com/provaudit/provaudit/audit"
)

// testKey is an Ed25519 key with its PEM files, marshalled as openssl
// writes them.
type testKey struct {
	priv            ed25519.PrivateKey
	pub             ed25519.PublicKey
	privPEM, pubPEM []byte
}

func newTestKey(t testing.TB) testKey {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return testKey{priv: priv, pub: pub, privPEM: pemOf(t, "PRIVATE KEY", priv), pubPEM: pemOf(t, "PUBLIC KEY", pub)}
}

func pemOf(t testing.TB, typ string, key any) []byte {
	t.Helper()
	var der []byte
	var err error
	if typ == "PUBLIC KEY" {
		der, err = x509.MarshalPKIXPublicKey(key)
	} else {
		der, err = x509.MarshalPKCS8PrivateKey(key)
	}
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der})
}

var lockfileBytes = []byte(`{"name": "demo", "lockfileVersion": 3, "packages": {"": {"name": "demo"}}}` + "\n")

func testPredicate(t testing.TB) *Predicate {
	t.Helper()
	r := &audit.Result{
		SchemaVersion: audit.SchemaVersion,
		Tool:          audit.Tool{Name: "provaudit", Version: "v1.2.3"},
		Lockfile:      audit.LockfileInfo{Path: "app/package-lock.json", LockfileVersion: 3, Registry: "https://registry.invalid/"},
		Summary: audit.Summary{Packages: 3, Audited: 3, Verified: 2, Invalid: 1, SignaturesVerified: 2, AttestationsVerified: 2,
			Findings: 1, StartedAt: time.Date(2025, 3, 14, 15, 9, 26, 0, time.UTC), DurationMS: 1234},
	}
	p, err := NewPredicate(r, Policy{FailOn: "low", RequireProvenance: true, Omit: []string{"dev"}, History: true,
		DisabledRules: []string{"publisher-changed"}, MinimumReleaseAge: "72h0m0s",
		File: &audit.PolicyInfo{File: "provaudit.yaml", NamedBy: "project"},
		Diff: &audit.DiffInfo{Baseline: "main:package-lock.json", New: 1, Changed: 2, Unchanged: 3}},
		Outcome{ExitCode: 1, Result: ResultFindings, Message: "1 finding at or above severity low"})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func sign(t testing.TB, k testKey) []byte {
	t.Helper()
	env, err := Sign(k.priv, Subject{Name: "app/package-lock.json", SHA256: sha256.Sum256(lockfileBytes)}, testPredicate(t))
	if err != nil {
		t.Fatal(err)
	}
	return env
}

func TestSignVerify(t *testing.T) {
	k := newTestKey(t)
	env := sign(t, k)
	if strings.Count(string(env), "\n") != 1 || !strings.HasSuffix(string(env), "\n") {
		t.Errorf("envelope is not one JSON line: %q", env)
	}
	v, err := Verify(env, k.pub, lockfileBytes)
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	id, _ := KeyID(k.pub)
	if v.KeyID != id || !strings.HasPrefix(id, "SHA256:") {
		t.Errorf("key id %q, want %q", v.KeyID, id)
	}
	if v.Subject.Name != "app/package-lock.json" || v.Subject.SHA256 != sha256.Sum256(lockfileBytes) {
		t.Errorf("subject %+v", v.Subject)
	}
	want := testPredicate(t)
	got := v.Predicate
	if got.Tool != want.Tool || got.Lockfile != want.Lockfile || got.ReportSchemaVersion != audit.SchemaVersion ||
		got.Outcome != want.Outcome || got.Policy.FailOn != "low" || !got.Policy.RequireProvenance ||
		len(got.Policy.Omit) != 1 || got.Policy.Omit[0] != "dev" {
		t.Errorf("predicate %+v, want %+v", got, want)
	}
	if gp, wp := got.Policy, want.Policy; !gp.History || !slices.Equal(gp.DisabledRules, wp.DisabledRules) ||
		gp.MinimumReleaseAge != wp.MinimumReleaseAge || gp.File == nil || *gp.File != *wp.File || gp.Diff == nil || *gp.Diff != *wp.Diff {
		t.Errorf("policy %+v, want %+v", gp, wp)
	}
	var s audit.Summary
	if err := json.Unmarshal(got.Summary, &s); err != nil {
		t.Fatal(err)
	}
	if s.Verified != 2 || s.Audited != 3 || s.Findings != 1 || !s.StartedAt.Equal(time.Date(2025, 3, 14, 15, 9, 26, 0, time.UTC)) {
		t.Errorf("summary %+v", s)
	}

	// The statement inside is what the package documentation promises.
	var e dsse.Envelope
	if err := json.Unmarshal(env, &e); err != nil {
		t.Fatal(err)
	}
	st := statement(t, env)
	subjects, _ := st["subject"].([]any)
	var digest map[string]any
	if len(subjects) == 1 {
		digest, _ = subjects[0].(map[string]any)["digest"].(map[string]any)
	}
	if sha, _ := digest["sha256"].(string); e.PayloadType != PayloadType || st["_type"] != "https://in-toto.io/Statement/v1" ||
		st["predicateType"] != PredicateType || len(digest) != 1 || len(sha) != 64 ||
		len(e.Signatures) != 1 || e.Signatures[0].KeyID != id {
		t.Errorf("envelope %+v, statement %+v", e, st)
	}
}

// signPayload signs any payload as Sign would, for statements Sign does
// not make.
func signPayload(t *testing.T, k testKey, payloadType string, payload []byte) []byte {
	t.Helper()
	sv, err := signerVerifier(k.pub, k.priv)
	if err != nil {
		t.Fatal(err)
	}
	s, err := dsse.NewEnvelopeSigner(sv)
	if err != nil {
		t.Fatal(err)
	}
	e, err := s.SignPayload(context.Background(), payloadType, payload)
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(e)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// editEnvelope decodes env, applies edit and encodes it again.
func editEnvelope(t *testing.T, env []byte, edit func(*dsse.Envelope)) []byte {
	t.Helper()
	var e dsse.Envelope
	if err := json.Unmarshal(env, &e); err != nil {
		t.Fatal(err)
	}
	edit(&e)
	b, err := json.Marshal(e)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// statement is the signed payload of env as a JSON object.
func statement(t *testing.T, env []byte) map[string]any {
	t.Helper()
	var e dsse.Envelope
	if err := json.Unmarshal(env, &e); err != nil {
		t.Fatal(err)
	}
	p, err := base64.StdEncoding.DecodeString(e.Payload)
	if err != nil {
		t.Fatal(err)
	}
	var st map[string]any
	if err := json.Unmarshal(p, &st); err != nil {
		t.Fatal(err)
	}
	return st
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestVerifyFailures: every way an envelope can fail is its own error,
// and none verifies.
func TestVerifyFailures(t *testing.T) {
	k, other := newTestKey(t), newTestKey(t)
	good := sign(t, k)
	resign := func(edit func(st map[string]any)) []byte {
		st := statement(t, good)
		edit(st)
		return signPayload(t, k, PayloadType, mustJSON(t, st))
	}
	tests := []struct {
		name     string
		env      []byte
		key      ed25519.PublicKey
		lockfile []byte
		want     error
		says     string
	}{
		{"other key", good, other.pub, lockfileBytes, ErrSignature, "not by the given key"},
		{"other key without key ids", editEnvelope(t, good, func(e *dsse.Envelope) { e.Signatures[0].KeyID = "" }), other.pub, lockfileBytes, ErrSignature, "no signature by"},
		{"signed by another key under this key's id", editEnvelope(t, sign(t, other), func(e *dsse.Envelope) {
			e.Signatures[0].KeyID, _ = KeyID(k.pub)
		}), k.pub, lockfileBytes, ErrSignature, "no signature by"},
		{"flipped signature", editEnvelope(t, good, func(e *dsse.Envelope) {
			sig, _ := base64.StdEncoding.DecodeString(e.Signatures[0].Sig)
			sig[10] ^= 1
			e.Signatures[0].Sig = base64.StdEncoding.EncodeToString(sig)
		}), k.pub, lockfileBytes, ErrSignature, "no signature by"},
		{"altered payload", editEnvelope(t, good, func(e *dsse.Envelope) {
			p, _ := base64.StdEncoding.DecodeString(e.Payload)
			p = []byte(strings.Replace(string(p), `"findings"`, `"pass"`, 1))
			e.Payload = base64.StdEncoding.EncodeToString(p)
		}), k.pub, lockfileBytes, ErrSignature, "no signature by"},
		{"no signatures", editEnvelope(t, good, func(e *dsse.Envelope) { e.Signatures = nil }), k.pub, lockfileBytes, ErrSignature, "no signature"},
		{"other lockfile", good, k.pub, append([]byte(" "), lockfileBytes...), ErrSubject, "the lockfile has"},
		{"wrong payload type", editEnvelope(t, good, func(e *dsse.Envelope) { e.PayloadType = "application/json" }), k.pub, lockfileBytes, ErrMalformed, `payload type "application/json"`},
		{"signed with another payload type", signPayload(t, k, "text/plain", []byte("hello")), k.pub, lockfileBytes, ErrMalformed, "payload type"},
		{"not JSON", []byte("-----BEGIN PUBLIC KEY-----"), k.pub, lockfileBytes, ErrMalformed, "not a JSON DSSE envelope"},
		{"empty", []byte("\n"), k.pub, lockfileBytes, ErrMalformed, "empty"},
		{"not an envelope", []byte(`{"_type": "https://in-toto.io/Statement/v1"}`), k.pub, lockfileBytes, ErrMalformed, "no payloadType or payload"},
		{"two envelopes", append(append([]byte{}, good...), good...), k.pub, lockfileBytes, ErrMalformed, "more than one"},
		{"payload not base64", editEnvelope(t, good, func(e *dsse.Envelope) { e.Payload = "!!" }), k.pub, lockfileBytes, ErrMalformed, "payload is not base64"},
		{"signature not base64", editEnvelope(t, good, func(e *dsse.Envelope) { e.Signatures[0].Sig = "!!" }), k.pub, lockfileBytes, ErrMalformed, "signature 0 is not base64"},
		{"too large", append(good, make([]byte, MaxEnvelopeSize)...), k.pub, lockfileBytes, ErrMalformed, "more than"},
		{"signed non-statement", signPayload(t, k, PayloadType, []byte(`{"hello": 1}`)), k.pub, lockfileBytes, ErrMalformed, "not an in-toto statement"},
		{"statement v0.1", resign(func(st map[string]any) { st["_type"] = "https://in-toto.io/Statement/v0.1" }), k.pub, lockfileBytes, ErrMalformed, "statement type"},
		{"other predicate type", resign(func(st map[string]any) { st["predicateType"] = "https://slsa.dev/provenance/v1" }), k.pub, lockfileBytes, ErrMalformed, "predicate type"},
		{"two subjects", resign(func(st map[string]any) {
			s := st["subject"].([]any)
			st["subject"] = append(s, s[0])
		}), k.pub, lockfileBytes, ErrMalformed, "2 subjects"},
		{"subject without sha256", resign(func(st map[string]any) {
			st["subject"] = []any{map[string]any{"name": "x", "digest": map[string]any{"sha512": strings.Repeat("ab", 64)}}}
		}), k.pub, lockfileBytes, ErrMalformed, "no sha256"},
		{"unknown outcome", resign(func(st map[string]any) {
			st["predicate"].(map[string]any)["outcome"] = map[string]any{"exitCode": 0, "result": "ok"}
		}), k.pub, lockfileBytes, ErrMalformed, `outcome "ok"`},
		{"outcome and exit code disagree", resign(func(st map[string]any) {
			st["predicate"].(map[string]any)["outcome"] = map[string]any{"exitCode": 0, "result": "findings"}
		}), k.pub, lockfileBytes, ErrMalformed, "exit code 0"},
		{"no summary", resign(func(st map[string]any) { delete(st["predicate"].(map[string]any), "summary") }), k.pub, lockfileBytes, ErrMalformed, "no summary"},
		{"unknown predicate field", resign(func(st map[string]any) { st["predicate"].(map[string]any)["passed"] = true }), k.pub, lockfileBytes, ErrMalformed, "passed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, err := Verify(tt.env, tt.key, tt.lockfile)
			if !errors.Is(err, tt.want) {
				t.Fatalf("Verify = %+v, %v; want %v", v, err, tt.want)
			}
			if v != nil {
				t.Errorf("Verify returned a summary with an error")
			}
			if !strings.Contains(err.Error(), tt.says) {
				t.Errorf("error %q does not say %q", err, tt.says)
			}
		})
	}
	// The good envelope still verifies: the failures above come from the
	// edits, not from the fixtures.
	if _, err := Verify(good, k.pub, lockfileBytes); err != nil {
		t.Fatal(err)
	}
}

func TestSignRefuses(t *testing.T) {
	k := newTestKey(t)
	p := testPredicate(t)
	p.Outcome = Outcome{ExitCode: 2, Result: "error"}
	if _, err := Sign(k.priv, Subject{Name: "x"}, p); !errors.Is(err, ErrMalformed) {
		t.Errorf("an unknown outcome: %v", err)
	}
	if _, err := Sign(k.priv[:10], Subject{Name: "x"}, testPredicate(t)); !errors.Is(err, ErrKey) {
		t.Errorf("a short key: %v", err)
	}
}

// TestOpenSSLKeys: keys that openssl genpkey and pkey -pubout wrote parse,
// sign and verify, and the test keys are marshalled byte for byte as
// openssl marshals them.
func TestOpenSSLKeys(t *testing.T) {
	privPEM, err := os.ReadFile(filepath.Join("testdata", "openssl-ed25519.pem"))
	if err != nil {
		t.Fatal(err)
	}
	pubPEM, err := os.ReadFile(filepath.Join("testdata", "openssl-ed25519.pub.pem"))
	if err != nil {
		t.Fatal(err)
	}
	priv, err := ParsePrivateKey(privPEM)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := ParsePublicKey(pubPEM)
	if err != nil {
		t.Fatal(err)
	}
	if !pub.Equal(priv.Public()) {
		t.Fatal("the public key is not the private key's")
	}
	if got := pemOf(t, "PRIVATE KEY", priv); string(got) != string(privPEM) {
		t.Errorf("Go marshals the private key as\n%s\nopenssl wrote\n%s", got, privPEM)
	}
	if got := pemOf(t, "PUBLIC KEY", pub); string(got) != string(pubPEM) {
		t.Errorf("Go marshals the public key as\n%s\nopenssl wrote\n%s", got, pubPEM)
	}
	env, err := Sign(priv, Subject{Name: "package-lock.json", SHA256: sha256.Sum256(lockfileBytes)}, testPredicate(t))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Verify(env, pub, lockfileBytes); err != nil {
		t.Fatal(err)
	}
}

func TestParseKeys(t *testing.T) {
	k := newTestKey(t)
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	privTests := []struct {
		name string
		pem  []byte
		says string
	}{
		{"public key", k.pubPEM, "this is a public key"},
		{"RSA", pemOf(t, "PRIVATE KEY", rsaKey), "a RSA key"},
		{"ECDSA", pemOf(t, "PRIVATE KEY", ecKey), "a ECDSA key"},
		{"not PEM", []byte("ed25519 key"), "no PEM block"},
		{"encrypted", pem.EncodeToMemory(&pem.Block{Type: "ENCRYPTED PRIVATE KEY", Bytes: []byte{1}}), "encrypted keys"},
		{"legacy encrypted", pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Headers: map[string]string{"Proc-Type": "4,ENCRYPTED"}, Bytes: []byte{1}}), "headers"},
		{"two keys", append(append([]byte{}, k.privPEM...), k.privPEM...), "data after"},
		{"garbage DER", pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: []byte("xx")}), "not a PKCS #8"},
	}
	for _, tt := range privTests {
		if _, err := ParsePrivateKey(tt.pem); !errors.Is(err, ErrKey) || !strings.Contains(err.Error(), tt.says) {
			t.Errorf("ParsePrivateKey(%s) = %v, want ErrKey saying %q", tt.name, err, tt.says)
		}
	}
	pubTests := []struct {
		name string
		pem  []byte
		says string
	}{
		{"private key", k.privPEM, "give its public key"},
		{"RSA", pemOf(t, "PUBLIC KEY", &rsaKey.PublicKey), "a RSA key"},
		{"not PEM", nil, "no PEM block"},
		{"garbage DER", pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: []byte("xx")}), "not a SubjectPublicKeyInfo"},
	}
	for _, tt := range pubTests {
		if _, err := ParsePublicKey(tt.pem); !errors.Is(err, ErrKey) || !strings.Contains(err.Error(), tt.says) {
			t.Errorf("ParsePublicKey(%s) = %v, want ErrKey saying %q", tt.name, err, tt.says)
		}
	}
	if priv, err := ParsePrivateKey(k.privPEM); err != nil || !priv.Equal(k.priv) {
		t.Errorf("ParsePrivateKey(own key) = %v", err)
	}
	if pub, err := ParsePublicKey(k.pubPEM); err != nil || !pub.Equal(k.pub) {
		t.Errorf("ParsePublicKey(own key) = %v", err)
	}
}
