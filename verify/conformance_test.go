package verify

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Defaults of the sigstore-conformance bundle-verify cases (MANIFEST 6b).
const (
	conformanceIdentity = "https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/.github/workflows/extremely-dangerous-oidc-beacon.yml@refs/heads/main"
	conformanceIssuer   = IssuerGitHubActions
)

// conformanceSkips lists cases sigstore-go v1.3.0 cannot give the expected
// result for, with the reason. Empty: every case behaves as expected.
var conformanceSkips = map[string]string{}

// TestConformanceBundleVerify runs every sigstore-conformance bundle-verify
// case through VerifyBundle: "_fail" cases must fail, the others verify.
func TestConformanceBundleVerify(t *testing.T) {
	base := filepath.Join("..", "testdata", "negative", "sigstore-conformance")
	dirs, err := os.ReadDir(filepath.Join(base, "bundle-verify"))
	if err != nil {
		t.Fatal(err)
	}
	defaultArtifact, err := os.ReadFile(filepath.Join(base, "a.txt"))
	if err != nil {
		t.Fatal(err)
	}
	read := func(t *testing.T, dir, name string) []byte {
		t.Helper()
		b, err := os.ReadFile(filepath.Join(dir, name))
		if errors.Is(err, os.ErrNotExist) {
			return nil
		}
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	cases := 0
	for _, d := range dirs {
		if !d.IsDir() {
			continue
		}
		cases++
		name := d.Name()
		t.Run(name, func(t *testing.T) {
			if why, ok := conformanceSkips[name]; ok {
				t.Skip(why)
			}
			dir := filepath.Join(base, "bundle-verify", name)
			in := BundleInput{
				Bundle:    read(t, dir, "bundle.sigstore.json"),
				Artifact:  defaultArtifact,
				PublicKey: read(t, dir, "key.pub"),
			}
			if in.Bundle == nil {
				t.Fatal("case has no bundle.sigstore.json")
			}
			if a := read(t, dir, "artifact"); a != nil {
				in.Artifact = a
			}
			if in.PublicKey == nil {
				id := &Identity{SubjectAlternativeName: conformanceIdentity, Issuer: conformanceIssuer}
				if s := read(t, dir, "identity"); s != nil {
					id.SubjectAlternativeName = string(bytes.TrimSpace(s))
				}
				if s := read(t, dir, "issuer"); s != nil {
					id.Issuer = string(bytes.TrimSpace(s))
				}
				in.Identity = id
			}
			err := VerifyBundle(read(t, dir, "trusted_root.json"), in)
			if strings.HasSuffix(name, "_fail") {
				if err == nil {
					t.Fatal("verified, want failure")
				}
				if !errors.Is(err, ErrBundleInvalid) && !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrIdentityMismatch) {
					t.Fatalf("error %q wraps no verify sentinel", err)
				}
				t.Log(err)
				return
			}
			if err != nil {
				t.Fatalf("want success: %v", err)
			}
		})
	}
	if cases < 60 {
		t.Fatalf("only %d conformance cases found", cases)
	}
}
