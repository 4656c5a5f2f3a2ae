package lockfile

import (
	"bufio"
	"errors"
	"os"
	"strconv"
	"strings"
	"testing"
)

// manifestCounts are the packages/resolved/integrity columns of MANIFEST.md
// section 7, counted there from the JSON: every key of packages but "" (v2,
// v3) or every nested dependencies entry (v1), and those with a resolved or
// integrity field.
type manifestCounts struct{ packages, resolved, integrity int }

func readManifest(t *testing.T) map[string]manifestCounts {
	t.Helper()
	f, err := os.Open("../testdata/MANIFEST.md")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := map[string]manifestCounts{}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		cells := strings.Split(sc.Text(), "|")
		if len(cells) < 8 || !strings.HasPrefix(strings.TrimSpace(cells[1]), "lockfiles/") {
			continue
		}
		file := strings.TrimPrefix(strings.TrimSpace(cells[1]), "lockfiles/")
		var n [3]int
		ok := true
		for i := range n {
			v, err := strconv.Atoi(strings.TrimSpace(cells[4+i]))
			if err != nil {
				ok = false // the not-JSON rows have "-"
				break
			}
			n[i] = v
		}
		if ok {
			out[file] = manifestCounts{n[0], n[1], n[2]}
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if len(out) < 65 {
		t.Fatalf("read %d rows from MANIFEST section 7, want about 70", len(out))
	}
	return out
}

// TestManifestCounts checks the parsed entries of every fixture against the
// counts MANIFEST section 7 gives, so the golden files are checked by more
// than their own history. Every difference is listed and explained here.
func TestManifestCounts(t *testing.T) {
	// Files that must not parse, with the sentinel they must fail with.
	failing := map[string]error{
		// lockfileVersion 1 without "requires" and with version fields that
		// hold tarball URLs: written by npm 5.0.
		"npm-cli-arborist/ancient-lockfile-invalid/package-lock.json": ErrMalformed,
		"npm-cli-arborist/sax/package-lock.json":                      ErrMalformed,
		// Not JSON, and JSON null.
		"npm-cli-arborist/workspace3-packages-a/npm-shrinkwrap.json": ErrSyntax,
		"osv-scalibr/packagelockjson/not-json.txt":                   ErrSyntax,
		"osv-scalibr/packagelockjson/null.v2.jsontest":               ErrMalformed,
	}
	// Differences from the MANIFEST counts, each explained.
	type delta struct{ packages, resolved int }
	deltas := map[string]delta{
		// The git dependency's URL is in its v1 version field; Resolved
		// carries it (npm fetches from it), so one more entry has Resolved.
		"npm-cli-arborist/audit-all-severities/package-lock.json": {0, 1},
		// A v1 "file:dir" version is a link: Resolved holds the file: spec
		// and, as npm does, the folder it points to is an entry of its own.
		"npm-cli-arborist/audit-mkdirp/package-lock.json":   {1, 1},
		"npm-cli-arborist/link-meta-deps/package-lock.json": {1, 1},
		"osv-scalibr/packagelockjson/files.v1.json":         {1, 1},
		// lockfileVersion 2 with only a v1 dependencies tree: 13 git
		// dependencies whose URL is in the version field.
		"osv-scalibr/packagelockjson/commits.v1.json": {0, 13},
		// Deliberately broken arborist fixtures ("bundled": "true", a
		// string, and "integrity": "the integrity is not valid, clearly"):
		// those four entries are KindInvalid, the rest is read. A v1
		// "file:" link adds its folder; 11 version fields hold git, file:
		// or URL specs, which Resolved carries.
		"npm-cli-arborist/install-types/package-lock.json":         {1, 11},
		"npm-cli-arborist/install-types-sw-only/package-lock.json": {1, 11},
	}
	manifest := readManifest(t)
	files := fixtures(t)
	if len(manifest)+3 != len(files) { // 3 rows are not JSON objects
		t.Errorf("MANIFEST lists %d parseable lockfiles, testdata has %d files", len(manifest), len(files))
	}
	for _, file := range files {
		rel := strings.TrimPrefix(file, fixtureRoot+"/")
		lf, err := Load(file)
		if want, ok := failing[rel]; ok {
			if !errorIs(err, want) || !strings.Contains(err.Error(), file) {
				t.Errorf("%s: got %v, want an error wrapping %v that names the file", rel, err, want)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", rel, err)
			continue
		}
		m, ok := manifest[rel]
		if !ok {
			t.Errorf("%s: not in MANIFEST section 7", rel)
			continue
		}
		var resolved, integrity int
		for _, e := range lf.Entries {
			if e.Resolved != "" {
				resolved++
			}
			if e.Integrity != "" {
				integrity++
			}
		}
		d := deltas[rel]
		if len(lf.Entries) != m.packages+d.packages || resolved != m.resolved+d.resolved || integrity != m.integrity {
			t.Errorf("%s: entries/resolved/integrity = %d/%d/%d, want MANIFEST's %d/%d/%d + %v",
				rel, len(lf.Entries), resolved, integrity, m.packages, m.resolved, m.integrity, d)
		}
	}
}

func errorIs(err, target error) bool {
	return errors.Is(err, target)
}

// TestLines checks the line of every entry of every fixture against the
// file: the line must hold the entry's key.
func TestLines(t *testing.T) {
	for _, file := range fixtures(t) {
		lf, err := Load(file)
		if err != nil {
			continue // TestManifestCounts checks which files fail
		}
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(string(data), "\n")
		links := map[string]int{} // link target -> line of the link
		for _, e := range lf.Entries {
			if e.Link != "" {
				links[e.Link] = e.Line
			}
		}
		checked := 0
		for _, e := range lf.Entries {
			if e.Line < 1 || e.Line > len(lines) {
				t.Errorf("%s: %s: line %d out of range", file, e.Path, e.Line)
				continue
			}
			line := lines[e.Line-1]
			key := e.Path // lockfileVersion 2 and 3
			if !hasKey(line, key) {
				key, _ = installName(e.Path) // v1: the dependency name
			}
			switch {
			case key != "" && hasKey(line, key):
				checked++
			case links[e.Path] == e.Line:
				// The folder of a v1 file: link, at the line of the link.
				checked++
			default:
				t.Errorf("%s: %s: line %d is %q, not the entry's key", file, e.Path, e.Line, line)
			}
		}
		if checked != len(lf.Entries) {
			t.Errorf("%s: checked %d of %d lines", file, checked, len(lf.Entries))
		}
	}
}

// hasKey reports whether line holds "key" followed by a colon and an
// object, with any spaces between.
func hasKey(line, key string) bool {
	needle := `"` + key + `"`
	for i := strings.Index(line, needle); i >= 0; {
		rest := strings.TrimLeft(line[i+len(needle):], " ")
		if rest, ok := strings.CutPrefix(rest, ":"); ok && strings.HasPrefix(strings.TrimLeft(rest, " "), "{") {
			return true
		}
		j := strings.Index(line[i+1:], needle)
		if j < 0 {
			return false
		}
		i += 1 + j
	}
	return false
}
