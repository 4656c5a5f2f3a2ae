package lockfile

import (
	"fmt"
	"slices"
	"strings"

	"github.com/provaudit/provaudit/internal/npmspec"
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

// entryProblems returns what makes an entry unusable whatever its kind: the
// problems found while reading it, its path, a control character in a
// field, a malformed integrity.
func entryProblems(r *rawEntry) []string {
	probs := r.problems[:len(r.problems):len(r.problems)]
	if msg := checkPath(r.path); msg != "" {
		probs = append(probs, "the path "+msg)
	}
	for _, f := range [...]struct{ name, value string }{{"name", r.name}, {"version", r.version}, {"resolved", r.resolved}} {
		if i := controlChar(f.value); i >= 0 {
			probs = append(probs, fmt.Sprintf("%s has a control character at byte %d", f.name, i))
		}
	}
	if r.integrity != "" {
		if _, err := npmspec.ParseIntegrity(r.integrity); err != nil {
			probs = append(probs, err.Error())
		}
	}
	return probs
}

// invalidEntry returns the KindInvalid entry of r, named after its name
// field, else the folder after its last node_modules/, else its path.
func invalidEntry(r *rawEntry, problems []string) Entry {
	e := newEntry(r)
	e.Name, e.Version = r.name, r.version
	if e.Name == "" {
		e.Name = r.path
		if i := strings.LastIndex(r.path, "node_modules/"); i >= 0 && i+len("node_modules/") < len(r.path) {
			e.Name = r.path[i+len("node_modules/"):]
		}
	}
	invalidate(&e, problems...)
	return e
}

// invalidate makes e an entry of KindInvalid whose Reason lists problems.
func invalidate(e *Entry, problems ...string) {
	e.Kind = KindInvalid
	e.Reason = "invalid entry: " + strings.Join(problems, "; ")
	e.Link = ""
}

// buildPackages builds the entries of a lockfileVersion 2 or 3 packages
// object.
func (p *parser) buildPackages() []Entry {
	ws := newWorkspaceMatcher(p.workspaces)
	entries := make([]Entry, 0, len(p.pkgs))
	var links []int
	for i := range p.pkgs {
		r := &p.pkgs[i]
		if probs := entryProblems(r); len(probs) > 0 {
			entries = append(entries, invalidEntry(r, probs))
			continue
		}
		e := newEntry(r)
		fn, installed := installName(r.path)
		switch {
		case r.link:
			e.Link = linkTarget(r.resolved)
			e.Name = fn
			if !installed {
				e.Name = folderName(r.path)
			}
			if e.Link == "" {
				invalidate(&e, "a link without a resolved target")
				break
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
			classify(&e)
		}
		entries = append(entries, e)
	}
	p.resolveLinks(entries, links, ws)
	if ws.exceeded {
		p.errorf(p.workspacesLine, "the root entry's workspaces are too many or too complex to match (%d patterns against %d entries)",
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
func classify(e *Entry) {
	res := e.Resolved
	switch {
	case res == "":
		switch {
		case e.Version == "" && e.Integrity == "":
			e.Kind, e.Reason = KindFile, emptyReason
		case e.Version == "":
			invalidate(e, "an integrity but no version and no resolved URL: nothing says what to install")
		default:
			if err := npmspec.ValidVersion(e.Version); err != nil {
				invalidate(e, err.Error()+", and no resolved URL says what to install")
				return
			}
			registry(e)
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
			registry(e)
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

// registry makes e a registry entry when its name can be fetched from a
// registry.
func registry(e *Entry) {
	if err := npmspec.ValidName(e.Name); err != nil {
		invalidate(e, err.Error())
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
			// The parent was replaced by a later duplicate key, or shares
			// its path with an earlier entry.
			r.dropped = true
			continue
		}
		parentLoc := ""
		if r.parent >= 0 {
			parentLoc = loc[r.parent] + "/"
		}
		if p.pathBytes += len(parentLoc) + len("node_modules/") + len(r.key); p.pathBytes > p.pathBudget {
			p.errorf(r.line, "dependencies are nested too deep: their install paths would take more than %d bytes", p.pathBudget)
			return nil
		}
		r.path = parentLoc + "node_modules/" + r.key
		probs := entryProblems(r)
		if fn, ok := installName(r.path); !ok || fn != r.key {
			probs = append(probs, fmt.Sprintf("dependency key %q is not a package folder name", clip(r.key)))
		}
		if j, dup := byPath[r.path]; dup {
			prev := &raws[j]
			if prev.parent != r.parent || prev.key != r.key {
				// Two file: links to one folder both list its contents.
				if prev.version != r.version || prev.resolved != r.resolved || prev.integrity != r.integrity {
					invalidate(&entries[at[j]], fmt.Sprintf("the entry on line %d is installed at the same path with other contents", r.line))
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
		var e Entry
		if len(probs) > 0 {
			e = invalidEntry(r, probs)
			e.Name = r.key
		} else {
			e = newEntry(r)
			e.Name = r.key
			classifyV1(&e, r)
		}
		loc[i] = r.path
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
func classifyV1(e *Entry, r *rawEntry) {
	v := r.version
	switch {
	case v == "":
		e.Version = ""
		classify(e)
	case strings.HasPrefix(v, "npm:"):
		name, ver, ok := parseAlias(v)
		if !ok {
			e.Version = v
			invalidate(e, fmt.Sprintf("version %q is not an npm:name@version alias", clip(v)))
			return
		}
		e.Name, e.Version = name, ver
		if name != r.key {
			e.Alias = r.key
		}
		classify(e)
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
			invalidate(e, fmt.Sprintf("version %q links to the project itself", clip(v)))
			return
		}
		e.Kind = KindLink // named and given a reason by resolveLinks
	case isHTTP(v):
		if e.Resolved == "" {
			e.Resolved = v
		}
		classify(e)
	case isSemver(v) || e.Resolved != "":
		// A version that is not semver is still a version when resolved
		// says where the package comes from (npm reads resolved then).
		e.Version = v
		classify(e)
	default:
		e.Version = v
		invalidate(e, fmt.Sprintf("version %q is not a version, an npm: alias, or a git, file: or URL spec, and no resolved URL says what to install", clip(v)))
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
	if npmspec.ValidName(name) != nil || !isSemver(version) {
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
