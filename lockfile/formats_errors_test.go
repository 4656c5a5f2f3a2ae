package lockfile

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
)

const (
	sri1 = "sha512-v2kDEe57lecTulaDIuNTPy3Ry4gLGJ6Z1O3vE1krgXZNrsQ+LFTGHVxVjcXPs17LhbZVGedAJv8XZ1tvj5FvSg=="
	sri2 = "sha512-6FlzubTLZG3J2a/NVCAleEhjzq5oxgHyaCU9yYXvcLsvoVaHJq/s5xXI6/XXP6tz7R9xAOtHnSO/tXtF3WRTlA=="
)

// TestFormatFileErrors: what makes a whole file unusable is an error that
// wraps its sentinel and names the file and the line.
func TestFormatFileErrors(t *testing.T) {
	bomb := "lockfileVersion: '9.0'\na: &a [x, x, x, x, x, x, x, x, x]\n"
	for i := 'b'; i <= 'j'; i++ {
		bomb += fmt.Sprintf("%c: &%c [*%c, *%c, *%c, *%c, *%c, *%c, *%c, *%c, *%c]\n", i, i, i-1, i-1, i-1, i-1, i-1, i-1, i-1, i-1, i-1)
	}
	bomb += "packages: *j\n"
	tests := []struct {
		name, file, src string
		err             error
		want            string
	}{
		{"pnpm 5.4", "pnpm-lock.yaml", "lockfileVersion: 5.4\n", ErrUnsupportedVersion, "pnpm-lock.yaml:1: pnpm lockfileVersion \"5.4\""},
		{"pnpm without version", "pnpm-lock.yaml", "importers: {}\n", ErrMalformed, "no lockfileVersion"},
		{"pnpm empty", "pnpm-lock.yaml", "", ErrMalformed, "empty"},
		{"pnpm not a mapping", "pnpm-lock.yaml", "- a\n", ErrMalformed, "pnpm-lock.yaml:1: the file holds a sequence"},
		{"pnpm syntax", "pnpm-lock.yaml", "lockfileVersion: '9.0'\npackages:\n  a@1.0.0: [\n", ErrSyntax, "pnpm-lock.yaml:"},
		{"pnpm packages a sequence", "pnpm-lock.yaml", "lockfileVersion: '9.0'\npackages: [a]\n", ErrMalformed, "pnpm-lock.yaml:2: packages is a sequence"},
		{"pnpm duplicate key", "pnpm-lock.yaml", "lockfileVersion: '9.0'\npackages:\n  a@1.0.0: {resolution: {integrity: " + sri1 + "}}\n  a@1.0.0: {resolution: {integrity: " + sri2 + "}}\n",
			ErrMalformed, `has the key "a@1.0.0" twice (lines 3 and 4)`},
		{"pnpm alias", "pnpm-lock.yaml", "lockfileVersion: '9.0'\nx: &r {resolution: {integrity: " + sri1 + "}}\npackages:\n  a@1.0.0: *r\n", ErrMalformed, "anchor or alias"},
		{"pnpm merge key", "pnpm-lock.yaml", "lockfileVersion: '9.0'\npackages:\n  <<: {a@1.0.0: {}}\n", ErrMalformed, "merge key"},
		{"pnpm billion laughs", "pnpm-lock.yaml", bomb, ErrMalformed, "anchor or alias"},
		{"pnpm deep", "pnpm-lock.yaml", "lockfileVersion: '9.0'\npackages: " + strings.Repeat("[", 20000) + "\n", ErrSyntax, "pnpm-lock.yaml:"},
		{"pnpm two documents", "pnpm-lock.yaml", "lockfileVersion: '9.0'\n---\nlockfileVersion: '9.0'\n", ErrMalformed, "pnpm-lock.yaml:2: a second YAML document"},
		{"pnpm v6 keys clash", "pnpm-lock.yaml", "lockfileVersion: '6.0'\npackages:\n  /a@1.0.0: {resolution: {integrity: " + sri1 + "}}\n  a@1.0.0: {resolution: {integrity: " + sri1 + "}}\n",
			ErrMalformed, "name the same package"},
		{"pnpm importer not a mapping", "pnpm-lock.yaml", "lockfileVersion: '9.0'\nimporters:\n  .: [a]\n", ErrMalformed, "pnpm-lock.yaml:3: importer \".\" is a sequence"},

		{"yarn odd indent", "yarn.lock", "# yarn lockfile v1\na@^1:\n   version \"1.0.0\"\n", ErrSyntax, "yarn.lock:3:4: an odd number of spaces"},
		{"yarn tab", "yarn.lock", "# yarn lockfile v1\na@^1:\n\tversion \"1.0.0\"\n", ErrSyntax, "yarn.lock:3:1: a tab"},
		{"yarn unterminated", "yarn.lock", "# yarn lockfile v1\n\"a@^1:\n", ErrSyntax, "yarn.lock:2:1: an unterminated string"},
		{"yarn too deep", "yarn.lock", "# yarn lockfile v1\na@^1:\n    version \"1.0.0\"\n", ErrSyntax, "yarn.lock:3:5: indented deeper"},
		{"yarn bad escape", "yarn.lock", "# yarn lockfile v1\n\"a\\x@^1\":\n", ErrSyntax, "not valid JSON"},
		{"yarn junk after value", "yarn.lock", "# yarn lockfile v1\na@^1:\n  version \"1.0.0\" x\n", ErrSyntax, "yarn.lock:3:19: unexpected"},
		{"yarn key without value", "yarn.lock", "# yarn lockfile v1\na@^1\n", ErrSyntax, "yarn.lock:2:5: a key without a value"},
		{"yarn entry is a value", "yarn.lock", "# yarn lockfile v1\na@^1 \"x\"\n", ErrMalformed, "yarn.lock:2: the entry \"a@^1\" is a value"},
		{"yarn no header", "yarn.lock", "a@^1:\n  version \"1.0.0\"\n", ErrMalformed, "yarn.lock:1: no \"# yarn lockfile v1\" header"},
		{"yarn nesting", "yarn.lock", "# yarn lockfile v1\n" + nestedYarn(20), ErrSyntax, "nested more than 16 levels"},

		{"berry version 3", "yarn.lock", "__metadata:\n  version: 3\n", ErrUnsupportedVersion, "yarn.lock:2: yarn lockfile __metadata.version 3"},
		{"berry version 11", "yarn.lock", "__metadata:\n  version: 11\n", ErrUnsupportedVersion, "__metadata.version 11"},
		{"berry no version", "yarn.lock", "__metadata:\n  cacheKey: 8\n", ErrMalformed, "__metadata has no version"},
		{"berry entry a scalar", "yarn.lock", "__metadata:\n  version: 8\n\"a@npm:^1\": x\n", ErrMalformed, "yarn.lock:3: the entry \"a@npm:^1\" is a scalar"},
		{"berry duplicate", "yarn.lock", "__metadata:\n  version: 8\n\"a@npm:^1\":\n  resolution: \"a@npm:1.0.0\"\n\"a@npm:^1\":\n  resolution: \"a@npm:1.0.1\"\n",
			ErrMalformed, "twice (lines 3 and 5)"},

		{"bun version 3", "bun.lock", `{"lockfileVersion": 3, "packages": {}}`, ErrUnsupportedVersion, "bun.lock:1: bun lockfileVersion 3"},
		{"bun no version", "bun.lock", `{"packages": {}}`, ErrMalformed, "no lockfileVersion"},
		{"bun not an object", "bun.lock", `[1]`, ErrMalformed, "bun.lock:1: the file holds an array"},
		{"bun syntax", "bun.lock", "{\n  \"lockfileVersion\": 1,\n  \"packages\": {\"a\": [\"a@1.0.0\" \"\"]},\n}", ErrSyntax, "bun.lock:3:32: invalid character"},
		{"bun packages an array", "bun.lock", "{\"lockfileVersion\": 1,\n\"packages\": []}", ErrMalformed, "bun.lock:2: packages is an array"},
		{"bun workspace not an object", "bun.lock", "{\"lockfileVersion\": 1,\n\"workspaces\": {\"\": 1}}", ErrMalformed, "bun.lock:2: workspace \"\" is a number"},
		{"bun truncated", "bun.lock", "{\"lockfileVersion\": 1, \"packages\": {", ErrSyntax, "truncated"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			file := "dir/" + tt.file
			start := time.Now()
			lf, err := Parse(file, []byte(tt.src))
			if !errors.Is(err, tt.err) || lf != nil {
				t.Fatalf("got %v, want %v", err, tt.err)
			}
			if !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), file) {
				t.Errorf("error %q does not contain %q", err, tt.want)
			}
			// Generous: hostile input must not cost seconds.
			if d := time.Since(start); d > 2*time.Second {
				t.Errorf("took %v", d)
			}
		})
	}
}

func nestedYarn(depth int) string {
	var b strings.Builder
	for i := range depth {
		fmt.Fprintf(&b, "%sk%d:\n", strings.Repeat("  ", i), i)
	}
	return b.String()
}

// TestYAMLBounds: a file too large, or with too many possible nodes, is
// refused before the YAML library builds anything.
func TestYAMLBounds(t *testing.T) {
	if err := checkYAMLBounds("f", []byte("a: b\n"), "x", 4, 100); !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), "5 bytes, more than the 4") {
		t.Errorf("size: %v", err)
	}
	flow := []byte("a: [" + strings.Repeat("x,", 60) + "]\n")
	if err := checkYAMLBounds("f", flow, "x", 1<<20, 50); !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), "YAML values") {
		t.Errorf("nodes: %v", err)
	}
	if err := checkYAMLBounds("f", flow, "x", 1<<20, 100); err != nil {
		t.Errorf("within bounds: %v", err)
	}
	// The real bound, through Parse: 8 Mi commas.
	big := append([]byte("lockfileVersion: '9.0'\nx: ["), bytes.Repeat([]byte(","), maxYAMLNodes)...)
	if _, err := Parse("pnpm-lock.yaml", big); !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), "YAML values") {
		t.Errorf("%d possible nodes: %v", maxYAMLNodes, err)
	}
	// The bound is an upper bound: every node of real files is counted.
	for _, f := range []string{"slsa-verifier-actions-installer/pnpm-v9/pnpm-lock.yaml", "slsa-verifier-actions-installer/yarn-berry/yarn.lock"} {
		data := readFile(t, pmRoot+"/"+f)
		root, err := decodeYAML(f, data, "x")
		if err != nil {
			t.Fatal(err)
		}
		if n, bound := countNodes(root)+1, yamlNodeBound(data); n > bound {
			t.Errorf("%s: %d nodes, bound %d", f, n, bound)
		}
	}
}

// TestFormatEntryProblems: a problem of one entry makes that entry
// invalid, with its line and what is wrong, and leaves the others alone.
func TestFormatEntryProblems(t *testing.T) {
	tests := []struct {
		name, file, src string
		want            map[string]string // path -> reason substring; "" for a registry entry
	}{
		{"pnpm", "pnpm-lock.yaml", `lockfileVersion: '9.0'
importers:
  .:
    dependencies:
      a: {specifier: ^1, version: 1.0.0}
packages:
  a@1.0.0:
    resolution: {integrity: ` + sri1 + `}
  b@1.0.0:
    resolution: {integrity: sha512-AAAA}
  c@1.0.0:
    engines: {node: '>=8'}
  d@1.0.0:
    resolution: {type: svn, url: x}
  Bad Name@1.0.0:
    resolution: {integrity: ` + sri2 + `}
  e@not-a-version:
    resolution: {integrity: ` + sri2 + `}
snapshots:
  a@1.0.0: {}
  b@1.0.0: {}
  c@1.0.0: {}
  d@1.0.0: {}
  Bad Name@1.0.0: {}
  e@not-a-version: {}
  f@1.0.0: {}
`, map[string]string{
			"a@1.0.0":         "",
			"b@1.0.0":         "invalid entry: malformed integrity",
			"c@1.0.0":         "invalid entry: no resolution",
			"d@1.0.0":         `resolution type "svn"`,
			"Bad Name@1.0.0":  "invalid package name",
			"e@not-a-version": "invalid entry: an integrity but no version",
			"f@1.0.0":         "no packages entry records its resolution",
		}},
		{"yarn 1", "yarn.lock", `# yarn lockfile v1

a@^1:
  version "1.0.0"
  resolved "https://registry.invalid/a/-/a-1.0.0.tgz#0123456789abcdef0123456789abcdef01234567"

b@^1, c@^1:
  version "1.0.0"
  integrity sha512-AAAA

d@^1:
  version "1.0.0"
  integrity ` + sri1 + `
  resolved "https://elsewhere.invalid/d.tgz"

e@^1:
  version:
    x "1"
`, map[string]string{
			"a@^1":       "",
			"b@^1, c@^1": "the keys name different packages",
			"d@^1":       "remote tarball https://elsewhere.invalid/d.tgz",
			"e@^1":       "version is not a string",
		}},
		{"yarn berry", "yarn.lock", `__metadata:
  version: 8

"a@npm:^1":
  version: 1.0.0
  resolution: "a@npm:1.0.0"

"b@npm:^1":
  version: 1.0.1
  resolution: "b@npm:1.0.0"

"c@npm:^1":
  version: 1.0.0

"d@npm:^1":
  version: 1.0.0
  resolution: "d@npm:1.0.0::__archiveUrl=https%3A%2F%2Felsewhere.invalid%2Fd.tgz"

"e@npm:^1":
  version: 1.0.0
  resolution: "e@npm:1.0.0::__archiveUrl=https%3A%2F%2Fregistry.invalid%2Fe%2F-%2Fe-1.0.0.tgz"
`, map[string]string{
			"a@npm:^1": berryReason,
			"b@npm:^1": `the resolution names version "1.0.0" but version is "1.0.1"`,
			"c@npm:^1": "is not name@reference",
			"d@npm:^1": "remote tarball https://elsewhere.invalid/d.tgz",
			"e@npm:^1": berryReason,
		}},
		{"bun", "bun.lock", `{
  "lockfileVersion": 1,
  "packages": {
    "a": ["a@1.0.0", "", {}, "` + sri1 + `"],
    "b": "b@1.0.0",
    "c": ["c@1.0.0", "", [], "` + sri1 + `"],
    "d": ["d@1.0.0", "", {}, "sha512-AAAA"],
    "../e": ["e@1.0.0", "", {}, "` + sri1 + `"],
    "f": ["f@1.0.0", "https://registry.invalid/f/-/f-1.0.0.tgz", {}, "` + sri1 + `"],
    "g": ["g@1.0.0", "https://elsewhere.invalid/npm/", {}, "` + sri1 + `"],
  },
}`, map[string]string{
			"node_modules/a":                 "",
			"node_modules/b":                 "not an array",
			"node_modules/c":                 "element 3 is an array, want an object",
			"node_modules/d":                 "malformed integrity",
			"node_modules/../node_modules/e": `the key has a ".." path segment`,
			"node_modules/f":                 "",
			"node_modules/g":                 "",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lf, err := Parse("dir/"+tt.file, []byte(tt.src))
			if err != nil {
				t.Fatal(err)
			}
			if len(lf.Entries) != len(tt.want) {
				t.Errorf("%d entries, want %d", len(lf.Entries), len(tt.want))
			}
			for path, want := range tt.want {
				e := find(t, lf, path)
				switch {
				case want == "" && e.Kind != KindRegistry:
					t.Errorf("%s: %s %q, want a registry entry", path, e.Kind, e.Reason)
				case !strings.Contains(e.Reason, want):
					t.Errorf("%s: %s %q, want %q", path, e.Kind, e.Reason, want)
				case strings.HasPrefix(e.Reason, "invalid entry") != (e.Kind == KindInvalid) || e.Line < 1:
					t.Errorf("%s: %+v", path, *e)
				}
			}
		})
	}
}

// TestYarnV1Syntax: what yarn 1's own parser accepts is read the same:
// comments, CRLF, a byte order mark, escapes, "key: value", unquoted
// values, and a descriptor named again taken over by the later entry.
func TestYarnV1Syntax(t *testing.T) {
	src := "\uFEFF# yarn lockfile v1\r\n\r\n# a comment\r\n" +
		"\"@s/a@^1.0.0\", \"@s/a@^1.1.0\": # trailing comment\r\n" +
		"  version \"1.1.0\"\r\n" +
		"  resolved \"https://registry.invalid/@s/a/-/a-1.1.0.tgz#0123456789abcdef0123456789abcdef01234567\"\r\n" +
		"  dependencies:\r\n    \"b\\u0062\" \"^2\"\r\n" +
		"b@^1:\n  version: 1.0.0\n  integrity " + sri1 + "\n" +
		"c@^1, c@^2:\n  version \"1.0.0\"\n  integrity " + sri1 + "\n" +
		"c@^2:\n  version \"2.0.0\"\n  integrity " + sri2 + "\n" +
		"d@^1:\n  version \"1.0.0\"\n  integrity " + sri1 + "\nd@^1:\n  version \"1.0.1\"\n  integrity " + sri2 + "\n" +
		"\"e@link:../e\":\n  version \"0.0.0\"\n"
	lf, err := Parse("yarn.lock", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	a := find(t, lf, "@s/a@^1.0.0, @s/a@^1.1.0")
	if a.Name != "@s/a" || a.Version != "1.1.0" || a.Kind != KindRegistry || a.Integrity != "sha1-ASNFZ4mrze8BI0VniavN7wEjRWc=" || a.Line != 4 {
		t.Errorf("a: %+v (the #sha1 of its URL is its integrity)", *a)
	}
	if b := find(t, lf, "b@^1"); b.Version != "1.0.0" || b.Integrity != sri1 {
		t.Errorf("b: %+v", *b)
	}
	// c@^1 still resolves through the first entry, c@^2 through the second.
	if c := find(t, lf, "c@^1, c@^2"); c.Version != "1.0.0" {
		t.Errorf("c: %+v", *c)
	}
	if c := find(t, lf, "c@^2"); c.Version != "2.0.0" {
		t.Errorf("c@^2: %+v", *c)
	}
	// The last of two entries with the same keys wins.
	if d := find(t, lf, "d@^1"); d.Version != "1.0.1" || d.Integrity != sri2 {
		t.Errorf("d: %+v", *d)
	}
	if e := find(t, lf, "e@link:../e"); e.Kind != KindLink || e.Link != "../e" {
		t.Errorf("e: %+v", *e)
	}
	if len(lf.Entries) != 6 {
		t.Errorf("%d entries", len(lf.Entries))
	}
}

// TestBunSyntax: comments and trailing commas are read as bun reads them,
// lines are those of the file, and each kind of entry is told apart.
func TestBunSyntax(t *testing.T) {
	src := `// bun.lock
{
  /* version */ "lockfileVersion": 0,
  "workspaces": {"": {"name": "app", "version": "1.2.3", "dependencies": {"a": "^1", "g": "github:u/g"},},},
  "packages": {
    "a": ["a@1.0.0", "", {"optionalDependencies": {"b": "^1"}}, "` + sri1 + `",],
    "b": ["b@1.0.0", "https://npm.invalid/", {}, "` + sri2 + `"],
    "g": ["g@github:u/g#abc", {}, "u-g-abc"],
    "t": ["t@https://host.invalid/t.tgz", {}],
    "r": ["app@root:", {}],
    "s": ["s@1.0.0", "", {}], // a string ", in a comment
  },
}
`
	lf, err := Parse("bun.lock", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	if lf.Name != "app" || lf.Version != "1.2.3" || lf.LockfileVersion != 0 || len(lf.Entries) != 5 {
		t.Errorf("%+v", *lf)
	}
	want := []Entry{
		{Path: "node_modules/a", Name: "a", Version: "1.0.0", Integrity: sri1, Kind: KindRegistry, Line: 6},
		{Path: "node_modules/b", Name: "b", Version: "1.0.0", Integrity: sri2, Resolved: "https://npm.invalid/b/-/b-1.0.0.tgz", Kind: KindRegistry, Optional: true, Line: 7},
		{Path: "node_modules/g", Name: "g", Resolved: "github:u/g#abc", Kind: KindGit, Reason: "git dependency github:u/g#abc", Line: 8},
		{Path: "node_modules/t", Name: "t", Resolved: "https://host.invalid/t.tgz", Kind: KindRemote, Reason: "remote tarball", Line: 9},
		{Path: "node_modules/s", Name: "s", Version: "1.0.0", Kind: KindRegistry, Line: 11},
	}
	checkEntries(t, lf, want)
}

// TestBerryKinds: each kind of yarn berry resolution.
func TestBerryKinds(t *testing.T) {
	src := `__metadata:
  version: 8

"app@workspace:.":
  version: 0.0.0-use.local
  resolution: "app@workspace:."
  dependencies:
    fsevents: "npm:^2"
    ts: "patch:ts@npm%3A^5#optional!builtin<compat/typescript>"
  dependenciesMeta:
    fsevents:
      optional: true

"fsevents@npm:^2":
  version: 2.3.3
  resolution: "fsevents@npm:2.3.3"

"ts@patch:ts@npm%3A^5#optional!builtin<compat/typescript>":
  version: 5.4.3
  resolution: "ts@patch:ts@npm%3A5.4.3#optional!builtin<compat/typescript>::version=5.4.3&hash=5adc0c"

"g@https://github.com/u/g.git#commit=abc":
  version: 1.0.0
  resolution: "g@https://github.com/u/g.git#commit=abc"

"t@https://host.invalid/t.tgz":
  version: 1.0.0
  resolution: "t@https://host.invalid/t.tgz"

"l@link:../l::locator=app%40workspace%3Apackages%2Fw":
  version: 0.0.0-use.local
  resolution: "l@link:../l::locator=app%40workspace%3Apackages%2Fw"

"x@exec:./gen.js::locator=app%40workspace%3A.":
  version: 1.0.0
  resolution: "x@exec:./gen.js::locator=app%40workspace%3A."
`
	lf, err := Parse("yarn.lock", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	checkEntries(t, lf, []Entry{
		{Path: "fsevents@npm:^2", Name: "fsevents", Version: "2.3.3", Kind: KindRegistry, Reason: berryReason, Optional: true, Line: 14},
		{Path: "ts@patch:ts@npm%3A^5#optional!builtin<compat/typescript>", Name: "ts", Version: "5.4.3", Kind: KindRegistry,
			Reason: berryReason + "; yarn applies the patch optional!builtin<compat/typescript> to it on install", Line: 18},
		{Path: "g@https://github.com/u/g.git#commit=abc", Name: "g", Version: "1.0.0", Resolved: "https://github.com/u/g.git#commit=abc", Kind: KindGit, Reason: "git dependency", Line: 22},
		{Path: "t@https://host.invalid/t.tgz", Name: "t", Version: "1.0.0", Resolved: "https://host.invalid/t.tgz", Kind: KindRemote, Reason: "remote tarball", Line: 26},
		{Path: "l@link:../l::locator=app%40workspace%3Apackages%2Fw", Name: "l", Version: "0.0.0-use.local", Resolved: "link:../l::locator=app%40workspace%3Apackages%2Fw",
			Link: "packages/l", Kind: KindLink, Reason: "link to packages/l", Line: 30},
		{Path: "x@exec:./gen.js::locator=app%40workspace%3A.", Name: "x", Version: "1.0.0", Resolved: "exec:./gen.js::locator=app%40workspace%3A.", Kind: KindFile, Reason: "exec: dependency", Line: 34},
	})
}

// TestPnpmKinds: each kind of pnpm resolution, peer suffixes, aliases and
// links.
func TestPnpmKinds(t *testing.T) {
	src := `lockfileVersion: '9.0'
importers:
  .:
    dependencies:
      al: {specifier: npm:a@^1, version: a@1.0.0}
      p: {specifier: ^1, version: 1.0.0(a@1.0.0)}
      lib: {specifier: link:../lib, version: link:../lib}
    devDependencies:
      g: {specifier: github:u/g, version: https://codeload.github.com/u/g/tar.gz/abc}
      r: {specifier: git+https://host.invalid/r.git, version: git+https://host.invalid/r.git#def}
packages:
  a@1.0.0:
    resolution: {integrity: ` + sri1 + `}
  p@1.0.0:
    resolution: {integrity: ` + sri2 + `, tarball: https://registry.invalid/p/-/p-1.0.0.tgz}
    peerDependencies: {a: ^1}
  g@https://codeload.github.com/u/g/tar.gz/abc:
    resolution: {tarball: https://codeload.github.com/u/g/tar.gz/abc}
    version: 2.0.0
  r@git+https://host.invalid/r.git#def:
    resolution: {type: git, repo: https://host.invalid/r.git, commit: def}
    version: 3.0.0
snapshots:
  a@1.0.0: {}
  p@1.0.0(a@1.0.0):
    dependencies:
      a: 1.0.0
  g@https://codeload.github.com/u/g/tar.gz/abc: {}
  r@git+https://host.invalid/r.git#def: {}
`
	lf, err := Parse("pnpm-lock.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	checkEntries(t, lf, []Entry{
		{Path: "a@1.0.0", Name: "a", Version: "1.0.0", Integrity: sri1, Kind: KindRegistry, Line: 12},
		{Path: "g@https://codeload.github.com/u/g/tar.gz/abc", Name: "g", Version: "2.0.0", Resolved: "https://codeload.github.com/u/g/tar.gz/abc", Kind: KindRemote, Reason: "remote tarball", Dev: true, Line: 17},
		{Path: "node_modules/lib", Name: "lib", Link: "../lib", Resolved: "../lib", Kind: KindLink, Reason: "link to ../lib (outside the project)", Line: 7},
		{Path: "p@1.0.0(a@1.0.0)", Name: "p", Version: "1.0.0", Integrity: sri2, Resolved: "https://registry.invalid/p/-/p-1.0.0.tgz", Kind: KindRegistry, Line: 14},
		{Path: "r@git+https://host.invalid/r.git#def", Name: "r", Version: "3.0.0", Resolved: "https://host.invalid/r.git#def", Kind: KindGit, Reason: "git dependency", Dev: true, Line: 20},
	})
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func countNodes(n *yaml.Node) int {
	c := 1
	for _, k := range n.Content {
		c += countNodes(k)
	}
	return c
}

// TestLinksChecked: a link or workspace entry is checked like any other:
// no control character, a folder path.
func TestLinksChecked(t *testing.T) {
	lf, err := Parse("pnpm-lock.yaml", []byte("lockfileVersion: '9.0'\nimporters:\n  .:\n    dependencies:\n      \"x\\u0001\": {specifier: link:../x, version: link:../x}\n      ok: {specifier: link:./ok, version: link:./ok}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if e := find(t, lf, "node_modules/x\x01"); e.Kind != KindInvalid || !strings.Contains(e.Reason, "not a folder path") {
		t.Errorf("%+v", *e)
	}
	if e := find(t, lf, "node_modules/ok"); e.Kind != KindLink || e.Link != "ok" {
		t.Errorf("%+v", *e)
	}
	lf, err = Parse("bun.lock", []byte(`{"lockfileVersion": 1, "packages": {"w": ["w\u0001@workspace:packages/w"]}}`))
	if err != nil {
		t.Fatal(err)
	}
	if e := find(t, lf, "node_modules/w"); e.Kind != KindInvalid || !strings.Contains(e.Reason, "control character") {
		t.Errorf("%+v", *e)
	}
}
