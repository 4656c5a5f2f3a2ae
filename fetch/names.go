package fetch

import (
	"fmt"
	"net/url"
	"strings"

	"github.com/provaudit/provaudit/internal/npmspec"
)

// checkSpec validates a package name and version before they go into a
// request path (internal/npmspec's rules), so neither can change the path.
func checkSpec(name, version string) error {
	if err := npmspec.ValidName(name); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidSpec, err)
	}
	if err := npmspec.ValidVersion(version); err != nil {
		return fmt.Errorf("%w: %s: %w", ErrInvalidSpec, name, err)
	}
	return nil
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
	name, prefix := last, segs[:len(segs)-1]
	if len(prefix) >= 2 && strings.HasPrefix(prefix[len(prefix)-1], "@") {
		name = prefix[len(prefix)-1] + "/" + last
		prefix = prefix[:len(prefix)-1]
	}
	if npmspec.ValidName(name) != nil || !strings.HasPrefix(file, last+"-") {
		return ""
	}
	return strings.ToLower(u.Scheme) + "://" + strings.ToLower(u.Host) + strings.Join(prefix, "/") + "/"
}
