package lockgen_test

import (
	"crypto/sha512"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/provaudit/provaudit/bench/lockgen"
	"github.com/provaudit/provaudit/lockfile"
)

// The same tree as npm, pnpm, yarn 1, yarn berry and bun lockfiles: a
// lockgen tree of about 13,000 install locations (8,500 name@versions),
// written in each format by the writers below, as each tool lays it out:
// pnpm and yarn once per name@version with its resolved dependencies, bun
// by install path.
//
// Run (in bench/): go test -run '^$' -bench BenchmarkParseFormats -benchmem -cpu 1 ./lockgen
//
// Each result reports x-npm: its time per parse (Parse and Units) over the
// npm lockfile's, measured in the same loop (a parse of the npm lockfile
// between two parses, off the benchmark's clock), so that a machine whose
// load changes during the run moves both alike. yaml-floor is the YAML
// library alone (go.yaml.in/yaml/v3 into a yaml.Node) on the pnpm file:
// what no reader built on it can go below.
func BenchmarkParseFormats(b *testing.B) {
	files := formatTree(b)
	npm := files[0]
	for _, f := range files {
		b.Run(f.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(f.data)))
			var entries, units int
			var npmTime time.Duration
			for b.Loop() {
				lf, err := lockfile.Parse(f.file, f.data)
				if err != nil {
					b.Fatal(err)
				}
				entries, units = len(lf.Entries), len(lockfile.Units(lf))
				npmTime += parseOffClock(b, npm)
			}
			b.ReportMetric(float64(entries), "entries")
			b.ReportMetric(float64(units), "units")
			b.ReportMetric(float64(b.Elapsed())/float64(npmTime), "x-npm")
		})
	}
	b.Run("yaml-floor", func(b *testing.B) {
		pnpm := files[1]
		var npmTime time.Duration
		for b.Loop() {
			var n yaml.Node
			if err := yaml.Unmarshal(pnpm.data, &n); err != nil {
				b.Fatal(err)
			}
			npmTime += parseOffClock(b, npm)
		}
		b.ReportMetric(float64(b.Elapsed())/float64(npmTime), "x-npm")
	})
}

// parseOffClock parses the npm lockfile with the benchmark's timer
// stopped and returns how long it took.
func parseOffClock(b *testing.B, npm formatFile) time.Duration {
	b.StopTimer()
	defer b.StartTimer()
	start := time.Now()
	lf, err := lockfile.Parse(npm.file, npm.data)
	if err != nil {
		b.Fatal(err)
	}
	lockfile.Units(lf)
	return time.Since(start)
}

type formatFile struct {
	name, file string
	data       []byte
}

var (
	treeOnce  sync.Once
	treeFiles []formatFile
	treeErr   error
)

// formatTree generates the tree once and writes it in every format.
func formatTree(b *testing.B) []formatFile {
	b.Helper()
	treeOnce.Do(func() { treeFiles, treeErr = writeFormats(8500) })
	if treeErr != nil {
		b.Fatal(treeErr)
	}
	return treeFiles
}

// writeFormats generates a lockgen tree of n name@versions and writes it
// in every format, npm first.
func writeFormats(n int) ([]formatFile, error) {
	files, err := filepath.Glob("../../testdata/lockfiles/real-projects/*/package-lock.json")
	if err != nil || len(files) == 0 {
		return nil, fmt.Errorf("no real-project lockfiles: %v", err)
	}
	sources, err := lockgen.LoadSources(files...)
	if err != nil {
		return nil, err
	}
	gen, err := lockgen.Generate(lockgen.Options{Sources: sources, Packages: n, Seed: 1})
	if err != nil {
		return nil, err
	}
	t, err := readTree(gen.JSON)
	if err != nil {
		return nil, err
	}
	return []formatFile{
		{"npm", "package-lock.json", gen.JSON},
		{"pnpm-v9", "pnpm-lock.yaml", t.pnpm()},
		{"yarn-v1", "yarn.lock", t.yarnV1()},
		{"yarn-berry", "yarn.lock", t.berry()},
		{"bun", "bun.lock", t.bun()},
	}, nil
}

// TestBenchmarkTreeSameUnits: the benchmark compares one tree: every
// format written from it gives the npm lockfile's units (yarn berry:
// name@versions), and pnpm and bun its dev flags.
func TestBenchmarkTreeSameUnits(t *testing.T) {
	files, err := writeFormats(400)
	if err != nil {
		t.Fatal(err)
	}
	set := func(f formatFile, integrity bool) (map[string]bool, map[string]bool) {
		lf, err := lockfile.Parse(f.file, f.data)
		if err != nil {
			t.Fatalf("%s: %v", f.name, err)
		}
		units, dev := map[string]bool{}, map[string]bool{}
		for _, u := range lockfile.Units(lf) {
			k := u.Name + "@" + u.Version
			if integrity {
				k += "#" + u.Integrity
			}
			units[k] = true
			dev[k] = u.Omitted(lockfile.Omit{Dev: true})
		}
		return units, dev
	}
	for _, f := range files[1:] {
		pinned := f.name != "yarn-berry"
		want, wantDev := set(files[0], pinned)
		got, gotDev := set(f, pinned)
		if len(want) < 400 || len(got) != len(want) {
			t.Errorf("%s: %d units, npm %d", f.name, len(got), len(want))
		}
		for k := range want {
			if !got[k] {
				t.Errorf("%s: no %s", f.name, k)
			} else if (f.name == "pnpm-v9" || f.name == "bun") && gotDev[k] != wantDev[k] {
				t.Errorf("%s: %s omitted with --omit dev: %v, npm: %v", f.name, k, gotDev[k], wantDev[k])
			}
		}
	}
}

// tree is an npm lockfileVersion 3 tree with every dependency resolved.
type tree struct {
	paths []string // sorted install paths, root ("") first
	pkgs  map[string]*treePkg
}

type treePkg struct {
	Name, Version, Resolved, Integrity string
	Dev, Optional                      bool
	Dependencies                       map[string]string
	OptionalDependencies               map[string]string
	DevDependencies                    map[string]string
	path                               string
	resolved                           map[string]*treePkg // dependency name -> package
}

func (p *treePkg) id() string { return p.Name + "@" + p.Version }

func readTree(data []byte) (*tree, error) {
	var lf struct {
		Packages map[string]*treePkg `json:"packages"`
	}
	if err := json.Unmarshal(data, &lf); err != nil {
		return nil, err
	}
	t := &tree{pkgs: lf.Packages}
	for path, p := range lf.Packages {
		p.path = path
		if p.Name == "" && path != "" {
			p.Name = path[strings.LastIndex(path, "node_modules/")+len("node_modules/"):]
		}
		t.paths = append(t.paths, path)
	}
	slices.Sort(t.paths)
	for _, path := range t.paths {
		p := t.pkgs[path]
		p.resolved = map[string]*treePkg{}
		for _, deps := range []map[string]string{p.Dependencies, p.OptionalDependencies, p.DevDependencies} {
			for name := range deps {
				// Node resolution: the nearest node_modules/name up the path.
				for dir := path; ; {
					key := "node_modules/" + name
					if dir != "" {
						key = dir + "/" + key
					}
					if q, ok := t.pkgs[key]; ok {
						p.resolved[name] = q
						break
					}
					if dir == "" {
						return nil, fmt.Errorf("%s: dependency %s does not resolve", path, name)
					}
					i := strings.LastIndex(dir, "/node_modules/")
					if i < 0 {
						dir = ""
					} else {
						dir = dir[:i]
					}
				}
			}
		}
	}
	return t, nil
}

// unique returns one package per name@version, in id order.
func (t *tree) unique() []*treePkg {
	seen := map[string]*treePkg{}
	for _, path := range t.paths[1:] {
		p := t.pkgs[path]
		if _, ok := seen[p.id()]; !ok {
			seen[p.id()] = p
		}
	}
	out := make([]*treePkg, 0, len(seen))
	for _, p := range seen {
		out = append(out, p)
	}
	slices.SortFunc(out, func(a, b *treePkg) int { return strings.Compare(a.id(), b.id()) })
	return out
}

// specs returns, per name@version, the ranges its dependents ask for:
// each name@range once, for the first package it resolves to (a yarn
// descriptor resolves to one package); a package no range is left for
// gets its exact version.
func (t *tree) specs() map[string][]string {
	out := map[string][]string{}
	taken := map[string]bool{}
	for _, path := range t.paths {
		p := t.pkgs[path]
		for _, deps := range []map[string]string{p.Dependencies, p.OptionalDependencies, p.DevDependencies} {
			for _, name := range sortedKeys(deps) {
				q := p.resolved[name]
				d := q.Name + "@" + deps[name]
				if !taken[d] {
					taken[d] = true
					out[q.id()] = append(out[q.id()], deps[name])
				}
			}
		}
	}
	for _, p := range t.unique() {
		if len(out[p.id()]) == 0 && !taken[p.id()] {
			out[p.id()] = []string{p.Version}
		}
		slices.Sort(out[p.id()])
	}
	return out
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func yamlKey(s string) string {
	if strings.HasPrefix(s, "@") {
		return "'" + s + "'"
	}
	return s
}

func (t *tree) pnpm() []byte {
	var b strings.Builder
	b.WriteString("lockfileVersion: '9.0'\n\nsettings:\n  autoInstallPeers: true\n  excludeLinksFromLockfile: false\n\nimporters:\n\n  .:\n")
	root := t.pkgs[""]
	for _, g := range []struct {
		field string
		deps  map[string]string
	}{{"dependencies", root.Dependencies}, {"optionalDependencies", root.OptionalDependencies}, {"devDependencies", root.DevDependencies}} {
		if len(g.deps) == 0 {
			continue
		}
		fmt.Fprintf(&b, "    %s:\n", g.field)
		for _, name := range sortedKeys(g.deps) {
			fmt.Fprintf(&b, "      %s:\n        specifier: %s\n        version: %s\n", yamlKey(name), g.deps[name], root.resolved[name].Version)
		}
	}
	pkgs := t.unique()
	b.WriteString("\npackages:\n")
	for _, p := range pkgs {
		fmt.Fprintf(&b, "\n  %s:\n    resolution: {integrity: %s}\n    engines: {node: '>=14'}\n", yamlKey(p.id()), p.Integrity)
	}
	b.WriteString("\nsnapshots:\n")
	for _, p := range pkgs {
		if len(p.Dependencies)+len(p.OptionalDependencies) == 0 {
			fmt.Fprintf(&b, "\n  %s: {}\n", yamlKey(p.id()))
			continue
		}
		fmt.Fprintf(&b, "\n  %s:\n", yamlKey(p.id()))
		for _, g := range []struct {
			field string
			deps  map[string]string
		}{{"dependencies", p.Dependencies}, {"optionalDependencies", p.OptionalDependencies}} {
			if len(g.deps) == 0 {
				continue
			}
			fmt.Fprintf(&b, "    %s:\n", g.field)
			for _, name := range sortedKeys(g.deps) {
				fmt.Fprintf(&b, "      %s: %s\n", yamlKey(name), p.resolved[name].Version)
			}
		}
	}
	return []byte(b.String())
}

func (t *tree) yarnV1() []byte {
	var b strings.Builder
	b.WriteString("# THIS IS AN AUTOGENERATED FILE. DO NOT EDIT THIS FILE DIRECTLY.\n# yarn lockfile v1\n\n")
	specs := t.specs()
	for _, p := range t.unique() {
		var keys []string
		for _, r := range specs[p.id()] {
			keys = append(keys, fmt.Sprintf("%q", p.Name+"@"+r))
		}
		sum := sha512.Sum512([]byte(p.id()))
		fmt.Fprintf(&b, "\n%s:\n  version %q\n  resolved %q\n  integrity %s\n", strings.Join(keys, ", "), p.Version,
			p.Resolved+"#"+hex.EncodeToString(sum[:20]), p.Integrity)
		if len(p.Dependencies) > 0 {
			b.WriteString("  dependencies:\n")
			for _, name := range sortedKeys(p.Dependencies) {
				fmt.Fprintf(&b, "    %q %q\n", name, p.Dependencies[name])
			}
		}
	}
	return []byte(b.String())
}

func (t *tree) berry() []byte {
	var b strings.Builder
	b.WriteString("# This file is generated by running \"yarn install\" inside your project.\n\n__metadata:\n  version: 8\n  cacheKey: 10c0\n")
	specs := t.specs()
	for _, p := range t.unique() {
		var keys []string
		for _, r := range specs[p.id()] {
			keys = append(keys, p.Name+"@npm:"+r)
		}
		sum := sha512.Sum512([]byte(p.id()))
		fmt.Fprintf(&b, "\n%q:\n  version: %s\n  resolution: %q\n", strings.Join(keys, ", "), p.Version, p.Name+"@npm:"+p.Version)
		if len(p.Dependencies) > 0 {
			b.WriteString("  dependencies:\n")
			for _, name := range sortedKeys(p.Dependencies) {
				fmt.Fprintf(&b, "    %s: %q\n", yamlKey(name), "npm:"+p.Dependencies[name])
			}
		}
		fmt.Fprintf(&b, "  checksum: 10c0/%s\n  languageName: node\n  linkType: hard\n", hex.EncodeToString(sum[:]))
	}
	return []byte(b.String())
}

func (t *tree) bun() []byte {
	var b strings.Builder
	root := t.pkgs[""]
	rootDeps, _ := json.Marshal(map[string]any{"name": "provaudit-bench", "dependencies": root.Dependencies,
		"optionalDependencies": root.OptionalDependencies, "devDependencies": root.DevDependencies})
	fmt.Fprintf(&b, "{\n  \"lockfileVersion\": 1,\n  \"workspaces\": {\n    \"\": %s,\n  },\n  \"packages\": {\n", rootDeps)
	for _, path := range t.paths[1:] {
		p := t.pkgs[path]
		key := strings.ReplaceAll(strings.TrimPrefix(path, "node_modules/"), "/node_modules/", "/")
		deps, _ := json.Marshal(map[string]map[string]string{"dependencies": p.Dependencies, "optionalDependencies": p.OptionalDependencies})
		fmt.Fprintf(&b, "    %q: [%q, \"\", %s, %q],\n\n", key, p.id(), deps, p.Integrity)
	}
	b.WriteString("  }\n}\n")
	return []byte(b.String())
}
