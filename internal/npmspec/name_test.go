package npmspec

import (
	"errors"
	"strings"
	"testing"
)

func TestValidName(t *testing.T) {
	for _, n := range []string{
		"a", "abbrev", "fs.realpath", "@s/a", "@types/node", "JSONStream", "lodash.merge", "a-b_c~d",
		"!bang", "(paren)", "it's", "star*", "@s/_private", "@_s/x", "@s/-x", "http", "a..b", "a.",
		strings.Repeat("a", MaxNameLen), "@s/" + strings.Repeat("a", MaxNameLen-3),
	} {
		if err := ValidName(n); err != nil {
			t.Errorf("ValidName(%q) = %v, want nil", n, err)
		}
	}
	for n, msg := range map[string]string{
		"":                                "the name is empty",
		strings.Repeat("a", MaxNameLen+1): "215 bytes, more than 214",
		".bin":                            `starts with '.'`,
		"..":                              `starts with '.'`,
		"_hidden":                         `starts with '_'`,
		"-dash":                           `starts with '-'`,
		"@s":                              "a scope without a name",
		"@s/":                             "the name after the scope is empty",
		"@/a":                             "the scope is empty",
		"@s/a/b":                          "more than one /",
		"@s/.a":                           `the name after the scope starts with "."`,
		"@s/..":                           `the name after the scope starts with "."`,
		"@./a":                            `the scope starts with "."`,
		"@../a":                           `the scope starts with "."`,
		"a/b":                             "a / in an unscoped name",
		"../etc/passwd":                   `starts with '.'`,
		"a/../../x":                       "a / in an unscoped name",
		"/abs":                            "a / in an unscoped name",
		"a b":                             `" " is not a URL-safe character`,
		" a":                              `" " is not a URL-safe character`,
		"a:b":                             `":" is not a URL-safe character`,
		"a%2fb":                           `"%" is not a URL-safe character`,
		"a#b":                             `"#" is not a URL-safe character`,
		"a?b":                             `"?" is not a URL-safe character`,
		`a\b`:                             `"\\" is not a URL-safe character`,
		"a@b":                             `"@" is not a URL-safe character`,
		"@@s/a":                           `"@" is not a URL-safe character`,
		"a\x00b":                          "a control character at byte 1",
		"a\nb":                            "a control character at byte 1",
		"a\x1b[31m":                       "a control character at byte 1",
		"a\x7f":                           "a control character at byte 1",
		"caf\u00e9":                       `"\xc3" is not a URL-safe character`,
		"node_modules":                    "a name npm reserves",
		"Favicon.ico":                     "a name npm reserves",
		"@s/node_modules":                 "a name npm reserves",
	} {
		err := ValidName(n)
		if !errors.Is(err, ErrInvalidName) || !strings.Contains(err.Error(), msg) {
			t.Errorf("ValidName(%q) = %v, want an ErrInvalidName saying %q", n, err, msg)
		}
	}
}

func TestValidVersion(t *testing.T) {
	for _, v := range []string{
		"1.2.3", "0.0.0", "10.20.30", "1.0.0-rc.1", "1.0.0-0", "1.0.0-alpha-beta.1", "1.0.0+build.001",
		"1.0.0-x.7.z.92+exp.sha.5114f85", "1.0.0-A.b-C", "9007199254740991.0.0", "1.0.0--", "1.0.0+-",
		"1.0.0-" + strings.Repeat("a", MaxVersionLen-6),
	} {
		if err := ValidVersion(v); err != nil {
			t.Errorf("ValidVersion(%q) = %v, want nil", v, err)
		}
	}
	for v, msg := range map[string]string{
		"":                         "the version is empty",
		"1":                        "not a semantic version",
		"1.2":                      "not a semantic version",
		"v1.2.3":                   "not a semantic version",
		"=1.2.3":                   "not a semantic version",
		"01.2.3":                   "not a semantic version",
		"1.02.3":                   "not a semantic version",
		"1.2.3-01":                 "not a semantic version",
		"1.2.3-":                   "not a semantic version",
		"1.2.3+":                   "not a semantic version",
		"1.2.3-a..b":               "not a semantic version",
		"1.2.3 ":                   "not a semantic version",
		" 1.2.3":                   "not a semantic version",
		"^1.2.3":                   "not a semantic version",
		"1.2.3.4":                  "not a semantic version",
		"1.2.3-ä":                  "not a semantic version",
		"1.2.3-a_b":                "not a semantic version",
		"1.2.3/../../x":            "not a semantic version",
		"1.2.3?x":                  "not a semantic version",
		"1.2.3\x00":                "not a semantic version",
		"latest":                   "not a semantic version",
		"..":                       "not a semantic version",
		"9007199254740992.0.0":     "larger than 2^53-1",
		"1.9007199254740992.0":     "larger than 2^53-1",
		"99999999999999999999.0.0": "not a semantic version",
		"1.0.0-" + strings.Repeat("a", MaxVersionLen-5): "more than 256",
	} {
		err := ValidVersion(v)
		if !errors.Is(err, ErrInvalidVersion) || !strings.Contains(err.Error(), msg) {
			t.Errorf("ValidVersion(%q) = %v, want an ErrInvalidVersion saying %q", v, err, msg)
		}
	}
}

func TestEscapeName(t *testing.T) {
	for in, want := range map[string]string{"a": "a", "@s/a": "@s%2fa", "@types/node": "@types%2fnode", "A.b": "A.b"} {
		if got := EscapeName(in); got != want {
			t.Errorf("EscapeName(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestPlainVersion(t *testing.T) {
	for v, want := range map[string]bool{
		"1.2.3": true, "0.0.0": true, "999999999999999.999999999999999.999999999999999": true,
		"1000000000000000.0.0": false, // 16 digits: left to the full parse
		"01.2.3":               false, "1.2": false, "1.2.3-rc.1": false, "1.2.3+b": false, "": false, "1..3": false, "1.2.3.": false,
	} {
		if got := plainVersion(v); got != want {
			t.Errorf("plainVersion(%q) = %v, want %v", v, got, want)
		}
	}
}
