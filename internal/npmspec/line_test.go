package npmspec

import (
	"strings"
	"testing"
)

func TestReleaseLine(t *testing.T) {
	for v, want := range map[string]string{
		"1.0.0":                           "1.x",
		"2.14.1":                          "2.x",
		"10.0.0":                          "10.x",
		"0.3.7":                           "0.3.x",
		"0.0.1":                           "0.0.x",
		"0.12.0":                          "0.12.x",
		"1.0.0+build.5":                   "1.x",
		"0.4.0+sha-abc":                   "0.4.x",
		"2.0.0-rc.1":                      "",
		"0.3.0-beta":                      "",
		"1.2.3-alpha+b":                   "",
		"1.0.0+a-b":                       "1.x", // a hyphen in build metadata is no prerelease
		"v1.0.0":                          "",
		"1.0":                             "",
		"01.0.0":                          "",
		"":                                "",
		"latest":                          "",
		"9007199254740992.0.0":            "",
		strings.Repeat("1", 300) + ".0.0": "",
	} {
		if got := ReleaseLine(v); got != want {
			t.Errorf("ReleaseLine(%q) = %q, want %q", v, got, want)
		}
	}
}

func TestCompareVersions(t *testing.T) {
	for _, c := range []struct {
		a, b string
		want int
	}{
		{"1.0.0", "1.0.1", -1},
		{"1.10.0", "1.9.0", 1},
		{"1.0.0-rc.1", "1.0.0", -1},
		{"1.0.0+a", "1.0.0+b", 0},
		{"2.0.0", "2.0.0", 0},
		{"bad", "0.0.1", -1},
		{"0.0.1", "bad", 1},
		{"a", "b", -1},
		{"b", "b", 0},
	} {
		if got := CompareVersions(c.a, c.b); got != c.want {
			t.Errorf("CompareVersions(%q, %q) = %d, want %d", c.a, c.b, got, c.want)
		}
	}
}
