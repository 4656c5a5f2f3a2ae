package trustupdate

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"testing"
)

func TestEmbeddedRoot(t *testing.T) {
	sum := sha256.Sum256(EmbeddedRoot())
	if got := hex.EncodeToString(sum[:]); got != "c8c41ec13f06ccabf5b48541ee2550098b4c7b5349e1d180390c29a7d5c2642c" {
		t.Fatalf("embedded TUF root sha256 %s: update the origin noted in root.go", got)
	}
	fixture, err := os.ReadFile("../../testdata/trust/sigstore-tuf-4.0.2/root.json")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(fixture, EmbeddedRoot()) {
		t.Fatal("embedded TUF root differs from testdata/trust/sigstore-tuf-4.0.2/root.json")
	}
	r, err := checkRoot(EmbeddedRoot())
	if err != nil {
		t.Fatal(err)
	}
	if r.Signed.Version != 14 || r.Signed.Roles["root"].Threshold != 3 {
		t.Fatalf("version %d, root threshold %d", r.Signed.Version, r.Signed.Roles["root"].Threshold)
	}
	b := EmbeddedRoot()
	b[0] = 'x'
	if EmbeddedRoot()[0] == 'x' {
		t.Fatal("EmbeddedRoot exposes the embedded bytes")
	}
	// Not a root, or not signed by its own keys.
	if _, err := checkRoot(fixtureTrustedRoot(t)); !errors.Is(err, ErrTUFRoot) {
		t.Fatalf("a trusted_root.json as TUF root: %v", err)
	}
	tampered := bytes.Replace(EmbeddedRoot(), []byte(`"version": 14`), []byte(`"version": 15`), 1)
	if bytes.Equal(tampered, EmbeddedRoot()) {
		t.Fatal("the version was not found to tamper with")
	}
	if _, err := checkRoot(tampered); !errors.Is(err, ErrTUFRoot) {
		t.Fatalf("tampered root: %v", err)
	}
}

func fixtureTrustedRoot(t *testing.T) []byte {
	t.Helper()
	b, err := os.ReadFile("../../testdata/trust/sigstore-tuf-4.0.2/trusted_root.json")
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestKeysTarget(t *testing.T) {
	for in, want := range map[string]string{
		"https://registry.example.invalid/":             "registry.example.invalid/keys.json",
		"https://registry.example.invalid":              "registry.example.invalid/keys.json",
		"https://Registry.Example.Invalid:443/":         "registry.example.invalid/keys.json",
		"http://registry.example.invalid:80/":           "registry.example.invalid/keys.json",
		"https://registry.example.invalid:8443/":        "registry.example.invalid:8443/keys.json",
		"http://127.0.0.1:4873/":                        "127.0.0.1:4873/keys.json",
		"https://mirror.example.invalid/api/npm/npm/":   "mirror.example.invalid/api/npm/npm/keys.json",
		"https://mirror.example.invalid/npm":            "mirror.example.invalid/npm/keys.json",
		"http://[::1]:4873/":                            "[::1]:4873/keys.json",
		"https://user:secret@registry.example.invalid/": "registry.example.invalid/keys.json",
	} {
		got, err := KeysTarget(in)
		if err != nil || got != want {
			t.Errorf("KeysTarget(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"", "registry.example.invalid", "ftp://registry.example.invalid/", "https:///path", "http://%zz/",
		"http://0/://", "https://registry.example.invalid//npm/", "https://registry.example.invalid/a/../b/", "https://registry.example.invalid/./"} {
		if got, err := KeysTarget(in); !errors.Is(err, ErrRegistry) {
			t.Errorf("KeysTarget(%q) = %q, %v; want ErrRegistry", in, got, err)
		}
	}
}
