package verify

import (
	"crypto/sha1"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// fixture reads a file under the repository's testdata (read-only).
func fixture(t testing.TB, rel string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "testdata", filepath.FromSlash(rel)))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// sriOf returns the sha512 SRI of data, as a lockfile records it.
func sriOf(data []byte) string {
	sum := sha512.Sum512(data)
	return "sha512-" + base64.StdEncoding.EncodeToString(sum[:])
}

// sriFromHex builds a sha512 SRI from a hex digest.
func sriFromHex(t testing.TB, h string) string {
	t.Helper()
	d, err := hex.DecodeString(h)
	if err != nil || len(d) != 64 {
		t.Fatalf("bad sha512 hex %q", h)
	}
	return "sha512-" + base64.StdEncoding.EncodeToString(d)
}

// sha1Hex returns the hex sha1 of data, as dist.shasum carries it.
func sha1Hex(data []byte) string {
	sum := sha1.Sum(data)
	return hex.EncodeToString(sum[:])
}

// testNow is the fixed clock of the tests (after the 2025 key rotation).
var testNow = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

var (
	defaultOnce     sync.Once
	defaultVerifier *Verifier
	defaultErr      error
)

// embeddedVerifier returns a Verifier over the embedded trust, the pinned
// keys only, registry with keys, clock testNow.
func embeddedVerifier(t testing.TB) *Verifier {
	t.Helper()
	defaultOnce.Do(func() {
		tr, err := NewTrust(TrustOptions{})
		if err != nil {
			defaultErr = err
			return
		}
		kr, err := NewKeyring(tr.PinnedKeys(), nil, listedTrusted)
		if err != nil {
			defaultErr = err
			return
		}
		defaultVerifier, defaultErr = NewVerifier(tr, kr, WithNow(func() time.Time { return testNow }))
	})
	if defaultErr != nil {
		t.Fatal(defaultErr)
	}
	return defaultVerifier
}

// newVerifier builds a Verifier from explicit material.
func newVerifier(t testing.TB, trustedRoot, npmKeys []byte, registry []Key, registryHasKeys bool, now time.Time) *Verifier {
	t.Helper()
	tr, err := NewTrust(TrustOptions{TrustedRoot: trustedRoot, NpmKeys: npmKeys})
	if err != nil {
		t.Fatal(err)
	}
	kr, err := NewKeyring(tr.PinnedKeys(), registry, registryKeysOpts(registryHasKeys))
	if err != nil {
		t.Fatal(err)
	}
	v, err := NewVerifier(tr, kr, WithNow(func() time.Time { return now }))
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// wantErrs fails unless err wraps every sentinel in want.
func wantErrs(t testing.TB, err error, want ...error) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want %v", want)
	}
	for _, w := range want {
		if !errorsIs(err, w) {
			t.Fatalf("error %q does not wrap %q", err, w)
		}
	}
}

// listedTrusted is the keyring option of a registry whose key endpoint
// lists keys and that the person running provaudit named.
var listedTrusted = KeyringOptions{Registry: KeysListed, TrustRegistry: true}

// registryKeysOpts maps the old "registry has keys" flag of the tests to
// keyring options: listed and trusted, or no keys.
func registryKeysOpts(hasKeys bool) KeyringOptions {
	if hasKeys {
		return listedTrusted
	}
	return KeyringOptions{Registry: KeysNone}
}

// testProvenance is verifyProvenance with its failures joined.
func testProvenance(v *Verifier, w *subjectWant, idx int, predicateType string, raw []byte) (*ProvenanceFacts, error) {
	f, errs := v.verifyProvenance(w, idx, predicateType, raw)
	return f, join(errs)
}

// testPublish is verifyPublish with its failures (untrusted keys included)
// joined.
func testPublish(v *Verifier, w *subjectWant, idx int, raw []byte) (*PublishFacts, error) {
	f, errs, untrusted := v.verifyPublish(w, idx, raw)
	return f, join(append(errs, untrusted...))
}

// flipSig returns a base64 ECDSA signature with one byte of its DER
// changed, still valid base64.
func flipSig(t testing.TB, sig string) string {
	t.Helper()
	der, err := base64.StdEncoding.DecodeString(sig)
	if err != nil {
		t.Fatal(err)
	}
	der[len(der)-3] ^= 0x01
	return base64.StdEncoding.EncodeToString(der)
}
