package verdictstore

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/secure-systems-lab/go-securesystemslib/dsse"

	"github.com/provaudit/provaudit/audit"
)

var testKey = audit.StoreKey{
	Name: "@scope/pkg", Version: "1.2.3", Integrity: "sha512-AAAA",
	VerdictFormat: "verdict/v2", Trust: "trustdigest", Registry: "https://registry.invalid/",
	RegistryNamedBy: audit.NamedByUser, RegistryKeys: "keysdigest",
}

const testVerdict = `{"sig":{"status":"verified","reason":"ok"},"att":{"status":"verified","reason":"ok"}}`

var testNow = time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)

func TestRecordRoundTrip(t *testing.T) {
	pub, priv := newKey(t)
	data, err := sealRecord(priv, testKey, []byte(testVerdict), "provaudit test", testNow)
	if err != nil {
		t.Fatal(err)
	}
	v, err := openRecord(pub, data, testKey)
	if err != nil {
		t.Fatal(err)
	}
	if string(v) != testVerdict {
		t.Fatalf("verdict %s, want %s", v, testVerdict)
	}
	var env envelope
	if err := json.Unmarshal(data, &env); err != nil {
		t.Fatal(err)
	}
	if env.PayloadType != PayloadType || len(env.Signatures) != 1 || env.Signatures[0].KeyID != keyID(pub) || !strings.HasPrefix(keyID(pub), "SHA256:") {
		t.Fatalf("envelope %+v", env)
	}
	// The envelope is standard DSSE: the library's verifier accepts it.
	ev, err := dsse.NewEnvelopeVerifier(edVerifier{pub})
	if err != nil {
		t.Fatal(err)
	}
	var denv dsse.Envelope
	if err := json.Unmarshal(data, &denv); err != nil {
		t.Fatal(err)
	}
	if _, err := ev.Verify(context.Background(), &denv); err != nil {
		t.Fatalf("DSSE verifier: %v", err)
	}
	if _, err := sealRecord(priv, testKey, []byte("not json"), "", testNow); !errors.Is(err, ErrMalformed) {
		t.Fatalf("a verdict that is not JSON: %v", err)
	}
}

// resign re-signs a changed payload with priv, so that only the change
// (not the signature) can make the record fail.
func resign(t *testing.T, priv ed25519.PrivateKey, data []byte, change func(map[string]any)) []byte {
	t.Helper()
	var env envelope
	if err := json.Unmarshal(data, &env); err != nil {
		t.Fatal(err)
	}
	var payload map[string]any
	if err := json.Unmarshal(env.Payload, &payload); err != nil {
		t.Fatal(err)
	}
	change(payload)
	p, err := json.Marshal(payload)
	if err != nil {
		t.Fatal(err)
	}
	env.Payload = p
	env.Signatures[0].Sig = signPAE(priv, p)
	out, err := json.Marshal(env)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func signPAE(priv ed25519.PrivateKey, payload []byte) []byte {
	return ed25519.Sign(priv, dsse.PAE(PayloadType, payload))
}

// edVerifier is a dsse.Verifier of an Ed25519 key.
type edVerifier struct{ pub ed25519.PublicKey }

func (v edVerifier) Verify(_ context.Context, data, sig []byte) error {
	if !ed25519.Verify(v.pub, data, sig) {
		return errors.New("bad signature")
	}
	return nil
}
func (v edVerifier) KeyID() (string, error)   { return keyID(v.pub), nil }
func (v edVerifier) Public() crypto.PublicKey { return v.pub }

// Every way a record can be wrong makes it unusable, with the error that
// says why; a record that is right except for the checked property is the
// baseline each case starts from.
func TestRecordRejects(t *testing.T) {
	pub, priv := newKey(t)
	_, other := newKey(t)
	good, err := sealRecord(priv, testKey, []byte(testVerdict), "", testNow)
	if err != nil {
		t.Fatal(err)
	}
	env := func(change func(*envelope)) []byte {
		var e envelope
		if err := json.Unmarshal(good, &e); err != nil {
			t.Fatal(err)
		}
		change(&e)
		b, err := json.Marshal(e)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	otherSigned, err := sealRecord(other, testKey, []byte(testVerdict), "", testNow)
	if err != nil {
		t.Fatal(err)
	}
	keyField := func(field, value string) []byte {
		return resign(t, priv, good, func(p map[string]any) { p["key"].(map[string]any)[field] = value })
	}
	cases := []struct {
		name string
		data []byte
		want error
	}{
		{"not JSON", []byte("not json"), ErrMalformed},
		{"too large", append(bytes.Repeat([]byte(" "), maxRecord), good...), ErrMalformed},
		{"other payload type", env(func(e *envelope) { e.PayloadType = "application/vnd.in-toto+json" }), ErrMalformed},
		{"no signature", env(func(e *envelope) { e.Signatures = nil }), ErrSignature},
		{"too many signatures", env(func(e *envelope) {
			for range maxSignatures {
				e.Signatures = append(e.Signatures, e.Signatures[0])
			}
		}), ErrSignature},
		{"signature flipped", env(func(e *envelope) { e.Signatures[0].Sig[5] ^= 1 }), ErrSignature},
		{"signature truncated", env(func(e *envelope) { e.Signatures[0].Sig = e.Signatures[0].Sig[:10] }), ErrSignature},
		{"payload altered", env(func(e *envelope) {
			e.Payload = bytes.Replace(e.Payload, []byte(`"verified"`), []byte(`"verifiex"`), 1)
		}), ErrSignature},
		{"signed by another key", otherSigned, ErrSignature},
		{"record version", resign(t, priv, good, func(p map[string]any) { p["recordVersion"] = 2 }), ErrMalformed},
		{"unknown field", resign(t, priv, good, func(p map[string]any) { p["trusted"] = true }), ErrMalformed},
		{"no verdict", resign(t, priv, good, func(p map[string]any) { delete(p, "verdict") }), ErrMalformed},
		{"verdict not an object", resign(t, priv, good, func(p map[string]any) { p["verdict"] = "verified" }), ErrMalformed},
		{"payload not JSON", env(func(e *envelope) {
			e.Payload = []byte("verified")
			e.Signatures[0].Sig = signPAE(priv, e.Payload)
		}), ErrMalformed},
		{"other name", keyField("name", "@scope/other"), ErrOtherKey},
		{"other version", keyField("version", "1.2.4"), ErrOtherKey},
		{"other integrity", keyField("integrity", "sha512-BBBB"), ErrOtherKey},
		{"other verdict format", keyField("verdictFormat", "verdict/v1"), ErrOtherKey},
		{"other trust material", keyField("trust", "othertrust"), ErrOtherKey},
		{"other registry", keyField("registry", "https://other.invalid/"), ErrOtherKey},
		{"registry named by the project", keyField("registryNamedBy", audit.NamedByProject), ErrOtherKey},
		{"other registry keys", keyField("registryKeys", "otherkeys"), ErrOtherKey},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			v, err := openRecord(pub, c.data, testKey)
			if !errors.Is(err, c.want) || v != nil {
				t.Fatalf("got %s, %v; want %v", v, err, c.want)
			}
		})
	}
	// The baseline is good, and the re-signing helper alone changes
	// nothing: every case above fails for its own change.
	if _, err := openRecord(pub, resign(t, priv, good, func(map[string]any) {}), testKey); err != nil {
		t.Fatalf("re-signed unchanged record: %v", err)
	}
}

// The object key depends on every field of the store key and on the
// signing key's folder, so that no two situations share a record.
func TestObjectKey(t *testing.T) {
	base := objectKey("dir", testKey)
	if !strings.HasPrefix(base, keyPrefix+"dir/") || strings.Contains(base, "scope") {
		t.Fatalf("object key %q", base)
	}
	seen := map[string]string{base: "base"}
	for _, f := range []func(*audit.StoreKey){
		func(k *audit.StoreKey) { k.Name += "x" },
		func(k *audit.StoreKey) { k.Version += "x" },
		func(k *audit.StoreKey) { k.Integrity += "x" },
		func(k *audit.StoreKey) { k.VerdictFormat += "x" },
		func(k *audit.StoreKey) { k.Trust += "x" },
		func(k *audit.StoreKey) { k.Registry += "x" },
		func(k *audit.StoreKey) { k.RegistryNamedBy = audit.NamedByProject },
		func(k *audit.StoreKey) { k.RegistryKeys += "x" },
		// Length prefixes: moving a character between fields changes it.
		func(k *audit.StoreKey) { k.Name, k.Version = k.Name+"1", ".2.3" },
	} {
		k := testKey
		f(&k)
		got := objectKey("dir", k)
		if prev, ok := seen[got]; ok {
			t.Fatalf("%+v has the object key of %s", k, prev)
		}
		seen[got] = k.Name + k.Version
	}
	if objectKey("other", testKey) == base {
		t.Fatal("the key folder does not change the object key")
	}
}

func FuzzOpenRecord(f *testing.F) {
	pub, priv := newKey(f)
	good, err := sealRecord(priv, testKey, []byte(testVerdict), "provaudit", testNow)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Add([]byte(`{"payloadType":"` + PayloadType + `","payload":"e30=","signatures":[{"keyid":"","sig":"AAAA"}]}`))
	f.Add([]byte(`{}`))
	var goodEnv envelope
	if err := json.Unmarshal(good, &goodEnv); err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		v, err := openRecord(pub, data, testKey)
		if err != nil {
			if v != nil {
				t.Fatalf("a verdict came with the error %v", err)
			}
			return
		}
		// The fuzzer cannot forge a signature: whatever opens carries the
		// payload signed with priv, and its verdict.
		var e envelope
		if json.Unmarshal(data, &e) != nil || !bytes.Equal(e.Payload, goodEnv.Payload) || string(v) != testVerdict {
			t.Fatalf("opened %q: verdict %s", data, v)
		}
	})
}
