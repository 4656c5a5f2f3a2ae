package lockfile

import (
	"fmt"
	"slices"
	"strings"
	"testing"
)

func TestUnitsNestedDuplicates(t *testing.T) {
	lf := mustParse(t, `{
  "lockfileVersion": 3,
  "packages": {
    "node_modules/a": {"version": "1.0.0", "resolved": "https://r.invalid/a/-/a-1.0.0.tgz", "integrity": "`+sriA+`", "dev": true},
    "node_modules/c/node_modules/a": {"version": "2.0.0", "resolved": "https://r.invalid/a/-/a-2.0.0.tgz", "integrity": "`+sriB+`"},
    "node_modules/b/node_modules/a": {"version": "2.0.0", "resolved": "https://mirror.invalid/a/-/a-2.0.0.tgz", "integrity": "`+sriB+`", "dev": true},
    "node_modules/b": {"version": "1.0.0"},
    "node_modules/c": {"version": "1.0.0"},
    "node_modules/d/node_modules/a": {"version": "2.0.0", "integrity": "`+sriA+`"}
  }
}`)
	units := Units(lf)
	type got struct {
		key   string
		paths []string
		line  int
	}
	var gots []got
	for _, u := range units {
		gots = append(gots, got{u.Key(), u.Paths, u.Line})
		if len(u.Entries) != len(u.Paths) {
			t.Errorf("%s: %d entries for %d paths", u.Key(), len(u.Entries), len(u.Paths))
		}
		for i, e := range u.Entries {
			if e.Path != u.Paths[i] || e != &lf.Entries[slices.IndexFunc(lf.Entries, func(x Entry) bool { return x.Path == e.Path })] {
				t.Errorf("%s: entry %d does not point into the lockfile's entry for %s", u.Key(), i, u.Paths[i])
			}
		}
	}
	want := []got{
		{"a@1.0.0#" + sriA, []string{"node_modules/a"}, 4},
		{"b@1.0.0#", []string{"node_modules/b"}, 7},
		// Ordered by its first path; its line is that of the first path.
		{"a@2.0.0#" + sriB, []string{"node_modules/b/node_modules/a", "node_modules/c/node_modules/a"}, 6},
		{"c@1.0.0#", []string{"node_modules/c"}, 8},
		// Same version, other integrity: other bytes, another unit.
		{"a@2.0.0#" + sriA, []string{"node_modules/d/node_modules/a"}, 9},
	}
	if fmt.Sprint(gots) != fmt.Sprint(want) {
		t.Errorf("units:\n got %v\nwant %v", gots, want)
	}
	// The unit's Resolved is that of its first entry, by path.
	if units[2].Resolved != "https://mirror.invalid/a/-/a-2.0.0.tgz" {
		t.Errorf("Resolved = %q, want the first entry's", units[1].Resolved)
	}
	if Units(nil) != nil || Units(&Lockfile{}) != nil {
		t.Error("Units of nothing is not nil")
	}
}

func TestUnitsNonRegistry(t *testing.T) {
	lf := mustParse(t, `{
  "lockfileVersion": 3,
  "packages": {
    "": {"workspaces": ["packages/*"]},
    "node_modules/a": {"resolved": "packages/a", "link": true},
    "packages/a": {"name": "a", "version": "1.0.0"},
    "node_modules/g": {"version": "1.0.0", "resolved": "git+ssh://git@host.invalid/g.git#1111"},
    "node_modules/x/node_modules/g": {"version": "1.0.0", "resolved": "git+ssh://git@host.invalid/g.git#2222"},
    "node_modules/y/node_modules/g": {"version": "1.0.0", "resolved": "git+ssh://git@host.invalid/g.git#1111"},
    "node_modules/x": {"version": "1.0.0", "resolved": "https://r.invalid/x/-/x-1.0.0.tgz"},
    "node_modules/y": {},
    "node_modules/z": {}
  }
}`)
	var keys []string
	for _, u := range Units(lf) {
		keys = append(keys, fmt.Sprintf("%s %v %s", u.Key(), u.Paths, u.Kind))
	}
	want := []string{
		"a@1.0.0# (workspace packages/a) [node_modules/a packages/a] workspace",
		"g@1.0.0# (git git+ssh://git@host.invalid/g.git#1111) [node_modules/g node_modules/y/node_modules/g] git",
		"x@1.0.0# [node_modules/x] registry",
		"g@1.0.0# (git git+ssh://git@host.invalid/g.git#2222) [node_modules/x/node_modules/g] git",
		"y@# (file node_modules/y) [node_modules/y] file",
		"z@# (file node_modules/z) [node_modules/z] file",
	}
	if !slices.Equal(keys, want) {
		t.Errorf("units:\n got %q\nwant %q", keys, want)
	}
}

func TestOmit(t *testing.T) {
	type flags struct{ dev, optional, devOptional, peer bool }
	tests := []struct {
		f    flags
		o    Omit
		want bool
	}{
		{flags{}, Omit{Dev: true, Optional: true, Peer: true}, false},
		{flags{dev: true}, Omit{Dev: true}, true},
		{flags{dev: true}, Omit{Optional: true, Peer: true}, false},
		{flags{optional: true}, Omit{Optional: true}, true},
		{flags{optional: true}, Omit{Dev: true}, false},
		{flags{devOptional: true}, Omit{Dev: true}, false},
		{flags{devOptional: true}, Omit{Optional: true}, false},
		{flags{devOptional: true}, Omit{Dev: true, Optional: true}, true},
		{flags{peer: true}, Omit{Peer: true}, true},
		{flags{peer: true}, Omit{Dev: true, Optional: true}, false},
		{flags{dev: true, optional: true}, Omit{Optional: true}, true},
		{flags{dev: true, peer: true}, Omit{}, false},
	}
	for _, tt := range tests {
		e := Entry{Dev: tt.f.dev, Optional: tt.f.optional, DevOptional: tt.f.devOptional, Peer: tt.f.peer}
		if got := e.Omitted(tt.o); got != tt.want {
			t.Errorf("%+v.Omitted(%+v) = %v, want %v", tt.f, tt.o, got, tt.want)
		}
	}

	// A unit is omitted only when every entry is.
	dev, prod := &Entry{Dev: true}, &Entry{}
	for _, tt := range []struct {
		entries []*Entry
		want    bool
	}{
		{[]*Entry{dev}, true},
		{[]*Entry{dev, dev}, true},
		{[]*Entry{dev, prod}, false},
		{nil, false},
	} {
		u := Unit{Entries: tt.entries}
		if got := u.Omitted(Omit{Dev: true}); got != tt.want {
			t.Errorf("unit of %d entries: Omitted = %v, want %v", len(tt.entries), got, tt.want)
		}
	}
}

// unitsDigest renders what a v1 and a v2 form of one tree must share: the
// units, their kinds and paths, and each entry's flags. Lines and the
// lockfile version differ by nature.
func unitsDigest(lf *Lockfile) string {
	var b strings.Builder
	for _, u := range Units(lf) {
		fmt.Fprintf(&b, "%s %s %q resolved=%s\n", u.Key(), u.Kind, u.Paths, u.Resolved)
		for _, e := range u.Entries {
			fmt.Fprintf(&b, "  %s alias=%s link=%s dev=%v optional=%v devOptional=%v peer=%v inBundle=%v\n",
				e.Path, e.Alias, e.Link, e.Dev, e.Optional, e.DevOptional, e.Peer, e.InBundle)
		}
	}
	return b.String()
}

func TestV1V2SameUnits(t *testing.T) {
	// The osv-scalibr pairs that describe one tree. Not listed: commits
	// (npm 6 kept no version or integrity for git dependencies, and the
	// pair's trees differ), files and nested-dependencies-dup (the v2 file
	// is another tree), optional-package and same-package-different-groups
	// (the pair's dev/optional flags disagree as written).
	for _, name := range []string{"alias", "empty", "nested-dependencies", "one-package", "one-package-dev", "scoped-packages", "two-packages"} {
		t.Run(name, func(t *testing.T) {
			v1, err := Load(fixtureRoot + "/osv-scalibr/packagelockjson/" + name + ".v1.json")
			if err != nil {
				t.Fatal(err)
			}
			v2, err := Load(fixtureRoot + "/osv-scalibr/packagelockjson/" + name + ".v2.json")
			if err != nil {
				t.Fatal(err)
			}
			if v1.LockfileVersion != 1 || v2.LockfileVersion != 2 {
				t.Fatalf("versions %d and %d", v1.LockfileVersion, v2.LockfileVersion)
			}
			if d1, d2 := unitsDigest(v1), unitsDigest(v2); d1 != d2 {
				t.Errorf("v1 units:\n%s\nv2 units:\n%s", d1, d2)
			}
		})
	}

	// A tree with aliases, scopes, nesting, bundling, flags and a file:
	// directory, written as npm 6 and npm 7+ would write it.
	v1 := mustParse(t, `{
  "name": "app", "version": "1.0.0", "lockfileVersion": 1, "requires": true,
  "dependencies": {
    "@s/a": {"version": "1.0.0", "resolved": "https://r.invalid/@s/a/-/a-1.0.0.tgz", "integrity": "`+sriA+`",
      "dependencies": {"b": {"version": "2.0.0", "resolved": "https://r.invalid/b/-/b-2.0.0.tgz", "integrity": "`+sriB+`", "bundled": true}}},
    "b": {"version": "1.0.0", "resolved": "https://r.invalid/b/-/b-1.0.0.tgz", "integrity": "`+sriSHA1+`", "dev": true},
    "old": {"version": "npm:b@2.0.0", "resolved": "https://r.invalid/b/-/b-2.0.0.tgz", "integrity": "`+sriB+`", "optional": true},
    "local": {"version": "file:libs/local",
      "dependencies": {"c": {"version": "3.0.0", "resolved": "https://r.invalid/c/-/c-3.0.0.tgz", "integrity": "`+sriA+`"}}}
  }
}`)
	v2 := mustParse(t, `{
  "name": "app", "version": "1.0.0", "lockfileVersion": 2, "requires": true,
  "packages": {
    "": {"name": "app", "version": "1.0.0"},
    "libs/local": {},
    "libs/local/node_modules/c": {"version": "3.0.0", "resolved": "https://r.invalid/c/-/c-3.0.0.tgz", "integrity": "`+sriA+`"},
    "node_modules/@s/a": {"version": "1.0.0", "resolved": "https://r.invalid/@s/a/-/a-1.0.0.tgz", "integrity": "`+sriA+`"},
    "node_modules/@s/a/node_modules/b": {"version": "2.0.0", "resolved": "https://r.invalid/b/-/b-2.0.0.tgz", "integrity": "`+sriB+`", "inBundle": true},
    "node_modules/b": {"version": "1.0.0", "resolved": "https://r.invalid/b/-/b-1.0.0.tgz", "integrity": "`+sriSHA1+`", "dev": true},
    "node_modules/local": {"resolved": "file:libs/local", "link": true},
    "node_modules/old": {"name": "b", "version": "2.0.0", "resolved": "https://r.invalid/b/-/b-2.0.0.tgz", "integrity": "`+sriB+`", "optional": true}
  },
  "dependencies": {"ignored": {"version": "0.0.0"}}
}`)
	d1, d2 := unitsDigest(v1), unitsDigest(v2)
	if d1 != d2 {
		t.Errorf("v1 units:\n%s\nv2 units:\n%s", d1, d2)
	}
	if n := strings.Count(d1, "\n  "); n != 7 {
		t.Errorf("the tree has %d entries, want 7:\n%s", n, d1)
	}
}

func TestUnitBundled(t *testing.T) {
	bundled := &Unit{Entries: []*Entry{{InBundle: true, BundledBy: "node_modules/p"}, {InBundle: true, BundledBy: "node_modules/q"}}}
	mixed := &Unit{Entries: []*Entry{{InBundle: true, BundledBy: "node_modules/p"}, {InBundle: true}}}
	if !bundled.Bundled() || mixed.Bundled() || (&Unit{}).Bundled() {
		t.Errorf("Bundled: all %v, mixed %v, none %v", bundled.Bundled(), mixed.Bundled(), (&Unit{}).Bundled())
	}
}

// TestBundledBy follows npm's arborist: the project's own (and a
// workspace's) bundleDependencies are installed from the registry, so only
// entries inside a dependency's bundle come from another tarball.
func TestBundledBy(t *testing.T) {
	const v3 = `{"name": "root", "lockfileVersion": 3, "requires": true, "packages": {
  "": {"name": "root", "bundleDependencies": ["a"], "workspaces": ["ws"]},
  "node_modules/a": {"version": "1.0.0", "inBundle": true},
  "node_modules/a/node_modules/b": {"version": "1.0.0", "inBundle": true},
  "node_modules/c": {"version": "1.0.0"},
  "node_modules/c/node_modules/d": {"version": "1.0.0", "inBundle": true},
  "node_modules/c/node_modules/d/node_modules/@s/e": {"version": "1.0.0", "inBundle": true},
  "node_modules/c/node_modules/f": {"version": "1.0.0"},
  "node_modules/ws": {"resolved": "ws", "link": true},
  "ws": {"name": "ws", "version": "0.1.0", "bundleDependencies": ["g"]},
  "ws/node_modules/g": {"version": "1.0.0", "inBundle": true},
  "node_modules/x/node_modules/orphan": {"version": "1.0.0", "inBundle": true}
}}`
	const v1 = `{"name": "root", "lockfileVersion": 1, "requires": true, "dependencies": {
  "a": {"version": "1.0.0", "bundled": true, "dependencies": {"b": {"version": "1.0.0", "bundled": true}}},
  "c": {"version": "1.0.0", "dependencies": {
    "d": {"version": "1.0.0", "bundled": true, "dependencies": {"@s/e": {"version": "1.0.0", "bundled": true}}},
    "f": {"version": "1.0.0"}}}
}}`
	want := map[string]string{
		"node_modules/a":                                  "", // the project bundles it: fetched from the registry
		"node_modules/a/node_modules/b":                   "", // under a project-bundled package: so is it
		"node_modules/c":                                  "",
		"node_modules/c/node_modules/d":                   "node_modules/c",
		"node_modules/c/node_modules/d/node_modules/@s/e": "node_modules/c", // d's bundler is c's tarball
		"node_modules/c/node_modules/f":                   "",
		"ws/node_modules/g":                               "", // a workspace bundles it
		"node_modules/x/node_modules/orphan":              "", // no parent entry: audited, not skipped
	}
	for _, tc := range []struct{ name, doc string }{{"v3", v3}, {"v1", v1}} {
		t.Run(tc.name, func(t *testing.T) {
			lf, err := Parse("package-lock.json", []byte(tc.doc))
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]string{}
			for _, e := range lf.Entries {
				got[e.Path] = e.BundledBy
			}
			checked := 0
			for path, by := range want {
				g, ok := got[path]
				if !ok {
					if tc.name == "v3" {
						t.Errorf("%s: no entry", path)
					}
					continue
				}
				checked++
				if g != by {
					t.Errorf("%s: BundledBy %q, want %q", path, g, by)
				}
			}
			if checked < 6 {
				t.Errorf("only %d paths checked: %v", checked, got)
			}
			bundled := 0
			for _, u := range Units(lf) {
				if u.Bundled() {
					bundled++
				}
			}
			if bundled != 2 { // d and @s/e, in c's tarball
				t.Errorf("%d bundled units, want 2", bundled)
			}
		})
	}
}
