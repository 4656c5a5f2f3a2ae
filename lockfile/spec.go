package lockfile

import (
	"fmt"
	"net/url"
	"path"
	"strings"

	"github.com/bmatcuk/doublestar/v4"

	"github.com/provaudit/provaudit/internal/npmspec"
)

// This file classifies what a lockfile says about an entry: version strings,
// package names, install paths and resolved specs.

// isSemver reports whether v is a version the registry publishes (see
// npmspec.ValidVersion).
func isSemver(v string) bool { return npmspec.ValidVersion(v) == nil }

// installName returns the package folder name of an install path: the part
// after the last "node_modules/" when that is "name" or "@scope/name" and
// does not start with a dot (npm ignores dot folders in node_modules, such
// as .bin or .pnpm). ok is false for folders that are not install
// locations: workspaces, link targets, and directories like
// node_modules/.pnpm/x/1.0.0.
func installName(p string) (name string, ok bool) {
	i := strings.LastIndex(p, "node_modules/")
	if i < 0 || (i > 0 && p[i-1] != '/') {
		return "", false
	}
	rest := p[i+len("node_modules/"):]
	if rest == "" || rest[0] == '.' {
		return "", false
	}
	slash := strings.IndexByte(rest, '/')
	if slash < 0 {
		// A scope folder (node_modules/@s) holds packages but is none.
		if rest == "node_modules" || rest[0] == '@' {
			return "", false
		}
		return rest, true
	}
	if rest[0] != '@' || slash == 1 || strings.IndexByte(rest[slash+1:], '/') >= 0 || slash == len(rest)-1 || rest[slash+1] == '.' {
		return "", false
	}
	return rest, true
}

// isFolderPath reports whether p is a folder rather than an install location.
func isFolderPath(p string) bool {
	_, ok := installName(p)
	return !ok
}

// folderName returns the package name npm gives a folder: its base name, or
// "@scope/base" when its parent folder is a scope.
func folderName(p string) string {
	base := path.Base(p)
	if dir := path.Dir(p); dir != "." && dir != "/" {
		if parent := path.Base(dir); strings.HasPrefix(parent, "@") && len(parent) > 1 {
			return parent + "/" + base
		}
	}
	return base
}

// checkPath validates an entry path: relative, slash-separated, without
// empty or "." segments, with ".." only as leading segments, and without
// control characters.
func checkPath(p string) string {
	if strings.HasPrefix(p, "/") {
		return "is an absolute path"
	}
	if i := controlChar(p); i >= 0 {
		return fmt.Sprintf("has a control character at byte %d", i)
	}
	leading := true
	for seg := range strings.SplitSeq(p, "/") {
		if len(seg) > 255 {
			return "has a folder name longer than 255 bytes"
		}
		switch seg {
		case "":
			return "has an empty path segment"
		case ".":
			return `has a "." path segment`
		case "..":
			if !leading {
				return `has a ".." path segment after the first folder`
			}
		default:
			leading = false
		}
	}
	if leading {
		return "names no folder"
	}
	return ""
}

// controlChar returns the index of the first C0 control character or DEL
// in s, or -1. No lockfile field legitimately holds one.
func controlChar(s string) int {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < ' ' || c == 0x7f {
			return i
		}
	}
	return -1
}

// isGitSpec reports whether a resolved value or v1 version is a git
// dependency.
func isGitSpec(s string) bool {
	for _, p := range [...]string{"git+", "git://", "git@", "github:", "gitlab:", "bitbucket:", "gist:"} {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	if isHTTP(s) || strings.HasPrefix(s, "ssh://") {
		u, _, _ := strings.Cut(s, "#")
		u, _, _ = strings.Cut(u, "?")
		return strings.HasSuffix(u, ".git")
	}
	return false
}

func isHTTP(s string) bool {
	return strings.HasPrefix(s, "https://") || strings.HasPrefix(s, "http://")
}

// hasScheme reports whether s starts with a URL scheme ("x:").
func hasScheme(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z':
		case i > 0 && (c >= '0' && c <= '9' || c == '+' || c == '-' || c == '.'):
		case i > 1 && c == ':':
			// One letter before the colon is a Windows drive, not a scheme.
			return true
		default:
			return false
		}
	}
	return false
}

// tarballPath returns the unescaped path of an http(s) URL without query or
// fragment, or ok=false if u is not such a URL.
func tarballPath(u string) (string, bool) {
	rest, ok := strings.CutPrefix(u, "https://")
	if !ok {
		if rest, ok = strings.CutPrefix(u, "http://"); !ok {
			return "", false
		}
	}
	if strings.ContainsAny(rest, "?#") {
		return "", false
	}
	slash := strings.IndexByte(rest, '/')
	if slash <= 0 {
		return "", false
	}
	p := rest[slash:]
	if strings.IndexByte(p, '%') >= 0 {
		var err error
		if p, err = url.PathUnescape(p); err != nil {
			return "", false
		}
	}
	return p, true
}

// registryTarball reports whether u is the registry tarball of name@version:
// an http(s) URL of the form <base>/<name>/-/<basename>-<version>.tgz, where
// base may carry any path prefix (path-prefixed registries) and the name may
// be percent-encoded (@scope%2fname).
func registryTarball(u, name, version string) bool {
	p, ok := tarballPath(u)
	if !ok {
		return false
	}
	base := name
	if i := strings.IndexByte(name, '/'); i >= 0 {
		base = name[i+1:]
	}
	// p ends with "/" + name + "/-/" + base + "-" + version + ".tgz".
	for _, part := range [...]string{".tgz", version, "-", base, "/-/", name, "/"} {
		var ok bool
		if p, ok = strings.CutSuffix(p, part); !ok {
			return false
		}
	}
	return true
}

// versionFromTarball returns the version in u when u is a registry tarball
// URL of name, like registryTarball without knowing the version.
func versionFromTarball(u, name string) (string, bool) {
	p, ok := tarballPath(u)
	if !ok {
		return "", false
	}
	base := name
	if i := strings.IndexByte(name, '/'); i >= 0 {
		base = name[i+1:]
	}
	mid := "/" + name + "/-/" + base + "-"
	i := strings.LastIndex(p, mid)
	if i < 0 || !strings.HasSuffix(p, ".tgz") {
		return "", false
	}
	v := p[i+len(mid) : len(p)-len(".tgz")]
	if !isSemver(v) {
		return "", false
	}
	return v, true
}

// isTarballFile reports whether a file: spec names a tarball rather than a
// directory.
func isTarballFile(spec string) bool {
	s := strings.ToLower(spec)
	return strings.HasSuffix(s, ".tgz") || strings.HasSuffix(s, ".tar.gz") || strings.HasSuffix(s, ".tar")
}

// linkTarget normalizes the target of a link: file: prefix removed, "./"
// and trailing slashes dropped. Anything that is not a plain relative or
// absolute path (a URL) is returned as written.
func linkTarget(r string) string {
	t := strings.TrimPrefix(r, "file:")
	if strings.Contains(t, "://") {
		return r
	}
	if t == "" {
		return ""
	}
	return path.Clean(t)
}

// workspaceMatcher matches folder paths against the root's workspaces
// patterns, globs as npm's map-workspaces accepts them (*, ?, [...], ** and
// {a,b}, matched by doublestar; a leading ! excludes). The patterns come
// from the audited lockfile, so the work is bounded: a pattern longer than
// maxPatternLen, more than maxWorkspacePatterns patterns, or more matching
// work than maxWorkspaceWork (thousands of patterns against thousands of
// folders, which no real project has) sets exceeded, and the lockfile is
// reported as malformed.
type workspaceMatcher struct {
	include, exclude []string
	work             int // matches tried, weighted by pattern and path length
	exceeded         bool
}

const (
	maxWorkspacePatterns = 1000
	maxWorkspaceWork     = 50_000_000
	maxPatternLen        = 1024
)

func newWorkspaceMatcher(patterns []string) *workspaceMatcher {
	m := &workspaceMatcher{}
	seen := map[string]bool{}
	for _, p := range patterns {
		neg := strings.HasPrefix(p, "!")
		q := strings.TrimSuffix(path.Clean(strings.TrimPrefix(strings.TrimPrefix(p, "!"), "./")), "/")
		if q == "." || q == "" || seen[q] {
			continue
		}
		if len(m.include)+len(m.exclude) >= maxWorkspacePatterns || len(q) > maxPatternLen || !doublestar.ValidatePattern(q) {
			m.exceeded = true
			return m
		}
		seen[q] = true
		if neg {
			m.exclude = append(m.exclude, q)
		} else {
			m.include = append(m.include, q)
		}
	}
	return m
}

func (m *workspaceMatcher) match(p string) bool {
	if m == nil || len(m.include) == 0 || m.exceeded {
		return false
	}
	return m.any(m.include, p) && !m.any(m.exclude, p) && !m.exceeded
}

// any reports whether p matches one of patterns, counting the work.
func (m *workspaceMatcher) any(patterns []string, p string) bool {
	for _, pat := range patterns {
		if m.work += (len(pat) + 1) * (len(p) + 1); m.work > maxWorkspaceWork {
			m.exceeded = true
			return false
		}
		if doublestar.MatchUnvalidated(pat, p) {
			return true
		}
	}
	return false
}
