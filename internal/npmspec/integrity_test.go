package npmspec

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

func sri(alg string, d []byte) string { return alg + "-" + base64.StdEncoding.EncodeToString(d) }

var (
	d512  = sha512.Sum512([]byte("tarball"))
	d512b = sha512.Sum512([]byte("other"))
	d384  = sha512.Sum384([]byte("tarball"))
	d256  = sha256.Sum256([]byte("tarball"))
	d1    = sha1.Sum([]byte("tarball"))
	d1b   = sha1.Sum([]byte("other"))

	s512, s512b = sri("sha512", d512[:]), sri("sha512", d512b[:])
	s384, s256  = sri("sha384", d384[:]), sri("sha256", d256[:])
	s1, s1b     = sri("sha1", d1[:]), sri("sha1", d1b[:])
)

// nonCanonical sets a padding bit of a one-token SRI string that ends in
// "=": the digest decodes to the same bytes in a lenient decoder but is
// not the string npm would compare.
func nonCanonical(s string) string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
	i := strings.LastIndexFunc(s, func(r rune) bool { return r != '=' })
	c := strings.IndexByte(alphabet, s[i])
	return s[:i] + string(alphabet[c|1]) + s[i+1:]
}

func mustIntegrity(t *testing.T, s string) Integrity {
	t.Helper()
	in, err := ParseIntegrity(s)
	if err != nil {
		t.Fatalf("ParseIntegrity(%q): %v", s, err)
	}
	return in
}

func TestParseIntegrity(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want map[Algorithm][]byte
	}{
		{"sha512", s512, map[Algorithm][]byte{SHA512: d512[:]}},
		{"every algorithm, any order", s1 + " " + s256 + " " + s512 + " " + s384,
			map[Algorithm][]byte{SHA512: d512[:], SHA384: d384[:], SHA256: d256[:], SHA1: d1[:]}},
		{"options ignored, ASCII white space", "\t" + s256 + "?foo=bar?baz\n " + s512 + "?x \r\v\f",
			map[Algorithm][]byte{SHA512: d512[:], SHA256: d256[:]}},
		{"unknown algorithms skipped", "md5-AAECAw== sha3-anything " + s512 + " x- -y nodash",
			map[Algorithm][]byte{SHA512: d512[:]}},
		{"an unknown upper-case algorithm is skipped like any unknown one", "MD5-AAAA " + s1, map[Algorithm][]byte{SHA1: d1[:]}},
		{"the same digest twice", s512 + " " + s512 + "?opt", map[Algorithm][]byte{SHA512: d512[:]}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := mustIntegrity(t, tt.in)
			for _, a := range Algorithms() {
				if got, want := in.Digest(a), tt.want[a]; !bytes.Equal(got, want) || in.Has(a) != (want != nil) {
					t.Errorf("Digest(%s) = %x (has %v), want %x", a, got, in.Has(a), want)
				}
			}
			if !bytes.Equal(in.SHA512(), tt.want[SHA512]) {
				t.Errorf("SHA512() = %x", in.SHA512())
			}
			again := mustIntegrity(t, in.String())
			if again != in {
				t.Errorf("String() %q does not round-trip", in.String())
			}
		})
	}
}

func TestParseIntegrityErrors(t *testing.T) {
	tests := []struct{ in, msg string }{
		{"", "no hash"},
		{" \t\n", "no hash"},
		{"md5-AAAA sha3-BBBB", "lists no sha512, sha384, sha256 or sha1 hash"},
		{"nodash", "lists no sha512"},
		{"SHA512-" + base64.StdEncoding.EncodeToString(d512[:]), `algorithm "SHA512" is not lower case: npm ignores such a hash`},
		{s512 + " Sha1-" + base64.StdEncoding.EncodeToString(d1[:]), `algorithm "Sha1" is not lower case`},
		{"sha512", "the sha512 digest has 0 bytes, want 64"},
		{"sha512-", "the sha512 digest has 0 bytes, want 64"},
		{"sha512-?opt", "has 0 bytes"},
		{"sha512-AAAA", "the sha512 digest has 3 bytes, want 64"},
		{"sha1-notActuallyTheSha=", "not canonical base64"},
		{"sha512-not base64!", "not canonical base64"},
		{"sha512-@@@@", "not canonical base64"},
		{"sha1-AAAA=", "not canonical base64"},
		{s1 + "=", "not canonical base64"},
		{"sha512-" + base64.RawStdEncoding.EncodeToString(d512[:]), "not canonical base64"}, // unpadded
		{"sha512-" + base64.URLEncoding.EncodeToString(d512[:]), "not canonical base64"},    // URL alphabet
		{"sha512-" + base64.StdEncoding.EncodeToString(d256[:]), "has 32 bytes, want 64"},   // wrong algorithm
		{"sha512-" + strings.Repeat("A", 88), "has 66 bytes, want 64"},                      // no padding needed
		{nonCanonical(s1), "not canonical base64"},                                          // non-zero padding bits
		{s512 + " " + s512b, "two different sha512 digests"},
		{s1 + " " + s1b + " " + s512, "two different sha1 digests"},
		{s512 + "\x00", "control or non-ASCII character at byte 95"},
		{s512 + "\u00a0" + s1, "control or non-ASCII"},
		{"sha512-\x1b[31m", "control or non-ASCII"},
		{strings.Repeat(s512+" ", 50), "at most 4096"},
	}
	for _, tt := range tests {
		in, err := ParseIntegrity(tt.in)
		if !errors.Is(err, ErrMalformedIntegrity) || !strings.Contains(err.Error(), tt.msg) {
			t.Errorf("ParseIntegrity(%q) = %v, %v; want an ErrMalformedIntegrity saying %q", tt.in, in, err, tt.msg)
			continue
		}
		if !in.IsZero() {
			t.Errorf("ParseIntegrity(%q) returned digests with its error", tt.in)
		}
		if len(err.Error()) > 400 {
			t.Errorf("error for %q is %d bytes long", tt.in, len(err.Error()))
		}
	}
}

func TestFromHex(t *testing.T) {
	in, err := FromHex(SHA1, hex.EncodeToString(d1[:]))
	if err != nil || !bytes.Equal(in.Digest(SHA1), d1[:]) || in.Strongest() != SHA1 {
		t.Fatalf("FromHex: %v, %v", in, err)
	}
	for _, tt := range []struct {
		alg Algorithm
		hex string
	}{
		{SHA1, ""}, {SHA1, hex.EncodeToString(d1[:19])}, {SHA1, strings.Repeat("zz", 20)}, {"md5", "00"}, {"SHA1", hex.EncodeToString(d1[:])},
	} {
		if in, err := FromHex(tt.alg, tt.hex); !errors.Is(err, ErrMalformedIntegrity) || !in.IsZero() {
			t.Errorf("FromHex(%s, %q) = %v, %v", tt.alg, tt.hex, in, err)
		}
	}
}

func TestAccessors(t *testing.T) {
	var zero Integrity
	if !zero.IsZero() || zero.Strongest() != "" || zero.String() != "" || zero.SHA512() != nil || zero.Has(SHA512) || zero.Has("md5") {
		t.Errorf("zero Integrity: %+v", zero)
	}
	in := mustIntegrity(t, s1+" "+s256)
	if in.Strongest() != SHA256 || in.SHA512() != nil || in.String() != s256+" "+s1 {
		t.Errorf("strongest %s, string %q", in.Strongest(), in.String())
	}
	d := in.Digest(SHA256)
	d[0] ^= 1
	if !bytes.Equal(in.Digest(SHA256), d256[:]) {
		t.Error("Digest returned the Integrity's own storage")
	}
	for a, size := range map[Algorithm]int{SHA512: 64, SHA384: 48, SHA256: 32, SHA1: 20, "md5": 0, "SHA512": 0} {
		if a.Size() != size {
			t.Errorf("%s.Size() = %d, want %d", a, a.Size(), size)
		}
	}
}

func TestMatch(t *testing.T) {
	tests := []struct {
		name      string
		a, b      string
		alg       Algorithm
		weak      bool
		mismatch  Algorithm
		wantMerge string
	}{
		{name: "same sha512", a: s512, b: s512, alg: SHA512, wantMerge: s512},
		{name: "sha512 shared, sha1 only on one side", a: s512 + " " + s1, b: s512, alg: SHA512, wantMerge: s512 + " " + s1},
		{name: "only sha1 shared: weak", a: s1, b: s512 + " " + s1, alg: SHA1, weak: true, wantMerge: s512 + " " + s1},
		{name: "nothing shared", a: s512, b: s1, alg: "", wantMerge: s512 + " " + s1},
		{name: "sha512 differs", a: s512, b: s512b, alg: SHA512, mismatch: SHA512},
		{name: "sha512 agrees, sha1 differs", a: s512 + " " + s1, b: s512 + " " + s1b, alg: SHA512, mismatch: SHA1},
		{name: "strongest shared is sha256", a: s256 + " " + s1, b: s384 + " " + s256 + " " + s1, alg: SHA256, wantMerge: s384 + " " + s256 + " " + s1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, b := mustIntegrity(t, tt.a), mustIntegrity(t, tt.b)
			if got := a.Common(b); got != tt.alg {
				t.Errorf("Common = %q, want %q", got, tt.alg)
			}
			bind, err := a.Match(b)
			if bind.Algorithm != tt.alg || bind.Shared() != (tt.alg != "") || bind.Weak() != tt.weak {
				t.Errorf("Match = %+v (shared %v, weak %v), want %q weak %v", bind, bind.Shared(), bind.Weak(), tt.alg, tt.weak)
			}
			merged, merr := a.Merge(b)
			if tt.mismatch != "" {
				var me *MismatchError
				if !errors.As(err, &me) || !errors.Is(err, ErrMismatch) || me.Algorithm != tt.mismatch ||
					!bytes.Equal(me.Want, a.Digest(tt.mismatch)) || !bytes.Equal(me.Got, b.Digest(tt.mismatch)) {
					t.Fatalf("Match error %v, want a mismatch of %s", err, tt.mismatch)
				}
				if !strings.Contains(err.Error(), string(tt.mismatch)+"-") {
					t.Errorf("error %q does not show the digests", err)
				}
				if !errors.Is(merr, ErrMismatch) || !merged.IsZero() {
					t.Errorf("Merge = %v, %v; want a mismatch", merged, merr)
				}
				return
			}
			if err != nil || merr != nil {
				t.Fatalf("Match: %v, Merge: %v", err, merr)
			}
			if merged.String() != tt.wantMerge {
				t.Errorf("Merge = %q, want %q", merged.String(), tt.wantMerge)
			}
		})
	}
	var zero Integrity
	if b, err := zero.Match(mustIntegrity(t, s512)); err != nil || b.Shared() {
		t.Errorf("zero.Match = %+v, %v", b, err)
	}
}

// TestParseIntegrityAllocs pins that validating the usual one-token
// integrity (what lockfile does for every entry) does not allocate.
func TestParseIntegrityAllocs(t *testing.T) {
	if n := testing.AllocsPerRun(100, func() { _, _ = ParseIntegrity(s512) }); n != 0 {
		t.Errorf("ParseIntegrity allocates %v times", n)
	}
}
