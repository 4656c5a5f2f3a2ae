package lockfile

import (
	"fmt"
	"net/url"
	"path"
	"strings"

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
// patterns (globs as npm's map-workspaces accepts them: *, ?, [...], ** and
// {a,b}; a leading ! excludes). The work it does is bounded: a lockfile that
// needs more (thousands of patterns against thousands of folders, which no
// real project has) sets exceeded, and is reported as malformed.
type workspaceMatcher struct {
	include, exclude [][]string
	work             int // path.Match calls, weighted by their size
	exceeded         bool
}

const (
	maxWorkspacePatterns = 1000
	maxWorkspaceWork     = 50_000_000
)

func newWorkspaceMatcher(patterns []string) *workspaceMatcher {
	m := &workspaceMatcher{}
	seen := map[string]bool{}
	for _, p := range patterns {
		neg := strings.HasPrefix(p, "!")
		p = strings.TrimPrefix(p, "!")
		for _, q := range expandBraces(p) {
			q = strings.TrimSuffix(path.Clean(strings.TrimPrefix(q, "./")), "/")
			if q == "." || q == "" || seen[q] {
				continue
			}
			if len(m.include)+len(m.exclude) >= maxWorkspacePatterns {
				m.exceeded = true
				return m
			}
			seen[q] = true
			segs := strings.Split(q, "/")
			if neg {
				m.exclude = append(m.exclude, segs)
			} else {
				m.include = append(m.include, segs)
			}
		}
	}
	return m
}

func (m *workspaceMatcher) match(p string) bool {
	if m == nil || len(m.include) == 0 || m.exceeded {
		return false
	}
	segs := strings.Split(p, "/")
	in := false
	for _, pat := range m.include {
		if m.glob(pat, segs) {
			in = true
			break
		}
	}
	if !in {
		return false
	}
	for _, pat := range m.exclude {
		if m.glob(pat, segs) {
			return false
		}
	}
	return !m.exceeded
}

// glob matches path segments against pattern segments; "**" matches any
// number of segments. It runs in O(len(pat)*len(segs)) path.Match calls.
func (m *workspaceMatcher) glob(pat, segs []string) bool {
	// ok[j] reports whether pat[:i] matches segs[:j], for the current i.
	ok := make([]bool, len(segs)+1)
	ok[0] = true
	for _, p := range pat {
		if p == "**" {
			// ** matches segs[k:j] for any k <= j: carry any earlier match.
			for j := 1; j <= len(segs); j++ {
				ok[j] = ok[j] || ok[j-1]
			}
			continue
		}
		for j := len(segs); j >= 1; j-- {
			if !ok[j-1] {
				ok[j] = false
				continue
			}
			if m.work += (len(p) + 1) * (len(segs[j-1]) + 1); m.work > maxWorkspaceWork {
				m.exceeded = true
				return false
			}
			matched, err := path.Match(p, segs[j-1])
			ok[j] = err == nil && matched
		}
		ok[0] = false
	}
	return ok[len(segs)]
}

// expandBraces expands the {a,b} groups of p (not nested) into at most
// maxAlternatives patterns; longer or larger patterns are left as written.
func expandBraces(p string) []string {
	const maxAlternatives = 64
	out := []string{p}
	for range 8 {
		var next []string
		changed := false
		for _, q := range out {
			open := strings.IndexByte(q, '{')
			closing := -1
			if open >= 0 {
				closing = strings.IndexByte(q[open:], '}')
			}
			if open < 0 || closing < 0 || len(q) > 1024 {
				next = append(next, q)
				continue
			}
			closing += open
			changed = true
			for alt := range strings.SplitSeq(q[open+1:closing], ",") {
				next = append(next, q[:open]+alt+q[closing+1:])
			}
		}
		if !changed || len(next) > maxAlternatives {
			return out
		}
		out = next
	}
	return out
}
