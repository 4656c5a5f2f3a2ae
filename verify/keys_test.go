package verify

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"strings"
	"testing"
	"time"
)

func pkixB64(t testing.TB, pub any) string {
	t.Helper()
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(der)
}

func newP256(t testing.TB) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func fingerprint(t testing.TB, pub *ecdsa.PublicKey) string {
	t.Helper()
	fp, err := Fingerprint(pub)
	if err != nil {
		t.Fatal(err)
	}
	return fp
}

func TestEmbeddedTrustMaterialPinned(t *testing.T) {
	tests := []struct {
		name    string
		data    []byte
		fixture string
		sha256  string
	}{
		{"trusted_root.json", EmbeddedTrustedRoot(), "trust/sigstore-tuf-4.0.2/trusted_root.json", "6494e21ea73fa7ee769f85f57d5a3e6a08725eae1e38c755fc3517c9e6bc0b66"},
		{"npm-keys.json", EmbeddedNpmKeys(), "trust/sigstore-tuf-4.0.2/npm-keys.json", "160677eb6e1c7083c89b166b20f8fe4e837fb71181506aff1991b80b89184f7d"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sum := sha256.Sum256(tt.data)
			if got := hex.EncodeToString(sum[:]); got != tt.sha256 {
				t.Fatalf("embedded %s sha256 %s, want %s", tt.name, got, tt.sha256)
			}
			if string(fixture(t, tt.fixture)) != string(tt.data) {
				t.Fatalf("embedded %s differs from testdata/%s", tt.name, tt.fixture)
			}
		})
	}
}

func TestParseNpmKeysReal(t *testing.T) {
	tuf, err := ParseNpmKeys(fixture(t, "trust/sigstore-tuf-4.0.2/npm-keys.json"))
	if err != nil {
		t.Fatal(err)
	}
	endpoint, err := ParseNpmKeys(fixture(t, "trust/corepack/npm-keys-endpoint.json"))
	if err != nil {
		t.Fatal(err)
	}
	rotation := time.Date(2025, 1, 29, 0, 0, 0, 0, time.UTC)
	newStart := time.Date(2025, 1, 13, 0, 0, 0, 0, time.UTC)
	const newKeyID = "SHA256:DhQ8wR5APBvFHLF/+Tc+AYvPOdTpcIDqOhxsBHRwC7U"
	want := []struct {
		keys       []Key
		i          int
		id, usage  string
		start, end time.Time
	}{
		{tuf, 0, newKeyID, UsageAttestations, newStart, time.Time{}},
		{tuf, 1, newKeyID, UsageSignatures, newStart, time.Time{}},
		{tuf, 2, expiredKeyID, UsageAttestations, time.Date(2022, 12, 1, 0, 0, 0, 0, time.UTC), rotation},
		{tuf, 3, expiredKeyID, UsageSignatures, time.Date(1999, 1, 1, 0, 0, 0, 0, time.UTC), rotation},
		{endpoint, 0, newKeyID, "", time.Time{}, time.Time{}},
		{endpoint, 1, expiredKeyID, "", time.Time{}, rotation},
	}
	if len(tuf) != 4 || len(endpoint) != 2 {
		t.Fatalf("%d TUF keys, %d endpoint keys", len(tuf), len(endpoint))
	}
	for _, w := range want {
		k := w.keys[w.i]
		if k.KeyID != w.id || k.Usage != w.usage || !k.Start.Equal(w.start) || !k.End.Equal(w.end) || k.Pinned {
			t.Errorf("key %d = %+v, want %s %q %s..%s", w.i, k, w.id, w.usage, w.start, w.end)
		}
		// The keyid is the OpenSSH fingerprint of the key material.
		if fp := fingerprint(t, k.Public); fp != k.KeyID {
			t.Errorf("fingerprint %s, keyid %s", fp, k.KeyID)
		}
	}
	if !tuf[2].Public.Equal(endpoint[1].Public) {
		t.Error("the two forms disagree on the 2025 key")
	}
}

func TestParseNpmKeysErrors(t *testing.T) {
	k := newP256(t)
	id := fingerprint(t, &k.PublicKey)
	raw := pkixB64(t, &k.PublicKey)
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	p384, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tufKey := func(id, usage, rawBytes, details, validFor string) string {
		return fmt.Sprintf(`{"keyId":%q,"keyUsage":%q,"publicKey":{"rawBytes":%q,"keyDetails":%q%s}}`, id, usage, rawBytes, details, validFor)
	}
	start := `,"validFor":{"start":"2020-01-01T00:00:00.000Z"}`
	endpointKey := func(id, keytype, scheme, key, expires string) string {
		return fmt.Sprintf(`{"keyid":%q,"keytype":%q,"scheme":%q,"key":%q,"expires":%s}`, id, keytype, scheme, key, expires)
	}
	const ec = "ecdsa-sha2-nistp256"
	tests := []struct {
		name string
		doc  string
		want error // nil: parses
	}{
		{"TUF ok", `{"keys":[` + tufKey(id, UsageSignatures, raw, "PKIX_ECDSA_P256_SHA_256", start) + `]}`, nil},
		{"endpoint ok", `{"keys":[` + endpointKey(id, ec, ec, raw, "null") + `]}`, nil},
		{"endpoint ok with expiry", `{"keys":[` + endpointKey(id, ec, ec, raw, `"2030-01-01T00:00:00Z"`) + `]}`, nil},
		// ParseNpmKeys leaves the keyid/material binding to NewKeyring and NewTrust.
		{"keyid not the fingerprint parses", `{"keys":[` + endpointKey("SHA256:other", ec, ec, raw, "null") + `]}`, nil},
		{"empty", ``, ErrMalformed},
		{"whitespace", " \n", ErrMalformed},
		{"not JSON", `{"keys":`, ErrMalformed},
		{"not an object", `[1,2]`, ErrMalformed},
		{"no keys array", `{}`, ErrMalformed},
		{"keys null", `{"keys":null}`, ErrMalformed},
		{"empty list", `{"keys":[]}`, ErrNoKeys},
		{"key not an object", `{"keys":[1]}`, ErrMalformed},
		{"empty key object", `{"keys":[{}]}`, ErrMalformed},
		{"mixed forms", `{"keys":[{"keyId":"x","keyid":"x"}]}`, ErrMalformed},
		{"TUF no keyId", `{"keys":[` + tufKey("", UsageSignatures, raw, "PKIX_ECDSA_P256_SHA_256", start) + `]}`, ErrMalformed},
		{"TUF unknown usage", `{"keys":[` + tufKey(id, "npm:other", raw, "PKIX_ECDSA_P256_SHA_256", start) + `]}`, ErrMalformed},
		{"TUF no usage", `{"keys":[{"keyId":"` + id + `","publicKey":{"rawBytes":"` + raw + `","keyDetails":"PKIX_ECDSA_P256_SHA_256"` + start + `}}]}`, ErrMalformed},
		{"TUF no publicKey", `{"keys":[{"keyId":"` + id + `","keyUsage":"npm:signatures"}]}`, ErrMalformed},
		{"TUF other key details", `{"keys":[` + tufKey(id, UsageSignatures, raw, "PKIX_ED25519", start) + `]}`, ErrMalformed},
		{"TUF no validFor", `{"keys":[` + tufKey(id, UsageSignatures, raw, "PKIX_ECDSA_P256_SHA_256", "") + `]}`, ErrMalformed},
		{"TUF no start", `{"keys":[` + tufKey(id, UsageSignatures, raw, "PKIX_ECDSA_P256_SHA_256", `,"validFor":{"end":"2030-01-01T00:00:00Z"}`) + `]}`, ErrMalformed},
		{"TUF bad start", `{"keys":[` + tufKey(id, UsageSignatures, raw, "PKIX_ECDSA_P256_SHA_256", `,"validFor":{"start":"yesterday"}`) + `]}`, ErrMalformed},
		{"TUF end before start", `{"keys":[` + tufKey(id, UsageSignatures, raw, "PKIX_ECDSA_P256_SHA_256", `,"validFor":{"start":"2030-01-01T00:00:00Z","end":"2020-01-01T00:00:00Z"}`) + `]}`, ErrMalformed},
		{"TUF duplicate usage", `{"keys":[` + tufKey(id, UsageSignatures, raw, "PKIX_ECDSA_P256_SHA_256", start) + `,` + tufKey(id, UsageSignatures, raw, "PKIX_ECDSA_P256_SHA_256", start) + `]}`, ErrMalformed},
		{"endpoint duplicate", `{"keys":[` + endpointKey(id, ec, ec, raw, "null") + `,` + endpointKey(id, ec, ec, raw, "null") + `]}`, ErrMalformed},
		{"endpoint wrong keytype", `{"keys":[` + endpointKey(id, "ssh-rsa", ec, raw, "null") + `]}`, ErrMalformed},
		{"endpoint wrong scheme", `{"keys":[` + endpointKey(id, ec, "rsassa-pss-sha256", raw, "null") + `]}`, ErrMalformed},
		{"endpoint no key", `{"keys":[{"keyid":"` + id + `","keytype":"` + ec + `","scheme":"` + ec + `"}]}`, ErrMalformed},
		{"endpoint key not base64", `{"keys":[` + endpointKey(id, ec, ec, "%%%", "null") + `]}`, ErrMalformed},
		{"endpoint key not PKIX", `{"keys":[` + endpointKey(id, ec, ec, base64.StdEncoding.EncodeToString([]byte("nope")), "null") + `]}`, ErrMalformed},
		{"endpoint RSA key", `{"keys":[` + endpointKey(id, ec, ec, pkixB64(t, &rsaKey.PublicKey), "null") + `]}`, ErrMalformed},
		{"endpoint P-384 key", `{"keys":[` + endpointKey(id, ec, ec, pkixB64(t, &p384.PublicKey), "null") + `]}`, ErrMalformed},
		{"endpoint expires not a string", `{"keys":[` + endpointKey(id, ec, ec, raw, "42") + `]}`, ErrMalformed},
		{"endpoint expires empty", `{"keys":[` + endpointKey(id, ec, ec, raw, `""`) + `]}`, ErrMalformed},
		{"too many keys", `{"keys":[` + strings.Repeat(`{},`, maxKeys) + `{}]}`, ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			keys, err := ParseNpmKeys([]byte(tt.doc))
			if tt.want == nil {
				if err != nil || len(keys) == 0 {
					t.Fatalf("keys %v, err %v", keys, err)
				}
				return
			}
			if keys != nil {
				t.Fatalf("keys returned with error: %v", keys)
			}
			wantErrs(t, err, tt.want)
		})
	}
}

func TestNewKeyring(t *testing.T) {
	a, b := newP256(t), newP256(t)
	ka := Key{KeyID: fingerprint(t, &a.PublicKey), Usage: UsageSignatures, Public: &a.PublicKey}
	kaAtt := Key{KeyID: ka.KeyID, Usage: UsageAttestations, Public: &a.PublicKey}
	kb := Key{KeyID: fingerprint(t, &b.PublicKey), Public: &b.PublicKey}

	t.Run("reconcile", func(t *testing.T) {
		regA := Key{KeyID: ka.KeyID, Public: &a.PublicKey, End: time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)}
		kr, err := NewKeyring([]Key{ka}, []Key{regA, kb}, listedTrusted)
		if err != nil {
			t.Fatal(err)
		}
		// The pinned entry stays authoritative: the registry neither
		// widens its usage nor changes its window.
		if k := kr.lookup(ka.KeyID, UsageSignatures); k == nil || !k.Pinned || !k.End.IsZero() {
			t.Fatalf("pinned key %+v", k)
		}
		if k := kr.lookup(ka.KeyID, UsageAttestations); k != nil {
			t.Fatalf("registry widened a pinned key's usage: %+v", k)
		}
		// An unpinned registry key is usable for both usages, unpinned,
		// and trusted because the registry is.
		for _, u := range []string{UsageSignatures, UsageAttestations} {
			if k := kr.lookup(kb.KeyID, u); k == nil || k.Pinned || !k.Trusted {
				t.Fatalf("registry key for %s: %+v", u, k)
			}
		}
		if len(kr.Keys()) != 2 || kr.Registry() != KeysListed {
			t.Fatalf("keys %+v", kr.Keys())
		}
	})
	t.Run("untrusted registry", func(t *testing.T) {
		// A registry the audited project named: its keys are known, not
		// trusted; pinned keys stay trusted.
		kr, err := NewKeyring([]Key{ka}, []Key{kb}, KeyringOptions{Registry: KeysListed})
		if err != nil {
			t.Fatal(err)
		}
		if k := kr.lookup(kb.KeyID, UsageSignatures); k == nil || k.Trusted || k.Pinned {
			t.Fatalf("registry key %+v", k)
		}
		if k := kr.lookup(ka.KeyID, UsageSignatures); k == nil || !k.Trusted || !k.Pinned {
			t.Fatalf("pinned key %+v", k)
		}
	})
	tests := []struct {
		name             string
		pinned, registry []Key
		opts             KeyringOptions
		want             error
	}{
		{"pinned keyid, other material", []Key{ka}, []Key{{KeyID: ka.KeyID, Public: &b.PublicKey}}, listedTrusted, ErrPinnedKeyMismatch},
		{"registry keyid not the fingerprint", []Key{ka}, []Key{{KeyID: "SHA256:nope", Public: &b.PublicKey}}, listedTrusted, ErrMalformed},
		{"pinned keyid not the fingerprint", []Key{{KeyID: kb.KeyID, Public: &a.PublicKey}}, nil, listedTrusted, ErrMalformed},
		{"registry key without material", []Key{ka}, []Key{{KeyID: kb.KeyID}}, listedTrusted, ErrMalformed},
		{"pinned key without material", []Key{{KeyID: kb.KeyID}}, nil, listedTrusted, ErrMalformed},
		{"unknown usage", []Key{{KeyID: ka.KeyID, Usage: "npm:x", Public: &a.PublicKey}}, nil, listedTrusted, ErrMalformed},
		{"duplicate pinned usage", []Key{ka, ka}, nil, listedTrusted, ErrMalformed},
		{"duplicate registry key", nil, []Key{kb, kb}, listedTrusted, ErrMalformed},
		{"registry keys for a registry without keys", []Key{ka}, []Key{kb}, KeyringOptions{Registry: KeysNone}, ErrMalformed},
		{"window ends before it starts", []Key{{KeyID: ka.KeyID, Public: &a.PublicKey, Start: time.Unix(10, 0), End: time.Unix(5, 0)}}, nil, listedTrusted, ErrMalformed},
		{"ok: two usages of one pinned key", []Key{ka, kaAtt}, []Key{kb}, listedTrusted, nil},
		{"ok: registry without keys", []Key{ka}, nil, KeyringOptions{Registry: KeysNone}, nil},
		{"registry keys for a registry whose keys are unknown", []Key{ka}, []Key{kb}, KeyringOptions{Registry: KeysUnknown}, ErrMalformed},
		{"unknown key state", []Key{ka}, nil, KeyringOptions{Registry: RegistryKeys(9)}, ErrMalformed},
		{"ok: keys unknown", []Key{ka}, nil, KeyringOptions{Registry: KeysUnknown}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			kr, err := NewKeyring(tt.pinned, tt.registry, tt.opts)
			if tt.want == nil {
				if err != nil || kr == nil {
					t.Fatal(err)
				}
				return
			}
			if kr != nil {
				t.Fatal("keyring returned with an error")
			}
			wantErrs(t, err, tt.want)
		})
	}
	t.Run("digest", func(t *testing.T) {
		d := func(pinned, registry []Key, has bool) string {
			kr, err := NewKeyring(pinned, registry, registryKeysOpts(has))
			if err != nil {
				t.Fatal(err)
			}
			return kr.Digest()
		}
		base := d([]Key{ka}, []Key{kb}, true)
		if base != d([]Key{ka}, []Key{kb}, true) {
			t.Fatal("digest not stable")
		}
		for name, other := range map[string]string{
			"no registry key": d([]Key{ka}, nil, true),
			"no keys at all":  d([]Key{ka}, nil, false),
			"both pinned":     d([]Key{ka, kb}, nil, true),
			"registry not trusted": func() string {
				kr, err := NewKeyring([]Key{ka}, []Key{kb}, KeyringOptions{Registry: KeysListed})
				if err != nil {
					t.Fatal(err)
				}
				return kr.Digest()
			}(),
		} {
			if other == base {
				t.Errorf("%s: same digest", name)
			}
		}
	})
}

func TestKeyValidAt(t *testing.T) {
	start, end := time.Unix(100, 0), time.Unix(200, 0)
	tests := []struct {
		k    Key
		at   int64
		want bool
	}{
		{Key{Start: start, End: end}, 100, true}, // inclusive at the start
		{Key{Start: start, End: end}, 199, true},
		{Key{Start: start, End: end}, 200, false}, // valid strictly before expires
		{Key{Start: start, End: end}, 99, false},
		{Key{Start: start, End: end}, 201, false},
		{Key{End: end}, -1 << 40, true},
		{Key{Start: start}, 1 << 40, true},
		{Key{}, 0, true},
	}
	for _, tt := range tests {
		if got := tt.k.ValidAt(time.Unix(tt.at, 0)); got != tt.want {
			t.Errorf("%s.ValidAt(%d) = %t", tt.k.window(), tt.at, got)
		}
	}
}
