package npmspec

import (
	"strconv"
	"strings"

	"github.com/Masterminds/semver/v3"
)

// ReleaseLine returns the release line of a registry version: "2.x" for
// 2.y.z (same major), "0.3.x" for 0.3.z (same minor for 0.x, where every
// minor may break), and "" for a prerelease (2.0.0-rc.1) or a string that
// [ValidVersion] refuses: those belong to no line. Build metadata is
// ignored (1.0.0+b is on "1.x").
func ReleaseLine(v string) string {
	if plainVersion(v) {
		major, rest := cutDot(v)
		if major != "0" {
			return major + ".x"
		}
		minor, _ := cutDot(rest)
		return "0." + minor + ".x"
	}
	core, _, _ := strings.Cut(v, "+")
	if strings.IndexByte(core, '-') >= 0 {
		return "" // a prerelease (or not a version): no parse needed
	}
	sv, err := parseStrict(v)
	if err != nil || sv.Prerelease() != "" {
		return ""
	}
	if sv.Major() != 0 {
		return strconv.FormatUint(sv.Major(), 10) + ".x"
	}
	return "0." + strconv.FormatUint(sv.Minor(), 10) + ".x"
}

func cutDot(s string) (head, tail string) {
	for i := 0; i < len(s); i++ {
		if s[i] == '.' {
			return s[:i], s[i+1:]
		}
	}
	return s, ""
}

// CompareVersions orders two valid versions by SemVer precedence: -1 when
// a is lower than b, 0 when they are equal (build metadata aside), +1 when
// a is higher. A string [ValidVersion] refuses sorts below every valid
// one, and invalid strings among themselves by byte order, so that any two
// strings have one order.
func CompareVersions(a, b string) int {
	va, erra := parseStrict(a)
	vb, errb := parseStrict(b)
	switch {
	case erra != nil && errb != nil:
		switch {
		case a < b:
			return -1
		case a > b:
			return 1
		}
		return 0
	case erra != nil:
		return -1
	case errb != nil:
		return 1
	}
	return va.Compare(vb)
}

func parseStrict(v string) (*semver.Version, error) {
	if err := ValidVersion(v); err != nil {
		return nil, err
	}
	return semver.StrictNewVersion(v)
}
