package lockfile

import (
	"fmt"
	"net/url"
	"path"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// This file reads the yarn.lock of yarn 2 and later ("berry"): YAML, with
// a __metadata entry, and one entry per resolution keyed by the
// descriptors that resolve to it:
//
//	"a@npm:^1.0.0, a@npm:^1.1.0":
//	  version: 1.2.0
//	  resolution: "a@npm:1.2.0"
//	  dependencies:
//	    b: "npm:^2.0.0"
//	  checksum: 10c0/<sha512 hex of yarn's zip archive of the package>
//
// The checksum hashes the archive yarn builds from the tarball, not the
// tarball npm publishes and signs, so nothing in the file pins the tarball:
// registry entries have no Integrity, and audits bind them to the
// registry's signed integrity instead (see berryReason).

// berryReason is the Reason of every registry entry of a yarn berry
// lockfile: why it has no integrity.
const berryReason = "yarn berry lockfile: its checksum hashes yarn's own archive of the package, not the registry tarball, so the lockfile pins no tarball integrity"

// Versions of __metadata read: yarn 2 wrote 4, yarn 4 writes 8 and later.
const (
	minBerryVersion = 4
	maxBerryVersion = 10
)

func parseBerry(file string, data []byte) (*Lockfile, error) {
	root, err := decodeYAML(file, data, "yarn lockfile")
	if err != nil {
		return nil, err
	}
	errs := fileErrors{file: file}
	kv, problem := mapping(root, "the lockfile")
	if problem != "" {
		errs.add(root.Line, "%s", problem)
		return nil, errs.err()
	}
	version := -1
	for i := 0; i < len(kv); i += 2 {
		if kv[i].Value == "__metadata" {
			if version, err = berryVersion(file, kv[i+1]); err != nil {
				return nil, err
			}
		}
	}
	if version < 0 {
		return nil, fmt.Errorf("%w: %s: no __metadata: this is not a yarn 2+ lockfile", ErrMalformed, file)
	}
	b := &berryReader{index: make(map[string]int, len(kv)/2)}
	for i := 0; i < len(kv); i += 2 {
		k, v := kv[i].Value, kv[i+1]
		if k == "__metadata" {
			continue
		}
		if v.Kind != yaml.MappingNode {
			errs.add(kv[i].Line, "the entry %q is %s, want a mapping", k, yamlKind(v))
			continue
		}
		b.add(k, kv[i].Line, v)
	}
	if err := errs.err(); err != nil {
		return nil, err
	}
	b.build()
	if err := sortEntries(file, b.entries); err != nil {
		return nil, err
	}
	return &Lockfile{Path: file, Format: FormatYarnBerry, LockfileVersion: version, Entries: b.entries}, nil
}

func berryVersion(file string, n *yaml.Node) (int, error) {
	kv, problem := mapping(n, "__metadata")
	if problem != "" {
		return 0, fmt.Errorf("%w: %s:%d: %s", ErrMalformed, file, n.Line, problem)
	}
	for i := 0; i < len(kv); i += 2 {
		if kv[i].Value != "version" {
			continue
		}
		vn := kv[i+1]
		s, problem := scalar(vn, "__metadata.version")
		v, err := strconv.Atoi(s)
		switch {
		case problem != "" || err != nil:
			return 0, fmt.Errorf("%w: %s:%d: __metadata.version %q is not a number", ErrMalformed, file, vn.Line, clip(s))
		case v < minBerryVersion || v > maxBerryVersion:
			return 0, fmt.Errorf("%w: %s:%d: yarn lockfile __metadata.version %d (provaudit reads %d to %d, written by yarn 2 to 4)", ErrUnsupportedVersion, file, vn.Line, v, minBerryVersion, maxBerryVersion)
		}
		return v, nil
	}
	return 0, fmt.Errorf("%w: %s:%d: __metadata has no version", ErrMalformed, file, n.Line)
}

// berryRaw is one entry as written.
type berryRaw struct {
	key  string
	line int
	node *yaml.Node
}

type berryReader struct {
	raws  []berryRaw
	index map[string]int // descriptor -> index in raws
	// resolution[i] is raws[i]'s resolution (its locator)
	resolution []string
	entries    []Entry // entries[i] is raws[i]'s
	graph      depGraph
}

func (b *berryReader) add(key string, line int, n *yaml.Node) {
	for d := range strings.SplitSeq(key, ",") {
		b.index[strings.TrimSpace(d)] = len(b.raws)
	}
	b.raws = append(b.raws, berryRaw{key: key, line: line, node: n})
}

// build makes the entries and the graph (dependencies resolved through
// their descriptors; the workspaces are its roots).
func (b *berryReader) build() {
	b.entries = make([]Entry, len(b.raws))
	b.resolution = make([]string, len(b.raws))
	b.graph.out = make([][]depEdge, len(b.raws))
	deps := make([][]berryDep, len(b.raws))
	workspace := make([]bool, len(b.raws))
	for i := range b.raws {
		b.entries[i], deps[i], b.resolution[i] = b.entry(&b.raws[i])
		workspace[i] = b.entries[i].Kind == KindWorkspace || b.entries[i].Kind == KindRoot
	}
	for i, ds := range deps {
		for _, d := range ds {
			to, ok := b.index[d.name+"@"+d.spec]
			if !ok {
				// file:, link: and portal: descriptors are bound to the
				// workspace (or package) that declares them.
				to, ok = b.index[d.name+"@"+d.spec+"::locator="+url.QueryEscape(b.resolution[i])]
			}
			if !ok {
				continue
			}
			e := depEdge{to: to, optional: d.optional}
			if workspace[i] {
				b.graph.roots = append(b.graph.roots, e)
			} else {
				b.graph.out[i] = append(b.graph.out[i], e)
			}
		}
	}
	setFlags(b.entries, &b.graph)
	out := b.entries[:0]
	for _, e := range b.entries {
		if e.Kind == KindRoot {
			continue // the project itself
		}
		if e.Kind == KindWorkspace || e.Kind == KindLink {
			e.Dev, e.Optional, e.DevOptional, e.Peer = false, false, false, false
		}
		// yarn berry lockfiles merge devDependencies into dependencies:
		// nothing is known to be dev.
		e.Dev, e.DevOptional = false, false
		out = append(out, e)
	}
	b.entries = out
}

// berryDep is a dependency as written: name -> descriptor range.
type berryDep struct {
	name, spec string
	optional   bool
}

// entry builds the entry of one lockfile entry and returns its
// dependencies and resolution.
func (b *berryReader) entry(r *berryRaw) (Entry, []berryDep, string) {
	e := Entry{Path: r.key, Line: r.line}
	var problems []string
	bad := func(s string) {
		if s != "" {
			problems = append(problems, s)
		}
	}
	kv, problem := mapping(r.node, "the entry")
	bad(problem)
	var resolution, version string
	var deps []berryDep
	var optional []string // dependenciesMeta: names marked optional
	for i := 0; i < len(kv); i += 2 {
		var p string
		switch k, v := kv[i].Value, kv[i+1]; k {
		case "resolution":
			resolution, p = scalar(v, "resolution")
		case "version":
			version, p = scalar(v, "version")
		case "dependencies", "optionalDependencies":
			var ds []*yaml.Node
			ds, p = stringMapping(v, k)
			for j := 0; j < len(ds); j += 2 {
				deps = append(deps, berryDep{name: ds[j].Value, spec: value(ds[j+1]), optional: k == "optionalDependencies"})
			}
		case "dependenciesMeta":
			var meta []*yaml.Node
			meta, p = mapping(v, k)
			for j := 0; j < len(meta) && p == ""; j += 2 {
				var fields []*yaml.Node
				fields, p = mapping(meta[j+1], k+"."+meta[j].Value)
				for l := 0; l < len(fields) && p == ""; l += 2 {
					if fields[l].Value == "optional" {
						var opt bool
						if opt, p = boolean(fields[l+1], "optional"); opt {
							optional = append(optional, meta[j].Value)
						}
					}
				}
			}
		}
		bad(p)
	}
	for i := range deps {
		for _, name := range optional {
			deps[i].optional = deps[i].optional || deps[i].name == name
		}
	}
	first, _, _ := strings.Cut(r.key, ",")
	folder, _, _ := splitNameAt(strings.TrimSpace(first))
	name, ref, ok := splitNameAt(resolution)
	if resolution == "" || !ok {
		bad(fmt.Sprintf("resolution %q is not name@reference", clip(resolution)))
	}
	e.Name, e.Version = name, version
	if folder != name {
		e.Alias = folder
	}
	if len(problems) == 0 {
		berryClassify(&e, ref)
	}
	checkEntry(&e, problems)
	if e.Kind == KindInvalid && e.Name == "" {
		e.Name = folder
	}
	return e, deps, resolution
}

// berryClassify sets the kind of an entry from its resolution reference
// (what follows "name@").
func berryClassify(e *Entry, ref string) {
	protocol, rest, _ := strings.Cut(ref, ":")
	params := ""
	if i := strings.Index(rest, "::"); i >= 0 {
		rest, params = rest[:i], rest[i+2:]
	}
	switch protocol {
	case "npm":
		v, err := url.PathUnescape(rest)
		if err != nil || e.Version != "" && v != e.Version {
			invalidate(e, fmt.Sprintf("the resolution names version %q but version is %q", clip(rest), clip(e.Version)))
			return
		}
		e.Version = v
		e.Reason = berryReason
		if u := berryParam(params, "__archiveUrl"); u != "" {
			// yarn fetches the tarball from there, not from the registry.
			e.Resolved = u
			classify(e)
			if e.Kind == KindRegistry {
				e.Reason = berryReason
			}
		}
	case "patch":
		// A patch of another locator, e.g.
		// "resolve@npm%3A1.22.1#optional!builtin<compat/resolve>": yarn
		// fetches the inner package and applies the patch to it.
		inner, patch, _ := strings.Cut(rest, "#")
		inner, err := url.QueryUnescape(inner)
		name, innerRef, ok := splitNameAt(inner)
		if err != nil || !ok || name != e.Name {
			invalidate(e, fmt.Sprintf("patch of %q, which is not a locator of %s", clip(inner), e.Name))
			return
		}
		version := e.Version
		berryClassify(e, innerRef)
		if e.Kind == KindRegistry || e.Kind == "" {
			e.Version = version
			e.Reason = berryReason + "; yarn applies the patch " + patch + " to it on install"
		}
	case "workspace":
		if rest == "." {
			e.Kind = KindRoot
			return
		}
		t := linkTarget(rest)
		e.Path, e.Kind, e.Reason = t, KindWorkspace, "workspace folder "+t
		if msg := checkPath(t); msg != "" || strings.HasPrefix(t, "../") {
			invalidate(e, "the workspace folder "+cmpMsg(msg, "is outside the project"))
		}
	case "link", "portal":
		t := linkTarget(path.Join(berryLocatorDir(params), rest))
		e.Link, e.Resolved = t, ref
		e.Kind, e.Reason = KindLink, protocol+" to "+t
		if strings.HasPrefix(t, "../") || strings.HasPrefix(t, "/") {
			e.Reason += " (outside the project)"
		}
	case "file":
		e.Resolved = ref
		e.Kind, e.Reason = KindFile, "local file dependency "+rest
	case "exec":
		e.Resolved = ref
		e.Kind, e.Reason = KindFile, "exec: dependency "+rest+" (a script that builds the package)"
	case "http", "https":
		e.Resolved = ref
		if strings.Contains(rest, "#commit=") || isGitSpec(ref) {
			e.Kind, e.Reason = KindGit, "git dependency "+ref
			return
		}
		classify(e)
	default:
		e.Resolved = ref
		if isGitSpec(ref) || strings.HasPrefix(ref, "git") {
			e.Kind, e.Reason = KindGit, "git dependency "+ref
			return
		}
		e.Kind, e.Reason = KindRemote, "resolution protocol "+protocol+": not a registry package"
	}
}

func cmpMsg(msg, otherwise string) string {
	if msg != "" {
		return msg
	}
	return otherwise
}

// berryParam returns the URL-decoded value of a "::" parameter of a
// resolution ("locator=a%40workspace%3A.&__archiveUrl=...").
func berryParam(params, name string) string {
	if params == "" {
		return ""
	}
	q, err := url.ParseQuery(params)
	if err != nil {
		return ""
	}
	return q.Get(name)
}

// berryLocatorDir returns the folder of the workspace a link is relative
// to: its locator parameter, "root@workspace:packages/a" -> "packages/a".
func berryLocatorDir(params string) string {
	loc := berryParam(params, "locator")
	_, ref, _ := splitNameAt(loc)
	if dir, ok := strings.CutPrefix(ref, "workspace:"); ok {
		return dir
	}
	return "."
}
