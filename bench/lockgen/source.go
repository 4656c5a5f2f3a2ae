package lockgen

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/provaudit/provaudit/internal/npmspec"
	"github.com/provaudit/provaudit/lockfile"
)

// depKind is the kind of a dependency edge.
type depKind uint8

const (
	depProd depKind = iota
	depOptional
	depDev // only from the root project (and workspaces)
)

// dep is one dependency as a package.json declares it.
type dep struct {
	folder string // the key: the folder name under node_modules
	target string // the registry name (differs from folder for aliases)
	rng    string // the version range, without an npm: alias prefix
	kind   depKind
}

// realPkg is one registry name@version of a source lockfile.
type realPkg struct {
	name, version, integrity string
	extra                    extraFields
	deps                     []dep
}

// extraFields are the descriptive fields copied from a real lockfile entry
// so that generated entries have a real entry's size and shape.
type extraFields struct {
	HasInstallScript json.RawMessage `json:"hasInstallScript,omitempty"`
	License          json.RawMessage `json:"license,omitempty"`
	Bin              json.RawMessage `json:"bin,omitempty"`
	Engines          json.RawMessage `json:"engines,omitempty"`
	Funding          json.RawMessage `json:"funding,omitempty"`
	OS               json.RawMessage `json:"os,omitempty"`
	CPU              json.RawMessage `json:"cpu,omitempty"`
	Deprecated       json.RawMessage `json:"deprecated,omitempty"`
}

// Source is what one real lockfile contributes to the corpus: its registry
// packages with their integrities, descriptive fields and declared
// dependencies, and the dependencies of its root project and workspaces.
type Source struct {
	// Name is the file name the source was read from.
	Name     string
	pkgs     []realPkg // in path order, first entry of each name@version
	rootDeps []dep
	// entries, dev and optional count the source's registry install
	// locations and those flagged dev (or devOptional) and optional.
	entries, dev, optional int
}

// Packages is the number of unique registry name@versions in the source.
func (s *Source) Packages() int { return len(s.pkgs) }

// rawSourceEntry is the part of a packages entry the corpus reads.
type rawSourceEntry struct {
	extraFields
	Dependencies         map[string]string `json:"dependencies"`
	DevDependencies      map[string]string `json:"devDependencies"`
	OptionalDependencies map[string]string `json:"optionalDependencies"`
}

// ParseSource reads one real lockfile (lockfileVersion 2 or 3) into a
// Source. The install locations and their kinds come from package lockfile;
// only registry entries with an integrity that are not bundled in their
// parent become corpus packages. name is used in errors.
func ParseSource(name string, data []byte) (*Source, error) {
	lf, err := lockfile.Parse(name, data)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrSource, name, err)
	}
	if lf.LockfileVersion < 2 {
		return nil, fmt.Errorf("%w: %s: lockfileVersion %d has no packages map (want 2 or 3)", ErrSource, name, lf.LockfileVersion)
	}
	var doc struct {
		Packages map[string]json.RawMessage `json:"packages"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrSource, name, err)
	}
	raw := func(path string) (*rawSourceEntry, error) {
		var e rawSourceEntry
		if b, ok := doc.Packages[path]; ok {
			if err := json.Unmarshal(b, &e); err != nil {
				return nil, fmt.Errorf("%w: %s: packages[%q]: %w", ErrSource, name, path, err)
			}
		}
		return &e, nil
	}

	s := &Source{Name: name}
	seen := map[string]bool{}
	for i := range lf.Entries {
		e := &lf.Entries[i]
		switch {
		case e.Kind == lockfile.KindWorkspace && !strings.Contains(e.Path, "node_modules/"):
			// A workspace folder: its dependencies are the project's too.
			r, err := raw(e.Path)
			if err != nil {
				return nil, err
			}
			s.rootDeps = append(s.rootDeps, declared(r)...)
			continue
		case e.Kind != lockfile.KindRegistry || e.Integrity == "" || e.InBundle:
			continue
		}
		s.entries++
		if e.Dev || e.DevOptional {
			s.dev++
		}
		if e.Optional {
			s.optional++
		}
		key := e.Name + "@" + e.Version
		if seen[key] {
			continue
		}
		seen[key] = true
		r, err := raw(e.Path)
		if err != nil {
			return nil, err
		}
		deps := declared(r)
		deps = slices.DeleteFunc(deps, func(d dep) bool { return d.kind == depDev }) // installed packages' dev deps are not installed
		s.pkgs = append(s.pkgs, realPkg{name: e.Name, version: e.Version, integrity: e.Integrity, extra: r.extraFields, deps: deps})
	}
	root, err := raw("")
	if err != nil {
		return nil, err
	}
	s.rootDeps = append(declared(root), s.rootDeps...)
	if len(s.pkgs) == 0 {
		return nil, fmt.Errorf("%w: %s: no registry packages with an integrity", ErrSource, name)
	}
	return s, nil
}

// declared lists the registry dependencies an entry declares, sorted by
// folder within each kind; git, file, link and URL specs are left out. An
// optional dependency also listed in dependencies counts once, as optional.
func declared(r *rawSourceEntry) []dep {
	var out []dep
	seen := map[string]bool{}
	for _, part := range []struct {
		m    map[string]string
		kind depKind
	}{{r.OptionalDependencies, depOptional}, {r.Dependencies, depProd}, {r.DevDependencies, depDev}} {
		for _, folder := range sortedKeys(part.m) {
			if seen[folder] {
				continue
			}
			target, rng, ok := registrySpec(folder, part.m[folder])
			if !ok {
				continue
			}
			seen[folder] = true
			out = append(out, dep{folder: folder, target: target, rng: rng, kind: part.kind})
		}
	}
	return out
}

// registrySpec splits a dependency spec into the registry name and range:
// "^1.2.0" for folder x is (x, ^1.2.0); "npm:@s/y@^2" is (@s/y, ^2). Specs
// that do not name a registry version (git, file, link, URLs, workspace:,
// tags) report false.
func registrySpec(folder, spec string) (target, rng string, ok bool) {
	target, rng = folder, strings.TrimSpace(spec)
	if rest, isAlias := strings.CutPrefix(rng, "npm:"); isAlias {
		at := strings.LastIndex(rest, "@")
		if at <= 0 {
			return rest, "*", validName(rest)
		}
		target, rng = rest[:at], rest[at+1:]
	}
	if !validName(target) || strings.ContainsAny(rng, ":/#") {
		return "", "", false
	}
	if rng == "" || rng == "latest" {
		rng = "*"
	}
	if rng[0] != '*' && rng[0] != '^' && rng[0] != '~' && rng[0] != '>' && rng[0] != '<' && rng[0] != '=' && (rng[0] < '0' || rng[0] > '9') && rng[0] != 'v' {
		return "", "", false // a dist-tag or something npm resolves elsewhere
	}
	return target, rng, true
}

// validName reports whether name is a registry package name.
func validName(name string) bool { return npmspec.ValidName(name) == nil }

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
