package verify

import (
	"testing"
	"time"
)

func TestNewTrust(t *testing.T) {
	emb, err := NewTrust(TrustOptions{})
	if err != nil {
		t.Fatal(err)
	}
	explicit, err := NewTrust(TrustOptions{
		TrustedRoot: fixture(t, "trust/sigstore-tuf-4.0.2/trusted_root.json"),
		NpmKeys:     fixture(t, "trust/sigstore-tuf-4.0.2/npm-keys.json"),
	})
	if err != nil {
		t.Fatal(err)
	}
	if emb.Digest() != explicit.Digest() || len(emb.Digest()) != 64 {
		t.Fatalf("digests %s / %s", emb.Digest(), explicit.Digest())
	}
	other, err := NewTrust(TrustOptions{NpmKeys: fixture(t, "trust/corepack/npm-keys-endpoint.json")})
	if err != nil {
		t.Fatal(err)
	}
	if other.Digest() == emb.Digest() {
		t.Fatal("other keys, same digest")
	}
	otherRoot, err := NewTrust(TrustOptions{TrustedRoot: fixture(t, "trust/sigstore-go/examples-trusted-root-public-good.json")})
	if err != nil {
		t.Fatal(err)
	}
	if otherRoot.Digest() == emb.Digest() {
		t.Fatal("other root, same digest")
	}
	keys := emb.PinnedKeys()
	if len(keys) != 4 {
		t.Fatalf("%d pinned keys", len(keys))
	}
	for _, k := range keys {
		if !k.Pinned {
			t.Fatalf("key %s not pinned", k.KeyID)
		}
	}
	keys[0].KeyID = "changed"
	if emb.PinnedKeys()[0].KeyID == "changed" {
		t.Fatal("PinnedKeys exposes internal state")
	}

	badKeys := `{"keys":[{"keyid":"SHA256:jl3bwswu80PjjokCgh0o2w5c2U4LhQAE57gj9cz1kzA","keytype":"ecdsa-sha2-nistp256","scheme":"ecdsa-sha2-nistp256",` +
		`"key":"MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEY6Ya7W++7aUPzvMTrezH6Ycx3c+HOKYCcNGybJZSCJq/fd7Qa8uuAKtdIkUQtQiEKERhAmE5lMMJhP8OkDOa2g==","expires":null}]}`
	tests := []struct {
		name string
		opts TrustOptions
		want error
	}{
		{"empty trusted root", TrustOptions{TrustedRoot: []byte{}}, ErrMalformed},
		{"garbage trusted root", TrustOptions{TrustedRoot: []byte("{nope")}, ErrMalformed},
		{"trusted root of another type", TrustOptions{TrustedRoot: fixture(t, "trust/sigstore-go/tuf-root.json")}, ErrMalformed},
		{"empty keys", TrustOptions{NpmKeys: []byte{}}, ErrMalformed},
		{"empty key list", TrustOptions{NpmKeys: []byte(`{"keys":[]}`)}, ErrNoKeys},
		{"keyid naming other material", TrustOptions{NpmKeys: []byte(badKeys)}, ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr, err := NewTrust(tt.opts)
			if tr != nil {
				t.Fatal("trust returned with an error")
			}
			wantErrs(t, err, tt.want)
		})
	}
}

func TestNewVerifierErrors(t *testing.T) {
	tr, err := NewTrust(TrustOptions{})
	if err != nil {
		t.Fatal(err)
	}
	kr, err := NewKeyring(tr.PinnedKeys(), nil, listedTrusted)
	if err != nil {
		t.Fatal(err)
	}
	k := newP256(t)
	foreign, err := NewKeyring([]Key{{KeyID: fingerprint(t, &k.PublicKey), Public: &k.PublicKey}}, nil, listedTrusted)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		tr   *Trust
		kr   *Keyring
		opts []Option
	}{
		{"no trust", nil, kr, nil},
		{"no keyring", tr, nil, nil},
		{"nil clock", tr, kr, []Option{WithNow(nil)}},
		{"keyring pins a key the trust does not", tr, foreign, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, err := NewVerifier(tt.tr, tt.kr, tt.opts...)
			if v != nil {
				t.Fatal("verifier returned with an error")
			}
			wantErrs(t, err, ErrMalformed)
		})
	}
	v, err := NewVerifier(tr, kr, WithNow(func() time.Time { return testNow }))
	if err != nil {
		t.Fatal(err)
	}
	if v.Trust() != tr || v.Keyring() != kr {
		t.Fatal("accessors")
	}
}
