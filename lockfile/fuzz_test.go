package lockfile

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/provaudit/provaudit/internal/npmspec"
)

// FuzzParse checks that Parse never panics or hangs, that it calls a file
// not JSON exactly when encoding/json does, and that whatever it accepts
// satisfies the model's invariants.
func FuzzParse(f *testing.F) {
	for _, file := range fixtures(f) {
		data, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	for _, s := range []string{
		`{"lockfileVersion": 1, "requires": true, "dependencies": {"a": {"version": "file:x", "dependencies": {"b": {"version": "1.0.0"}}}, "c": {"version": "file:x", "dependencies": {"b": {"version": "1.0.0"}}}}}`,
		`{"lockfileVersion": 3, "packages": {"": {"workspaces": ["**/*", "{a,b}/c"]}, "a/c": {}, "node_modules/x": {"link": true, "resolved": "a/c"}}}`,
		"\uFEFF{\"lockfileVersion\": 2, \"packages\": {\"node_modules/\\u00e9\": {\"version\": \"1.0.0\"}}}",
		`{"lockfileVersion": 3, "packages": {"node_modules/a": {"version": "1.0.0", "integrity": "sha512-AAAA"}}, "packages": null}`,
		`{"lockfileVersion": 3, "packages": {"node_modules/a": {"version": "1.0.0", "resolved": "https://r.invalid/a/-/a-1.0.0.tgz", "integrity": "` + sriA + `"}}`,
		`{"lockfileVersion": 3, "packages": {"node_modules/../x": {"version": "1.0.0"}, "/abs": 5, "node_modules/a\u0000": {"version": "1.0.0", "integrity": "SHA512-AAAA", "dev": "yes"}}}`,
		`{"lockfileVersion": 1, "requires": true, "dependencies": {"../a": {"version": "1.0.0", "dependencies": {"b": {"version": "1.0.0"}}}, "c": null}}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		const file = "fuzz/package-lock.json"
		lf, err := Parse(file, data)
		valid := json.Valid(bytes.TrimPrefix(data, []byte("\uFEFF")))
		if errors.Is(err, ErrSyntax) == valid {
			t.Fatalf("json.Valid = %v but Parse error is %v", valid, err)
		}
		if err != nil {
			if lf != nil {
				t.Fatal("a lockfile and an error")
			}
			if len(sentinels(err)) == 0 || !strings.Contains(err.Error(), file) {
				t.Fatalf("error %q wraps no sentinel or does not name the file", err)
			}
			return
		}
		checkInvariants(t, lf, bytes.Count(data, []byte("\n"))+1)
	})
}

// checkInvariants checks what every parsed lockfile must satisfy.
func checkInvariants(t *testing.T, lf *Lockfile, lines int) {
	t.Helper()
	versions := map[Format][2]int{FormatNpm: {1, 3}, FormatNpmShrinkwrap: {1, 3}, FormatPnpm: {6, 9}, FormatYarnV1: {1, 1},
		FormatYarnBerry: {minBerryVersion, maxBerryVersion}, FormatBun: {0, 2}}
	r, ok := versions[lf.Format]
	if !ok || lf.LockfileVersion < r[0] || lf.LockfileVersion > r[1] || lf.Format == FormatPnpm && lf.LockfileVersion != 6 && lf.LockfileVersion != 9 {
		t.Fatalf("format %q lockfileVersion %d", lf.Format, lf.LockfileVersion)
	}
	// pnpm and yarn lockfiles record no install tree: their entries' paths
	// are the lockfile keys, which need not be folder paths.
	keyed := lf.Format == FormatPnpm || lf.Format == FormatYarnV1 || lf.Format == FormatYarnBerry
	for i := range lf.Entries {
		e := &lf.Entries[i]
		if i > 0 && lf.Entries[i-1].Path >= e.Path {
			t.Fatalf("entries not sorted or not unique: %q then %q", lf.Entries[i-1].Path, e.Path)
		}
		if e.Line < 1 || e.Line > lines {
			t.Fatalf("%q: line %d of %d", e.Path, e.Line, lines)
		}
		if e.Kind == KindInvalid {
			if !strings.HasPrefix(e.Reason, "invalid entry: ") || e.Link != "" {
				t.Fatalf("%q: invalid entry %+v", e.Path, *e)
			}
			continue
		}
		// Whatever is not invalid has a clean path, fields without control
		// characters, and a well-formed integrity.
		if msg := checkPath(e.Path); msg != "" && (!keyed || e.Kind == KindWorkspace && e.Link == "") {
			t.Fatalf("%q: path %s", e.Path, msg)
		}
		for _, f := range []string{e.Path, e.Name, e.Version, e.Resolved} {
			if controlChar(f) >= 0 {
				t.Fatalf("%q: control character in %q", e.Path, f)
			}
		}
		if e.Integrity != "" {
			if _, err := npmspec.ParseIntegrity(e.Integrity); err != nil {
				t.Fatalf("%q: integrity accepted but %v", e.Path, err)
			}
		}
		switch e.Kind {
		case KindRegistry:
			if npmspec.ValidName(e.Name) != nil || npmspec.ValidVersion(e.Version) != nil || e.Link != "" ||
				e.Reason != "" && !(lf.Format == FormatYarnBerry && strings.HasPrefix(e.Reason, berryReason)) ||
				lf.Format == FormatYarnBerry && e.Integrity != "" {
				t.Fatalf("%q: registry entry %+v", e.Path, *e)
			}
			if !keyed && isFolderPath(e.Path) {
				t.Fatalf("%q: registry entry at a folder", e.Path)
			}
		case KindGit, KindFile, KindRemote, KindLink, KindWorkspace:
			if e.Reason == "" {
				t.Fatalf("%q: %s entry without a reason", e.Path, e.Kind)
			}
		default:
			t.Fatalf("%q: kind %q", e.Path, e.Kind)
		}
		if (e.Kind == KindLink) != (e.Link != "") && e.Kind != KindWorkspace {
			t.Fatalf("%q: kind %s with link %q", e.Path, e.Kind, e.Link)
		}
	}
	units := Units(lf)
	keys := map[string]bool{}
	seen := map[*Entry]bool{}
	for _, u := range units {
		k := u.Key()
		if keys[k] {
			t.Fatalf("two units with key %q", k)
		}
		keys[k] = true
		if len(u.Entries) == 0 || len(u.Entries) != len(u.Paths) || u.Line != u.Entries[0].Line {
			t.Fatalf("unit %q: %d entries, %d paths, line %d", k, len(u.Entries), len(u.Paths), u.Line)
		}
		if u.Kind == KindInvalid && len(u.Entries) != 1 {
			t.Fatalf("invalid unit %q holds %d entries", k, len(u.Entries))
		}
		for i, e := range u.Entries {
			if seen[e] {
				t.Fatalf("entry %q in two units", e.Path)
			}
			seen[e] = true
			if e.Path != u.Paths[i] || (i > 0 && u.Paths[i-1] >= u.Paths[i]) {
				t.Fatalf("unit %q: paths %q", k, u.Paths)
			}
			if e.Name != u.Name || e.Version != u.Version || e.Integrity != u.Integrity || e.Kind != u.Kind {
				t.Fatalf("unit %q holds entry %+v", k, *e)
			}
		}
	}
	if len(seen) != len(lf.Entries) {
		t.Fatalf("units hold %d of %d entries", len(seen), len(lf.Entries))
	}
}

// TestInvariantsOnFixtures runs the fuzz invariants on every fixture that
// parses.
func TestInvariantsOnFixtures(t *testing.T) {
	for _, file := range fixtures(t) {
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		lf, err := Parse(file, data)
		if err != nil {
			continue
		}
		checkInvariants(t, lf, bytes.Count(data, []byte("\n"))+1)
	}
}
