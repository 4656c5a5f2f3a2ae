package lockgen

import (
	"bytes"
	"encoding/json"
	"errors"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/Masterminds/semver/v3"

	"github.com/provaudit/provaudit/lockfile"
)

var (
	sourcesOnce sync.Once
	sources     []*Source
	sourcesErr  error
)

// realSources parses the real-project lockfiles of the repository once.
func realSources(t testing.TB) []*Source {
	t.Helper()
	sourcesOnce.Do(func() {
		files, err := filepath.Glob("../../testdata/lockfiles/real-projects/*/package-lock.json")
		if err != nil || len(files) == 0 {
			sourcesErr = errors.New("no real-project lockfiles in testdata")
			return
		}
		sources, sourcesErr = LoadSources(files...)
	})
	if sourcesErr != nil {
		t.Fatal(sourcesErr)
	}
	return sources
}

// corpus maps every real name@version of the sources to its integrity.
func corpus(srcs []*Source) map[string]string {
	m := map[string]string{}
	for _, s := range srcs {
		for _, p := range s.pkgs {
			if _, ok := m[p.name+"@"+p.version]; !ok {
				m[p.name+"@"+p.version] = p.integrity
			}
		}
	}
	return m
}

type genEntry struct {
	Name                 string            `json:"name"`
	Version              string            `json:"version"`
	Resolved             string            `json:"resolved"`
	Integrity            string            `json:"integrity"`
	Dev                  bool              `json:"dev"`
	Optional             bool              `json:"optional"`
	DevOptional          bool              `json:"devOptional"`
	Dependencies         map[string]string `json:"dependencies"`
	DevDependencies      map[string]string `json:"devDependencies"`
	OptionalDependencies map[string]string `json:"optionalDependencies"`
}

// resolveFrom walks up from an install location to the nearest folder of
// that name, as Node.js and npm resolve dependencies.
func resolveFrom(pkgs map[string]*genEntry, from, folder string) string {
	loc := from
	for {
		cand := "node_modules/" + folder
		if loc != "" {
			cand = loc + "/node_modules/" + folder
		}
		if _, ok := pkgs[cand]; ok {
			return cand
		}
		if loc == "" {
			return ""
		}
		if i := strings.LastIndex(loc, "/node_modules/"); i >= 0 {
			loc = loc[:i]
		} else {
			loc = ""
		}
	}
}

// checkTree checks, independently of the generator, that every declared
// dependency resolves to an entry satisfying it, that every entry is
// reached from the root, and that the flags are the ones the graph gives.
func checkTree(t *testing.T, data []byte) {
	t.Helper()
	var doc struct {
		LockfileVersion int                  `json:"lockfileVersion"`
		Packages        map[string]*genEntry `json:"packages"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	if doc.LockfileVersion != 3 {
		t.Fatalf("lockfileVersion %d", doc.LockfileVersion)
	}
	type state struct{ prodReq, prodAny, devReq, devAny bool }
	st := map[string]*state{}
	var work []string
	mark := func(path string, s state) {
		cur := st[path]
		if cur == nil {
			cur = &state{}
			st[path] = cur
		}
		next := state{cur.prodReq || s.prodReq, cur.prodAny || s.prodAny, cur.devReq || s.devReq, cur.devAny || s.devAny}
		if next != *cur {
			*cur = next
			work = append(work, path)
		}
	}
	follow := func(from string, deps map[string]string, kind string, s state) {
		for folder, spec := range deps {
			to := resolveFrom(doc.Packages, from, folder)
			if to == "" {
				t.Fatalf("%q: dependency %s is installed nowhere it can see", from, folder)
			}
			e := doc.Packages[to]
			name, rng := folder, spec
			if rest, ok := strings.CutPrefix(spec, "npm:"); ok {
				at := strings.LastIndex(rest, "@")
				name, rng = rest[:at], rest[at+1:]
			}
			if got := cmpName(e, to); got != name {
				t.Fatalf("%q: %s resolves to %s, a %s", from, folder, to, got)
			}
			c, err := semver.NewConstraint(rng)
			if err != nil {
				t.Fatalf("%q: %s: range %q: %v", from, folder, rng, err)
			}
			if !c.Check(semver.MustParse(e.Version)) {
				t.Fatalf("%q: %s@%s resolves to %s@%s", from, folder, spec, to, e.Version)
			}
			req := kind != "optional"
			mark(to, state{s.prodReq && req, s.prodAny, s.devReq && req, s.devAny})
		}
	}
	root := doc.Packages[""]
	if root == nil {
		t.Fatal("no root entry")
	}
	follow("", root.Dependencies, "prod", state{true, true, false, false})
	follow("", root.OptionalDependencies, "optional", state{false, true, false, false})
	follow("", root.DevDependencies, "prod", state{false, false, true, true})
	for len(work) > 0 {
		p := work[len(work)-1]
		work = work[:len(work)-1]
		e, s := doc.Packages[p], *st[p]
		follow(p, e.Dependencies, "prod", s)
		follow(p, e.OptionalDependencies, "optional", s)
	}
	for path, e := range doc.Packages {
		if path == "" {
			continue
		}
		s := st[path]
		if s == nil {
			t.Fatalf("%s is reached by no dependency", path)
		}
		var dev, opt, devOpt bool
		switch {
		case s.prodReq:
		case s.prodAny && s.devReq:
			devOpt = true
		case s.prodAny:
			opt = true
		case s.devReq:
			dev = true
		default:
			dev, opt = true, true
		}
		if e.Dev != dev || e.Optional != opt || e.DevOptional != devOpt {
			t.Fatalf("%s: flags dev=%t optional=%t devOptional=%t, the graph gives %t %t %t", path, e.Dev, e.Optional, e.DevOptional, dev, opt, devOpt)
		}
		if want := TarballURL(cmpName(e, path), e.Version); e.Resolved != want {
			t.Fatalf("%s: resolved %s, want %s", path, e.Resolved, want)
		}
	}
}

func cmpName(e *genEntry, path string) string {
	if e.Name != "" {
		return e.Name
	}
	return path[strings.LastIndex(path, "node_modules/")+len("node_modules/"):]
}

func TestGenerate(t *testing.T) {
	srcs := realSources(t)
	real := corpus(srcs)
	for _, tc := range []struct {
		packages                     int
		wantGenerated, wantStructure bool
	}{
		{packages: 1},
		{packages: 40},
		{packages: 1000, wantStructure: true},
		{packages: 4000, wantGenerated: true, wantStructure: true},
	} {
		t.Run(strconv.Itoa(tc.packages), func(t *testing.T) {
			lf, err := Generate(Options{Sources: srcs, Packages: tc.packages, Seed: 7})
			if err != nil {
				t.Fatal(err)
			}
			parsed, err := lockfile.Parse("gen.json", lf.JSON)
			if err != nil {
				t.Fatal(err)
			}
			units := lockfile.Units(parsed)
			registry, synth := 0, 0
			for _, u := range units {
				if u.Kind != lockfile.KindRegistry {
					t.Fatalf("%s: kind %s", u.Key(), u.Kind)
				}
				registry++
				if in, ok := real[u.Name+"@"+u.Version]; ok {
					if u.Integrity != in {
						t.Fatalf("%s@%s: integrity %s, the source has %s", u.Name, u.Version, u.Integrity, in)
					}
				} else {
					synth++
					if u.Integrity != syntheticIntegrity(u.Name, u.Version) {
						t.Fatalf("%s@%s: integrity %s is not the generated one", u.Name, u.Version, u.Integrity)
					}
				}
			}
			st := lf.Stats
			switch {
			case registry != tc.packages || st.Packages != tc.packages:
				t.Fatalf("%d units (stats %d), want %d", registry, st.Packages, tc.packages)
			case len(parsed.Entries) != st.Entries:
				t.Fatalf("%d entries, stats say %d", len(parsed.Entries), st.Entries)
			case synth != st.Generated || st.Real+st.Generated != tc.packages:
				t.Fatalf("%d generated versions, stats say %+v", synth, st)
			case tc.wantGenerated != (synth > 0):
				t.Fatalf("%d generated versions for %d packages (%d real available)", synth, tc.packages, len(real))
			}
			if tc.wantStructure && (st.Scoped == 0 || st.Nested == 0 || st.Duplicated == 0 || st.Dev == 0 || st.Optional == 0 || st.MaxDepth < 2) {
				t.Fatalf("not shaped like a real tree: %+v", st)
			}
			checkTree(t, lf.JSON)
		})
	}
}

func TestGenerateDeterministic(t *testing.T) {
	srcs := realSources(t)
	a, err := Generate(Options{Sources: srcs, Packages: 3000, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	b, err := Generate(Options{Sources: srcs, Packages: 3000, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	c, err := Generate(Options{Sources: srcs, Packages: 3000, Seed: 2})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a.JSON, b.JSON) {
		t.Fatal("same seed, different lockfiles")
	}
	if bytes.Equal(a.JSON, c.JSON) {
		t.Fatal("different seeds, same lockfile")
	}
}

func TestGenerateErrors(t *testing.T) {
	srcs := realSources(t)
	for _, tc := range []struct {
		name string
		opts Options
	}{
		{"no sources", Options{Packages: 10}},
		{"zero packages", Options{Sources: srcs}},
		{"negative packages", Options{Sources: srcs, Packages: -1}},
		{"too many packages", Options{Sources: srcs, Packages: maxPackages + 1}},
		{"nil source", Options{Sources: []*Source{nil}, Packages: 10}},
		{"empty source", Options{Sources: []*Source{{Name: "x"}}, Packages: 10}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			lf, err := Generate(tc.opts)
			if !errors.Is(err, ErrOptions) || lf != nil {
				t.Fatalf("got %v, %v; want ErrOptions", lf, err)
			}
		})
	}
}

var (
	sriA = syntheticIntegrity("a", "1")
	sriB = syntheticIntegrity("b", "1")
	sriC = syntheticIntegrity("c", "1")
)

func TestParseSourceErrors(t *testing.T) {
	for _, tc := range []struct {
		name, data string
	}{
		{"not json", `{"lockfileVersion": 3, "packages": {`},
		{"version 1", `{"lockfileVersion": 1, "dependencies": {"a": {"version": "1.0.0", "resolved": "https://registry.invalid/a/-/a-1.0.0.tgz", "integrity": "sha512-AAAA"}}}`},
		{"no registry packages", `{"lockfileVersion": 3, "packages": {"": {"name": "x"}, "node_modules/a": {"version": "1.0.0", "resolved": "git+ssh://git@host/a.git#abc"}}}`},
		{"no integrity", `{"lockfileVersion": 3, "packages": {"": {}, "node_modules/a": {"version": "1.0.0", "resolved": "https://registry.invalid/a/-/a-1.0.0.tgz"}}}`},
		{"bad dependencies", `{"lockfileVersion": 3, "packages": {"": {}, "node_modules/a": {"version": "1.0.0", "resolved": "https://registry.invalid/a/-/a-1.0.0.tgz", "integrity": "sha512-AAAA", "dependencies": ["b"]}}}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := ParseSource(tc.name, []byte(strings.ReplaceAll(tc.data, "sha512-AAAA", sriA)))
			if !errors.Is(err, ErrSource) || s != nil {
				t.Fatalf("got %v, %v; want ErrSource", s, err)
			}
		})
	}
	if _, err := LoadSources(); !errors.Is(err, ErrOptions) {
		t.Fatalf("no paths: %v", err)
	}
	if _, err := LoadSources("testdata/does-not-exist.json"); !errors.Is(err, ErrSource) {
		t.Fatalf("missing file: %v", err)
	}
}

func TestParseSource(t *testing.T) {
	data := strings.NewReplacer("sha512-AAAA", sriA, "sha512-BBBB", sriB, "sha512-CCCC", sriC).Replace(`{"lockfileVersion": 3, "packages": {
  "": {"name": "p", "dependencies": {"a": "^1.0.0", "g": "github:o/g"}, "devDependencies": {"s": "npm:@x/s@^2"}},
  "node_modules/a": {"version": "1.2.0", "resolved": "https://registry.invalid/a/-/a-1.2.0.tgz", "integrity": "sha512-AAAA", "license": "MIT",
    "dependencies": {"b": "~0.1"}, "optionalDependencies": {"c": "*"}, "devDependencies": {"d": "1"}},
  "node_modules/s": {"name": "@x/s", "version": "2.0.0", "resolved": "https://registry.invalid/@x/s/-/s-2.0.0.tgz", "integrity": "sha512-BBBB"},
  "node_modules/a/node_modules/b": {"version": "0.1.5", "resolved": "https://registry.invalid/b/-/b-0.1.5.tgz", "integrity": "sha512-CCCC", "inBundle": true}
}}`)
	s, err := ParseSource("src.json", []byte(data))
	if err != nil {
		t.Fatal(err)
	}
	if s.Packages() != 2 || s.entries != 2 {
		t.Fatalf("packages %d entries %d, want 2 and 2 (bundled left out)", s.Packages(), s.entries)
	}
	a := s.pkgs[0]
	if a.name != "a" || a.integrity != sriA || string(a.extra.License) != `"MIT"` {
		t.Fatalf("a: %+v", a)
	}
	wantDeps := []dep{{"c", "c", "*", depOptional}, {"b", "b", "~0.1", depProd}}
	if len(a.deps) != len(wantDeps) || a.deps[0] != wantDeps[0] || a.deps[1] != wantDeps[1] {
		t.Fatalf("a deps %+v, want %+v (dev dependencies of installed packages left out)", a.deps, wantDeps)
	}
	if s.pkgs[1].name != "@x/s" {
		t.Fatalf("alias entry name %q", s.pkgs[1].name)
	}
	wantRoot := []dep{{"a", "a", "^1.0.0", depProd}, {"s", "@x/s", "^2", depDev}}
	if len(s.rootDeps) != 2 || s.rootDeps[0] != wantRoot[0] || s.rootDeps[1] != wantRoot[1] {
		t.Fatalf("root deps %+v, want %+v (git spec left out)", s.rootDeps, wantRoot)
	}
}

func TestRegistrySpec(t *testing.T) {
	for _, tc := range []struct {
		folder, spec, target, rng string
		ok                        bool
	}{
		{"a", "^1.2.3", "a", "^1.2.3", true},
		{"a", "", "a", "*", true},
		{"a", "latest", "a", "*", true},
		{"a", ">=1 <2 || 3.x", "a", ">=1 <2 || 3.x", true},
		{"a", "1.0.0", "a", "1.0.0", true},
		{"cjs", "npm:string-width@^4.2.0", "string-width", "^4.2.0", true},
		{"s", "npm:@scope/x@~1", "@scope/x", "~1", true},
		{"s", "npm:@scope/x", "@scope/x", "*", true},
		{"a", "next", "", "", false},
		{"a", "github:o/a", "", "", false},
		{"a", "git+https://h/a.git", "", "", false},
		{"a", "file:../a", "", "", false},
		{"a", "https://h/a.tgz", "", "", false},
		{"a", "workspace:*", "", "", false},
		{"Bad Name", "^1", "", "", false},
		{"s", "npm:@scope", "", "", false},
	} {
		target, rng, ok := registrySpec(tc.folder, tc.spec)
		if ok != tc.ok || ok && (target != tc.target || rng != tc.rng) {
			t.Errorf("registrySpec(%q, %q) = %q, %q, %t; want %q, %q, %t", tc.folder, tc.spec, target, rng, ok, tc.target, tc.rng, tc.ok)
		}
	}
}

func FuzzParseSource(f *testing.F) {
	f.Add([]byte(`{"lockfileVersion": 3, "packages": {"": {"dependencies": {"a": "^1"}}, "node_modules/a": {"version": "1.0.0", "resolved": "https://registry.invalid/a/-/a-1.0.0.tgz", "integrity": "` + sriA + `", "dependencies": {"b": "npm:c@1"}}}}`))
	f.Add([]byte(`{"lockfileVersion": 2, "packages": {"node_modules/@s/a": {"version": "1.0.0", "resolved": "https://registry.invalid/@s/a/-/a-1.0.0.tgz", "integrity": "sha1-AAAAAAAAAAAAAAAAAAAAAAAAAAA=", "optionalDependencies": {"x": ""}}}}`))
	f.Add([]byte(`{"lockfileVersion": 1}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := ParseSource("fuzz.json", data)
		if err != nil {
			if !errors.Is(err, ErrSource) {
				t.Fatalf("error without ErrSource: %v", err)
			}
			return
		}
		if s.Packages() == 0 {
			t.Fatal("a source without packages was accepted")
		}
		for _, p := range s.pkgs {
			for _, d := range p.deps {
				if !validName(d.target) || d.rng == "" || d.kind == depDev {
					t.Fatalf("bad dependency %+v of %s", d, p.name)
				}
			}
		}
		// Whatever parses must generate a valid lockfile.
		lf, err := Generate(Options{Sources: []*Source{s}, Packages: s.Packages() + 2, Seed: 1})
		if err != nil {
			if errors.Is(err, ErrGenerate) {
				return // e.g. no source version is a semantic version
			}
			t.Fatal(err)
		}
		if _, err := lockfile.Parse("gen.json", lf.JSON); err != nil {
			t.Fatalf("generated lockfile does not parse: %v\n%s", err, lf.JSON)
		}
	})
}
