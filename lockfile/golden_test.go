package lockfile

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/provaudit/provaudit/internal/npmspec"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

// fixtureRoot holds the project's copies of the shared lockfile fixtures.
const fixtureRoot = "../testdata/lockfiles"

// fixtures returns every fixture file under testdata/lockfiles, relative to
// the package directory.
func fixtures(t testing.TB) []string {
	t.Helper()
	var files []string
	err := filepath.WalkDir(fixtureRoot, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			files = append(files, filepath.ToSlash(p))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 70 {
		t.Fatalf("found %d fixture files under %s, want the 73 of MANIFEST section 7", len(files), fixtureRoot)
	}
	return files
}

// summary is what a golden file records about one fixture.
type summary struct {
	File            string         `json:"file"`
	Error           string         `json:"error,omitempty"`
	Sentinels       []string       `json:"sentinels,omitempty"`
	LockfileVersion int            `json:"lockfileVersion,omitempty"`
	Name            string         `json:"name,omitempty"`
	Version         string         `json:"version,omitempty"`
	Entries         int            `json:"entries"`
	WithResolved    int            `json:"withResolved"`
	WithIntegrity   int            `json:"withIntegrity"`
	WeakIntegrity   int            `json:"weakIntegrity"`
	Kinds           map[Kind]int   `json:"kinds,omitempty"`
	Flags           map[string]int `json:"flags,omitempty"`
	Units           int            `json:"units"`
	UnitKinds       map[Kind]int   `json:"unitKinds,omitempty"`
	Named           []named        `json:"named,omitempty"`
}

type named struct {
	Why     string `json:"why"`
	Path    string `json:"path"`
	Line    int    `json:"line"`
	Name    string `json:"name"`
	Alias   string `json:"alias,omitempty"`
	Version string `json:"version,omitempty"`
	Kind    Kind   `json:"kind"`
	Reason  string `json:"reason,omitempty"`
}

func sentinels(err error) []string {
	var out []string
	for _, s := range []struct {
		name string
		err  error
	}{{"ErrNotFound", ErrNotFound}, {"ErrSyntax", ErrSyntax}, {"ErrUnsupportedVersion", ErrUnsupportedVersion}, {"ErrMalformed", ErrMalformed},
		{"ErrUnsupportedFormat", ErrUnsupportedFormat}, {"ErrAmbiguous", ErrAmbiguous}} {
		if errors.Is(err, s.err) {
			out = append(out, s.name)
		}
	}
	return out
}

func summarize(file string, lf *Lockfile, err error) summary {
	s := summary{File: strings.TrimPrefix(file, fixtureRoot+"/")}
	if err != nil {
		s.Error = err.Error()
		s.Sentinels = sentinels(err)
		return s
	}
	s.LockfileVersion, s.Name, s.Version = lf.LockfileVersion, lf.Name, lf.Version
	s.Entries = len(lf.Entries)
	s.Kinds = map[Kind]int{}
	s.Flags = map[string]int{}
	var picks []named
	picked := map[string]bool{}
	pick := func(why string, e *Entry) {
		if picked[why] {
			return
		}
		picked[why] = true
		picks = append(picks, named{Why: why, Path: e.Path, Line: e.Line, Name: e.Name, Alias: e.Alias, Version: e.Version, Kind: e.Kind, Reason: e.Reason})
	}
	for i := range lf.Entries {
		e := &lf.Entries[i]
		s.Kinds[e.Kind]++
		if e.Resolved != "" {
			s.WithResolved++
		}
		if e.Integrity != "" {
			s.WithIntegrity++
			if in, err := npmspec.ParseIntegrity(e.Integrity); err != nil || in.Strongest() == npmspec.SHA1 {
				s.WeakIntegrity++
			}
		}
		for name, set := range map[string]bool{"dev": e.Dev, "optional": e.Optional, "devOptional": e.DevOptional, "peer": e.Peer, "inBundle": e.InBundle, "bundledBy": e.BundledBy != "", "alias": e.Alias != ""} {
			if set {
				s.Flags[name]++
			}
		}
		if i == 0 {
			pick("first entry", e)
		}
		pick("first "+string(e.Kind), e)
		if e.Alias != "" {
			pick("first alias", e)
		}
		if e.InBundle {
			pick("first inBundle", e)
		}
		if e.BundledBy != "" {
			pick("first bundled by a dependency", e)
		}
		if i == len(lf.Entries)-1 {
			pick("last entry", e)
		}
	}
	// Keep each entry once, under the first reason it was picked for.
	seen := map[string]bool{}
	for _, p := range picks {
		if !seen[p.Path] {
			seen[p.Path] = true
			s.Named = append(s.Named, p)
		}
	}
	units := Units(lf)
	s.Units = len(units)
	s.UnitKinds = map[Kind]int{}
	for _, u := range units {
		s.UnitKinds[u.Kind]++
	}
	return s
}

func goldenPath(file string) string {
	rel := strings.TrimPrefix(file, fixtureRoot+"/")
	return filepath.Join("testdata", "golden", strings.ReplaceAll(rel, "/", "__")+".json")
}

// TestGolden checks every fixture lockfile against its golden summary.
func TestGolden(t *testing.T) {
	for _, file := range fixtures(t) {
		t.Run(strings.TrimPrefix(file, fixtureRoot+"/"), func(t *testing.T) {
			lf, err := Load(file)
			got, jerr := json.MarshalIndent(summarize(file, lf, err), "", "  ")
			if jerr != nil {
				t.Fatal(jerr)
			}
			got = append(got, '\n')
			golden := goldenPath(file)
			if *update {
				if err := os.WriteFile(golden, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, rerr := os.ReadFile(golden)
			if rerr != nil {
				t.Fatalf("%v (run go test ./lockfile -run TestGolden -update to create it)", rerr)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("summary of %s differs from %s:\ngot:\n%s\nwant:\n%s", file, golden, got, want)
			}
		})
	}
}

// TestGoldenComplete fails when a golden file has no fixture any more.
func TestGoldenComplete(t *testing.T) {
	want := map[string]bool{}
	for _, f := range fixtures(t) {
		want[filepath.Base(goldenPath(f))] = true
	}
	entries, err := os.ReadDir(filepath.Join("testdata", "golden"))
	if err != nil {
		t.Fatal(err)
	}
	var stale []string
	for _, e := range entries {
		if !want[e.Name()] {
			stale = append(stale, e.Name())
		}
	}
	slices.Sort(stale)
	if len(stale) > 0 {
		t.Errorf("golden files without a fixture: %v", stale)
	}
	if len(entries) != len(want) {
		t.Errorf("%d golden files for %d fixtures", len(entries), len(want))
	}
}
