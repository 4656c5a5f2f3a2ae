package lockfile

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

func TestInstallName(t *testing.T) {
	for p, want := range map[string]string{
		"node_modules/a":                           "a",
		"node_modules/@s/a":                        "@s/a",
		"node_modules/a/node_modules/@s/b":         "@s/b",
		"packages/x/node_modules/y":                "y",
		"../lib/node_modules/z":                    "z",
		"packages/x":                               "",
		"node_modules/@s":                          "",
		"node_modules/.bin":                        "",
		"node_modules/.pnpm/r/a/1.0.0":             "",
		"node_modules/a/lib":                       "",
		"node_modules/@s/a/lib":                    "",
		"my_node_modules/a":                        "",
		"node_modules/a/node_modules":              "",
		"node_modules/a/node_modules/node_modules": "",
	} {
		got, ok := installName(p)
		if got != want || ok != (want != "") {
			t.Errorf("installName(%q) = %q, %v; want %q", p, got, ok, want)
		}
	}
}

func TestIsGitSpec(t *testing.T) {
	for s, want := range map[string]bool{
		"git+ssh://git@host/u/r.git#sha": true, "git+https://host/u/r.git": true, "git://host/u/r.git#sha": true,
		"git@host:u/r.git": true, "github:u/r#sha": true, "gitlab:u/r": true, "bitbucket:u/r": true, "gist:123": true,
		"https://host/u/r.git#sha": true, "ssh://git@host/u/r.git": true,
		"https://host/u/r/-/r-1.0.0.tgz": false, "https://codeload.host/u/r/tar.gz/sha": false, "file:r.git": false,
		"1.0.0": false, "npm:a@1.0.0": false,
	} {
		if got := isGitSpec(s); got != want {
			t.Errorf("isGitSpec(%q) = %v, want %v", s, got, want)
		}
	}
}

func TestRegistryTarball(t *testing.T) {
	tests := []struct {
		url, name, version string
		want               bool
	}{
		{"https://r.invalid/a/-/a-1.0.0.tgz", "a", "1.0.0", true},
		{"http://r.invalid:8080/a/-/a-1.0.0.tgz", "a", "1.0.0", true},
		{"https://r.invalid/prefix/deep/a/-/a-1.0.0.tgz", "a", "1.0.0", true},
		{"https://r.invalid/@s/a/-/a-1.0.0.tgz", "@s/a", "1.0.0", true},
		{"https://r.invalid/@s%2fa/-/a-1.0.0.tgz", "@s/a", "1.0.0", true},
		{"https://r.invalid/@s%2Fa/-/a-1.0.0.tgz", "@s/a", "1.0.0", true},
		{"https://r.invalid/a/-/a-1.0.0-rc.1.tgz", "a", "1.0.0-rc.1", true},
		{"https://r.invalid/a/-/a-1.0.0.tgz", "a", "1.0.1", false},
		{"https://r.invalid/a/-/a-1.0.0.tgz", "b", "1.0.0", false},
		{"https://r.invalid/xa/-/a-1.0.0.tgz", "a", "1.0.0", false},
		{"https://r.invalid/a/-/xa-1.0.0.tgz", "a", "1.0.0", false},
		{"https://r.invalid/a/-/a-1.0.0.tar.gz", "a", "1.0.0", false},
		{"https://r.invalid/a/-/a-1.0.0.tgz?x=1", "a", "1.0.0", false},
		{"https://r.invalid/a/-/a-1.0.0.tgz#frag", "a", "1.0.0", false},
		{"https://r.invalid/a/-/a-1.0.0.tgz/", "a", "1.0.0", false},
		{"https:///a/-/a-1.0.0.tgz", "a", "1.0.0", false},
		{"ftp://r.invalid/a/-/a-1.0.0.tgz", "a", "1.0.0", false},
		{"https://r.invalid/%zz/a/-/a-1.0.0.tgz", "a", "1.0.0", false},
		{"https://r.invalid/@t/a/-/a-1.0.0.tgz", "@s/a", "1.0.0", false},
		{"https://r.invalid/a/-/a-1.0.0.tgz", "@s/a", "1.0.0", false},
	}
	for _, tt := range tests {
		if got := registryTarball(tt.url, tt.name, tt.version); got != tt.want {
			t.Errorf("registryTarball(%q, %q, %q) = %v, want %v", tt.url, tt.name, tt.version, got, tt.want)
		}
	}
	for _, tt := range []struct{ url, name, want string }{
		{"https://r.invalid/a/-/a-1.2.3.tgz", "a", "1.2.3"},
		{"https://r.invalid/@s/a/-/a-1.2.3-rc.1.tgz", "@s/a", "1.2.3-rc.1"},
		{"https://r.invalid/a/-/a-latest.tgz", "a", ""},
		{"https://r.invalid/b/-/b-1.2.3.tgz", "a", ""},
		{"https://r.invalid/a/-/a-1.2.3.tar", "a", ""},
	} {
		got, ok := versionFromTarball(tt.url, tt.name)
		if got != tt.want || ok != (tt.want != "") {
			t.Errorf("versionFromTarball(%q, %q) = %q, %v; want %q", tt.url, tt.name, got, ok, tt.want)
		}
	}
}

func TestPathHelpers(t *testing.T) {
	for in, want := range map[string]string{
		"packages/a": "packages/a", "./packages/a/": "packages/a", "file:../lib": "../lib", "file:./x": "x",
		"": "", "https://h/x.tgz": "https://h/x.tgz",
	} {
		if got := linkTarget(in); got != want {
			t.Errorf("linkTarget(%q) = %q, want %q", in, got, want)
		}
	}
	for in, want := range map[string]string{"packages/a": "a", "packages/@s/a": "@s/a", "a": "a", "../@s/x": "@s/x", "@s/a": "@s/a"} {
		if got := folderName(in); got != want {
			t.Errorf("folderName(%q) = %q, want %q", in, got, want)
		}
	}
	for in, want := range map[string]bool{"https://x": true, "ftp://x": true, "a+b.c-d:x": true, "C:\\x": false, "../x": false, "x/y:z": false, "1ab:x": false} {
		if got := hasScheme(in); got != want {
			t.Errorf("hasScheme(%q) = %v, want %v", in, got, want)
		}
	}
	for in, want := range map[string]string{
		"node_modules/a": "", "../a/node_modules/b": "", "/abs": "is an absolute path", "a//b": "has an empty path segment",
		"a/./b": `has a "." path segment`, "a/../b": `has a ".." path segment after the first folder`, "..": "names no folder",
		"a/": "has an empty path segment", "node_modules/a\x00b": "has a control character at byte 14",
		"node_modules/\x1b[2J": "has a control character at byte 13",
	} {
		if got := checkPath(in); got != want {
			t.Errorf("checkPath(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestWorkspaceMatcher(t *testing.T) {
	m := newWorkspaceMatcher([]string{"packages/*", "./tools/**", "{apps,sites}/*/web", "!packages/private", "lib?"})
	for p, want := range map[string]bool{
		"packages/a": true, "packages/a/b": false, "packages/private": false, "tools": true, "tools/x/y/z": true,
		"apps/a/web": true, "sites/b/web": true, "apps/a/api": false, "lib1": true, "lib12": false, "other": false,
	} {
		if got := m.match(p); got != want {
			t.Errorf("match(%q) = %v, want %v", p, got, want)
		}
	}
	if m.exceeded {
		t.Error("a small matcher exceeded its budget")
	}
	// Hostile patterns (the lockfile is untrusted): many ** and wildcards
	// against deep folders end within a bounded time, matched or cut off
	// by the work budget.
	hostile := make([]string, 1000)
	for i := range hostile {
		hostile[i] = strings.Repeat("**/a*/", 12) + fmt.Sprintf("z%d/**/q", i)
	}
	hm := newWorkspaceMatcher(hostile)
	deep := strings.TrimSuffix(strings.Repeat("aaa/", 60), "/")
	start := time.Now()
	for i := range 2000 {
		hm.match(deep + fmt.Sprintf("/x%d", i))
	}
	if d := time.Since(start); d > 20*time.Second {
		t.Errorf("hostile workspace patterns took %v", d)
	}
	if newWorkspaceMatcher([]string{strings.Repeat("a", maxPatternLen+1)}).match("a") {
		t.Error("an overlong pattern matched")
	}
	var nilMatcher *workspaceMatcher
	if nilMatcher.match("packages/a") || newWorkspaceMatcher(nil).match("packages/a") {
		t.Error("no patterns matched a folder")
	}
}
