package lockfile

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// This file reads bun.lock, bun's text lockfile (lockfileVersion 0, 1 and
// 2): JSON that may have trailing commas and comments.
//
//	{
//	  "lockfileVersion": 1,
//	  "workspaces": {
//	    "": {"name": "app", "dependencies": {"a": "^1.0.0"}},
//	    "packages/w": {"name": "w", "devDependencies": {"b": "^2.0.0"}},
//	  },
//	  "packages": {
//	    "a": ["a@1.0.0", "", {"dependencies": {"b": "^2.0.0"}}, "sha512-..."],
//	    "a/b": ["b@2.0.0", "", {}, "sha512-..."],
//	    "w": ["w@workspace:packages/w"],
//	  },
//	}
//
// A packages key is the install path below node_modules: "a/b" is
// node_modules/a/node_modules/b, and a key that starts with a workspace's
// name ("w/b") is installed in that workspace's folder. The first element
// of an entry is name@resolution; a registry package has the registry
// tarball URL ("" for the default registry), its metadata and its
// integrity; other kinds have their metadata second.

func parseBun(file string, data []byte) (*Lockfile, error) {
	p := &parser{file: file, sc: newScanner(standardizeJSONC(data))}
	b := &bunReader{p: p, index: map[string]int{}, workspaceDir: map[string]string{}}
	err := b.read()
	if err != nil {
		var se *syntaxError
		if errors.As(err, &se) {
			return nil, p.syntaxError(se)
		}
		return nil, err
	}
	if len(p.errs) > 0 {
		return nil, p.malformed()
	}
	switch {
	case !b.versionSeen:
		return nil, fmt.Errorf("%w: %s: no lockfileVersion: this is not a bun.lock", ErrMalformed, file)
	case b.version < 0 || b.version > 2:
		return nil, fmt.Errorf("%w: %s:%d: bun lockfileVersion %d (provaudit reads versions 0 to 2)", ErrUnsupportedVersion, file, b.versionLine, b.version)
	}
	entries := b.build()
	if err := sortEntries(file, entries); err != nil {
		return nil, err
	}
	return &Lockfile{Path: file, Format: FormatBun, LockfileVersion: b.version, Name: b.rootName, Version: b.rootVersion, Entries: entries}, nil
}

// standardizeJSONC returns data as standard JSON: comments and trailing
// commas become spaces (newlines are kept), so lines and columns stay
// those of the file. Strings are left alone; what is not JSON stays for
// the scanner to report.
func standardizeJSONC(data []byte) string {
	b := []byte(string(data))
	comma := -1 // a comma not yet followed by a value
	for i := 0; i < len(b); i++ {
		switch c := b[i]; c {
		case '"':
			comma = -1
			for i++; i < len(b) && b[i] != '"'; i++ {
				if b[i] == '\\' {
					i++
				}
			}
		case '/':
			switch {
			case i+1 < len(b) && b[i+1] == '/':
				for ; i < len(b) && b[i] != '\n'; i++ {
					b[i] = ' '
				}
			case i+1 < len(b) && b[i+1] == '*':
				end := strings.Index(string(b[i+2:]), "*/")
				stop := len(b)
				if end >= 0 {
					stop = i + 2 + end + 2
				}
				for ; i < stop; i++ {
					if b[i] != '\n' && b[i] != '\r' {
						b[i] = ' '
					}
				}
				i--
			default:
				comma = -1
			}
		case ',':
			comma = i
		case '}', ']':
			if comma >= 0 {
				b[comma] = ' '
			}
			comma = -1
		case ' ', '\t', '\r', '\n':
		default:
			comma = -1
		}
	}
	return string(b)
}

// jsonValue is a JSON value read whole: bun entries are small.
type jsonValue struct {
	t    jsonType
	s    string // string (or number text)
	keys []string
	vals []jsonValue
	line int
}

func (v *jsonValue) get(key string) *jsonValue {
	for i := len(v.keys) - 1; i >= 0; i-- {
		if v.keys[i] == key {
			return &v.vals[i]
		}
	}
	return nil
}

// value reads one value whole. Nesting is bounded by the scanner's depth
// limit.
func (sc *scanner) value() (jsonValue, error) {
	t := sc.peekType()
	v := jsonValue{t: t, line: sc.line}
	var err error
	switch t {
	case typeString:
		v.s, err = sc.str()
	case typeNumber:
		v.s, err = sc.number()
	case typeBool, typeNull:
		var b bool
		_, b, err = sc.literal()
		if b {
			v.s = "true"
		}
	case typeObject:
		if err = sc.beginObject(); err != nil {
			return v, err
		}
		for first := true; ; first = false {
			key, _, ok, err := sc.member(first)
			if err != nil || !ok {
				return v, err
			}
			val, err := sc.value()
			if err != nil {
				return v, err
			}
			v.keys = append(v.keys, key)
			v.vals = append(v.vals, val)
		}
	case typeArray:
		if err = sc.beginArray(); err != nil {
			return v, err
		}
		for first := true; ; first = false {
			ok, err := sc.element(first)
			if err != nil || !ok {
				return v, err
			}
			val, err := sc.value()
			if err != nil {
				return v, err
			}
			v.vals = append(v.vals, val)
		}
	default:
		err = sc.errChar("looking for beginning of value")
	}
	return v, err
}

type bunReader struct {
	p *parser

	version, versionLine  int
	versionSeen           bool
	rootName, rootVersion string
	workspaces            []bunWorkspace
	workspaceDir          map[string]string // workspace package name -> folder
	keys                  []string
	lines                 []int
	tuples                []bunTuple
	index                 map[string]int // packages key -> index
}

// bunTuple is a packages entry as read: the type and string value of each
// element, and the dependency names of the first object element.
type bunTuple struct {
	t     jsonType // the entry's type (typeArray when it is one)
	elems []bunElem
	info  *bunInfo
}

type bunElem struct {
	t jsonType
	s string
}

// bunInfo lists the dependency names of a package or workspace, by group.
type bunInfo struct {
	deps, dev, optional, peer []string
}

// infoOf returns the dependency names of an object read whole.
func infoOf(v *jsonValue) *bunInfo {
	names := func(field string) []string {
		if f := v.get(field); f != nil && f.t == typeObject {
			return f.keys
		}
		return nil
	}
	return &bunInfo{deps: names("dependencies"), dev: names("devDependencies"), optional: names("optionalDependencies"), peer: names("peerDependencies")}
}

// readTuple reads one packages entry.
func (b *bunReader) readTuple() (bunTuple, error) {
	sc := b.p.sc
	t := bunTuple{t: sc.peekType()}
	if t.t != typeArray {
		if t.t == typeInvalid {
			return t, sc.errChar("looking for beginning of value")
		}
		return t, sc.skip()
	}
	if err := sc.beginArray(); err != nil {
		return t, err
	}
	t.elems = make([]bunElem, 0, 4)
	for first := true; ; first = false {
		ok, err := sc.element(first)
		if err != nil || !ok {
			return t, err
		}
		el := bunElem{t: sc.peekType()}
		switch {
		case el.t == typeString:
			el.s, err = sc.str()
		case el.t == typeObject && t.info == nil:
			t.info, err = b.readInfo()
		case el.t == typeInvalid:
			err = sc.errChar("looking for beginning of value")
		default:
			err = sc.skip()
		}
		if err != nil {
			return t, err
		}
		t.elems = append(t.elems, el)
	}
}

// readInfo reads the dependency names of a package's metadata object.
func (b *bunReader) readInfo() (*bunInfo, error) {
	sc := b.p.sc
	info := &bunInfo{}
	if err := sc.beginObject(); err != nil {
		return nil, err
	}
	for first := true; ; first = false {
		key, _, ok, err := sc.member(first)
		if err != nil || !ok {
			return info, err
		}
		var dst *[]string
		switch key {
		case "dependencies":
			dst = &info.deps
		case "optionalDependencies":
			dst = &info.optional
		case "peerDependencies":
			dst = &info.peer
		}
		if dst == nil || sc.peekType() != typeObject {
			if err := sc.skip(); err != nil {
				return nil, err
			}
			continue
		}
		if err := sc.beginObject(); err != nil {
			return nil, err
		}
		for first := true; ; first = false {
			name, _, ok, err := sc.member(first)
			if err != nil {
				return nil, err
			}
			if !ok {
				break
			}
			*dst = append(*dst, name)
			if err := sc.skip(); err != nil {
				return nil, err
			}
		}
	}
}

type bunWorkspace struct {
	dir  string
	line int
	v    jsonValue
}

// read reads the top-level object; file problems go to p.errs.
func (b *bunReader) read() error {
	sc := b.p.sc
	return b.p.topObject("a bun.lock object", func(key string, line int) error {
		switch key {
		case "lockfileVersion":
			v, err := sc.value()
			if err != nil {
				return err
			}
			n, perr := strconv.Atoi(v.s)
			if v.t != typeNumber || perr != nil {
				b.p.errorf(line, "lockfileVersion is %s, want a whole number", clip(v.s))
			}
			b.version, b.versionLine, b.versionSeen = n, line, true
			return nil
		case "workspaces":
			return b.readWorkspaces(line)
		case "packages":
			return b.readPackages(line)
		}
		return sc.skip()
	})
}

func (b *bunReader) readWorkspaces(line int) error {
	sc := b.p.sc
	ok, _, err := b.p.object(nil, line, "workspaces")
	if err != nil || !ok {
		return err
	}
	for first := true; ; first = false {
		dir, line, ok, err := sc.member(first)
		if err != nil || !ok {
			return err
		}
		v, err := sc.value()
		if err != nil {
			return err
		}
		if v.t != typeObject {
			b.p.errorf(line, "workspace %q is %s, want an object", dir, v.t)
			continue
		}
		if dir == "" {
			b.rootName, b.rootVersion = strField(&v, "name"), strField(&v, "version")
		}
		b.workspaces = append(b.workspaces, bunWorkspace{dir: dir, line: line, v: v})
	}
}

func strField(v *jsonValue, key string) string {
	if f := v.get(key); f != nil && f.t == typeString {
		return f.s
	}
	return ""
}

func (b *bunReader) readPackages(line int) error {
	sc := b.p.sc
	ok, _, err := b.p.object(nil, line, "packages")
	if err != nil || !ok {
		return err
	}
	for first := true; ; first = false {
		key, line, ok, err := sc.member(first)
		if err != nil || !ok {
			return err
		}
		v, err := b.readTuple()
		if err != nil {
			return err
		}
		if i, dup := b.index[key]; dup {
			// A repeated key replaces the earlier value, as in JSON.parse.
			b.lines[i], b.tuples[i] = line, v
			continue
		}
		b.index[key] = len(b.keys)
		b.keys = append(b.keys, key)
		b.lines = append(b.lines, line)
		b.tuples = append(b.tuples, v)
	}
}

// build makes the entries: one per packages key, and one per workspace
// folder.
func (b *bunReader) build() []Entry {
	entries := make([]Entry, len(b.keys), len(b.keys)+len(b.workspaces))
	infos := make([]*bunInfo, len(b.keys))
	// Workspace names first: keys below a workspace are installed in its
	// folder.
	for _, t := range b.tuples {
		if len(t.elems) > 0 && t.elems[0].t == typeString {
			if name, ref, ok := splitNameAt(t.elems[0].s); ok && strings.HasPrefix(ref, "workspace:") {
				b.workspaceDir[name] = linkTarget(strings.TrimPrefix(ref, "workspace:"))
			}
		}
	}
	workspaces := map[string]bool{}
	for _, w := range b.workspaces {
		if w.dir != "" {
			workspaces[linkTarget(w.dir)] = true
		}
	}
	for i, key := range b.keys {
		entries[i], infos[i] = b.entry(key, b.lines[i], &b.tuples[i], workspaces)
	}
	g := depGraph{out: make([][]depEdge, len(b.keys))}
	for _, w := range b.workspaces {
		var from []string
		if w.dir != "" {
			from = []string{strField(&w.v, "name")}
		}
		b.depEdges(&g.roots, from, infoOf(&w.v), true)
	}
	for i, key := range b.keys {
		if infos[i] != nil {
			b.depEdges(&g.out[i], bunKeyNames(key), infos[i], false)
		}
	}
	setFlags(entries, &g)
	for i := range entries {
		if e := &entries[i]; e.Kind == KindWorkspace || e.Kind == KindLink || e.Kind == KindRoot {
			e.Dev, e.Optional, e.DevOptional, e.Peer = false, false, false, false
		}
	}
	out := entries[:0]
	for _, e := range entries {
		if e.Kind != KindRoot {
			out = append(out, e)
		}
	}
	for _, w := range b.workspaces {
		if w.dir != "" {
			e := workspaceFolder(linkTarget(w.dir), strField(&w.v, "name"), w.line)
			if msg := checkPath(e.Path); msg != "" || strings.HasPrefix(e.Path, "../") {
				invalidate(&e, "the workspace folder "+cmpMsg(msg, "is outside the project"))
			}
			out = append(out, e)
		}
	}
	return out
}

// bunKeyNames splits a packages key into package names: "a/@s/b" ->
// ["a", "@s/b"].
func bunKeyNames(key string) []string {
	var names []string
	parts := strings.Split(key, "/")
	for i := 0; i < len(parts); i++ {
		if strings.HasPrefix(parts[i], "@") && i+1 < len(parts) {
			names = append(names, parts[i]+"/"+parts[i+1])
			i++
			continue
		}
		names = append(names, parts[i])
	}
	return names
}

// installPath returns the install path of a packages key.
func (b *bunReader) installPath(names []string) string {
	prefix := ""
	if dir, ok := b.workspaceDir[names[0]]; ok && len(names) > 1 {
		prefix, names = dir+"/", names[1:]
	}
	return prefix + "node_modules/" + strings.Join(names, "/node_modules/")
}

// depEdges adds the edges of the dependency groups of a package (or a
// workspace) installed at key names from, resolved as node resolves them:
// from the deepest node_modules up.
func (b *bunReader) depEdges(out *[]depEdge, from []string, info *bunInfo, workspace bool) {
	var buf []byte
	for _, g := range [...]struct {
		names               []string
		dev, optional, peer bool
	}{{info.deps, false, false, false}, {info.dev, true, false, false}, {info.optional, false, true, false}, {info.peer, false, false, true}} {
		if g.dev && !workspace {
			continue
		}
		for _, name := range g.names {
			for i := len(from); i >= 0; i-- {
				buf = buf[:0]
				for _, f := range from[:i] {
					buf = append(append(buf, f...), '/')
				}
				buf = append(buf, name...)
				if to, ok := b.index[string(buf)]; ok {
					*out = append(*out, depEdge{to: to, dev: g.dev, optional: g.optional, peer: g.peer})
					break
				}
			}
		}
	}
}

// entry builds the entry of one packages key and returns its metadata.
func (b *bunReader) entry(key string, line int, t *bunTuple, workspaces map[string]bool) (Entry, *bunInfo) {
	names := bunKeyNames(key)
	e := Entry{Path: b.installPath(names), Line: line}
	folder := names[len(names)-1]
	bad := func(msg string) (Entry, *bunInfo) {
		e.Name = folder
		invalidate(&e, msg)
		return e, nil
	}
	if msg := checkPath(e.Path); msg != "" {
		return bad("the key " + msg)
	}
	if _, ok := installName(e.Path); !ok {
		return bad(fmt.Sprintf("the key %q does not end in a package folder name", clip(key)))
	}
	if t.t != typeArray || len(t.elems) == 0 || t.elems[0].t != typeString {
		return bad("the entry is not an array that starts with name@resolution")
	}
	name, ref, ok := splitNameAt(t.elems[0].s)
	if !ok {
		return bad(fmt.Sprintf("%q is not name@resolution", clip(t.elems[0].s)))
	}
	e.Name = name
	if folder != name {
		e.Alias = folder
	}
	// field checks that element i, if present and not null, has type want.
	field := func(i int, want jsonType) (*bunElem, string) {
		if i >= len(t.elems) {
			return nil, ""
		}
		if f := &t.elems[i]; f.t == want {
			return f, ""
		} else if f.t != typeNull {
			return nil, fmt.Sprintf("element %d is %s, want %s", i+1, f.t, want)
		}
		return nil, ""
	}
	// infoAt is the metadata, when element i is the entry's object.
	infoAt := func(i int) (*bunInfo, string) {
		f, problem := field(i, typeObject)
		if f == nil {
			return nil, problem
		}
		return t.info, problem
	}
	protocol, rest, ok := strings.Cut(ref, ":")
	if !ok {
		protocol = ""
	}
	if (protocol == "workspace" || protocol == "link") && linkTarget(rest) == "" {
		return bad(fmt.Sprintf("%q links to nothing", clip(t.elems[0].s)))
	}
	var info *bunInfo
	var problem string
	switch {
	case protocol == "root":
		e.Kind = KindRoot
		return e, nil
	case protocol == "workspace":
		e.Link = linkTarget(rest)
		e.Resolved = ref
		e.Kind, e.Reason = KindWorkspace, "link to workspace "+e.Link
		if !workspaces[e.Link] {
			e.Kind, e.Reason = KindLink, "link to "+e.Link
		}
	case protocol == "link":
		info, problem = infoAt(1)
		e.Link, e.Resolved = linkTarget(rest), ref
		e.Kind, e.Reason = KindLink, "link to "+e.Link
	case protocol == "file":
		info, problem = infoAt(1)
		e.Resolved = ref
		e.Kind, e.Reason = KindFile, "local file dependency "+ref
	case isGitSpec(ref) || protocol == "git" || protocol == "github":
		info, problem = infoAt(1)
		e.Resolved = ref
		e.Kind, e.Reason = KindGit, "git dependency "+ref
	case isHTTP(ref):
		info, problem = infoAt(1)
		e.Resolved = ref
	default:
		e.Version = ref
		var reg, integ *bunElem
		reg, problem = field(1, typeString)
		if problem == "" {
			info, problem = infoAt(2)
		}
		if problem == "" {
			integ, problem = field(3, typeString)
		}
		if reg != nil && reg.s != "" {
			e.Resolved = bunTarball(reg.s, name, ref)
		}
		if integ != nil {
			e.Integrity = integ.s
		}
	}
	var problems []string
	if problem != "" {
		problems = append(problems, problem)
	}
	checkEntry(&e, problems)
	return e, info
}

// bunTarball returns the tarball URL of a registry entry: bun writes the
// tarball URL, or (for a scoped registry) the registry's URL.
func bunTarball(reg, name, version string) string {
	if !isHTTP(reg) || strings.HasSuffix(reg, ".tgz") {
		return reg
	}
	base := name
	if i := strings.IndexByte(name, '/'); i >= 0 {
		base = name[i+1:]
	}
	return strings.TrimSuffix(reg, "/") + "/" + name + "/-/" + base + "-" + version + ".tgz"
}
