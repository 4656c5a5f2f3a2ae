package lockfile

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

// Valid SRI strings (abbrev 1.1.1 and wrappy 1.0.2).
const (
	sriA    = "sha512-nne9/IiQ/hzIhY6pdDnbBtz7DjPTKrY00P/zvPSm5pOFkl6xuGrGnXn/VtTNNfNtAfZ9/1RtehkszU9qcTii0Q=="
	sriB    = "sha512-Ajr4IcMXq/2QmMkEmSvxqfLN5zGmJ92gHXAeOXq1OekoH2rfDNsgdDoL2f7QaRCy7G/E6TpxBVdRuNraMztGHw=="
	sriSHA1 = "sha1-tSQ9jz7BqjXxNkYFvA0QNuMKtp8="
)

func mustParse(t *testing.T, src string) *Lockfile {
	t.Helper()
	lf, err := Parse("test/package-lock.json", []byte(src))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return lf
}

func find(t *testing.T, lf *Lockfile, path string) *Entry {
	t.Helper()
	for i := range lf.Entries {
		if lf.Entries[i].Path == path {
			return &lf.Entries[i]
		}
	}
	var paths []string
	for _, e := range lf.Entries {
		paths = append(paths, e.Path)
	}
	t.Fatalf("no entry %q; entries: %q", path, paths)
	return nil
}

// checkEntries compares entries field by field. want.Reason must be a
// substring of the reason ("" requires an empty reason); a zero want.Line
// is not compared. The lockfile must hold exactly the wanted entries.
func checkEntries(t *testing.T, lf *Lockfile, want []Entry) {
	t.Helper()
	if len(lf.Entries) != len(want) {
		var paths []string
		for _, e := range lf.Entries {
			paths = append(paths, e.Path)
		}
		t.Errorf("got %d entries %q, want %d", len(lf.Entries), paths, len(want))
	}
	for _, w := range want {
		g := *find(t, lf, w.Path)
		if (w.Reason == "" && g.Reason != "") || !strings.Contains(g.Reason, w.Reason) {
			t.Errorf("%s: reason %q, want it to contain %q", w.Path, g.Reason, w.Reason)
		}
		g.Reason, w.Reason = "", ""
		if w.Line == 0 {
			g.Line = 0
		}
		if g != w {
			t.Errorf("%s:\n got %+v\nwant %+v", w.Path, g, w)
		}
	}
}

func TestParseEdges(t *testing.T) {
	tests := []struct {
		name string
		src  string
		want []Entry
	}{
		{
			name: "v2 alias through the name field",
			src: `{
  "lockfileVersion": 3,
  "packages": {
    "": {"name": "root", "dependencies": {"string-width-cjs": "npm:string-width@^4"}},
    "node_modules/string-width-cjs": {
      "name": "string-width",
      "version": "4.2.3",
      "resolved": "https://r.invalid/string-width/-/string-width-4.2.3.tgz",
      "integrity": "` + sriA + `"
    }
  }
}`,
			want: []Entry{{Path: "node_modules/string-width-cjs", Name: "string-width", Alias: "string-width-cjs", Version: "4.2.3",
				Integrity: sriA, Resolved: "https://r.invalid/string-width/-/string-width-4.2.3.tgz", Kind: KindRegistry, Line: 5}},
		},
		{
			name: "v1 aliases, plain and scoped",
			src: `{
  "lockfileVersion": 1,
  "requires": true,
  "dependencies": {
    "sw": {
      "version": "npm:string-width@4.2.3",
      "resolved": "https://r.invalid/string-width/-/string-width-4.2.3.tgz",
      "integrity": "` + sriA + `"
    },
    "old": {"version": "npm:@scope/real@1.0.0-rc.1", "integrity": "` + sriB + `"}
  }
}`,
			want: []Entry{
				{Path: "node_modules/sw", Name: "string-width", Alias: "sw", Version: "4.2.3", Integrity: sriA,
					Resolved: "https://r.invalid/string-width/-/string-width-4.2.3.tgz", Kind: KindRegistry, Line: 5},
				{Path: "node_modules/old", Name: "@scope/real", Alias: "old", Version: "1.0.0-rc.1", Integrity: sriB, Kind: KindRegistry, Line: 10},
			},
		},
		{
			name: "link outside the project, named after its target",
			src: `{
  "lockfileVersion": 2,
  "packages": {
    "": {"dependencies": {"lib": "file:../lib"}},
    "../lib": {"name": "@me/lib", "version": "0.1.0"},
    "node_modules/lib": {"resolved": "../lib", "link": true}
  }
}`,
			want: []Entry{
				{Path: "../lib", Name: "@me/lib", Version: "0.1.0", Kind: KindFile, Reason: "local folder ../lib", Line: 5},
				{Path: "node_modules/lib", Name: "@me/lib", Alias: "lib", Version: "0.1.0", Resolved: "../lib", Link: "../lib",
					Kind: KindLink, Reason: "link to ../lib (outside the project)", Line: 6},
			},
		},
		{
			name: "workspaces: folders, links to them, and their own dependencies",
			src: `{
  "lockfileVersion": 3,
  "packages": {
    "": {"name": "mono", "workspaces": ["./packages/*", "!packages/skip"]},
    "node_modules/a": {"resolved": "packages/a", "link": true},
    "node_modules/tool": {"resolved": "tools/gen", "link": true},
    "packages/a": {"name": "@mono/a", "version": "1.0.0"},
    "packages/a/node_modules/x": {"version": "2.0.0", "resolved": "https://r.invalid/x/-/x-2.0.0.tgz", "integrity": "` + sriA + `"},
    "packages/skip": {"version": "1.0.0"},
    "tools/gen": {"version": "0.0.1"}
  }
}`,
			want: []Entry{
				{Path: "node_modules/a", Name: "@mono/a", Alias: "a", Version: "1.0.0", Resolved: "packages/a", Link: "packages/a",
					Kind: KindWorkspace, Reason: "link to workspace packages/a", Line: 5},
				{Path: "node_modules/tool", Name: "gen", Alias: "tool", Version: "0.0.1", Resolved: "tools/gen", Link: "tools/gen",
					Kind: KindLink, Reason: "link to tools/gen", Line: 6},
				{Path: "packages/a", Name: "@mono/a", Version: "1.0.0", Kind: KindWorkspace, Reason: "workspace folder packages/a", Line: 7},
				{Path: "packages/a/node_modules/x", Name: "x", Version: "2.0.0", Integrity: sriA,
					Resolved: "https://r.invalid/x/-/x-2.0.0.tgz", Kind: KindRegistry, Line: 8},
				{Path: "packages/skip", Name: "skip", Version: "1.0.0", Kind: KindFile, Reason: "local folder", Line: 9},
				{Path: "tools/gen", Name: "gen", Version: "0.0.1", Kind: KindFile, Reason: "local folder", Line: 10},
			},
		},
		{
			name: "workspaces as an object, with ** and braces",
			src: `{
  "lockfileVersion": 3,
  "packages": {
    "": {"workspaces": {"packages": ["libs/**", "{apps,sites}/*"]}},
    "apps/web": {"version": "1.0.0"},
    "libs/deep/er": {"version": "1.0.0"},
    "sites/blog": {"version": "1.0.0"},
    "other/x": {"version": "1.0.0"}
  }
}`,
			want: []Entry{
				{Path: "apps/web", Name: "web", Version: "1.0.0", Kind: KindWorkspace, Reason: "workspace folder"},
				{Path: "libs/deep/er", Name: "er", Version: "1.0.0", Kind: KindWorkspace, Reason: "workspace folder"},
				{Path: "sites/blog", Name: "blog", Version: "1.0.0", Kind: KindWorkspace, Reason: "workspace folder"},
				{Path: "other/x", Name: "x", Version: "1.0.0", Kind: KindFile, Reason: "local folder"},
			},
		},
		{
			name: "bundled dependencies, v2 inBundle and v1 bundled",
			src: `{
  "lockfileVersion": 2,
  "packages": {
    "node_modules/p": {"version": "1.0.0", "resolved": "https://r.invalid/p/-/p-1.0.0.tgz", "integrity": "` + sriA + `"},
    "node_modules/p/node_modules/b": {"version": "2.0.0", "inBundle": true, "dev": true}
  },
  "dependencies": {"ignored": {"version": "9.9.9", "bundled": "not read: the v1 mirror is ignored"}}
}`,
			want: []Entry{
				{Path: "node_modules/p", Name: "p", Version: "1.0.0", Integrity: sriA, Resolved: "https://r.invalid/p/-/p-1.0.0.tgz", Kind: KindRegistry, Line: 4},
				{Path: "node_modules/p/node_modules/b", Name: "b", Version: "2.0.0", Kind: KindRegistry, InBundle: true, BundledBy: "node_modules/p", Dev: true, Line: 5},
			},
		},
		{
			name: "v1 bundled and nested dependencies",
			src: `{
  "lockfileVersion": 1,
  "requires": true,
  "dependencies": {
    "p": {
      "version": "1.0.0",
      "integrity": "` + sriA + `",
      "requires": {"b": "^2"},
      "dependencies": {
        "b": {"version": "2.0.0", "bundled": true, "optional": true}
      }
    }
  }
}`,
			want: []Entry{
				{Path: "node_modules/p", Name: "p", Version: "1.0.0", Integrity: sriA, Kind: KindRegistry, Line: 5},
				{Path: "node_modules/p/node_modules/b", Name: "b", Version: "2.0.0", Kind: KindRegistry, InBundle: true, BundledBy: "node_modules/p", Optional: true, Line: 10},
			},
		},
		{
			name: "git dependencies",
			src: `{
  "lockfileVersion": 2,
  "packages": {
    "node_modules/a": {"version": "1.0.0", "resolved": "git+ssh://git@host.invalid/u/a.git#0123456789abcdef0123456789abcdef01234567", "integrity": "` + sriA + `"},
    "node_modules/b": {"version": "1.0.0", "resolved": "https://host.invalid/u/b.git#0123456789abcdef0123456789abcdef01234567"},
    "node_modules/c": {"resolved": "github:u/c#0123456789abcdef0123456789abcdef01234567"}
  }
}`,
			want: []Entry{
				{Path: "node_modules/a", Name: "a", Version: "1.0.0", Integrity: sriA, Resolved: "git+ssh://git@host.invalid/u/a.git#0123456789abcdef0123456789abcdef01234567",
					Kind: KindGit, Reason: "git dependency git+ssh://git@host.invalid/u/a.git#0123456789abcdef0123456789abcdef01234567"},
				{Path: "node_modules/b", Name: "b", Version: "1.0.0", Resolved: "https://host.invalid/u/b.git#0123456789abcdef0123456789abcdef01234567",
					Kind: KindGit, Reason: "git dependency https://host.invalid/u/b.git#"},
				{Path: "node_modules/c", Name: "c", Resolved: "github:u/c#0123456789abcdef0123456789abcdef01234567", Kind: KindGit, Reason: "git dependency github:u/c#"},
			},
		},
		{
			name: "v1 git versions",
			src: `{
  "lockfileVersion": 1,
  "requires": true,
  "dependencies": {
    "a": {"version": "github:u/a#0123456789abcdef0123456789abcdef01234567", "from": "github:u/a"},
    "b": {"version": "git+https://host.invalid/u/b.git#0123456789abcdef0123456789abcdef01234567", "dev": true},
    "c": {"version": "gitlab:u/c#0123456789abcdef0123456789abcdef01234567"},
    "d": {"version": "git://host.invalid/u/d.git#0123456789abcdef0123456789abcdef01234567"}
  }
}`,
			want: []Entry{
				{Path: "node_modules/a", Name: "a", Resolved: "github:u/a#0123456789abcdef0123456789abcdef01234567", Kind: KindGit, Reason: "git dependency github:u/a#", Line: 5},
				{Path: "node_modules/b", Name: "b", Resolved: "git+https://host.invalid/u/b.git#0123456789abcdef0123456789abcdef01234567", Kind: KindGit, Dev: true, Reason: "git dependency git+https://", Line: 6},
				{Path: "node_modules/c", Name: "c", Resolved: "gitlab:u/c#0123456789abcdef0123456789abcdef01234567", Kind: KindGit, Reason: "git dependency gitlab:", Line: 7},
				{Path: "node_modules/d", Name: "d", Resolved: "git://host.invalid/u/d.git#0123456789abcdef0123456789abcdef01234567", Kind: KindGit, Reason: "git dependency git://", Line: 8},
			},
		},
		{
			name: "file dependencies: tarballs and relative paths",
			src: `{
  "lockfileVersion": 3,
  "packages": {
    "node_modules/t": {"version": "1.0.0", "resolved": "file:vendor/t-1.0.0.tgz", "integrity": "` + sriA + `"},
    "node_modules/r": {"version": "1.0.0", "resolved": "../r-1.0.0.tgz"}
  }
}`,
			want: []Entry{
				{Path: "node_modules/t", Name: "t", Version: "1.0.0", Integrity: sriA, Resolved: "file:vendor/t-1.0.0.tgz", Kind: KindFile, Reason: "local file dependency file:vendor/t-1.0.0.tgz"},
				{Path: "node_modules/r", Name: "r", Version: "1.0.0", Resolved: "../r-1.0.0.tgz", Kind: KindFile, Reason: "local file dependency ../r-1.0.0.tgz"},
			},
		},
		{
			name: "v1 file: tarball, and a file: directory whose dependencies live in it",
			src: `{
  "lockfileVersion": 1,
  "requires": true,
  "dependencies": {
    "t": {"version": "file:t-1.0.0.tgz", "integrity": "` + sriA + `"},
    "local": {
      "version": "file:libs/local",
      "dependencies": {
        "x": {"version": "1.0.0", "resolved": "https://r.invalid/x/-/x-1.0.0.tgz", "integrity": "` + sriB + `"}
      }
    }
  }
}`,
			want: []Entry{
				{Path: "node_modules/t", Name: "t", Integrity: sriA, Resolved: "file:t-1.0.0.tgz", Kind: KindFile, Reason: "local file dependency file:t-1.0.0.tgz", Line: 5},
				{Path: "node_modules/local", Name: "local", Resolved: "file:libs/local", Link: "libs/local", Kind: KindLink, Reason: "link to libs/local", Line: 6},
				{Path: "libs/local", Name: "local", Kind: KindFile, Reason: "local folder libs/local", Line: 6},
				{Path: "libs/local/node_modules/x", Name: "x", Version: "1.0.0", Integrity: sriB, Resolved: "https://r.invalid/x/-/x-1.0.0.tgz", Kind: KindRegistry, Line: 9},
			},
		},
		{
			name: "remote tarballs",
			src: `{
  "lockfileVersion": 3,
  "packages": {
    "node_modules/a": {"version": "1.0.0", "resolved": "https://cdn.invalid/a.tgz", "integrity": "` + sriA + `"},
    "node_modules/b": {"version": "1.0.0", "resolved": "https://r.invalid/b/-/b-1.0.1.tgz"},
    "node_modules/c": {"version": "1.0.0", "resolved": "https://r.invalid/other/-/other-1.0.0.tgz"},
    "node_modules/d": {"version": "1.0.0", "resolved": "https://r.invalid/d/-/d-1.0.0.tgz?token=1"},
    "node_modules/e": {"version": "1.0.0", "resolved": "ftp://r.invalid/e/-/e-1.0.0.tgz"}
  }
}`,
			want: []Entry{
				{Path: "node_modules/a", Name: "a", Version: "1.0.0", Integrity: sriA, Resolved: "https://cdn.invalid/a.tgz", Kind: KindRemote, Reason: "remote tarball https://cdn.invalid/a.tgz: not the registry tarball of a@1.0.0"},
				{Path: "node_modules/b", Name: "b", Version: "1.0.0", Resolved: "https://r.invalid/b/-/b-1.0.1.tgz", Kind: KindRemote, Reason: "not the registry tarball of b@1.0.0"},
				{Path: "node_modules/c", Name: "c", Version: "1.0.0", Resolved: "https://r.invalid/other/-/other-1.0.0.tgz", Kind: KindRemote, Reason: "not the registry tarball of c@1.0.0"},
				{Path: "node_modules/d", Name: "d", Version: "1.0.0", Resolved: "https://r.invalid/d/-/d-1.0.0.tgz?token=1", Kind: KindRemote, Reason: "remote tarball"},
				{Path: "node_modules/e", Name: "e", Version: "1.0.0", Resolved: "ftp://r.invalid/e/-/e-1.0.0.tgz", Kind: KindRemote, Reason: "scheme"},
			},
		},
		{
			name: "v1 URL versions: registry tarball or remote",
			src: `{
  "lockfileVersion": 1,
  "requires": true,
  "dependencies": {
    "abbrev": {"version": "https://r.invalid/abbrev/-/abbrev-1.1.1.tgz", "integrity": "` + sriA + `"},
    "remote": {"version": "https://r.invalid/abbrev/-/abbrev-1.1.1.tgz", "integrity": "` + sriA + `"}
  }
}`,
			want: []Entry{
				{Path: "node_modules/abbrev", Name: "abbrev", Version: "1.1.1", Integrity: sriA, Resolved: "https://r.invalid/abbrev/-/abbrev-1.1.1.tgz", Kind: KindRegistry, Line: 5},
				{Path: "node_modules/remote", Name: "remote", Integrity: sriA, Resolved: "https://r.invalid/abbrev/-/abbrev-1.1.1.tgz", Kind: KindRemote, Reason: "not the registry tarball of remote@", Line: 6},
			},
		},
		{
			name: "missing integrity, missing resolved: still registry, to be checked",
			src: `{
  "lockfileVersion": 3,
  "packages": {
    "node_modules/a": {"version": "1.0.0", "resolved": "https://r.invalid/a/-/a-1.0.0.tgz"},
    "node_modules/b": {"version": "1.0.0", "integrity": "` + sriA + `"},
    "node_modules/c": {"version": "1.0.0"},
    "node_modules/d": {"version": "1.0.0", "resolved": "", "integrity": ""}
  }
}`,
			want: []Entry{
				{Path: "node_modules/a", Name: "a", Version: "1.0.0", Resolved: "https://r.invalid/a/-/a-1.0.0.tgz", Kind: KindRegistry},
				{Path: "node_modules/b", Name: "b", Version: "1.0.0", Integrity: sriA, Kind: KindRegistry},
				{Path: "node_modules/c", Name: "c", Version: "1.0.0", Kind: KindRegistry},
				{Path: "node_modules/d", Name: "d", Version: "1.0.0", Kind: KindRegistry},
			},
		},
		{
			name: "missing version: read from the registry URL, or an empty install location",
			src: `{
  "lockfileVersion": 2,
  "packages": {
    "node_modules/a": {"resolved": "https://r.invalid/a/-/a-1.2.3.tgz", "integrity": "` + sriA + `"},
    "node_modules/b": {},
    "node_modules/.pnpm/r/c/1.0.0": {},
    "node_modules/g": {"resolved": "git+ssh://git@host.invalid/g.git#0123"},
    "node_modules/@s": {}
  }
}`,
			want: []Entry{
				{Path: "node_modules/a", Name: "a", Version: "1.2.3", Integrity: sriA, Resolved: "https://r.invalid/a/-/a-1.2.3.tgz", Kind: KindRegistry, Line: 4},
				{Path: "node_modules/b", Name: "b", Kind: KindFile, Reason: "npm ci installs nothing here", Line: 5},
				{Path: "node_modules/.pnpm/r/c/1.0.0", Name: "1.0.0", Kind: KindFile, Reason: "local folder node_modules/.pnpm/r/c/1.0.0 (not an install location)", Line: 6},
				{Path: "node_modules/g", Name: "g", Resolved: "git+ssh://git@host.invalid/g.git#0123", Kind: KindGit, Reason: "git dependency", Line: 7},
				{Path: "node_modules/@s", Name: "@s", Kind: KindFile, Reason: "local folder node_modules/@s (not an install location)", Line: 8},
			},
		},
		{
			name: "scoped names and percent-encoded registry URLs",
			src: `{
  "lockfileVersion": 3,
  "packages": {
    "node_modules/@s/a": {"version": "1.0.0", "resolved": "https://r.invalid/@s/a/-/a-1.0.0.tgz"},
    "node_modules/@s/b": {"version": "1.0.0", "resolved": "https://r.invalid/@s%2fb/-/b-1.0.0.tgz"},
    "node_modules/@s/c": {"version": "1.0.0+build.5", "resolved": "https://r.invalid/%40s%2Fc/-/c-1.0.0%2Bbuild.5.tgz"},
    "node_modules/@s/d": {"version": "1.0.0", "resolved": "https://r.invalid/@t/d/-/d-1.0.0.tgz"},
    "node_modules/@s/a/node_modules/@s/e": {"version": "2.0.0"}
  }
}`,
			want: []Entry{
				{Path: "node_modules/@s/a", Name: "@s/a", Version: "1.0.0", Resolved: "https://r.invalid/@s/a/-/a-1.0.0.tgz", Kind: KindRegistry},
				{Path: "node_modules/@s/b", Name: "@s/b", Version: "1.0.0", Resolved: "https://r.invalid/@s%2fb/-/b-1.0.0.tgz", Kind: KindRegistry},
				{Path: "node_modules/@s/c", Name: "@s/c", Version: "1.0.0+build.5", Resolved: "https://r.invalid/%40s%2Fc/-/c-1.0.0%2Bbuild.5.tgz", Kind: KindRegistry},
				{Path: "node_modules/@s/d", Name: "@s/d", Version: "1.0.0", Resolved: "https://r.invalid/@t/d/-/d-1.0.0.tgz", Kind: KindRemote, Reason: "not the registry tarball of @s/d@1.0.0"},
				{Path: "node_modules/@s/a/node_modules/@s/e", Name: "@s/e", Version: "2.0.0", Kind: KindRegistry},
			},
		},
		{
			name: "path-prefixed registry URLs",
			src: `{
  "lockfileVersion": 3,
  "packages": {
    "node_modules/@s/a": {"version": "1.0.0", "resolved": "https://host.invalid/artifactory/api/npm/npm-virtual/@s/a/-/a-1.0.0.tgz"},
    "node_modules/b": {"version": "3.1.4", "resolved": "http://localhost:4873/verdaccio/b/-/b-3.1.4.tgz"}
  }
}`,
			want: []Entry{
				{Path: "node_modules/@s/a", Name: "@s/a", Version: "1.0.0", Resolved: "https://host.invalid/artifactory/api/npm/npm-virtual/@s/a/-/a-1.0.0.tgz", Kind: KindRegistry},
				{Path: "node_modules/b", Name: "b", Version: "3.1.4", Resolved: "http://localhost:4873/verdaccio/b/-/b-3.1.4.tgz", Kind: KindRegistry},
			},
		},
		{
			name: "flags",
			src: `{
  "lockfileVersion": 3,
  "packages": {
    "node_modules/a": {"version": "1.0.0", "dev": true, "optional": true, "devOptional": true, "peer": true, "inBundle": true, "extraneous": true}
  }
}`,
			want: []Entry{{Path: "node_modules/a", Name: "a", Version: "1.0.0", Kind: KindRegistry,
				Dev: true, Optional: true, DevOptional: true, Peer: true, InBundle: true, Line: 4}},
		},
		{
			name: "repeated keys: the last one wins, as in JSON.parse",
			src: `{
  "lockfileVersion": 3,
  "packages": {
    "node_modules/a": {"version": "1.0.0"},
    "node_modules/a": {"version": "2.0.0", "version": "3.0.0"}
  }
}`,
			want: []Entry{{Path: "node_modules/a", Name: "a", Version: "3.0.0", Kind: KindRegistry, Line: 5}},
		},
		{
			name: "v1 repeated key drops the earlier subtree",
			src: `{
  "lockfileVersion": 1,
  "requires": true,
  "dependencies": {
    "a": {"version": "1.0.0", "dependencies": {"old": {"version": "1.0.0"}}},
    "a": {"version": "2.0.0"}
  }
}`,
			want: []Entry{{Path: "node_modules/a", Name: "a", Version: "2.0.0", Kind: KindRegistry, Line: 6}},
		},
		{
			name: "lockfileVersion 2 without packages reads the v1 tree; byte order mark accepted",
			src: "\uFEFF" + `{
  "lockfileVersion": 2,
  "requires": true,
  "dependencies": {"a": {"version": "1.0.0"}}
}`,
			want: []Entry{{Path: "node_modules/a", Name: "a", Version: "1.0.0", Kind: KindRegistry, Line: 4}},
		},
		{
			name: "minified, with escapes in keys and values",
			src:  `{"lockfileVersion":3,"packages":{"node_modules/\u0061":{"version":"1.0.0","resolved":"https:\/\/r.invalid\/a\/-\/a-1.0.0.tgz"}}}`,
			want: []Entry{{Path: "node_modules/a", Name: "a", Version: "1.0.0", Resolved: "https://r.invalid/a/-/a-1.0.0.tgz", Kind: KindRegistry, Line: 1}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkEntries(t, mustParse(t, tt.src), tt.want)
		})
	}
}

func TestParseRoot(t *testing.T) {
	tests := []struct {
		src                 string
		version             int
		name, rootVersion   string
		entries, unitsCount int
	}{
		{`{"lockfileVersion": 1}`, 1, "", "", 0, 0},
		{`{"name": "x", "version": "1.0.0", "lockfileVersion": 1, "requires": true, "dependencies": {}}`, 1, "x", "1.0.0", 0, 0},
		{`{"lockfileVersion": 2, "packages": {"": {"name": "y", "version": "2.0.0"}}}`, 2, "y", "2.0.0", 0, 0},
		{`{"lockfileVersion": 3, "packages": {}}`, 3, "", "", 0, 0},
		{`{"lockfileVersion": 3.0, "packages": null, "dependencies": null}`, 3, "", "", 0, 0},
	}
	for _, tt := range tests {
		lf := mustParse(t, tt.src)
		if lf.LockfileVersion != tt.version || lf.Name != tt.name || lf.Version != tt.rootVersion ||
			len(lf.Entries) != tt.entries || len(Units(lf)) != tt.unitsCount || lf.Path != "test/package-lock.json" {
			t.Errorf("%s: got %+v", tt.src, lf)
		}
	}
}

func TestParseErrors(t *testing.T) {
	const file = "dir/package-lock.json"
	tests := []struct {
		name string
		src  string
		is   []error  // sentinels the error must wrap
		not  []error  // sentinels it must not wrap
		msg  []string // substrings of the message (the file name is checked always)
	}{
		{"not JSON", "this isn't\njson", []error{ErrSyntax}, []error{ErrMalformed}, []string{file + ":1:2: invalid character 'h'"}},
		{"syntax error on a later line", "{\n  \"lockfileVersion\": 3,\n  \"packages\": {,}\n}", []error{ErrSyntax}, nil, []string{file + ":3:16: invalid character ','"}},
		{"column counts characters", "{\"name\": \"é\" x}", []error{ErrSyntax}, nil, []string{":1:14: invalid character 'x' after object key:value pair"}},
		{"merge conflict", "{\n<<<<<<< HEAD\n}", []error{ErrSyntax}, nil, []string{":2:1:", "merge conflict"}},
		{"truncated", "{\n  \"lockfileVersion\": 3,\n  \"packages\": {\n    \"node_modules/a\": {\"vers", []error{ErrSyntax, ErrMalformed}, nil, []string{":4:29: unexpected end of input (the file is truncated)"}},
		{"empty file", "", []error{ErrSyntax, ErrMalformed}, nil, []string{":1:1: the file is empty"}},
		{"blank file", " \n\t\n", []error{ErrSyntax, ErrMalformed}, nil, []string{"the file is empty"}},
		{"trailing garbage", `{"lockfileVersion": 3} x`, []error{ErrSyntax}, nil, []string{"after top-level value"}},
		{"syntax error after a malformed entry wins", "{\"lockfileVersion\": 3, \"packages\": {\"node_modules/a\": {\"version\": 1}}, x}", []error{ErrSyntax}, []error{ErrMalformed}, []string{"looking for beginning of object key"}},
		{"null", "null", []error{ErrMalformed}, []error{ErrSyntax}, []string{":1: the file holds null, not a lockfile object"}},
		{"array", "[1, 2]", []error{ErrMalformed}, nil, []string{"the file holds an array"}},
		{"string", `"package-lock"`, []error{ErrMalformed}, nil, []string{"the file holds a string"}},
		{"no lockfileVersion", `{"name": "x", "dependencies": {}}`, []error{ErrMalformed}, []error{ErrUnsupportedVersion}, []string{"no lockfileVersion", "npm install --package-lock-only"}},
		{"lockfileVersion 4", "{\n\"lockfileVersion\": 4, \"packages\": {}}", []error{ErrUnsupportedVersion}, []error{ErrMalformed}, []string{file + ":2: lockfileVersion 4 (provaudit reads lockfileVersion 1, 2 and 3)"}},
		{"lockfileVersion 0", `{"lockfileVersion": 0}`, []error{ErrUnsupportedVersion}, nil, []string{"lockfileVersion 0"}},
		{"lockfileVersion 2.5", `{"lockfileVersion": 2.5}`, []error{ErrUnsupportedVersion}, nil, []string{"lockfileVersion 2.5"}},
		{"lockfileVersion as a string", `{"lockfileVersion": "3"}`, []error{ErrMalformed}, nil, []string{":1: lockfileVersion is a string, want a number"}},
		{"ancient lockfile", "{\n  \"lockfileVersion\": 1,\n  \"dependencies\": {\"a\": {\"version\": \"https://r.invalid/a/-/a-1.0.0.tgz\"}}\n}", []error{ErrMalformed}, nil, []string{file + ":2: ancient lockfile", "npm install --package-lock-only"}},
		{"packages is an array", `{"lockfileVersion": 3, "packages": []}`, []error{ErrMalformed}, nil, []string{"packages is an array, want an object"}},
		{"workspaces are numbers", `{"lockfileVersion": 3, "packages": {"": {"workspaces": [1]}}}`, []error{ErrMalformed}, nil, []string{"the root entry's workspaces lists a number, want strings"}},
		{"root name is a number", `{"lockfileVersion": 3, "packages": {"": {"name": 1}}}`, []error{ErrMalformed}, nil, []string{"the root entry's name is a number, want a string"}},
		{"top-level name is an object", `{"name": {}, "lockfileVersion": 3, "packages": {}}`, []error{ErrMalformed}, nil, []string{":1: name is an object, want a string"}},
		{"v1 dependencies is an array", `{"lockfileVersion": 1, "requires": true, "dependencies": []}`, []error{ErrMalformed}, nil, []string{"dependencies is not an object"}},
		{"too deep", strings.Repeat("[", 10001) + strings.Repeat("]", 10001), []error{ErrSyntax}, nil, []string{"exceeded max depth"}},
		{"v1 tree too deep", `{"lockfileVersion": 1, "requires": true, "dependencies": ` + strings.Repeat(`{"a": {"version": "1.0.0", "dependencies": `, 4000) + "{}" + strings.Repeat("}}", 4000) + "}", []error{ErrMalformed}, nil, []string{"dependencies are nested too deep"}},
		{"workspaces too many", `{"lockfileVersion": 3, "packages": {"": {"workspaces": [` + manyPatterns(1001) + `]}, "x": {}}}`, []error{ErrMalformed}, nil, []string{"workspaces are too many or too complex"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lf, err := Parse(file, []byte(tt.src))
			if err == nil {
				t.Fatalf("Parse succeeded with %d entries, want an error", len(lf.Entries))
			}
			if lf != nil {
				t.Errorf("Parse returned a lockfile with its error")
			}
			for _, s := range tt.is {
				if !errors.Is(err, s) {
					t.Errorf("error %q does not wrap %q", err, s)
				}
			}
			for _, s := range tt.not {
				if errors.Is(err, s) {
					t.Errorf("error %q wraps %q", err, s)
				}
			}
			if !strings.Contains(err.Error(), file) {
				t.Errorf("error %q does not name the file", err)
			}
			for _, m := range tt.msg {
				if !strings.Contains(err.Error(), m) {
					t.Errorf("error %q does not contain %q", err, m)
				}
			}
		})
	}
}

// TestParseErrorsCollected checks that the problems of a file are reported
// together, in line order, and capped.
func TestParseErrorsCollected(t *testing.T) {
	var b strings.Builder
	b.WriteString("{\"lockfileVersion\": 3, \"packages\": {\"\": {\"workspaces\": [\n")
	for i := range 15 {
		if i > 0 {
			b.WriteString(",\n")
		}
		fmt.Fprintf(&b, "%d", i)
	}
	b.WriteString("]}}}")
	_, err := Parse("f.json", []byte(b.String()))
	if !errors.Is(err, ErrMalformed) {
		t.Fatalf("got %v, want ErrMalformed", err)
	}
	lines := strings.Split(err.Error(), "\n")
	if len(lines) != maxErrors+1 {
		t.Fatalf("got %d lines, want %d:\n%s", len(lines), maxErrors+1, err)
	}
	for i := range maxErrors {
		if want := fmt.Sprintf("f.json:%d: the root entry's workspaces lists a number", i+2); !strings.Contains(lines[i], want) {
			t.Errorf("line %d is %q, want %q", i, lines[i], want)
		}
	}
	if !strings.Contains(lines[maxErrors], "5 more problems not shown") {
		t.Errorf("last line %q does not count the rest", lines[maxErrors])
	}
}

// TestParseInvalidEntries checks that a problem of one entry makes that
// entry KindInvalid, with its line and a reason saying what is wrong, and
// leaves every other entry as it would be without it.
func TestParseInvalidEntries(t *testing.T) {
	const good = `"node_modules/good": {"version": "1.0.0", "resolved": "https://r.invalid/good/-/good-1.0.0.tgz", "integrity": "` + sriA + `"}`
	const goodV1 = `"good": {"version": "1.0.0", "resolved": "https://r.invalid/good/-/good-1.0.0.tgz", "integrity": "` + sriA + `"}`
	upper := "SHA512" + strings.TrimPrefix(sriA, "sha512")
	tests := []struct {
		name string
		v1   bool
		// entry is the bad member, written on line 3 after the good one.
		entry, path, entryName, reason string
	}{
		{name: "entry is null", entry: `"node_modules/a": null`, path: "node_modules/a", entryName: "a",
			reason: "the entry is null, want an object"},
		{name: "entry is a string", entry: `"node_modules/a": "1.0.0"`, path: "node_modules/a", entryName: "a",
			reason: "the entry is a string, want an object"},
		{name: "version is a number", entry: `"node_modules/a": {"version": 1}`, path: "node_modules/a", entryName: "a",
			reason: "version is a number, want a string"},
		{name: "dev is a string", entry: `"node_modules/a": {"version": "1.0.0", "dev": "true"}`, path: "node_modules/a", entryName: "a",
			reason: "dev is a string, want true or false"},
		{name: "several problems, capped", entry: `"node_modules/a": {"name": 1, "version": 1, "resolved": 1, "integrity": 1, "dev": 1}`, path: "node_modules/a", entryName: "a",
			reason: "name is a number, want a string; version is a number, want a string; resolved is a number, want a string; and more"},
		{name: "integrity without version or resolved", entry: `"node_modules/a": {"integrity": "` + sriA + `"}`, path: "node_modules/a", entryName: "a",
			reason: "an integrity but no version and no resolved URL"},
		{name: "version is a range", entry: `"node_modules/a": {"version": "^1.0.0"}`, path: "node_modules/a", entryName: "a",
			reason: `"^1.0.0" is not a semantic version`},
		{name: "version beyond npm's range", entry: `"node_modules/a": {"version": "9007199254740992.0.0"}`, path: "node_modules/a", entryName: "a",
			reason: "larger than 2^53-1"},
		{name: "malformed integrity", entry: `"node_modules/a": {"version": "1.0.0", "integrity": "sha512-not base64!"}`, path: "node_modules/a", entryName: "a",
			reason: "malformed integrity: token \"sha512-not\""},
		{name: "short sha512", entry: `"node_modules/a": {"version": "1.0.0", "integrity": "sha512-AAAA"}`, path: "node_modules/a", entryName: "a",
			reason: "the sha512 digest has 3 bytes, want 64"},
		{name: "upper-case algorithm", entry: `"node_modules/a": {"version": "1.0.0", "integrity": "` + upper + `"}`, path: "node_modules/a", entryName: "a",
			reason: `algorithm "SHA512" is not lower case: npm ignores such a hash, so it pins nothing`},
		{name: "invalid registry name", entry: `"node_modules/a": {"name": "A B", "version": "1.0.0"}`, path: "node_modules/a", entryName: "A B",
			reason: `invalid package name: "A B": " " is not a URL-safe character`},
		{name: "name field climbing out", entry: `"node_modules/a": {"name": "../../etc", "version": "1.0.0"}`, path: "node_modules/a", entryName: "../../etc",
			reason: `invalid package name: "../../etc"`},
		{name: "absolute path", entry: `"/etc/x": {"version": "1.0.0"}`, path: "/etc/x", entryName: "/etc/x",
			reason: "the path is an absolute path"},
		{name: "dot-dot inside a path", entry: `"node_modules/../../x": {"version": "1.0.0"}`, path: "node_modules/../../x", entryName: "../../x",
			reason: `the path has a ".." path segment after the first folder`},
		{name: "NUL in a path", entry: `"node_modules/a\u0000b": {"version": "1.0.0"}`, path: "node_modules/a\x00b", entryName: "a\x00b",
			reason: "the path has a control character at byte 14"},
		{name: "terminal escape in a name", entry: `"node_modules/a": {"name": "a\u001b[2J", "version": "1.0.0"}`, path: "node_modules/a", entryName: "a\x1b[2J",
			reason: "name has a control character at byte 1"},
		{name: "control character in a git dependency's resolved", entry: `"node_modules/a": {"resolved": "git+ssh://h.invalid/a.git#\u0007"}`, path: "node_modules/a", entryName: "a",
			reason: "resolved has a control character"},
		{name: "link without target", entry: `"node_modules/a": {"link": true}`, path: "node_modules/a", entryName: "a",
			reason: "a link without a resolved target"},
		{name: "folder name too long", entry: `"node_modules/` + strings.Repeat("a", 256) + `": {"version": "1.0.0"}`, path: "node_modules/" + strings.Repeat("a", 256),
			entryName: strings.Repeat("a", 256), reason: "has a folder name longer than 255 bytes"},
		{name: "v1 bundled is a string", v1: true, entry: `"a": {"version": "1.0.0", "bundled": "true"}`, path: "node_modules/a", entryName: "a",
			reason: "bundled is a string, want true or false"},
		{name: "v1 version is a tag", v1: true, entry: `"a": {"version": "latest"}`, path: "node_modules/a", entryName: "a",
			reason: `version "latest" is not a version`},
		{name: "v1 bad alias", v1: true, entry: `"a": {"version": "npm:b@^1"}`, path: "node_modules/a", entryName: "a",
			reason: `version "npm:b@^1" is not an npm:name@version alias`},
		{name: "v1 link to the project itself", v1: true, entry: `"a": {"version": "file:."}`, path: "node_modules/a", entryName: "a",
			reason: `version "file:." links to the project itself`},
		{name: "v1 key that is not a folder name", v1: true, entry: `"../a": {"version": "1.0.0"}`, path: "node_modules/../a", entryName: "../a",
			reason: `dependency key "../a" is not a package folder name`},
		{name: "v1 dependencies of an entry is a string", v1: true, entry: `"a": {"version": "1.0.0", "dependencies": "b"}`, path: "node_modules/a", entryName: "a",
			reason: "dependencies is a string, want an object"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := "{\"lockfileVersion\": 3, \"packages\": {\n" + good + ",\n" + tt.entry + "\n}}"
			if tt.v1 {
				src = "{\"lockfileVersion\": 1, \"requires\": true, \"dependencies\": {\n" + goodV1 + ",\n" + tt.entry + "\n}}"
			}
			lf := mustParse(t, src)
			if g := find(t, lf, "node_modules/good"); g.Kind != KindRegistry || g.Line != 2 {
				t.Errorf("the good entry beside it: %+v", *g)
			}
			e := find(t, lf, tt.path)
			if e.Kind != KindInvalid || e.Line != 3 || e.Name != tt.entryName || !strings.HasPrefix(e.Reason, "invalid entry: ") ||
				!strings.Contains(e.Reason, tt.reason) {
				t.Errorf("got %+v\nwant kind invalid, line 3, name %q, a reason saying %q", *e, tt.entryName, tt.reason)
			}
			units := Units(lf)
			if len(units) != len(lf.Entries) {
				t.Errorf("%d units for %d entries", len(units), len(lf.Entries))
			}
		})
	}
}

// TestParseInvalidV1Subtree checks that the dependencies of an invalid v1
// entry are still read: each is judged on its own.
func TestParseInvalidV1Subtree(t *testing.T) {
	lf := mustParse(t, `{"lockfileVersion": 1, "requires": true, "dependencies": {
  "a": {"version": "1.0.0", "integrity": "sha512-AAAA", "dependencies": {
    "b": {"version": "2.0.0", "integrity": "`+sriB+`"}
  }},
  "c\u0000": {"version": "1.0.0", "dependencies": {"d": {"version": "1.0.0"}}}
}}`)
	checkEntries(t, lf, []Entry{
		{Path: "node_modules/a", Name: "a", Version: "1.0.0", Integrity: "sha512-AAAA", Kind: KindInvalid, Reason: "the sha512 digest has 3 bytes", Line: 2},
		{Path: "node_modules/a/node_modules/b", Name: "b", Version: "2.0.0", Integrity: sriB, Kind: KindRegistry, Line: 3},
		{Path: "node_modules/c\x00", Name: "c\x00", Version: "1.0.0", Kind: KindInvalid, Reason: "the path has a control character", Line: 5},
		{Path: "node_modules/c\x00/node_modules/d", Name: "d", Version: "1.0.0", Kind: KindInvalid, Reason: "the path has a control character", Line: 5},
	})
}

// TestParseV1SamePathOtherContents checks that two file: links listing
// other contents at one path make that entry invalid, not the file.
func TestParseV1SamePathOtherContents(t *testing.T) {
	lf := mustParse(t, `{"lockfileVersion": 1, "requires": true, "dependencies": {
  "a": {"version": "file:lib", "dependencies": {"x": {"version": "1.0.0"}}},
  "b": {"version": "file:lib", "dependencies": {"x": {"version": "2.0.0"}}}
}}`)
	e := find(t, lf, "lib/node_modules/x")
	if e.Kind != KindInvalid || e.Line != 2 || !strings.Contains(e.Reason, "the entry on line 3 is installed at the same path with other contents") {
		t.Errorf("got %+v", *e)
	}
	if a := find(t, lf, "node_modules/a"); a.Kind != KindLink {
		t.Errorf("the link itself: %+v", *a)
	}
}

// manyPatterns returns n distinct workspace globs, JSON-quoted.
func manyPatterns(n int) string {
	q := make([]string, n)
	for i := range q {
		q[i] = fmt.Sprintf(`"packages/p%d-*"`, i)
	}
	return strings.Join(q, ", ")
}
