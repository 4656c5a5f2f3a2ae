package lockgen

import (
	"cmp"
	"crypto/sha512"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/Masterminds/semver/v3"
)

// Sentinel errors of package lockgen.
var (
	// ErrSource reports a source lockfile that cannot be used.
	ErrSource = errors.New("lockgen: bad source lockfile")
	// ErrOptions reports invalid Options.
	ErrOptions = errors.New("lockgen: invalid options")
	// ErrGenerate reports a layout that could not be built (a bug).
	ErrGenerate = errors.New("lockgen: cannot generate")
)

// Options configures Generate.
type Options struct {
	// Sources are the real lockfiles names, versions, integrities and
	// dependency declarations are taken from. At least one.
	Sources []*Source
	// Packages is the number of unique registry name@versions wanted.
	Packages int
	// Seed makes every choice; the same Options give the same bytes.
	Seed uint64
	// Name is the root project's name (default "provaudit-bench").
	Name string
}

// Lockfile is a generated package-lock.json and what it contains.
type Lockfile struct {
	// JSON is the lockfileVersion 3 package-lock.json.
	JSON []byte
	// Stats describes it.
	Stats Stats
}

// Stats describes a generated lockfile.
type Stats struct {
	// Packages is the number of unique registry name@versions (what an
	// auditor that deduplicates checks).
	Packages int
	// Entries is the number of install locations (what npm counts).
	Entries int
	// Names is the number of distinct package names.
	Names int
	// Real counts name@versions taken from the sources with their real
	// integrity; Generated counts added versions of real names with a
	// generated sha512 integrity.
	Real, Generated int
	// Scoped, Aliased and Nested count entries with a scoped name, an alias
	// folder name, and below another package (node_modules/a/node_modules/b).
	Scoped, Aliased, Nested int
	// Duplicated counts packages installed at more than one location.
	Duplicated int
	// MaxDepth is the deepest nesting (1 = node_modules/a).
	MaxDepth int
	// Dev, Optional and DevOptional count entries with each flag.
	Dev, Optional, DevOptional int
	// DirectDeps is the number of dependencies the root project declares.
	DirectDeps int
}

// LoadSources reads and parses lockfiles with ParseSource.
func LoadSources(paths ...string) ([]*Source, error) {
	if len(paths) == 0 {
		return nil, fmt.Errorf("%w: no source lockfiles", ErrOptions)
	}
	out := make([]*Source, 0, len(paths))
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrSource, err)
		}
		s, err := ParseSource(p, data)
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, nil
}

// maxPackages bounds Options.Packages: the generator holds the whole tree in
// memory.
const maxPackages = 1_000_000

// Generate builds a lockfile of exactly opts.Packages unique registry
// packages:
//
//   - the packages are the sources' name@versions with their real
//     integrities, taken in the breadth-first order of the sources'
//     dependency graph from their root projects (so a smaller lockfile is a
//     connected part of the real trees), then the rest in seeded random
//     order; beyond the sources' unique name@versions, more versions of the
//     real names are added round-robin (patch versions above a real one,
//     never a version the sources have), each with a sha512 integrity
//     generated from its name@version;
//   - every package depends on what its real entry declares
//     (dependencies and optionalDependencies; generated versions copy a
//     real version's), each resolved as a fresh npm install does, to the
//     highest real version present that satisfies the declared range, or
//     to another real version with a rewritten range when none does
//     (generated versions are never chosen: a patch above a real version
//     would win every range);
//   - the root project declares the union of the sources' root and
//     workspace dependencies (prod, dev and optional);
//   - install locations are laid out as npm hoists them: the top-level
//     folder of a name goes to the version the root declares, else to the
//     one the most edges want; a dependency is installed as high as
//     possible on its dependent's chain of ancestors below any conflicting
//     version, without shadowing a resolution already made, which gives
//     nested node_modules/a/node_modules/b duplicates; a package no edge
//     reaches (every generated version) becomes a dependency of a seeded
//     random installed package;
//   - dev, optional and devOptional flags are computed from the graph as
//     npm computes them, after root production dependencies are turned
//     into devDependencies until the dev share reaches the sources' (see
//     tuneFlags); descriptive fields (license, engines, bin, ...) are
//     copied from the real entry.
func Generate(opts Options) (*Lockfile, error) {
	switch {
	case len(opts.Sources) == 0:
		return nil, fmt.Errorf("%w: no sources", ErrOptions)
	case opts.Packages < 1 || opts.Packages > maxPackages:
		return nil, fmt.Errorf("%w: packages %d not in 1..%d", ErrOptions, opts.Packages, maxPackages)
	}
	for i, s := range opts.Sources {
		if s == nil || len(s.pkgs) == 0 {
			return nil, fmt.Errorf("%w: source %d is empty", ErrOptions, i)
		}
	}
	if opts.Name == "" {
		opts.Name = "provaudit-bench"
	}
	g := newGenerator(opts)
	g.selectUnits()
	if err := g.addSynthetic(); err != nil {
		return nil, err
	}
	g.planEdges()
	if err := g.layout(); err != nil {
		return nil, err
	}
	g.tuneFlags()
	data, err := g.write()
	if err != nil {
		return nil, err
	}
	return &Lockfile{JSON: data, Stats: g.stats()}, nil
}

// unit is one package of the generated lockfile.
type unit struct {
	name, version, integrity string
	base                     *realPkg // real entry whose fields and deps it copies
	real                     bool
	sv                       *semver.Version // nil if not semver
	edges                    []plannedEdge
	placed                   int
}

func (u *unit) key() string { return u.name + "@" + u.version }

// plannedEdge is a dependency of a unit resolved to a unit.
type plannedEdge struct {
	folder string
	spec   string // as written in the dependencies map
	kind   depKind
	to     *unit
}

type generator struct {
	opts Options
	rng  *rand.Rand

	corpus     []*realPkg            // unique name@versions, source order
	realByName map[string][]*realPkg // every corpus version of a name
	rootDeps   []dep

	units   []*unit
	byName  map[string][]*unit // units of a name, in selection order
	taken   map[string]bool    // name@versions in use or in the corpus
	rootPln []plannedEdge

	ranges map[string]*semver.Constraints // nil value: unparsable

	reserved map[string]*unit // the version given the top-level folder

	root  *node
	nodes []*node // creation order, root first
	queue []*node
}

func newGenerator(opts Options) *generator {
	g := &generator{
		opts:       opts,
		rng:        rand.New(rand.NewPCG(opts.Seed, 0x6c6f636b67656e)),
		realByName: map[string][]*realPkg{},
		byName:     map[string][]*unit{},
		taken:      map[string]bool{},
		ranges:     map[string]*semver.Constraints{},
	}
	rootKind := map[string]int{}
	for _, s := range opts.Sources {
		for i := range s.pkgs {
			p := &s.pkgs[i]
			if g.taken[p.name+"@"+p.version] {
				continue
			}
			g.taken[p.name+"@"+p.version] = true
			g.corpus = append(g.corpus, p)
			g.realByName[p.name] = append(g.realByName[p.name], p)
		}
		for _, d := range s.rootDeps {
			j, ok := rootKind[d.folder]
			if !ok {
				rootKind[d.folder] = len(g.rootDeps)
				g.rootDeps = append(g.rootDeps, d)
				continue
			}
			// Declared by several projects: prod wins over optional over dev.
			if d.kind < g.rootDeps[j].kind {
				g.rootDeps[j].kind = d.kind
			}
		}
	}
	return g
}

// constraint parses (and caches) a range; nil means unparsable.
func (g *generator) constraint(rng string) *semver.Constraints {
	c, ok := g.ranges[rng]
	if !ok {
		c, _ = semver.NewConstraint(rng)
		g.ranges[rng] = c
	}
	return c
}

func parseVersion(v string) *semver.Version {
	sv, err := semver.StrictNewVersion(v)
	if err != nil {
		return nil
	}
	return sv
}

// compareVersions orders by semver, non-semver versions first by string.
func compareVersions(a, b string) int {
	va, vb := parseVersion(a), parseVersion(b)
	switch {
	case va != nil && vb != nil:
		return va.Compare(vb)
	case va != nil:
		return 1
	case vb != nil:
		return -1
	}
	return strings.Compare(a, b)
}

// resolveReal picks the corpus version of d.target a real install would
// have: the highest satisfying d's range, else the highest.
func (g *generator) resolveReal(d dep) *realPkg {
	cands := g.realByName[d.target]
	if len(cands) == 0 {
		return nil
	}
	c := g.constraint(d.rng)
	var best *realPkg
	for _, p := range cands {
		sv := parseVersion(p.version)
		if c != nil && (sv == nil || !c.Check(sv)) {
			continue
		}
		if best == nil || compareVersions(p.version, best.version) > 0 {
			best = p
		}
	}
	if best == nil {
		best = slices.MaxFunc(cands, func(a, b *realPkg) int { return compareVersions(a.version, b.version) })
	}
	return best
}

// selectUnits takes up to Packages corpus name@versions in breadth-first
// order from the shuffled root dependencies, then the rest shuffled.
func (g *generator) selectUnits() {
	roots := slices.Clone(g.rootDeps)
	g.rng.Shuffle(len(roots), func(i, j int) { roots[i], roots[j] = roots[j], roots[i] })
	visited := map[*realPkg]bool{}
	var order []*realPkg
	visit := func(d dep) {
		if p := g.resolveReal(d); p != nil && !visited[p] {
			visited[p] = true
			order = append(order, p)
		}
	}
	for _, d := range roots {
		visit(d)
	}
	for i := 0; i < len(order); i++ {
		for _, d := range order[i].deps {
			visit(d)
		}
	}
	var rest []*realPkg
	for _, p := range g.corpus {
		if !visited[p] {
			rest = append(rest, p)
		}
	}
	g.rng.Shuffle(len(rest), func(i, j int) { rest[i], rest[j] = rest[j], rest[i] })
	order = append(order, rest...)
	for _, p := range order[:min(len(order), g.opts.Packages)] {
		g.addUnit(&unit{name: p.name, version: p.version, integrity: p.integrity, base: p, real: true})
	}
}

func (g *generator) addUnit(u *unit) {
	u.sv = parseVersion(u.version)
	g.units = append(g.units, u)
	g.byName[u.name] = append(g.byName[u.name], u)
	g.taken[u.key()] = true
}

// addSynthetic adds versions of real names until there are Packages units.
func (g *generator) addSynthetic() error {
	if len(g.units) >= g.opts.Packages {
		return nil
	}
	names := sortedKeys(g.realByName)
	g.rng.Shuffle(len(names), func(i, j int) { names[i], names[j] = names[j], names[i] })
	failures := 0
	for i := 0; len(g.units) < g.opts.Packages; i++ {
		name := names[i%len(names)]
		reals := g.realByName[name]
		base := reals[g.rng.IntN(len(reals))]
		sv := parseVersion(base.version)
		if sv == nil {
			if failures++; failures > len(names) {
				return fmt.Errorf("%w: no source version is a semantic version", ErrGenerate)
			}
			continue
		}
		failures = 0
		v := ""
		for k := uint64(1); ; k++ {
			v = fmt.Sprintf("%d.%d.%d", sv.Major(), sv.Minor(), sv.Patch()+k)
			if !g.taken[name+"@"+v] {
				break
			}
		}
		g.addUnit(&unit{name: name, version: v, integrity: syntheticIntegrity(name, v), base: base})
	}
	return nil
}

// syntheticIntegrity is the generated sha512 SRI of a generated version.
func syntheticIntegrity(name, version string) string {
	sum := sha512.Sum512([]byte("provaudit-bench\x00" + name + "@" + version))
	return "sha512-" + base64.StdEncoding.EncodeToString(sum[:])
}

// hash is a seeded deterministic hash of strings.
func (g *generator) hash(parts ...string) uint64 {
	h := fnv.New64a()
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], g.opts.Seed)
	_, _ = h.Write(b[:])
	for _, p := range parts {
		_, _ = h.Write([]byte(p))
		_, _ = h.Write([]byte{0})
	}
	return h.Sum64()
}

// planEdges resolves every unit's (and the root's) declared dependencies
// to units.
func (g *generator) planEdges() {
	for _, u := range g.units {
		u.edges = g.resolveDeps(u.key(), u.base.deps)
	}
	g.rootPln = g.resolveDeps("", g.rootDeps)
}

func (g *generator) resolveDeps(from string, deps []dep) []plannedEdge {
	var out []plannedEdge
	for _, d := range deps {
		// Only real versions: a generated version (a patch above a real
		// one) would otherwise win every range and pull the tree apart;
		// generated versions are attached as leaves of the real tree.
		var cands []*unit
		for _, t := range g.byName[d.target] {
			if t.real {
				cands = append(cands, t)
			}
		}
		if len(cands) == 0 {
			continue
		}
		c := g.constraint(d.rng)
		var to *unit
		for _, t := range cands {
			if (c == nil || t.sv != nil && c.Check(t.sv)) && (to == nil || compareVersions(t.version, to.version) > 0) {
				to = t
			}
		}
		rng := d.rng
		if to == nil {
			to = cands[g.hash(from, d.folder)%uint64(len(cands))]
			rng = caret(to.version)
		}
		if c == nil {
			rng = caret(to.version) // a range npm would not parse either (a typo such as "11.10.")
		}
		spec := rng
		if d.folder != to.name {
			spec = "npm:" + to.name + "@" + rng
		}
		out = append(out, plannedEdge{folder: d.folder, spec: spec, kind: d.kind, to: to})
	}
	return out
}

// caret is the range a package.json written today would declare.
func caret(v string) string {
	if sv := parseVersion(v); sv != nil && sv.Prerelease() == "" {
		return "^" + v
	}
	return v
}

// node is one install location.
type node struct {
	path     string
	folder   string
	u        *unit // nil for the root
	parent   *node
	depth    int
	children map[string]*node
	edges    []edge

	prodReq, prodAny, devReq, devAny bool
}

type edge struct {
	plannedEdge
	at *node
}

func (g *generator) newChild(parent *node, folder string, u *unit) *node {
	path := "node_modules/" + folder
	if parent.u != nil {
		path = parent.path + "/node_modules/" + folder
	}
	n := &node{path: path, folder: folder, u: u, parent: parent, depth: parent.depth + 1, children: map[string]*node{}}
	parent.children[folder] = n
	u.placed++
	g.nodes = append(g.nodes, n)
	g.queue = append(g.queue, n)
	return n
}

// resolve finds where an edge from x resolves: the nearest folder up the
// tree, and whether that is a different package (a conflict).
func resolve(x *node, folder string, to *unit) (found *node, conflict bool) {
	for l := x; l != nil; l = l.parent {
		if c := l.children[folder]; c != nil {
			return c, c.u != to
		}
	}
	return nil, false
}

// place resolves pe from x, adding a location when nothing visible from x
// is that package. Like npm it installs as high as possible: the shallowest
// location on x's chain of ancestors below any conflicting version that
// shadows no resolution already made, the top level only for the version
// reserved there (the most wanted one). x itself is the last resort, which
// is safe when x's subtree has resolved nothing yet (fresh); otherwise
// place reports false when x would shadow something too.
func (g *generator) place(x *node, pe plannedEdge, fresh bool) bool {
	found, conflict := resolve(x, pe.folder, pe.to)
	if found != nil && !conflict {
		x.edges = append(x.edges, edge{plannedEdge: pe, at: found})
		return true
	}
	var chain []*node // root first, x last
	for l := x; l != nil; l = l.parent {
		chain = append(chain, l)
	}
	slices.Reverse(chain)
	from := 0
	if conflict {
		from = found.parent.depth + 1
	}
	for i := from; i < len(chain); i++ {
		loc := chain[i]
		if loc == g.root && x != g.root {
			if r := g.reserved[pe.folder]; r != nil && r != pe.to {
				continue
			}
		} else if (loc != x || !fresh) && !g.canNest(loc, pe.folder) {
			continue
		}
		at := g.newChild(loc, pe.folder, pe.to)
		x.edges = append(x.edges, edge{plannedEdge: pe, at: at})
		return true
	}
	return false
}

// drain places the edges of every queued location, breadth first.
func (g *generator) drain() error {
	limit := 8*len(g.units) + 1000
	for len(g.queue) > 0 {
		x := g.queue[0]
		g.queue = g.queue[1:]
		pln := g.rootPln
		if x.u != nil {
			pln = x.u.edges
		}
		for _, pe := range pln {
			if !g.place(x, pe, true) {
				return fmt.Errorf("%w: cannot place %s under %q", ErrGenerate, pe.to.key(), x.path)
			}
		}
		if len(g.nodes) > limit {
			return fmt.Errorf("%w: more than %d install locations for %d packages", ErrGenerate, limit, len(g.units))
		}
	}
	return nil
}

// reserve picks, for every name, the version that gets the top-level
// folder: the one the most edges want (the higher version on a tie), as
// npm's deduplication ends up hoisting it; the root project's own
// dependencies always get theirs.
func (g *generator) reserve() {
	demand := map[*unit]int{}
	for _, u := range g.units {
		for _, pe := range u.edges {
			demand[pe.to]++
		}
	}
	g.reserved = map[string]*unit{}
	for name, us := range g.byName {
		g.reserved[name] = slices.MaxFunc(us, func(a, b *unit) int {
			return cmp.Or(cmp.Compare(demand[a], demand[b]), compareVersions(a.version, b.version))
		})
	}
	// The root project's own dependencies always get the top level.
	for _, pe := range g.rootPln {
		g.reserved[pe.folder] = pe.to
	}
}

func (g *generator) layout() error {
	g.reserve()
	g.root = &node{children: map[string]*node{}}
	g.nodes = []*node{g.root}
	g.queue = []*node{g.root}
	if err := g.drain(); err != nil {
		return err
	}
	// Attach every package no edge reached.
	for _, t := range g.units {
		if t.placed > 0 {
			continue
		}
		if err := g.attach(t); err != nil {
			return err
		}
		if err := g.drain(); err != nil {
			return err
		}
	}
	return nil
}

// attach makes t a dependency of a seeded random placed location where it
// can be installed without changing any existing resolution.
func (g *generator) attach(t *unit) error {
	pe := plannedEdge{folder: t.name, spec: caret(t.version), kind: depProd, to: t}
	try := func(x *node) bool {
		if x.u != nil && x.u.name == t.name {
			return false // a package depending on another version of itself
		}
		for _, e := range x.edges {
			if e.folder == t.name {
				return false
			}
		}
		return g.place(x, pe, false)
	}
	for attempt := 0; attempt < 64; attempt++ {
		x := g.nodes[g.hash(t.key(), strconv.Itoa(attempt))%uint64(len(g.nodes))]
		if try(x) {
			return nil
		}
	}
	for _, x := range g.nodes {
		if try(x) {
			return nil
		}
	}
	return fmt.Errorf("%w: nowhere to install %s", ErrGenerate, t.key())
}

// canNest reports whether a new folder under x would shadow nothing: no
// location below x has an edge of that folder name resolved above x.
func (g *generator) canNest(x *node, folder string) bool {
	stack := []*node{x}
	for len(stack) > 0 {
		n := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		for _, e := range n.edges {
			if e.folder == folder && !isWithin(e.at.parent, x) {
				return false
			}
		}
		for _, c := range n.children {
			stack = append(stack, c)
		}
	}
	return true
}

// isWithin reports whether n is x or below x.
func isWithin(n, x *node) bool {
	for ; n != nil; n = n.parent {
		if n == x {
			return true
		}
	}
	return false
}

// computeFlags sets the dev, optional and devOptional flags npm would:
// dev when only the root's devDependencies reach a location, optional when
// every path to it crosses an optional edge, devOptional when it is needed
// only by dev or optional paths but by both kinds.
func (g *generator) computeFlags() {
	for _, n := range g.nodes {
		n.prodReq, n.prodAny, n.devReq, n.devAny = false, false, false, false
	}
	var work []*node
	mark := func(n *node, prodReq, prodAny, devReq, devAny bool) {
		changed := false
		if prodReq && !n.prodReq {
			n.prodReq, changed = true, true
		}
		if prodAny && !n.prodAny {
			n.prodAny, changed = true, true
		}
		if devReq && !n.devReq {
			n.devReq, changed = true, true
		}
		if devAny && !n.devAny {
			n.devAny, changed = true, true
		}
		if changed {
			work = append(work, n)
		}
	}
	for _, e := range g.root.edges {
		switch e.kind {
		case depProd:
			mark(e.at, true, true, false, false)
		case depOptional:
			mark(e.at, false, true, false, false)
		case depDev:
			mark(e.at, false, false, true, true)
		}
	}
	for len(work) > 0 {
		n := work[len(work)-1]
		work = work[:len(work)-1]
		for _, e := range n.edges {
			req := e.kind != depOptional
			mark(e.at, n.prodReq && req, n.prodAny, n.devReq && req, n.devAny)
		}
	}
}

// tuneFlags computes the flags and brings the share of dev entries up to
// the sources' share: the union of several projects' root dependencies, and
// generated versions hung on shared packages, make most of the tree
// reachable from some production or optional root dependency, where real
// projects reach most of their tree only through devDependencies. Root
// production, then optional, dependencies become devDependencies one at a
// time, in seeded order, until the share is reached.
func (g *generator) tuneFlags() {
	entries, dev := 0, 0
	for _, s := range g.opts.Sources {
		entries += s.entries
		dev += s.dev
	}
	target := float64(dev) / float64(max(entries, 1))
	var flip []int
	for _, kind := range []depKind{depProd, depOptional} {
		var idx []int
		for i, e := range g.root.edges {
			if e.kind == kind {
				idx = append(idx, i)
			}
		}
		g.rng.Shuffle(len(idx), func(i, j int) { idx[i], idx[j] = idx[j], idx[i] })
		flip = append(flip, idx...)
	}
	devShare := func() float64 {
		g.computeFlags()
		n := 0
		for _, x := range g.nodes[1:] {
			if d, _, _ := x.flags(); d {
				n++
			}
		}
		return float64(n) / float64(max(len(g.nodes)-1, 1))
	}
	for _, i := range flip {
		if devShare() >= target {
			return
		}
		g.root.edges[i].kind = depDev
	}
	g.computeFlags()
}

// flags returns the lockfile flags of a location.
func (n *node) flags() (dev, optional, devOptional bool) {
	switch {
	case n.prodReq:
		return false, false, false
	case n.prodAny && n.devReq:
		return false, false, true
	case n.prodAny:
		return false, true, false
	case n.devReq:
		return true, false, false
	default:
		return true, true, false
	}
}

func (g *generator) stats() Stats {
	s := Stats{Packages: len(g.units), Entries: len(g.nodes) - 1, Names: len(g.byName), DirectDeps: len(g.root.edges)}
	for _, u := range g.units {
		if u.real {
			s.Real++
		} else {
			s.Generated++
		}
		if u.placed > 1 {
			s.Duplicated++
		}
	}
	for _, n := range g.nodes[1:] {
		if strings.HasPrefix(n.u.name, "@") {
			s.Scoped++
		}
		if n.folder != n.u.name {
			s.Aliased++
		}
		if n.depth > 1 {
			s.Nested++
		}
		s.MaxDepth = max(s.MaxDepth, n.depth)
		dev, opt, devOpt := n.flags()
		if dev {
			s.Dev++
		}
		if opt {
			s.Optional++
		}
		if devOpt {
			s.DevOptional++
		}
	}
	return s
}

// sortNodes orders install locations as a lockfile lists them.
func sortNodes(nodes []*node) {
	slices.SortFunc(nodes, func(a, b *node) int { return cmp.Compare(a.path, b.path) })
}
