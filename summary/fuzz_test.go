package summary

import (
	"crypto/ed25519"
	"errors"
	"testing"
)

// FuzzVerify: no input makes Verify panic, every failure is one of its
// errors, and nothing but a signature by the key verifies.
func FuzzVerify(f *testing.F) {
	k := newTestKey(f)
	good := sign(f, k)
	f.Add(good)
	f.Add(sign(f, newTestKey(f)))
	f.Add([]byte(`{"payloadType": "application/vnd.in-toto+json", "payload": "e30=", "signatures": [{"keyid": "", "sig": "AAAA"}]}`))
	f.Add([]byte(`{}`))
	f.Fuzz(func(t *testing.T, env []byte) {
		v, err := Verify(env, k.pub, lockfileBytes)
		if err == nil {
			if v == nil || v.Subject.Name != "app/package-lock.json" {
				t.Fatalf("verified %+v", v)
			}
			return
		}
		if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrSignature) && !errors.Is(err, ErrSubject) {
			t.Fatalf("error %v is none of the package's", err)
		}
	})
}

// FuzzParseKeys: key parsing never panics and returns Ed25519 keys of the
// right size or ErrKey.
func FuzzParseKeys(f *testing.F) {
	k := newTestKey(f)
	f.Add(k.privPEM)
	f.Add(k.pubPEM)
	f.Add([]byte("-----BEGIN PRIVATE KEY-----\nMC4=\n-----END PRIVATE KEY-----\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		if priv, err := ParsePrivateKey(b); err == nil && len(priv) != ed25519.PrivateKeySize {
			t.Fatalf("private key of %d bytes", len(priv))
		} else if err != nil && !errors.Is(err, ErrKey) {
			t.Fatalf("ParsePrivateKey: %v", err)
		}
		if pub, err := ParsePublicKey(b); err == nil && len(pub) != ed25519.PublicKeySize {
			t.Fatalf("public key of %d bytes", len(pub))
		} else if err != nil && !errors.Is(err, ErrKey) {
			t.Fatalf("ParsePublicKey: %v", err)
		}
	})
}
