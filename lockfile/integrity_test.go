package lockfile

import (
	"bytes"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"errors"
	"testing"
)

func sri(alg string, d []byte) string { return alg + "-" + base64.StdEncoding.EncodeToString(d) }

func TestParseIntegrity(t *testing.T) {
	d512 := sha512.Sum512([]byte("tarball"))
	d256 := sha256.Sum256([]byte("tarball"))
	d1 := sha1.Sum([]byte("tarball"))
	s512, s256, s1 := sri("sha512", d512[:]), sri("sha256", d256[:]), sri("sha1", d1[:])

	tests := []struct {
		name string
		in   string
		want []Hash
	}{
		{"sha512", s512, []Hash{{"sha512", d512[:]}}},
		{"several, in order", s1 + " " + s512, []Hash{{"sha1", d1[:]}, {"sha512", d512[:]}}},
		{"options ignored, any whitespace", "\t" + s256 + "?foo=bar\n " + s512 + "?x ", []Hash{{"sha256", d256[:]}, {"sha512", d512[:]}}},
		{"unknown algorithm kept", "sha3-AAECAw== " + s512, []Hash{{"sha3", []byte{0, 1, 2, 3}}, {"sha512", d512[:]}}},
		{"upper-case algorithm", "SHA512-" + base64.StdEncoding.EncodeToString(d512[:]), []Hash{{"sha512", d512[:]}}},
		{"unpadded base64", "sha1-" + base64.RawStdEncoding.EncodeToString(d1[:]), []Hash{{"sha1", d1[:]}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseIntegrity(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("got %d hashes, want %d", len(got), len(tt.want))
			}
			for i := range got {
				if got[i].Algorithm != tt.want[i].Algorithm || !bytes.Equal(got[i].Digest, tt.want[i].Digest) {
					t.Errorf("hash %d = %s %x, want %s %x", i, got[i].Algorithm, got[i].Digest, tt.want[i].Algorithm, tt.want[i].Digest)
				}
			}
		})
	}

	bad := []string{
		"",
		"   ",
		"sha512",                  // no digest
		"-AAAA",                   // no algorithm
		"sha512-",                 // empty digest
		"sha512-not base64",       // a second token without an algorithm
		"sha512-@@@@",             // not base64
		"sha1-notActuallyTheSha=", // the ancient fixture's: bad length
		"sha512-AAAA",             // 3 bytes for sha512
		"sha1-AAAA=",              // misplaced padding
		"sha1-" + base64.StdEncoding.EncodeToString(d1[:]) + "=", // extra padding
		"sh@1-AAAA",
		"sha512-" + base64.URLEncoding.EncodeToString(d512[:]), // URL alphabet
	}
	for _, in := range bad {
		if got, err := ParseIntegrity(in); !errors.Is(err, ErrMalformed) {
			t.Errorf("ParseIntegrity(%q) = %v, %v; want ErrMalformed", in, got, err)
		}
	}
}

func TestSHA512AndWeak(t *testing.T) {
	d512 := sha512.Sum512([]byte("a"))
	d512b := sha512.Sum512([]byte("b"))
	d256 := sha256.Sum256([]byte("a"))
	d1 := sha1.Sum([]byte("a"))
	s512, s512b, s256, s1 := sri("sha512", d512[:]), sri("sha512", d512b[:]), sri("sha256", d256[:]), sri("sha1", d1[:])

	tests := []struct {
		in     string
		sha512 []byte
		weak   bool
	}{
		{s512, d512[:], false},
		{s1 + " " + s512, d512[:], false},
		{s512 + " " + s512b, d512[:], false}, // the first one
		{s256, nil, false},
		{"sha384-" + base64.StdEncoding.EncodeToString(make([]byte, 48)), nil, false},
		{s1, nil, true},
		{"", nil, true},
		{"sha512-AAAA", nil, true}, // malformed: not a sha512, and weak
		{"sha512-!!!! " + s1, nil, true},
		{"bogus " + s512, d512[:], false},
	}
	for _, tt := range tests {
		got, ok := SHA512(tt.in)
		if ok != (tt.sha512 != nil) || !bytes.Equal(got, tt.sha512) {
			t.Errorf("SHA512(%q) = %x, %v; want %x", tt.in, got, ok, tt.sha512)
		}
		if w := WeakIntegrity(tt.in); w != tt.weak {
			t.Errorf("WeakIntegrity(%q) = %v, want %v", tt.in, w, tt.weak)
		}
	}
}
