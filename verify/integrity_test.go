package verify

import (
	"bytes"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"strings"
	"testing"
)

func TestBindIntegrity(t *testing.T) {
	a, b := []byte("a"), []byte("b")
	sri512 := func(d []byte) string {
		s := sha512.Sum512(d)
		return "sha512-" + base64.StdEncoding.EncodeToString(s[:])
	}
	sri1 := func(d []byte) string { s := sha1.Sum(d); return "sha1-" + base64.StdEncoding.EncodeToString(s[:]) }
	sha512of := func(d []byte) []byte { s := sha512.Sum512(d); return s[:] }
	all := func(d []byte) string { // the tarball's digests, as fetch computes them
		s1, s256, s512 := sha1.Sum(d), sha256.Sum256(d), sha512.Sum512(d)
		return "sha1-" + base64.StdEncoding.EncodeToString(s1[:]) + " sha256-" + base64.StdEncoding.EncodeToString(s256[:]) +
			" sha512-" + base64.StdEncoding.EncodeToString(s512[:])
	}
	tests := []struct {
		name                string
		lock, served, shasu string
		tarball             string
		want                []byte // expected bound sha512
		weak, unbound       bool
		viaTarball          bool
		err                 error
	}{
		{"sha512 lockfile, sha1 registry, tarball links them", sri512(a), sri1(a), sha1Hex(a), all(a), sha512of(a), true, false, true, nil},
		{"sha512 lockfile, sha1 registry, tarball is another", sri512(a), sri1(a), sha1Hex(a), all(b), nil, false, false, false, ErrIntegrityMismatch},
		{"sha512 lockfile, sha1 registry of another tarball", sri512(a), sri1(b), "", all(a), nil, false, false, false, ErrIntegrityMismatch},
		{"sha512 lockfile, sha1 registry, no tarball", sri512(a), sri1(a), "", "", sha512of(a), false, true, false, nil},
		{"tarball digests ignored when an algorithm is shared", sri512(a), sri512(a), "", all(b), sha512of(a), false, false, false, nil},
		{"bad tarball digests", sri512(a), sri1(a), "", "sha512-!", nil, false, false, false, ErrMalformed},
		{"sha512 equal", sri512(a), sri512(a), "", "", sha512of(a), false, false, false, nil},
		{"sha512 differ", sri512(a), sri512(b), "", "", nil, false, false, false, ErrIntegrityMismatch},
		{"lockfile only, nothing served", sri512(a), "", "", "", sha512of(a), false, false, false, nil},
		{"sha1 lockfile via shasum", sri1(a), sri512(a), sha1Hex(a), "", sha512of(a), true, false, false, nil},
		{"sha1 lockfile via served sha1", sri1(a), sri1(a), "", "", nil, true, false, false, nil},
		{"sha1 lockfile, shasum differs", sri1(a), sri512(a), sha1Hex(b), "", nil, false, false, false, ErrIntegrityMismatch},
		{"sha1 lockfile, nothing sha1 served", sri1(a), sri512(a), "", "", nil, false, true, false, nil},
		{"sha512 lockfile, only shasum served", sri512(a), "", sha1Hex(b), "", sha512of(a), false, true, false, nil},
		{"sha1 lockfile, nothing served", sri1(a), "", "", "", nil, false, false, false, nil},
		{"both algorithms, sha1 differs", sri512(a) + " " + sri1(a), sri512(a), sha1Hex(b), "", nil, false, false, false, ErrIntegrityMismatch},
		{"served shasum disagrees with served sha1", sri512(a), sri512(a) + " " + sri1(a), sha1Hex(b), "", nil, false, false, false, ErrIntegrityMismatch},
		{"bad shasum", sri512(a), sri512(a), "xyz", "", nil, false, false, false, ErrMalformed},
		{"bad served", sri512(a), "sha512-!", "", "", nil, false, false, false, ErrMalformed},
		{"no lockfile integrity", "", sri512(a), "", "", nil, false, false, false, ErrMalformed},
		// npm ignores a hash whose algorithm is not lower case: an input
		// problem, never a mismatch (see internal/npmspec).
		{"upper-case algorithm in the lockfile", strings.Replace(sri512(a), "sha512-", "SHA512-", 1), sri512(a), "", "", nil, false, false, false, ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := bindIntegrity("p@1.0.0", tt.lock, tt.served, tt.shasu, tt.tarball)
			if tt.err != nil {
				wantErrs(t, err, tt.err)
				if tt.err == ErrMalformed && errors.Is(err, ErrIntegrityMismatch) {
					t.Errorf("malformed input reported as a mismatch: %v", err)
				}
				if !strings.Contains(err.Error(), "p@1.0.0") {
					t.Errorf("error %q does not name the package", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got.sha512, tt.want) || got.weak != tt.weak || got.unbound != tt.unbound || got.viaTarball != tt.viaTarball {
				t.Fatalf("got %s weak=%t unbound=%t viaTarball=%t", hex.EncodeToString(got.sha512), got.weak, got.unbound, got.viaTarball)
			}
			if need := NeedsTarball(tt.lock, tt.served, tt.shasu); need != (tt.unbound || tt.viaTarball) {
				t.Errorf("NeedsTarball = %t", need)
			}
		})
	}
}

func TestNpmPurl(t *testing.T) {
	tests := []struct{ name, version, want string }{
		{"sigstore", "1.0.0", "pkg:npm/sigstore@1.0.0"},
		{"@laurentsimon/provenance-npm-test", "1.0.3", "pkg:npm/%40laurentsimon/provenance-npm-test@1.0.3"},
		{"a", "1.0.0-rc.1+build", "pkg:npm/a@1.0.0-rc.1+build"},
	}
	for _, tt := range tests {
		if got := npmPurl(tt.name, tt.version); got != tt.want {
			t.Errorf("npmPurl(%q, %q) = %q, want %q", tt.name, tt.version, got, tt.want)
		}
	}
}
