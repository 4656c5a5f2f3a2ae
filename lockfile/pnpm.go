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
	keys, vals, problem := pairs(root, "the lockfile")
	if problem != "" {
		r.errs.add(root.Line, "%s", problem)
		return nil, r.errs.err()
	}
	var versionNode, importers, packages, snapshots *yaml.Node
	var rootImporter []*yaml.Node // v6 without importers: top-level dependency maps
	var rootKeys []string
	for i, k := range keys {
		switch k {
		case "lockfileVersion":
			versionNode = vals[i]
		case "importers":
			importers = vals[i]
		case "packages":
			packages = vals[i]
		case "snapshots":
			snapshots = vals[i]
		case "dependencies", "devDependencies", "optionalDependencies":
			rootImporter = append(rootImporter, vals[i])
			rootKeys = append(rootKeys, k)
		}
	}
	if err := r.version(file, root, versionNode); err != nil {
		return nil, err
	}
	r.readPackages(packages, snapshots)
	if importers != nil {
		r.readImporters(importers)
	} else {
		r.importer(".", root.Line, rootKeys, rootImporter)
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
	keys, vals, problem := pairs(packages, "packages")
	if problem != "" {
		r.errs.add(packages.Line, "%s", problem)
		return
	}
	kn := keyNodes(packages)
	if r.major == 6 {
		for i, k := range keys {
			r.add(pnpmPackage{key: k, line: kn[i].Line, info: vals[i], snap: vals[i]})
		}
		if snapshots != nil {
			r.errs.add(snapshots.Line, "snapshots in a lockfileVersion 6 file, which has none")
		}
		return
	}
	infos := make(map[string]int, len(keys))
	for i, k := range keys {
		infos[k] = i
	}
	skeys, svals, problem := pairs(snapshots, "snapshots")
	if problem != "" {
		r.errs.add(snapshots.Line, "%s", problem)
		return
	}
	skn := keyNodes(snapshots)
	used := make([]bool, len(keys))
	for i, k := range skeys {
		p := pnpmPackage{key: k, line: skn[i].Line, snap: svals[i]}
		if j, ok := infos[removePeerSuffix(k)]; ok {
			p.info, p.line = vals[j], kn[j].Line
			used[j] = true
		}
		r.add(p)
	}
	for j, k := range keys {
		if !used[j] {
			r.add(pnpmPackage{key: k, line: kn[j].Line, info: vals[j]})
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

// keyNodes returns the key nodes of mapping n.
func keyNodes(n *yaml.Node) []*yaml.Node {
	if isNull(n) || n.Kind != yaml.MappingNode {
		return nil
	}
	out := make([]*yaml.Node, 0, len(n.Content)/2)
	for i := 0; i+1 < len(n.Content); i += 2 {
		out = append(out, n.Content[i])
	}
	return out
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
	keys, vals, problem := pairs(importers, "importers")
	if problem != "" {
		r.errs.add(importers.Line, "%s", problem)
		return
	}
	kn := keyNodes(importers)
	for _, k := range keys {
		if k != "." {
			r.workspaces[linkTarget(k)] = true
		}
	}
	for i, k := range keys {
		fields, fvals, problem := pairs(vals[i], "importer "+strconv.Quote(clip(k)))
		if problem != "" {
			r.errs.add(kn[i].Line, "%s", problem)
			continue
		}
		if k != "." {
			e := workspaceFolder(linkTarget(k), "", kn[i].Line)
			if msg := checkPath(e.Path); msg != "" || strings.HasPrefix(e.Path, "../") {
				if msg == "" {
					msg = "is outside the project"
				}
				invalidate(&e, "the workspace folder "+msg)
			}
			r.folders = append(r.folders, e)
		}
		var groups []string
		var groupVals []*yaml.Node
		for j, f := range fields {
			switch f {
			case "dependencies", "devDependencies", "optionalDependencies":
				groups = append(groups, f)
				groupVals = append(groupVals, fvals[j])
			}
		}
		r.importer(k, kn[i].Line, groups, groupVals)
	}
}

// importer reads the dependency groups of one importer.
func (r *pnpmReader) importer(dir string, line int, groups []string, vals []*yaml.Node) {
	for i, g := range groups {
		keys, deps, problem := pairs(vals[i], g+" of importer "+strconv.Quote(clip(dir)))
		if problem != "" {
			r.errs.add(line, "%s", problem)
			continue
		}
		kn := keyNodes(vals[i])
		for j, alias := range keys {
			ref, problem := r.importerRef(deps[j])
			if problem != "" {
				r.errs.add(kn[j].Line, "%s %q of importer %q: %s", g, alias, dir, problem)
				continue
			}
			if target, ok := strings.CutPrefix(ref, "link:"); ok {
				r.folders = append(r.folders, workspaceLink(dir, alias, target, r.workspaces, kn[j].Line))
				continue
			}
			r.rootRefs = append(r.rootRefs, pnpmRef{alias: alias, ref: ref, dev: g == "devDependencies", optional: g == "optionalDependencies"})
		}
	}
}

// importerRef reads an importer dependency: {specifier, version} (or, as
// older files write it, the version alone).
func (r *pnpmReader) importerRef(n *yaml.Node) (string, string) {
	if n != nil && n.Kind == yaml.ScalarNode {
		return scalar(n, "the dependency")
	}
	keys, vals, problem := pairs(n, "the dependency")
	if problem != "" {
		return "", problem
	}
	for i, k := range keys {
		if k == "version" {
			return scalar(vals[i], "version")
		}
	}
	return "", "no version"
}

// refKey returns the package key a dependency reference names, as pnpm's
// dependency-path refToRelative does, or "" for a link.
func (r *pnpmReader) refKey(alias, ref string) string {
	if strings.HasPrefix(ref, "link:") {
		return ""
	}
	if r.major == 6 {
		if strings.HasPrefix(ref, "file:") {
			return ref
		}
		head := ref
		if i := strings.IndexByte(ref, '('); i >= 0 {
			head = ref[:i]
		}
		if !strings.Contains(head, "/") {
			return alias + "@" + ref
		}
		return strings.TrimPrefix(ref, "/")
	}
	if strings.HasPrefix(ref, "@") {
		return ref
	}
	at := strings.IndexByte(ref, '@')
	if at < 0 {
		return alias + "@" + ref
	}
	colon, paren := strings.IndexByte(ref, ':'), strings.IndexByte(ref, '(')
	if (colon < 0 || at < colon) && (paren < 0 || at < paren) {
		return ref
	}
	return alias + "@" + ref
}

// build makes the entries and the dependency graph.
func (r *pnpmReader) build() {
	r.entries = make([]Entry, 0, len(r.pkgs)+len(r.folders))
	r.graph.out = make([][]depEdge, len(r.pkgs))
	for i := range r.pkgs {
		r.entries = append(r.entries, r.entry(&r.pkgs[i], i))
	}
	for _, ref := range r.rootRefs {
		if to, ok := r.index[r.refKey(ref.alias, ref.ref)]; ok {
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
	var infoKeys []string
	var infoVals []*yaml.Node
	if p.info == nil {
		bad("no packages entry records its resolution")
	} else {
		var problem string
		infoKeys, infoVals, problem = pairs(p.info, "the entry")
		bad(problem)
	}
	var resolution *yaml.Node
	var peers map[string]bool
	var fieldName, fieldVersion string
	for i, k := range infoKeys {
		var problem string
		switch k {
		case "resolution":
			resolution = infoVals[i]
		case "name":
			fieldName, problem = scalar(infoVals[i], "name")
		case "version":
			fieldVersion, problem = scalar(infoVals[i], "version")
		case "peerDependencies":
			var ks []string
			ks, _, _, problem = stringMap(infoVals[i], "peerDependencies")
			for _, k := range ks {
				if peers == nil {
					peers = map[string]bool{}
				}
				peers[k] = true
			}
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
	keys, vals, problem := pairs(n, "resolution")
	if problem != "" {
		return problem
	}
	f := map[string]string{}
	for i, k := range keys {
		v, problem := scalar(vals[i], "resolution."+k)
		if problem != "" {
			return problem
		}
		f[k] = v
	}
	e.Integrity = f["integrity"]
	switch typ := f["type"]; {
	case typ == "directory":
		e.Resolved = "file:" + f["directory"]
		e.Kind, e.Reason = KindFile, "local directory dependency "+f["directory"]
	case typ == "git":
		repo := f["repo"]
		if !isGitSpec(repo) {
			repo = "git+" + repo
		}
		e.Resolved = repo + "#" + f["commit"]
		e.Kind, e.Reason = KindGit, "git dependency "+e.Resolved
	case typ != "":
		return fmt.Sprintf("resolution type %q, which provaudit does not know", clip(typ))
	case f["tarball"] != "":
		e.Resolved = f["tarball"]
		if strings.HasPrefix(e.Resolved, "file:") {
			e.Kind, e.Reason = KindFile, "local file dependency "+e.Resolved
		}
	case e.Integrity == "":
		return "a resolution with no integrity, tarball, directory or git repository"
	}
	return ""
}

// edges records the dependencies of snapshot n (a package's entry for v6).
func (r *pnpmReader) edges(n *yaml.Node, self int, peers map[string]bool, bad func(string)) {
	if n == nil {
		return
	}
	keys, vals, problem := pairs(n, "the snapshot")
	if problem != "" {
		bad(problem)
		return
	}
	for i, k := range keys {
		optional := k == "optionalDependencies"
		if k != "dependencies" && !optional {
			continue
		}
		aliases, refs, _, problem := stringMap(vals[i], k)
		if problem != "" {
			bad(problem)
			continue
		}
		for j, alias := range aliases {
			if to, ok := r.index[r.refKey(alias, refs[j])]; ok {
				r.graph.out[self] = append(r.graph.out[self], depEdge{to: to, optional: optional, peer: peers[alias]})
			}
		}
	}
}
