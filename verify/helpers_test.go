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
		kr, err := NewKeyring(tr.PinnedKeys(), nil, true)
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
	kr, err := NewKeyring(tr.PinnedKeys(), registry, registryHasKeys)
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
