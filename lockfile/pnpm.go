package lockfile

import (
	"fmt"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// This file reads pnpm-lock.yaml, lockfileVersion 6 and 9.
//
// Both record every package once, under a key name@version (v6: with a
// leading "/"), with a peer suffix "(peer@1.0.0)" for each set of peers it
// is installed with. Version 6 keeps a package's resolution, flags and
// dependencies together under packages; version 9 splits them into
// packages (resolution, peerDependencies) and snapshots (dependencies, one
// per peer suffix). importers (or, for a v6 project without workspaces,
// the top-level dependencies) list what the project and each workspace
// depend on, as {specifier, version} where version is a reference to a
// package key (or link: to a folder).

// pnpmPackage is what the packages (and v9 snapshots) section says about one
// key.
type pnpmPackage struct {
	key  string // as written
	line int
	info *yaml.Node // the packages entry (nil: none)
	snap *yaml.Node // the v9 snapshot (v6: the packages entry)
}

func parsePnpm(file string, data []byte) (*Lockfile, error) {
	root, err := decodeYAML(file, data, "pnpm lockfile")
	if err != nil {
		return nil, err
	}
	r := &pnpmReader{errs: fileErrors{file: file}, index: map[string]int{}, workspaces: map[string]bool{}}
	kv, problem := mapping(root, "the lockfile")
	if problem != "" {
		r.errs.add(root.Line, "%s", problem)
		return nil, r.errs.err()
	}
	var versionNode, importers, packages, snapshots *yaml.Node
	var rootImporter []*yaml.Node // v6 without importers: the top-level dependency groups
	for i := 0; i < len(kv); i += 2 {
		switch v := kv[i+1]; kv[i].Value {
		case "lockfileVersion":
			versionNode = v
		case "importers":
			importers = v
		case "packages":
			packages = v
		case "snapshots":
			snapshots = v
		case "dependencies", "devDependencies", "optionalDependencies":
			rootImporter = append(rootImporter, kv[i], v)
		}
	}
	if err := r.version(file, root, versionNode); err != nil {
		return nil, err
	}
	r.readPackages(packages, snapshots)
	if importers != nil {
		r.readImporters(importers)
	} else {
		r.importer(".", root.Line, rootImporter)
	}
	if err := r.errs.err(); err != nil {
		return nil, err
	}
	r.build()
	setFlags(r.entries, &r.graph)
	// Workspace folders and links are not packages of the graph: they keep
	// no flags.
	for i := range r.entries {
		if e := &r.entries[i]; e.Kind == KindWorkspace || e.Kind == KindLink {
			e.Dev, e.Optional, e.DevOptional, e.Peer = false, false, false, false
		}
	}
	if err := sortEntries(file, r.entries); err != nil {
		return nil, err
	}
	return &Lockfile{Path: file, Format: FormatPnpm, LockfileVersion: r.major, Entries: r.entries}, nil
}

type pnpmReader struct {
	errs  fileErrors
	major int

	pkgs  []pnpmPackage
	index map[string]int // package key (v6: without "/") -> index in pkgs

	// importer edges, resolved in build
	rootRefs   []pnpmRef
	workspaces map[string]bool // importer folders but "."
	folders    []Entry         // workspace folders and links

	entries []Entry
	graph   depGraph
	buf     []byte // scratch for lookup
}

// pnpmRef is a dependency as written: alias -> reference.
type pnpmRef struct {
	alias, ref    string
	dev, optional bool
}

func (r *pnpmReader) version(file string, root, n *yaml.Node) error {
	if n == nil {
		return fmt.Errorf("%w: %s: no lockfileVersion: this is not a pnpm lockfile", ErrMalformed, file)
	}
	v, problem := scalar(n, "lockfileVersion")
	if problem != "" {
		return fmt.Errorf("%w: %s:%d: %s", ErrMalformed, file, n.Line, problem)
	}
	major, _, _ := strings.Cut(v, ".")
	switch major {
	case "6":
		r.major = 6
	case "9":
		r.major = 9
	default:
		return fmt.Errorf("%w: %s:%d: pnpm lockfileVersion %q (provaudit reads versions 6 and 9: pnpm 8 and newer write them; run `pnpm install --lockfile-only` with pnpm 9 or newer to upgrade)", ErrUnsupportedVersion, file, n.Line, clip(v))
	}
	return nil
}

// readPackages indexes the packages (and v9 snapshots) sections: one
// package per v6 packages key, or per v9 snapshot key (with the packages
// entry of its key without peer suffix), and per v9 packages key that no
// snapshot uses.
func (r *pnpmReader) readPackages(packages, snapshots *yaml.Node) {
	pkv, problem := mapping(packages, "packages")
	if problem != "" {
		r.errs.add(packages.Line, "%s", problem)
		return
	}
	r.pkgs = make([]pnpmPackage, 0, len(pkv)/2)
	if r.major == 6 {
		for i := 0; i < len(pkv); i += 2 {
			r.add(pnpmPackage{key: pkv[i].Value, line: pkv[i].Line, info: pkv[i+1], snap: pkv[i+1]})
		}
		if snapshots != nil {
			r.errs.add(snapshots.Line, "snapshots in a lockfileVersion 6 file, which has none")
		}
		return
	}
	infos := make(map[string]int, len(pkv)/2)
	for i := 0; i < len(pkv); i += 2 {
		infos[pkv[i].Value] = i
	}
	skv, problem := mapping(snapshots, "snapshots")
	if problem != "" {
		r.errs.add(snapshots.Line, "%s", problem)
		return
	}
	used := make([]bool, len(pkv))
	for i := 0; i < len(skv); i += 2 {
		p := pnpmPackage{key: skv[i].Value, line: skv[i].Line, snap: skv[i+1]}
		if j, ok := infos[removePeerSuffix(p.key)]; ok {
			p.info, p.line = pkv[j+1], pkv[j].Line
			used[j] = true
		}
		r.add(p)
	}
	for j := 0; j < len(pkv); j += 2 {
		if !used[j] {
			r.add(pnpmPackage{key: pkv[j].Value, line: pkv[j].Line, info: pkv[j+1]})
		}
	}
}

// add indexes a package by its key (v6: without the leading "/").
func (r *pnpmReader) add(p pnpmPackage) {
	k := r.normKey(p.key)
	if j, dup := r.index[k]; dup {
		r.errs.add(p.line, "the keys %q (line %d) and %q name the same package", clip(r.pkgs[j].key), r.pkgs[j].line, clip(p.key))
		return
	}
	r.index[k] = len(r.pkgs)
	r.pkgs = append(r.pkgs, p)
}

// normKey is a package key without v6's leading "/".
func (r *pnpmReader) normKey(k string) string {
	if r.major == 6 {
		return strings.TrimPrefix(k, "/")
	}
	return k
}

// removePeerSuffix strips the "(peer@1.0.0)(other@2.0.0)" groups (which may
// nest) from the end of a key, as pnpm's dependency-path removeSuffix does.
func removePeerSuffix(k string) string {
	for strings.HasSuffix(k, ")") {
		depth, i := 0, len(k)-1
		for ; i >= 0; i-- {
			switch k[i] {
			case ')':
				depth++
			case '(':
				depth--
			}
			if depth == 0 {
				break
			}
		}
		if i <= 0 {
			return k
		}
		k = k[:i]
	}
	return k
}

// readImporters reads the importers: the project (".") and its workspaces.
func (r *pnpmReader) readImporters(importers *yaml.Node) {
	kv, problem := mapping(importers, "importers")
	if problem != "" {
		r.errs.add(importers.Line, "%s", problem)
		return
	}
	for i := 0; i < len(kv); i += 2 {
		if k := kv[i].Value; k != "." {
			r.workspaces[linkTarget(k)] = true
		}
	}
	for i := 0; i < len(kv); i += 2 {
		dir, line := kv[i].Value, kv[i].Line
		fields, problem := mapping(kv[i+1], "importer "+strconv.Quote(clip(dir)))
		if problem != "" {
			r.errs.add(line, "%s", problem)
			continue
		}
		if dir != "." {
			e := workspaceFolder(linkTarget(dir), "", line)
			if msg := checkPath(e.Path); msg != "" || strings.HasPrefix(e.Path, "../") {
				invalidate(&e, "the workspace folder "+cmpMsg(msg, "is outside the project"))
			}
			r.folders = append(r.folders, e)
		}
		var groups []*yaml.Node
		for j := 0; j < len(fields); j += 2 {
			switch fields[j].Value {
			case "dependencies", "devDependencies", "optionalDependencies":
				groups = append(groups, fields[j], fields[j+1])
			}
		}
		r.importer(dir, line, groups)
	}
}

// importer reads the dependency groups of one importer: group keys and
// values in turn.
func (r *pnpmReader) importer(dir string, line int, groups []*yaml.Node) {
	for i := 0; i < len(groups); i += 2 {
		g := groups[i].Value
		deps, problem := mapping(groups[i+1], g+" of importer "+strconv.Quote(clip(dir)))
		if problem != "" {
			r.errs.add(line, "%s", problem)
			continue
		}
		for j := 0; j < len(deps); j += 2 {
			alias := deps[j].Value
			ref, problem := importerRef(deps[j+1])
			if problem != "" {
				r.errs.add(deps[j].Line, "%s %q of importer %q: %s", g, alias, dir, problem)
				continue
			}
			if target, ok := strings.CutPrefix(ref, "link:"); ok {
				r.folders = append(r.folders, workspaceLink(dir, alias, target, r.workspaces, deps[j].Line))
				continue
			}
			r.rootRefs = append(r.rootRefs, pnpmRef{alias: alias, ref: ref, dev: g == "devDependencies", optional: g == "optionalDependencies"})
		}
	}
}

// importerRef reads an importer dependency: {specifier, version} (or, as
// older files write it, the version alone).
func importerRef(n *yaml.Node) (string, string) {
	if n != nil && n.Kind == yaml.ScalarNode {
		return scalar(n, "the dependency")
	}
	kv, problem := mapping(n, "the dependency")
	if problem != "" {
		return "", problem
	}
	for i := 0; i < len(kv); i += 2 {
		if kv[i].Value == "version" {
			return scalar(kv[i+1], "version")
		}
	}
	return "", "no version"
}

// lookup returns the package a dependency reference names: its key is the
// reference itself, or alias@reference, as pnpm's dependency-path
// refToRelative decides; a link: reference names none.
func (r *pnpmReader) lookup(alias, ref string) (int, bool) {
	if strings.HasPrefix(ref, "link:") {
		return 0, false
	}
	whole := false
	if r.major == 6 {
		head := ref
		if i := strings.IndexByte(ref, '('); i >= 0 {
			head = ref[:i]
		}
		whole = strings.HasPrefix(ref, "file:") || strings.Contains(head, "/")
		ref = strings.TrimPrefix(ref, "/")
	} else if at := strings.IndexByte(ref, '@'); at == 0 {
		whole = true
	} else if at > 0 {
		colon, paren := strings.IndexByte(ref, ':'), strings.IndexByte(ref, '(')
		whole = (colon < 0 || at < colon) && (paren < 0 || at < paren)
	}
	if whole {
		i, ok := r.index[ref]
		return i, ok
	}
	r.buf = append(append(append(r.buf[:0], alias...), '@'), ref...)
	i, ok := r.index[string(r.buf)]
	return i, ok
}

// build makes the entries and the dependency graph.
func (r *pnpmReader) build() {
	r.entries = make([]Entry, 0, len(r.pkgs)+len(r.folders))
	r.graph.out = make([][]depEdge, len(r.pkgs))
	for i := range r.pkgs {
		r.entries = append(r.entries, r.entry(&r.pkgs[i], i))
	}
	for _, ref := range r.rootRefs {
		if to, ok := r.lookup(ref.alias, ref.ref); ok {
			r.graph.roots = append(r.graph.roots, depEdge{to: to, dev: ref.dev, optional: ref.optional})
		}
	}
	// pnpm records no workspace names: a workspace folder is named after
	// the links to it.
	names := map[string]string{}
	for _, f := range r.folders {
		if f.Link != "" && f.Kind == KindWorkspace {
			names[f.Link] = f.Name
		}
	}
	for i := range r.folders {
		if f := &r.folders[i]; f.Link == "" && f.Kind == KindWorkspace && names[f.Path] != "" {
			f.Name = names[f.Path]
		}
	}
	r.entries = append(r.entries, r.folders...)
}

// entry builds the entry of one package key and records its dependencies.
func (r *pnpmReader) entry(p *pnpmPackage, self int) Entry {
	e := Entry{Path: r.normKey(p.key), Line: p.line}
	var problems []string
	bad := func(s string) {
		if s != "" {
			problems = append(problems, s)
		}
	}
	base := removePeerSuffix(e.Path)
	name, ver, _ := splitNameAt(base)
	var info []*yaml.Node
	if p.info == nil {
		bad("no packages entry records its resolution")
	} else {
		var problem string
		info, problem = mapping(p.info, "the entry")
		bad(problem)
	}
	var resolution *yaml.Node
	var peers []*yaml.Node // names and ranges in turn
	var fieldName, fieldVersion string
	for i := 0; i < len(info); i += 2 {
		var problem string
		switch v := info[i+1]; info[i].Value {
		case "resolution":
			resolution = v
		case "name":
			fieldName, problem = scalar(v, "name")
		case "version":
			fieldVersion, problem = scalar(v, "version")
		case "peerDependencies":
			peers, problem = stringMapping(v, "peerDependencies")
		}
		bad(problem)
	}
	switch {
	case r.major == 6 && !strings.HasPrefix(p.key, "/"):
		// A v6 key of a package not from the registry: its name and
		// version are fields.
		name, ver = fieldName, fieldVersion
	case !isSemver(ver):
		// name@file:..., name@https://...: the version is a field, if any.
		ver = fieldVersion
	}
	if fieldName != "" && fieldName != name && r.major == 9 {
		bad(fmt.Sprintf("the key names %q but the entry's name is %q", clip(name), clip(fieldName)))
	}
	e.Name, e.Version = name, ver
	if name == "" {
		bad("the key names no package")
	}
	if resolution != nil || p.info != nil {
		bad(r.resolution(&e, resolution))
	}
	r.edges(p.snap, self, peers, bad)
	checkEntry(&e, problems)
	if e.Kind == KindInvalid && e.Name == "" {
		e.Name = e.Path
	}
	return e
}

// resolution sets Integrity, Resolved and, for what does not come from a
// registry, Kind and Reason from a resolution.
func (r *pnpmReader) resolution(e *Entry, n *yaml.Node) string {
	if isNull(n) {
		return "no resolution"
	}
	kv, problem := stringMapping(n, "resolution")
	if problem != "" {
		return problem
	}
	var typ, directory, repo, commit, tarball string
	for i := 0; i < len(kv); i += 2 {
		switch v := value(kv[i+1]); kv[i].Value {
		case "integrity":
			e.Integrity = v
		case "type":
			typ = v
		case "directory":
			directory = v
		case "repo":
			repo = v
		case "commit":
			commit = v
		case "tarball":
			tarball = v
		}
	}
	switch {
	case typ == "directory":
		e.Resolved = "file:" + directory
		e.Kind, e.Reason = KindFile, "local directory dependency "+directory
	case typ == "git":
		if !isGitSpec(repo) {
			repo = "git+" + repo
		}
		e.Resolved = repo + "#" + commit
		e.Kind, e.Reason = KindGit, "git dependency "+e.Resolved
	case typ != "":
		return fmt.Sprintf("resolution type %q, which provaudit does not know", clip(typ))
	case tarball != "":
		e.Resolved = tarball
		if strings.HasPrefix(e.Resolved, "file:") {
			e.Kind, e.Reason = KindFile, "local file dependency "+e.Resolved
		}
	case e.Integrity == "":
		return "a resolution with no integrity, tarball, directory or git repository"
	}
	return ""
}

// edges records the dependencies of snapshot n (a package's entry for v6);
// a dependency named in peers (names and ranges in turn) is a peer edge.
func (r *pnpmReader) edges(n *yaml.Node, self int, peers []*yaml.Node, bad func(string)) {
	if n == nil {
		return
	}
	kv, problem := mapping(n, "the snapshot")
	if problem != "" {
		bad(problem)
		return
	}
	for i := 0; i < len(kv); i += 2 {
		group := kv[i].Value
		optional := group == "optionalDependencies"
		if group != "dependencies" && !optional {
			continue
		}
		deps, problem := stringMapping(kv[i+1], group)
		if problem != "" {
			bad(problem)
			continue
		}
		for j := 0; j < len(deps); j += 2 {
			alias := deps[j].Value
			if to, ok := r.lookup(alias, value(deps[j+1])); ok {
				peer := false
				for k := 0; k < len(peers) && !peer; k += 2 {
					peer = peers[k].Value == alias
				}
				r.graph.out[self] = append(r.graph.out[self], depEdge{to: to, optional: optional, peer: peer})
			}
		}
	}
}
