package lockfile

import (
	"slices"
	"strings"
)

// This file turns raw entries into Entries: paths, names, kinds and reasons.

const emptyReason = "the lockfile records no version, resolved or integrity for this install location: npm ci installs nothing here (it drops such entries as damaged; npm install may resolve the package anew, outside the lockfile)"

// newEntry copies what a raw entry says as written.
func newEntry(r *rawEntry) Entry {
	return Entry{
		Path:        r.path,
		Line:        r.line,
		Integrity:   r.integrity,
		Resolved:    r.resolved,
		Dev:         r.dev,
		Optional:    r.optional,
		DevOptional: r.devOptional,
		Peer:        r.peer,
		InBundle:    r.inBundle,
	}
}

// checkEntry validates what every entry needs regardless of its kind.
func (p *parser) checkEntry(r *rawEntry) bool {
	if msg := checkPath(r.path); msg != "" {
		p.errorf(r.line, r.path, "the install path %s", msg)
		return false
	}
	if r.integrity != "" {
		if err := checkIntegrity(r.integrity); err != nil {
			p.errorf(r.line, r.path, "integrity %q is malformed: %s", r.integrity, strings.TrimPrefix(err.Error(), ErrMalformed.Error()+": "))
			return false
		}
	}
	return true
}

// buildPackages builds the entries of a lockfileVersion 2 or 3 packages
// object.
func (p *parser) buildPackages() []Entry {
	ws := newWorkspaceMatcher(p.workspaces)
	entries := make([]Entry, 0, len(p.pkgs))
	var links []int
	for i := range p.pkgs {
		r := &p.pkgs[i]
		if !p.checkEntry(r) {
			continue
		}
		e := newEntry(r)
		fn, installed := installName(r.path)
		switch {
		case r.link:
			e.Link = linkTarget(r.resolved)
			if e.Link == "" {
				p.errorf(r.line, r.path, "a link without a resolved target")
				continue
			}
			e.Name = fn
			if !installed {
				e.Name = folderName(r.path)
			}
			links = append(links, len(entries))
		case !installed:
			p.folder(&e, r, ws)
		default:
			e.Name = r.name
			if e.Name == "" {
				e.Name = fn
			}
			if fn != e.Name {
				e.Alias = fn
			}
			e.Version = r.version
			p.classify(&e, r)
		}
		entries = append(entries, e)
	}
	p.resolveLinks(entries, links, ws)
	if ws.exceeded {
		p.errorf(p.workspacesLine, "", "the root entry's workspaces are too many or too complex to match (%d patterns against %d entries)",
			len(p.workspaces), len(entries))
	}
	return entries
}

// folder fills in an entry at a path that is not an install location: a
// workspace folder, a link target or another local directory. npm never
// fetches anything for it, whatever it records.
func (p *parser) folder(e *Entry, r *rawEntry, ws *workspaceMatcher) {
	e.Name = r.name
	if e.Name == "" {
		e.Name = folderName(r.path)
	}
	e.Version = r.version
	if ws.match(r.path) {
		e.Kind = KindWorkspace
		e.Reason = "workspace folder " + r.path
		return
	}
	e.Kind = KindFile
	e.Reason = "local folder " + r.path + " (not an install location)"
}

// resolveLinks names the links at entries[links] after their targets and
// tells links to workspaces from other links.
func (p *parser) resolveLinks(entries []Entry, links []int, ws *workspaceMatcher) {
	if len(links) == 0 {
		return
	}
	byPath := make(map[string]int, len(entries))
	for i := range entries {
		byPath[entries[i].Path] = i
	}
	for _, i := range links {
		e := &entries[i]
		folder := e.Name
		if t, ok := byPath[e.Link]; ok && t != i {
			target := &entries[t]
			if target.Name != "" {
				e.Name = target.Name
			}
			e.Version = target.Version
		}
		if folder != e.Name {
			e.Alias = folder
		}
		if isFolderPath(e.Link) && ws.match(e.Link) {
			e.Kind = KindWorkspace
			e.Reason = "link to workspace " + e.Link
			continue
		}
		e.Kind = KindLink
		e.Reason = "link to " + e.Link
		if strings.HasPrefix(e.Link, "../") || strings.HasPrefix(e.Link, "/") {
			e.Reason += " (outside the project)"
		}
	}
}

// classify sets the kind of an install location from its version and
// resolved; e.Name and e.Version are set.
func (p *parser) classify(e *Entry, r *rawEntry) {
	res := e.Resolved
	switch {
	case res == "":
		switch {
		case e.Version == "" && e.Integrity == "":
			e.Kind, e.Reason = KindFile, emptyReason
		case e.Version == "":
			p.errorf(r.line, r.path, "an integrity but no version and no resolved URL: nothing says what to install")
		case !isSemver(e.Version):
			p.errorf(r.line, r.path, "version %q is not a semantic version, and no resolved URL says what to install", e.Version)
		default:
			p.registry(e, r)
		}
	case isGitSpec(res):
		e.Kind, e.Reason = KindGit, "git dependency "+res
	case strings.HasPrefix(res, "file:"):
		e.Kind, e.Reason = KindFile, "local file dependency "+res
	case isHTTP(res):
		if e.Version == "" {
			if v, ok := versionFromTarball(res, e.Name); ok {
				e.Version = v
			}
		}
		if isSemver(e.Version) && registryTarball(res, e.Name, e.Version) {
			p.registry(e, r)
			return
		}
		e.Kind = KindRemote
		e.Reason = "remote tarball " + res + ": not the registry tarball of " + e.Name + "@" + e.Version
	case hasScheme(res):
		e.Kind, e.Reason = KindRemote, "resolved "+res+" has a scheme npm does not fetch from a registry"
	default:
		e.Kind, e.Reason = KindFile, "local file dependency "+res
	}
}

func (p *parser) registry(e *Entry, r *rawEntry) {
	if !validName(e.Name) {
		p.errorf(r.line, r.path, "%q is not a valid package name", e.Name)
		return
	}
	e.Kind = KindRegistry
}

// buildV1 builds the entries of a lockfileVersion 1 dependencies tree. The
// raw entries are in document order, every parent before its children.
func (p *parser) buildV1(raws []rawEntry) []Entry {
	p.pathBytes = 0
	entries := make([]Entry, 0, len(raws))
	// loc[i] is where the children of raws[i] are installed: its own path,
	// or for a file: directory (a link) the directory.
	loc := make([]string, len(raws))
	at := make([]int, len(raws)) // index in entries, -1 if none
	byPath := make(map[string]int, len(raws))
	var links []int
	for i := range raws {
		r := &raws[i]
		at[i] = -1
		if r.parent >= 0 && at[r.parent] < 0 {
			// The parent is invalid or was replaced by a later duplicate.
			r.dropped = true
			continue
		}
		parentLoc := ""
		if r.parent >= 0 {
			parentLoc = loc[r.parent] + "/"
		}
		if p.pathBytes += len(parentLoc) + len("node_modules/") + len(r.key); p.pathBytes > p.pathBudget {
			p.errorf(r.line, "", "dependencies are nested too deep: their install paths would take more than %d bytes", p.pathBudget)
			return nil
		}
		r.path = parentLoc + "node_modules/" + r.key
		if fn, ok := installName(r.path); !ok || fn != r.key {
			p.errorf(r.line, r.path, "dependency key %q is not a package folder name", r.key)
			r.dropped = true
			continue
		}
		if !p.checkEntry(r) {
			r.dropped = true
			continue
		}
		if j, dup := byPath[r.path]; dup {
			prev := &raws[j]
			if prev.parent != r.parent || prev.key != r.key {
				// Two file: links to one folder both list its contents.
				if prev.version != r.version || prev.resolved != r.resolved || prev.integrity != r.integrity {
					p.errorf(r.line, r.path, "installed at the same path as the entry on line %d, with other contents", prev.line)
				}
				r.dropped = true
				continue
			}
			// A repeated key replaces the earlier value, as in JSON.parse:
			// drop the earlier entry and its subtree, which in document
			// order is every following entry whose parent is not before it.
			for k := j; k < i && (k == j || raws[k].parent >= j); k++ {
				if at[k] >= 0 {
					if byPath[raws[k].path] == k {
						delete(byPath, raws[k].path)
					}
					entries[at[k]].Path = "" // removed below
				}
				raws[k].dropped = true
				at[k] = -1
			}
		}
		e := newEntry(r)
		e.Name = r.key
		loc[i] = r.path
		p.classifyV1(&e, r)
		if e.Kind == KindLink {
			loc[i] = e.Link
			links = append(links, len(entries))
		}
		byPath[r.path] = i
		at[i] = len(entries)
		entries = append(entries, e)
	}
	// Drop entries replaced by duplicates.
	entries = slicesDeleteEmptyPath(entries)
	// npm records the folder a file: link points to as an entry of its own;
	// do the same so that a v1 tree reads like its v2 form.
	seen := make(map[string]bool, len(entries))
	for i := range entries {
		seen[entries[i].Path] = true
	}
	for i := range entries {
		e := &entries[i]
		if e.Kind != KindLink || seen[e.Link] || checkPath(e.Link) != "" || !isFolderPath(e.Link) {
			continue
		}
		seen[e.Link] = true
		entries = append(entries, Entry{
			Path:   e.Link,
			Name:   folderName(e.Link),
			Kind:   KindFile,
			Reason: "local folder " + e.Link + " (not an install location)",
			Line:   e.Line,
		})
	}
	links = links[:0]
	for i := range entries {
		if entries[i].Kind == KindLink {
			links = append(links, i)
		}
	}
	p.resolveLinks(entries, links, nil)
	return entries
}

func slicesDeleteEmptyPath(entries []Entry) []Entry {
	out := entries[:0]
	for _, e := range entries {
		if e.Path != "" {
			out = append(out, e)
		}
	}
	return out
}

// classifyV1 sets the name, version and kind of a v1 entry, whose version
// field may hold an npm: alias, a git, file: or URL spec, or a version.
func (p *parser) classifyV1(e *Entry, r *rawEntry) {
	v := r.version
	switch {
	case v == "":
		e.Version = ""
		p.classify(e, r)
	case strings.HasPrefix(v, "npm:"):
		name, ver, ok := parseAlias(v)
		if !ok {
			p.errorf(r.line, r.path, "version %q is not an npm:name@version alias", v)
			return
		}
		e.Name, e.Version = name, ver
		if name != r.key {
			e.Alias = r.key
		}
		p.classify(e, r)
	case isGitSpec(v):
		if e.Resolved == "" {
			e.Resolved = v
		}
		e.Kind, e.Reason = KindGit, "git dependency "+e.Resolved
	case strings.HasPrefix(v, "file:"):
		if e.Resolved == "" {
			e.Resolved = v
		}
		if isTarballFile(v) {
			e.Kind, e.Reason = KindFile, "local file dependency "+v
			return
		}
		e.Link = linkTarget(v)
		if e.Link == "" || e.Link == "." {
			p.errorf(r.line, r.path, "version %q links to the project itself", v)
			return
		}
		e.Kind = KindLink // named and given a reason by resolveLinks
	case isHTTP(v):
		if e.Resolved == "" {
			e.Resolved = v
		}
		p.classify(e, r)
	case isSemver(v) || e.Resolved != "":
		// A version that is not semver is still a version when resolved
		// says where the package comes from (npm reads resolved then).
		e.Version = v
		p.classify(e, r)
	default:
		p.errorf(r.line, r.path, "version %q is not a version, an npm: alias, or a git, file: or URL spec, and no resolved URL says what to install", v)
	}
}

// parseAlias splits "npm:name@version".
func parseAlias(v string) (name, version string, ok bool) {
	spec := strings.TrimPrefix(v, "npm:")
	at := strings.LastIndexByte(spec, '@')
	if at <= 0 {
		return "", "", false
	}
	name, version = spec[:at], spec[at+1:]
	if !validName(name) || !isSemver(version) {
		return "", "", false
	}
	return name, version, true
}

// markBundled sets BundledBy on the entries that come inside another
// package's tarball, as npm's arborist finds a node's bundler: an inBundle
// entry's parent location bundles it unless the parent is bundled itself
// (then the parent's bundler does), and a bundler that is the project or
// one of its workspace folders leaves the entry to be fetched on its own.
// An inBundle entry whose parent location is not in the lockfile is taken
// as fetched on its own, so that it is audited rather than skipped. entries
// are sorted by Path, so a parent comes before its children.
func markBundled(entries []Entry) {
	if !slices.ContainsFunc(entries, func(e Entry) bool { return e.InBundle }) {
		return
	}
	at := make(map[string]int, len(entries))
	for i := range entries {
		at[entries[i].Path] = i
	}
	for i := range entries {
		e := &entries[i]
		if !e.InBundle {
			continue
		}
		j, ok := at[parentLocation(e.Path)]
		if !ok {
			continue // top level (the project bundles it) or no parent entry
		}
		switch parent := &entries[j]; {
		case parent.BundledBy != "":
			e.BundledBy = parent.BundledBy
		case parent.InBundle || isFolderPath(parent.Path):
			// bundled by the project, or by a workspace folder
		default:
			e.BundledBy = parent.Path
		}
	}
}

// parentLocation is the install path that holds p's node_modules folder:
// "node_modules/a" for "node_modules/a/node_modules/@s/b", "packages/x"
// for "packages/x/node_modules/b", "" for a top-level "node_modules/a".
func parentLocation(p string) string {
	i := strings.LastIndex(p, "node_modules/")
	if i <= 0 {
		return ""
	}
	return strings.TrimSuffix(p[:i], "/")
}
