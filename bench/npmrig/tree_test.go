package npmrig

import (
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// workspaceLock has a workspace (folder + link), a scoped package, a nested
// one, an alias, a link whose target has no entry and a dev dependency.
const workspaceLock = `{
  "name": "ws-root",
  "version": "2.0.0",
  "lockfileVersion": 3,
  "requires": true,
  "packages": {
    "": {"name": "ws-root", "version": "2.0.0", "workspaces": ["packages/*"],
         "dependencies": {"a": "^1.0.0", "alias-b": "npm:b@^2.0.0"},
         "devDependencies": {"@s/c": "^3.0.0"}},
    "node_modules/a": {"version": "1.0.0", "resolved": "https://registry.invalid/a/-/a-1.0.0.tgz",
         "integrity": "sha512-AAAA", "dependencies": {"d": "^2.0.0"}, "license": "MIT"},
    "node_modules/a/node_modules/d": {"version": "2.0.0", "resolved": "https://registry.invalid/d/-/d-2.0.0.tgz", "integrity": "sha512-DDDD"},
    "node_modules/alias-b": {"name": "b", "version": "2.1.0", "resolved": "https://registry.invalid/b/-/b-2.1.0.tgz", "integrity": "sha512-BBBB"},
    "node_modules/@s/c": {"version": "3.0.0", "dev": true, "resolved": "https://registry.invalid/@s/c/-/c-3.0.0.tgz", "integrity": "sha512-CCCC"},
    "node_modules/d": {"version": "1.0.0", "resolved": "https://registry.invalid/d/-/d-1.0.0.tgz", "integrity": "sha512-EEEE"},
    "node_modules/ws-one": {"resolved": "packages/one", "link": true},
    "node_modules/ghost": {"resolved": "packages/ghost", "link": true},
    "packages/one": {"name": "ws-one", "version": "0.1.0", "dependencies": {"d": "^1.0.0"}}
  }
}`

func readJSON(t *testing.T, file string) map[string]any {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	return m
}

func TestLayout(t *testing.T) {
	tree, err := parseLockfile("package-lock.json", []byte(workspaceLock))
	if err != nil {
		t.Fatal(err)
	}
	project := t.TempDir()
	n, err := tree.layout(project, []byte(workspaceLock))
	if err != nil {
		t.Fatal(err)
	}
	if n != 6 {
		t.Errorf("layout wrote %d package folders, want 6", n)
	}
	if b, err := os.ReadFile(filepath.Join(project, "package-lock.json")); err != nil || string(b) != workspaceLock {
		t.Errorf("package-lock.json is not the lockfile as given (%v)", err)
	}
	root := readJSON(t, filepath.Join(project, "package.json"))
	if root["name"] != "ws-root" || root["devDependencies"] == nil || root["workspaces"] == nil {
		t.Errorf("root package.json = %v", root)
	}

	pkgTests := []struct {
		path, name, version, integrity string
		deps                           bool
	}{
		{"node_modules/a", "a", "1.0.0", "sha512-AAAA", true},
		{"node_modules/a/node_modules/d", "d", "2.0.0", "sha512-DDDD", false},
		{"node_modules/alias-b", "b", "2.1.0", "sha512-BBBB", false},
		{"node_modules/@s/c", "@s/c", "3.0.0", "sha512-CCCC", false},
		{"packages/one", "ws-one", "0.1.0", "", true},
	}
	for _, tt := range pkgTests {
		m := readJSON(t, filepath.Join(project, filepath.FromSlash(tt.path), "package.json"))
		if m["name"] != tt.name || m["version"] != tt.version {
			t.Errorf("%s: name %v version %v, want %s %s", tt.path, m["name"], m["version"], tt.name, tt.version)
		}
		if tt.integrity != "" && m["_integrity"] != tt.integrity {
			t.Errorf("%s: _integrity %v, want %s", tt.path, m["_integrity"], tt.integrity)
		}
		if (m["dependencies"] != nil) != tt.deps {
			t.Errorf("%s: dependencies %v", tt.path, m["dependencies"])
		}
		for _, f := range lockOnlyFields {
			if _, ok := m[f]; ok {
				t.Errorf("%s: package.json carries the lockfile field %q", tt.path, f)
			}
		}
	}

	for link, target := range map[string]string{"node_modules/ws-one": "../packages/one", "node_modules/ghost": "../packages/ghost"} {
		got, err := os.Readlink(filepath.Join(project, filepath.FromSlash(link)))
		if err != nil || got != filepath.FromSlash(target) {
			t.Errorf("%s -> %q (%v), want %q", link, got, err, target)
		}
	}
	if m := readJSON(t, filepath.Join(project, "packages", "ghost", "package.json")); m["name"] != "ghost" {
		t.Errorf("link target without entry: package.json %v", m)
	}

	hiddenPath := filepath.Join(project, "node_modules", ".package-lock.json")
	hidden := readJSON(t, hiddenPath)
	pkgs, _ := hidden["packages"].(map[string]any)
	if hidden["lockfileVersion"] != float64(3) || len(pkgs) != 8 {
		t.Fatalf("hidden lockfile: version %v, %d packages, want 3 and 8", hidden["lockfileVersion"], len(pkgs))
	}
	if _, ok := pkgs[""]; ok {
		t.Error("the hidden lockfile has a root entry")
	}
	// npm trusts the hidden lockfile only if it is newer than every folder.
	hfi, err := os.Stat(hiddenPath)
	if err != nil {
		t.Fatal(err)
	}
	err = filepath.WalkDir(project, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			return nil
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		if !fi.ModTime().Before(hfi.ModTime()) {
			t.Errorf("%s (%v) is not older than the hidden lockfile (%v)", p, fi.ModTime(), hfi.ModTime())
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestParseLockfileRejects(t *testing.T) {
	entry := `{"version":"1.0.0"}`
	lock := func(packages string) string {
		return `{"lockfileVersion":3,"packages":{"":{},` + packages + `}}`
	}
	tests := []struct {
		name, data, want string
	}{
		{"not JSON", `{`, "unexpected EOF"},
		{"trailing data", `{"lockfileVersion":3,"packages":{"node_modules/a":{}}} {}`, "after the top-level"},
		{"no version", `{"packages":{"node_modules/a":{}}}`, "no lockfileVersion"},
		{"version 1", `{"lockfileVersion":1,"dependencies":{"a":{"version":"1.0.0"}}}`, "lockfileVersion 1"},
		{"version 4", `{"lockfileVersion":4,"packages":{"node_modules/a":{}}}`, "lockfileVersion 4"},
		{"no packages", `{"lockfileVersion":3}`, "no packages object"},
		{"only root", `{"lockfileVersion":3,"packages":{"":{}}}`, "no packages besides the root"},
		{"entry not an object", lock(`"node_modules/a":[1]`), "not an object"},
		{"entry null", lock(`"node_modules/a":null`), "not an object"},
		{"bad field type", lock(`"node_modules/a":{"link":"yes"}`), "cannot unmarshal"},
		{"parent dir", lock(`"node_modules/../../etc":` + entry), "not clean"},
		{"dot dot", lock(`"../lib":` + entry), "leaves the project"},
		{"absolute", lock(`"/etc/x":` + entry), "absolute"},
		{"backslash", lock(`"node_modules\\a":` + entry), "backslash"},
		{"trailing slash", lock(`"node_modules/a/":` + entry), "not clean"},
		{"node_modules alone", lock(`"node_modules":` + entry), "not a package folder"},
		{"deep under node_modules", lock(`"node_modules/a/b":` + entry), "not a package folder"},
		{"scope alone", lock(`"node_modules/@s":` + entry), "not a package folder"},
		{"dot folder", lock(`"node_modules/.bin":` + entry), "starts with a dot"},
		{"link outside", lock(`"node_modules/a":{"link":true,"resolved":"../a"}`), "leaves the project"},
		{"link absolute", lock(`"node_modules/a":{"link":true,"resolved":"/tmp/a"}`), "absolute"},
		{"link without target", lock(`"node_modules/a":{"link":true}`), "empty path"},
		{"link to itself", lock(`"node_modules/a":{"link":true,"resolved":"node_modules/a"}`), "links to itself"},
		{"inside a link", lock(`"node_modules/a":{"link":true,"resolved":"pk/a"},"node_modules/a/node_modules/b":` + entry), "inside the link"},
		{"link into a link", lock(`"node_modules/a":{"link":true,"resolved":"pk/a"},"node_modules/b":{"link":true,"resolved":"node_modules/a/x"}`), "links into the link"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parseLockfile("lock.json", []byte(tt.data))
			if !errors.Is(err, ErrLockfile) {
				t.Fatalf("err = %v, want ErrLockfile", err)
			}
			if !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), "lock.json") {
				t.Fatalf("err = %v, want it to name lock.json and say %q", err, tt.want)
			}
		})
	}
}

// TestLayoutRealLockfiles lays out real lockfiles of the repository's
// fixtures and checks every folder the lockfile names exists.
func TestLayoutRealLockfiles(t *testing.T) {
	files := []string{
		"../../testdata/lockfiles/real-projects/sigstore-js/package-lock.json",
		"../../testdata/lockfiles/npm-cli-arborist/two-bundled-deps/package-lock.json",
		"../../testdata/lockfiles/npm-cli-arborist/workspaces-shared-deps-virtual/package-lock.json",
	}
	for _, f := range files {
		t.Run(filepath.Base(filepath.Dir(f)), func(t *testing.T) {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			tree, err := parseLockfile(f, data)
			if err != nil {
				t.Fatal(err)
			}
			project := t.TempDir()
			n, err := tree.layout(project, data)
			if err != nil {
				t.Fatal(err)
			}
			want := 0
			for _, e := range tree.entries {
				fi, err := os.Lstat(filepath.Join(project, filepath.FromSlash(e.path)))
				if err != nil {
					t.Fatalf("%s: %v", e.path, err)
				}
				if e.link != "" {
					if fi.Mode()&fs.ModeSymlink == 0 {
						t.Errorf("%s is not a symlink", e.path)
					}
					continue
				}
				want++
				if _, err := os.Stat(filepath.Join(project, filepath.FromSlash(e.path), "package.json")); err != nil {
					t.Error(err)
				}
			}
			if n != want || n == 0 {
				t.Errorf("layout wrote %d folders, want %d", n, want)
			}
		})
	}
}
