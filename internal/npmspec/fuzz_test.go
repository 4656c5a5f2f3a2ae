package npmspec

import (
	"encoding/base64"
	"errors"
	"net/url"
	"path"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/Masterminds/semver/v3"
)

// FuzzParseIntegrity checks what ParseIntegrity accepts: only printable
// ASCII, a canonical form that parses back to the same value, digests of the
// right size, and every known-algorithm token of the input present in it.
func FuzzParseIntegrity(f *testing.F) {
	for _, s := range []string{
		s512, s1 + " " + s512, s512 + "?opt", "sha3-AAAA " + s256, "", "sha512-AAAA", "x-", "-x",
		"sha1-notActuallyTheSha=", "SHA512-" + base64.StdEncoding.EncodeToString(d512[:]), s512 + " " + s512b,
		nonCanonical(s1), s384 + "\t" + s1 + "\n",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		in, err := ParseIntegrity(s)
		if err != nil {
			if !errors.Is(err, ErrMalformedIntegrity) || !in.IsZero() {
				t.Fatalf("error %v with %v", err, in)
			}
			return
		}
		if in.IsZero() || len(s) > MaxIntegrityLen {
			t.Fatalf("%q accepted as %v", s, in)
		}
		for i := 0; i < len(s); i++ {
			if c := s[i]; c >= 0x7f || c < ' ' && !isSpace(c) {
				t.Fatalf("%q accepted with byte %#x", s, c)
			}
		}
		canon := in.String()
		again, err := ParseIntegrity(canon)
		if err != nil || again != in {
			t.Fatalf("%q: canonical form %q parses to %v, %v", s, canon, again, err)
		}
		for _, a := range Algorithms() {
			if d := in.Digest(a); in.Has(a) != (d != nil) || d != nil && len(d) != a.Size() {
				t.Fatalf("%q: %s digest %x", s, a, d)
			}
		}
		// Every token of a known algorithm is in the result, as written.
		for tok := range strings.FieldsSeq(s) {
			body, _, _ := strings.Cut(tok, "?")
			alg, b64, _ := strings.Cut(body, "-")
			if a := Algorithm(alg); a.Size() > 0 && base64.StdEncoding.EncodeToString(in.Digest(a)) != b64 {
				t.Fatalf("%q: token %q is not what was kept (%v)", s, tok, in)
			}
		}
		if b, err := in.Match(in); err != nil || b.Algorithm != in.Strongest() {
			t.Fatalf("%q does not match itself: %+v, %v", s, b, err)
		}
	})
}

// FuzzValidName checks that a valid name is safe where provaudit puts it:
// one registry path segment once escaped, and a clean relative path.
func FuzzValidName(f *testing.F) {
	for _, s := range []string{"a", "@s/a", "../x", "@s/..", "a/b", "node_modules", "a\x00", "@./x", strings.Repeat("a", 215)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		err := ValidName(name)
		if err != nil {
			if !errors.Is(err, ErrInvalidName) {
				t.Fatalf("ValidName(%q) = %v", name, err)
			}
			return
		}
		if len(name) > MaxNameLen || !utf8.ValidString(name) || strings.ContainsAny(name, " %?#\\\x00\n") {
			t.Fatalf("ValidName accepted %q", name)
		}
		esc := EscapeName(name)
		if u, err := url.PathUnescape(esc); strings.Contains(esc, "/") || err != nil || u != name {
			t.Fatalf("EscapeName(%q) = %q is not one plain path segment", name, esc)
		}
		if path.Clean(name) != name || path.IsAbs(name) || strings.HasPrefix(name, ".") || strings.Count(name, "/") > 1 {
			t.Fatalf("ValidName accepted %q, which is not a clean relative path", name)
		}
	})
}

// FuzzValidVersion checks that a valid version is printable ASCII without
// path or URL syntax, so it can never change a request path.
func FuzzValidVersion(f *testing.F) {
	for _, s := range []string{"1.2.3", "1.0.0-rc.1+b.2", "v1.2.3", "1.2.3/../x", "..", "01.0.0", "9007199254740992.0.0",
		"999999999999999.0.0", "1000000000000000.0.0", "0.0.0", "1.2.3-0a", "1.2.3-00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		err := ValidVersion(v)
		// The rule is Masterminds' strict parse (plus the length cap and
		// npm's 2^53-1); plainVersion's shortcut must never disagree.
		sv, serr := semver.StrictNewVersion(v)
		want := serr == nil && len(v) <= MaxVersionLen && sv.Major() <= maxSafeInteger && sv.Minor() <= maxSafeInteger && sv.Patch() <= maxSafeInteger
		if (err == nil) != want {
			t.Fatalf("ValidVersion(%q) = %v, but Masterminds says %v", v, err, serr)
		}
		if plainVersion(v) && !want {
			t.Fatalf("plainVersion accepts %q, Masterminds does not", v)
		}
		if err != nil {
			if !errors.Is(err, ErrInvalidVersion) {
				t.Fatalf("ValidVersion(%q) = %v", v, err)
			}
			return
		}
		if len(v) > MaxVersionLen || strings.Trim(v, "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-+") != "" ||
			strings.Contains(v, "..") || v[0] < '0' || v[0] > '9' {
			t.Fatalf("ValidVersion accepted %q", v)
		}
	})
}

// FuzzReleaseLine checks ReleaseLine against Masterminds: a line exactly
// for valid versions that are no prerelease, named by the major (the
// minor for 0.x); and that CompareVersions is an order.
func FuzzReleaseLine(f *testing.F) {
	for _, s := range []string{"1.2.3", "0.3.7", "2.0.0-rc.1", "1.0.0+a-b", "0.0.0+x", "v1.0.0", "01.0.0", "1.0"} {
		f.Add(s, "1.2.4")
	}
	f.Fuzz(func(t *testing.T, v, w string) {
		line := ReleaseLine(v)
		var want string
		if ValidVersion(v) == nil {
			sv := semver.MustParse(v)
			switch {
			case sv.Prerelease() != "":
			case sv.Major() != 0:
				want = strconv.FormatUint(sv.Major(), 10) + ".x"
			default:
				want = "0." + strconv.FormatUint(sv.Minor(), 10) + ".x"
			}
		}
		if line != want {
			t.Fatalf("ReleaseLine(%q) = %q, want %q", v, line, want)
		}
		a, b := CompareVersions(v, w), CompareVersions(w, v)
		if a != -b || CompareVersions(v, v) != 0 {
			t.Fatalf("CompareVersions(%q, %q) = %d, reversed %d", v, w, a, b)
		}
	})
}
