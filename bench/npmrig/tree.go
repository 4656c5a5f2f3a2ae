package npmrig

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"
)

// Limits on what parseLockfile accepts, so a hostile lockfile cannot make
// the rig write without bound.
const (
	maxLockfileEntries = 200_000
	maxEntryPathLen    = 4096
)

// lockTree is a lockfile (version 2 or 3) checked to be laid out as an
// installed tree: every path is a clean relative path inside the project.
type lockTree struct {
	file    string // for error messages
	name    string // root name ("" when not recorded)
	version string
	root    map[string]json.RawMessage // packages[""], nil when absent
	entries []treeEntry                // sorted by path
}

// treeEntry is one install location of the lockfile.
type treeEntry struct {
	path   string                     // "node_modules/a", "packages/x", ...
	raw    json.RawMessage            // the entry as written
	fields map[string]json.RawMessage // its fields
	name   string                     // registry name (entry name or folder name)
	link   string                     // link target path, for link entries
}

// lockfileEntry is what parseLockfile reads of an entry.
type lockfileEntry struct {
	Name     string `json:"name"`
	Resolved string `json:"resolved"`
	Link     bool   `json:"link"`
}

// parseLockfile reads a package-lock.json or npm-shrinkwrap.json and checks
// that it can be laid out. It does not touch the file system.
func parseLockfile(file string, data []byte) (*lockTree, error) {
	var doc struct {
		Name            string                     `json:"name"`
		Version         string                     `json:"version"`
		LockfileVersion *int                       `json:"lockfileVersion"`
		Packages        map[string]json.RawMessage `json:"packages"`
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&doc); err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrLockfile, file, err)
	}
	if dec.More() {
		return nil, fmt.Errorf("%w: %s: data after the top-level JSON value", ErrLockfile, file)
	}
	switch {
	case doc.LockfileVersion == nil:
		return nil, fmt.Errorf("%w: %s: no lockfileVersion", ErrLockfile, file)
	case *doc.LockfileVersion < 2 || *doc.LockfileVersion > 3:
		return nil, fmt.Errorf("%w: %s: lockfileVersion %d: only 2 and 3 record the install locations npm's hidden lockfile needs (run npm install --package-lock-only with npm 7 or later)", ErrLockfile, file, *doc.LockfileVersion)
	case doc.Packages == nil:
		return nil, fmt.Errorf("%w: %s: no packages object", ErrLockfile, file)
	case len(doc.Packages) > maxLockfileEntries:
		return nil, fmt.Errorf("%w: %s: %d entries (at most %d)", ErrLockfile, file, len(doc.Packages), maxLockfileEntries)
	}
	t := &lockTree{file: file, name: doc.Name, version: doc.Version}
	paths := sortedNames(doc.Packages)
	for _, p := range paths {
		raw := doc.Packages[p]
		var fields map[string]json.RawMessage
		if err := json.Unmarshal(raw, &fields); err != nil || fields == nil {
			return nil, fmt.Errorf("%w: %s: packages[%q] is not an object", ErrLockfile, file, clipName(p))
		}
		if p == "" {
			t.root = fields
			continue
		}
		var e lockfileEntry
		if err := json.Unmarshal(raw, &e); err != nil {
			return nil, fmt.Errorf("%w: %s: packages[%q]: %w", ErrLockfile, file, clipName(p), err)
		}
		folder, err := checkEntryPath(p)
		if err != nil {
			return nil, fmt.Errorf("%w: %s: packages[%q]: %w", ErrLockfile, file, clipName(p), err)
		}
		te := treeEntry{path: p, raw: raw, fields: fields, name: e.Name}
		if te.name == "" {
			te.name = folder
		}
		if e.Link {
			target := e.Resolved
			if _, err := checkRelPath(target); err != nil {
				return nil, fmt.Errorf("%w: %s: packages[%q]: link target %q: %w", ErrLockfile, file, clipName(p), clipName(target), err)
			}
			if target == p {
				return nil, fmt.Errorf("%w: %s: packages[%q]: links to itself", ErrLockfile, file, clipName(p))
			}
			te.link = target
		}
		t.entries = append(t.entries, te)
	}
	if len(t.entries) == 0 {
		return nil, fmt.Errorf("%w: %s: no packages besides the root", ErrLockfile, file)
	}
	// Nothing may be installed inside a link (it would land in its target)
	// nor may a link sit inside another one.
	links := map[string]bool{}
	for _, e := range t.entries {
		if e.link != "" {
			links[e.path] = true
		}
	}
	for _, e := range t.entries {
		for dir := path.Dir(e.path); dir != "."; dir = path.Dir(dir) {
			if links[dir] {
				return nil, fmt.Errorf("%w: %s: packages[%q] lies inside the link %q", ErrLockfile, file, clipName(e.path), clipName(dir))
			}
		}
		if e.link != "" {
			for dir := e.link; dir != "."; dir = path.Dir(dir) {
				if links[dir] {
					return nil, fmt.Errorf("%w: %s: packages[%q] links into the link %q", ErrLockfile, file, clipName(e.path), clipName(dir))
				}
			}
		}
	}
	return t, nil
}

// checkRelPath checks that p is a clean, relative, slash-separated path
// inside the project whose segments can be folder names, and returns its
// segments.
func checkRelPath(p string) ([]string, error) {
	switch {
	case p == "":
		return nil, fmt.Errorf("empty path")
	case len(p) > maxEntryPathLen:
		return nil, fmt.Errorf("path longer than %d bytes", maxEntryPathLen)
	case strings.ContainsAny(p, "\\\x00"):
		return nil, fmt.Errorf("backslash or NUL in path")
	case path.IsAbs(p) || filepath.IsAbs(p):
		return nil, fmt.Errorf("absolute path")
	case path.Clean(p) != p:
		return nil, fmt.Errorf("path is not clean")
	}
	segs := strings.Split(p, "/")
	for _, s := range segs {
		if s == ".." || s == "." {
			return nil, fmt.Errorf("path leaves the project")
		}
		if strings.HasPrefix(s, ".") {
			// npm skips dot folders in node_modules (and .package-lock.json
			// is the rig's own file).
			return nil, fmt.Errorf("folder %q starts with a dot", s)
		}
	}
	return segs, nil
}

// checkEntryPath checks an install location and returns its folder name: the
// last segment, or "@scope/name" under node_modules.
func checkEntryPath(p string) (string, error) {
	segs, err := checkRelPath(p)
	if err != nil {
		return "", err
	}
	last := -1
	for i, s := range segs {
		if s == "node_modules" {
			last = i
		}
	}
	if last < 0 {
		// A folder of the project (a workspace, a file: directory).
		return segs[len(segs)-1], nil
	}
	rest := segs[last+1:]
	switch {
	case len(rest) == 1 && !strings.HasPrefix(rest[0], "@"):
		return rest[0], nil
	case len(rest) == 2 && strings.HasPrefix(rest[0], "@") && len(rest[0]) > 1 && !strings.HasPrefix(rest[1], "@"):
		return rest[0] + "/" + rest[1], nil
	}
	return "", fmt.Errorf("not a package folder under node_modules (want node_modules/NAME or node_modules/@SCOPE/NAME)")
}

// clipName shortens a user-supplied string for error messages.
func clipName(s string) string {
	if len(s) > 120 {
		return s[:120] + "..."
	}
	return s
}

// lockOnlyFields are lockfile fields that package.json files do not carry.
var lockOnlyFields = []string{
	"resolved", "integrity", "link", "dev", "optional", "devOptional", "peer",
	"inBundle", "extraneous", "hasInstallScript", "hasShrinkwrap", "ideallyInert",
}

// layout writes the installed tree into project (which must exist): the
// root package.json and package-lock.json (lockData), every entry's folder
// and package.json, links as relative symlinks, and the hidden lockfile
// node_modules/.package-lock.json dated after every folder. It returns the
// number of package folders written (entries that are not links).
func (t *lockTree) layout(project string, lockData []byte) (int, error) {
	if err := os.WriteFile(filepath.Join(project, "package-lock.json"), lockData, 0o644); err != nil {
		return 0, fmt.Errorf("%w: %w", ErrSetup, err)
	}
	rootPkg := map[string]json.RawMessage{}
	for k, v := range t.root {
		rootPkg[k] = v
	}
	if err := setString(rootPkg, "name", t.name); err != nil {
		return 0, err
	}
	if err := setString(rootPkg, "version", t.version); err != nil {
		return 0, err
	}
	for _, f := range lockOnlyFields {
		delete(rootPkg, f)
	}
	if err := writeJSON(filepath.Join(project, "package.json"), rootPkg); err != nil {
		return 0, err
	}

	written := map[string]bool{}
	folders := 0
	for _, e := range t.entries {
		dir := filepath.Join(project, filepath.FromSlash(e.path))
		if e.link != "" {
			if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
				return 0, fmt.Errorf("%w: %w", ErrSetup, err)
			}
			rel, err := filepath.Rel(filepath.Dir(dir), filepath.Join(project, filepath.FromSlash(e.link)))
			if err != nil {
				return 0, fmt.Errorf("%w: link %s: %w", ErrSetup, e.path, err)
			}
			if err := os.Symlink(rel, dir); err != nil {
				return 0, fmt.Errorf("%w: link %s: %w", ErrSetup, e.path, err)
			}
			continue
		}
		pkg := map[string]json.RawMessage{}
		for k, v := range e.fields {
			pkg[k] = v
		}
		for _, f := range lockOnlyFields {
			delete(pkg, f)
		}
		if err := setString(pkg, "name", e.name); err != nil {
			return 0, err
		}
		// What npm records in an installed package.json it fetched.
		if v, ok := e.fields["resolved"]; ok {
			pkg["_resolved"] = v
		}
		if v, ok := e.fields["integrity"]; ok {
			pkg["_integrity"] = v
		}
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return 0, fmt.Errorf("%w: %w", ErrSetup, err)
		}
		if err := writeJSON(filepath.Join(dir, "package.json"), pkg); err != nil {
			return 0, err
		}
		written[e.path] = true
		folders++
	}
	// Link targets the lockfile has no entry for still need a folder.
	for _, e := range t.entries {
		if e.link == "" || written[e.link] {
			continue
		}
		dir := filepath.Join(project, filepath.FromSlash(e.link))
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return 0, fmt.Errorf("%w: %w", ErrSetup, err)
		}
		pkg := map[string]json.RawMessage{}
		if err := setString(pkg, "name", e.name); err != nil {
			return 0, err
		}
		if err := writeJSON(filepath.Join(dir, "package.json"), pkg); err != nil {
			return 0, err
		}
		written[e.link] = true
	}

	// The hidden lockfile: every entry but the root, as npm writes it.
	hidden := struct {
		Name            string                     `json:"name,omitempty"`
		Version         string                     `json:"version,omitempty"`
		LockfileVersion int                        `json:"lockfileVersion"`
		Requires        bool                       `json:"requires"`
		Packages        map[string]json.RawMessage `json:"packages"`
	}{Name: t.name, Version: t.version, LockfileVersion: 3, Requires: true, Packages: make(map[string]json.RawMessage, len(t.entries))}
	for _, e := range t.entries {
		hidden.Packages[e.path] = e.raw
	}
	nm := filepath.Join(project, "node_modules")
	if err := os.MkdirAll(nm, 0o755); err != nil {
		return 0, fmt.Errorf("%w: %w", ErrSetup, err)
	}
	hiddenPath := filepath.Join(nm, ".package-lock.json")
	if err := writeJSON(hiddenPath, hidden); err != nil {
		return 0, err
	}
	// npm trusts the hidden lockfile only when no folder is newer than it:
	// date every folder an hour back, then the hidden lockfile now.
	past := time.Now().Add(-time.Hour)
	err := filepath.WalkDir(project, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			return os.Chtimes(p, past, past)
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("%w: date folders: %w", ErrSetup, err)
	}
	now := time.Now()
	if err := os.Chtimes(hiddenPath, now, now); err != nil {
		return 0, fmt.Errorf("%w: %w", ErrSetup, err)
	}
	return folders, nil
}

// setString sets m[key] to s unless m has a non-empty string there already
// or s is empty.
func setString(m map[string]json.RawMessage, key, s string) error {
	if old, ok := m[key]; ok {
		var cur string
		if json.Unmarshal(old, &cur) == nil && cur != "" {
			return nil
		}
	}
	if s == "" {
		return nil
	}
	b, err := json.Marshal(s)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrSetup, err)
	}
	m[key] = b
	return nil
}

func writeJSON(file string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("%w: %s: %w", ErrSetup, file, err)
	}
	b = append(b, '\n')
	if err := os.WriteFile(file, b, 0o644); err != nil {
		return fmt.Errorf("%w: %w", ErrSetup, err)
	}
	return nil
}
