package npmspec

import (
	"errors"
	"fmt"
	"strings"

	"github.com/Masterminds/semver/v3"
)

// MaxNameLen is the longest package name npm accepts.
const MaxNameLen = 214

// MaxVersionLen is the longest version string accepted (npm's semver and
// Masterminds/semver both cap it there).
const MaxVersionLen = semver.MaxVersionLen

// maxSafeInteger is JavaScript's Number.MAX_SAFE_INTEGER, the largest
// major, minor or patch npm's semver accepts.
const maxSafeInteger = 1<<53 - 1

var (
	// ErrInvalidName reports a string that cannot be a registry package name.
	ErrInvalidName = errors.New("invalid package name")
	// ErrInvalidVersion reports a string that is not a registry version.
	ErrInvalidVersion = errors.New("invalid version")
)

// ValidName reports why name cannot be the name of a registry package, or
// nil when it can; the package documentation gives the rules. Errors wrap
// [ErrInvalidName] and say what is wrong.
func ValidName(name string) error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s: %s", ErrInvalidName, quote(name), fmt.Sprintf(format, args...))
	}
	switch {
	case name == "":
		return fmt.Errorf("%w: the name is empty", ErrInvalidName)
	case len(name) > MaxNameLen:
		return bad("%d bytes, more than %d", len(name), MaxNameLen)
	case name[0] == '.' || name[0] == '_' || name[0] == '-':
		return bad("starts with %q", name[0])
	}
	for i := 0; i < len(name); i++ {
		switch c := name[i]; {
		case c < ' ' || c == 0x7f:
			return bad("a control character at byte %d", i)
		case !urlSafe(c) && !(c == '@' && i == 0) && c != '/':
			return bad("%q is not a URL-safe character", name[i:i+1])
		}
	}
	base := name
	if name[0] == '@' {
		scope, rest, ok := strings.Cut(name[1:], "/")
		switch {
		case !ok:
			return bad("a scope without a name (want @scope/name)")
		case scope == "":
			return bad("the scope is empty")
		case rest == "":
			return bad("the name after the scope is empty")
		case strings.IndexByte(rest, '/') >= 0:
			return bad("more than one /")
		case scope[0] == '.':
			return bad("the scope starts with \".\"")
		case rest[0] == '.':
			return bad("the name after the scope starts with \".\"")
		}
		base = rest
	} else if strings.IndexByte(name, '/') >= 0 {
		return bad("a / in an unscoped name")
	}
	if strings.EqualFold(base, "node_modules") || strings.EqualFold(base, "favicon.ico") {
		return bad("a name npm reserves")
	}
	return nil
}

// urlSafe reports whether encodeURIComponent leaves c as it is.
func urlSafe(c byte) bool { return urlSafeChars[c] }

var urlSafeChars = func() (t [256]bool) {
	for _, c := range []byte("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.!~*'()") {
		t[c] = true
	}
	return t
}()

// ValidVersion reports why v is not the version of a registry package, or
// nil when it is one: strict SemVer 2.0.0 (see the package documentation).
// Errors wrap [ErrInvalidVersion].
func ValidVersion(v string) error {
	switch {
	case v == "":
		return fmt.Errorf("%w: the version is empty", ErrInvalidVersion)
	case len(v) > MaxVersionLen:
		return fmt.Errorf("%w: %s: %d bytes, more than %d", ErrInvalidVersion, quote(v), len(v), MaxVersionLen)
	case plainVersion(v):
		return nil
	}
	sv, err := semver.StrictNewVersion(v)
	if err != nil {
		return fmt.Errorf("%w: %s is not a semantic version (SemVer 2.0.0, no \"v\"): %w", ErrInvalidVersion, quote(v), err)
	}
	if sv.Major() > maxSafeInteger || sv.Minor() > maxSafeInteger || sv.Patch() > maxSafeInteger {
		return fmt.Errorf("%w: %s: a number larger than 2^53-1, which npm's semver rejects", ErrInvalidVersion, quote(v))
	}
	return nil
}

// plainVersion reports whether v is MAJOR.MINOR.PATCH, each a number of at
// most 15 digits without a leading zero: the shape of almost every version
// in a lockfile. Every such string is strict SemVer below 2^53
// (FuzzValidVersion checks it against Masterminds), so ValidVersion accepts
// it without the allocations of a full parse; anything else goes through
// Masterminds.
func plainVersion(v string) bool {
	i := 0
	for part := range 3 {
		if part > 0 {
			if i >= len(v) || v[i] != '.' {
				return false
			}
			i++
		}
		start := i
		for i < len(v) && v[i] >= '0' && v[i] <= '9' {
			i++
		}
		if n := i - start; n == 0 || n > 15 || n > 1 && v[start] == '0' {
			return false
		}
	}
	return i == len(v)
}

// EscapeName writes a valid package name as one registry path segment, as
// npm-package-arg's escapedName does: "@scope/name" becomes
// "@scope%2fname"; an unscoped name is unchanged. Valid names need no other
// escaping.
func EscapeName(name string) string {
	return strings.Replace(name, "/", "%2f", 1)
}
