package lockfile

import (
	"cmp"
	"fmt"
	"path"
	"slices"
	"strings"

	"github.com/provaudit/provaudit/internal/npmspec"
)

// This file holds what the readers of pnpm, yarn and bun lockfiles share:
// checking and classifying an entry, the dev/optional/peer flags computed
// from a dependency graph, and the errors of a whole file.

// depEdge is a dependency of a graph node (or of a root) on node to.
type depEdge struct {
	to                  int
	dev, optional, peer bool
}

// depGraph is the dependency graph of a lockfile that records one: nodes
// are indexes into its entries, roots the dependencies of the project and
// its workspaces.
type depGraph struct {
	roots []depEdge
	out   [][]depEdge // out[i]: the dependencies of entry i
}

// reach bits of setFlags: reached by a path with no edge of that type.
const (
	reachNonDev = 1 << iota
	reachNonOptional
	reachNeither // no dev and no optional edge
	reachNonPeer
	reachAll = reachNonDev | reachNonOptional | reachNeither | reachNonPeer
)

// setFlags sets Dev, Optional, DevOptional and Peer of entries from the
// graph as npm's arborist computes them (calc-dep-flags): an entry is dev
// when every path from a root to it has a dev edge, optional when every
// path has an optional edge, peer when every path has a peer edge, and
// devOptional when it is neither dev nor optional but every path has a
// dev or an optional edge. An entry no root reaches gets no flag, so that
// --omit never leaves out what the graph (as read) does not explain. It
// runs in time linear in the graph: a node is visited again only when it
// gains a reach bit, at most four times.
func setFlags(entries []Entry, g *depGraph) {
	reach := make([]uint8, len(entries))
	var queue []int
	push := func(e depEdge, from uint8) {
		bits := from
		if e.dev {
			bits &^= reachNonDev | reachNeither
		}
		if e.optional {
			bits &^= reachNonOptional | reachNeither
		}
		if e.peer {
			bits &^= reachNonPeer
		}
		if e.to < 0 || e.to >= len(reach) || reach[e.to]|bits == reach[e.to] {
			return
		}
		reach[e.to] |= bits
		queue = append(queue, e.to)
	}
	for _, e := range g.roots {
		push(e, reachAll)
	}
	for len(queue) > 0 {
		n := queue[len(queue)-1]
		queue = queue[:len(queue)-1]
		if n < len(g.out) {
			for _, e := range g.out[n] {
				push(e, reach[n])
			}
		}
	}
	for i := range entries {
		e, r := &entries[i], reach[i]
		if r == 0 {
			continue
		}
		e.Dev = r&reachNonDev == 0
		e.Optional = r&reachNonOptional == 0
		e.DevOptional = r&reachNeither == 0 && !e.Dev && !e.Optional
		e.Peer = r&reachNonPeer == 0
	}
}

// checkEntry validates what a pnpm, yarn or bun entry says and classifies
// it (see classify): control characters, the integrity, and for registry
// entries the name and version. problems found while reading it make it
// invalid, as do these checks.
func checkEntry(e *Entry, problems []string) {
	for _, f := range [...]struct{ name, value string }{{"name", e.Name}, {"version", e.Version}, {"resolved", e.Resolved}, {"key", e.Path}} {
		if i := controlChar(f.value); i >= 0 {
			problems = append(problems, fmt.Sprintf("%s has a control character at byte %d", f.name, i))
		}
	}
	if e.Integrity != "" {
		if _, err := npmspec.ParseIntegrity(e.Integrity); err != nil {
			problems = append(problems, err.Error())
		}
	}
	if len(problems) > 0 {
		invalidate(e, problems...)
		return
	}
	if e.Kind == "" {
		classify(e)
	}
}

// sortEntries sorts entries by Path. Two entries at one Path (which the
// tools never write: a workspace folder named like a package key, two keys
// naming one install path) make the file malformed.
func sortEntries(file string, entries []Entry) error {
	slices.SortFunc(entries, func(a, b Entry) int { return cmp.Compare(a.Path, b.Path) })
	errs := fileErrors{file: file}
	for i := 1; i < len(entries); i++ {
		if a, b := &entries[i-1], &entries[i]; a.Path == b.Path {
			errs.add(max(a.Line, b.Line), "two entries at %q (lines %d and %d)", a.Path, min(a.Line, b.Line), max(a.Line, b.Line))
		}
	}
	return errs.err()
}

// fileErrors collects the problems of a whole file (up to maxErrors), each
// with its line, like the npm parser's.
type fileErrors struct {
	file    string
	errs    []lineError
	dropped int
}

func (f *fileErrors) add(line int, format string, args ...any) {
	if len(f.errs) >= maxErrors {
		f.dropped++
		return
	}
	f.errs = append(f.errs, lineError{line, fmt.Errorf("%w: %s:%d: %s", ErrMalformed, f.file, line, sprintClipped(format, args))})
}

// err returns the problems found, in line order, or nil.
func (f *fileErrors) err() error {
	if len(f.errs) == 0 {
		return nil
	}
	return joinLineErrors(f.file, f.errs, f.dropped)
}

// workspaceLink returns the entry of a link from folder dir (a workspace
// or the project, ".") to target (relative to dir), installed as alias:
// a workspace when the target is one of the workspaces, else a link.
func workspaceLink(dir, alias, target string, workspaces map[string]bool, line int) Entry {
	at := "node_modules/" + alias
	if dir != "." && dir != "" {
		at = dir + "/" + at
	}
	t := target
	if dir != "." && dir != "" && !path.IsAbs(target) {
		t = path.Join(dir, target)
	}
	t = linkTarget(t)
	e := Entry{Path: at, Name: alias, Link: t, Resolved: target, Line: line}
	switch {
	case checkPath(at) != "" || controlChar(target) >= 0:
		invalidate(&e, fmt.Sprintf("a link %q to %q, which is not a folder path", clip(at), clip(target)))
	case t == "" || t == ".":
		invalidate(&e, fmt.Sprintf("a link to %q, the project itself", clip(target)))
	case workspaces[t]:
		e.Kind, e.Reason = KindWorkspace, "link to workspace "+t
	default:
		e.Kind, e.Reason = KindLink, "link to "+t
		if strings.HasPrefix(t, "../") || strings.HasPrefix(t, "/") {
			e.Reason += " (outside the project)"
		}
	}
	return e
}

// workspaceFolder returns the entry of a workspace folder.
func workspaceFolder(dir, name string, line int) Entry {
	if name == "" {
		name = folderName(dir)
	}
	return Entry{Path: dir, Name: name, Kind: KindWorkspace, Reason: "workspace folder " + dir, Line: line}
}

// splitNameAt splits "name@rest" where name may be scoped ("@s/n@rest"):
// at the first "@" after the first byte.
func splitNameAt(s string) (name, rest string, ok bool) {
	if s == "" {
		return "", "", false
	}
	i := strings.IndexByte(s[1:], '@')
	if i < 0 {
		return s, "", false
	}
	return s[:i+1], s[i+2:], true
}
