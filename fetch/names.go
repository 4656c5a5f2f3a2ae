package fetch

import (
	"fmt"
	"net/url"
	"strings"
)

// validName reports whether s is a package name part npm could serve: the
// characters encodeURIComponent leaves alone, not "." or "..".
func validNamePart(s string) bool {
	if s == "" || s == "." || s == ".." || len(s) > 214 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case strings.IndexByte("-_.!~*'()", c) >= 0:
		default:
			return false
		}
	}
	return true
}

// validVersion accepts semver's characters only, so a version can never
// change the request path.
func validVersion(v string) bool {
	if v == "" || len(v) > 256 || v == "." || v == ".." {
		return false
	}
	for i := 0; i < len(v); i++ {
		c := v[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case c == '.' || c == '-' || c == '+':
		default:
			return false
		}
	}
	return true
}

// checkName validates a package name ("name" or "@scope/name").
func checkName(name string) error {
	bare := name
	if strings.HasPrefix(name, "@") {
		scope, rest, ok := strings.Cut(name[1:], "/")
		if !ok || !validNamePart(scope) || !validNamePart(rest) {
			return fmt.Errorf("%w: %q is not a valid package name", ErrInvalidSpec, name)
		}
		return nil
	}
	if !validNamePart(bare) {
		return fmt.Errorf("%w: %q is not a valid package name", ErrInvalidSpec, name)
	}
	return nil
}

func checkSpec(name, version string) error {
	if err := checkName(name); err != nil {
		return err
	}
	if !validVersion(version) {
		return fmt.Errorf("%w: %s: %q is not a valid version", ErrInvalidSpec, name, version)
	}
	return nil
}

// escapeName escapes a package name for a registry path as npm does
// (npm-package-arg's escapedName): "@scope/name" becomes "@scope%2fname";
// unscoped names are unchanged. Valid names need no other escaping.
func escapeName(name string) string {
	return strings.Replace(name, "/", "%2f", 1)
}

// inferRegistry returns the most common registry origin of registry-style
// tarball URLs (<origin><prefix>/<name>/-/<basename>-<version>.tgz, name
// possibly scoped), with the path prefix and a trailing slash, or "" when
// there is none. Ties go to the alphabetically first origin. Credentials in
// the URLs are dropped.
func inferRegistry(resolved []string) string {
	counts := map[string]int{}
	for _, r := range resolved {
		if reg := registryOfTarball(r); reg != "" {
			counts[reg]++
		}
	}
	best, n := "", 0
	for reg, c := range counts {
		if c > n || c == n && reg < best {
			best, n = reg, c
		}
	}
	return best
}

func registryOfTarball(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return ""
	}
	p := u.EscapedPath()
	p = strings.NewReplacer("%2f", "/", "%2F", "/", "%40", "@").Replace(p)
	i := strings.LastIndex(p, "/-/")
	if i < 0 {
		return ""
	}
	file := p[i+3:]
	if strings.Contains(file, "/") || !strings.HasSuffix(file, ".tgz") {
		return ""
	}
	segs := strings.Split(p[:i], "/") // segs[0] == ""
	if len(segs) < 2 {
		return ""
	}
	last := segs[len(segs)-1]
	if !validNamePart(last) || !strings.HasPrefix(file, last+"-") {
		return ""
	}
	prefix := segs[:len(segs)-1]
	if len(prefix) >= 2 && strings.HasPrefix(prefix[len(prefix)-1], "@") {
		prefix = prefix[:len(prefix)-1]
	}
	return strings.ToLower(u.Scheme) + "://" + strings.ToLower(u.Host) + strings.Join(prefix, "/") + "/"
}
