package lockfile

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
)

// maxErrors is how many problems of a malformed lockfile are reported.
const maxErrors = 10

// rawEntry is an entry as written in the file.
type rawEntry struct {
	key                                string // packages key (v2, v3) or dependencies key (v1)
	path                               string // install path (for v1 first without link relocation)
	line                               int
	name, version, resolved, integrity string

	link, dev, optional, devOptional, peer, inBundle bool

	// problems found while reading the entry; any makes it KindInvalid.
	problems []string

	// v1 only
	parent  int // index of the parent entry, -1 for top level
	dropped bool
}

// parser turns one lockfile into a Lockfile. Syntax errors stop it at once;
// other problems of the file are collected (up to maxErrors) while the rest
// of the file is still read, so that a syntax error later in the file wins
// and the user sees every problem of a file at once. A problem of one entry
// is recorded in that entry, which becomes KindInvalid.
type parser struct {
	file string
	sc   *scanner

	errs    []lineError
	dropped int // problems beyond maxErrors

	// top level
	lockfileVersion int
	versionLine     int
	versionSeen     bool
	versionErr      error
	name, version   string
	requires        bool

	hasPackages bool
	pkgs        []rawEntry
	pkgIndex    map[string]int

	hasDeps                        bool
	depsEmpty                      bool
	depsOff, depsLine, depsLineBeg int
	depsKeyLine                    int

	// root entry ("" in packages)
	rootName, rootVersion string
	workspaces            []string
	workspacesLine        int

	// v1 install paths repeat their parents' paths: their total size is
	// bounded, so that a deep tree cannot make parsing quadratic.
	pathBytes, pathBudget int
}

// parseNpm parses package-lock.json or npm-shrinkwrap.json
// (lockfileVersion 1, 2 or 3).
func parseNpm(filename string, data []byte) (*Lockfile, error) {
	p := &parser{file: filename, sc: newScanner(string(data)), pathBudget: 32*len(data) + 1<<20}
	lf, err := p.parse()
	if err != nil {
		var se *syntaxError
		if errors.As(err, &se) {
			return nil, p.syntaxError(se)
		}
		return nil, err
	}
	lf.Format = FormatNpm
	return lf, nil
}

func (p *parser) syntaxError(se *syntaxError) error {
	msg := se.msg
	if se.eof {
		if len(strings.TrimSpace(strings.TrimPrefix(p.sc.s, "\uFEFF"))) == 0 {
			msg = "the file is empty"
		} else {
			msg += " (the file is truncated)"
		}
		// A truncated file is both not JSON and a malformed lockfile.
		return fmt.Errorf("%w: %w: %s:%d:%d: %s", ErrSyntax, ErrMalformed, p.file, se.line, se.col, msg)
	}
	if hasConflictMarkers(p.sc.s) {
		msg += " (the file has unresolved git merge conflict markers)"
	}
	return fmt.Errorf("%w: %s:%d:%d: %s", ErrSyntax, p.file, se.line, se.col, msg)
}

func hasConflictMarkers(s string) bool {
	return strings.HasPrefix(s, "<<<<<<< ") || strings.Contains(s, "\n<<<<<<< ")
}

// bad records a problem: in entry r (when not nil), which makes it invalid,
// else as a problem of the file at line.
func (p *parser) bad(r *rawEntry, line int, format string, args ...any) {
	if r == nil {
		p.errorf(line, format, args...)
		return
	}
	r.addProblem(format, args...)
}

// addProblem records a problem of the entry. Quoted values are clipped.
func (r *rawEntry) addProblem(format string, args ...any) {
	const maxProblems = 3
	if len(r.problems) == maxProblems {
		r.problems = append(r.problems, "and more")
	}
	if len(r.problems) > maxProblems {
		return
	}
	r.problems = append(r.problems, sprintClipped(format, args))
}

// errorf records a problem of the file at a line.
func (p *parser) errorf(line int, format string, args ...any) {
	if len(p.errs) >= maxErrors {
		p.dropped++
		return
	}
	p.errs = append(p.errs, lineError{line, fmt.Errorf("%w: %s:%d: %s", ErrMalformed, p.file, line, sprintClipped(format, args))})
}

// sprintClipped formats a message whose string arguments are clipped.
func sprintClipped(format string, args []any) string {
	for i, a := range args {
		if s, ok := a.(string); ok {
			args[i] = clip(s)
		}
	}
	return fmt.Sprintf(format, args...)
}

// clip shortens a value quoted in an error message.
func clip(s string) string {
	const maxLen = 200
	if len(s) <= maxLen {
		return s
	}
	return s[:maxLen] + "..."
}

// lineError is a problem found at a line.
type lineError struct {
	line int
	err  error
}

// malformed returns the problems found, in line order.
func (p *parser) malformed() error { return joinLineErrors(p.file, p.errs, p.dropped) }

// joinLineErrors returns the problems of a file in line order, and how
// many more were not kept.
func joinLineErrors(file string, lineErrs []lineError, dropped int) error {
	slices.SortStableFunc(lineErrs, func(a, b lineError) int { return cmp.Compare(a.line, b.line) })
	errs := make([]error, 0, len(lineErrs)+1)
	for _, e := range lineErrs {
		errs = append(errs, e.err)
	}
	if dropped > 0 {
		errs = append(errs, fmt.Errorf("%w: %s: %d more problems not shown", ErrMalformed, file, dropped))
	}
	if len(errs) == 1 {
		return errs[0]
	}
	return errors.Join(errs...)
}

func (p *parser) parse() (*Lockfile, error) {
	if err := p.parseTop(); err != nil {
		return nil, err
	}
	if len(p.errs) > 0 {
		return nil, p.malformed()
	}
	switch {
	case p.versionErr != nil:
		return nil, p.versionErr
	case !p.versionSeen:
		return nil, fmt.Errorf("%w: %s: no lockfileVersion: this is not an npm lockfile, or one written by npm 4 or older (run `npm install --package-lock-only` with npm 7 or newer to write a current one)", ErrMalformed, p.file)
	case !p.hasPackages && p.lockfileVersion < 2 && !p.requires && p.hasDeps && !p.depsEmpty:
		return nil, fmt.Errorf("%w: %s:%d: ancient lockfile (lockfileVersion 1 without \"requires\": written by npm 5.0, whose entries do not reliably say what is installed); run `npm install --package-lock-only` with npm 7 or newer to upgrade it", ErrMalformed, p.file, p.versionLine)
	}

	var entries []Entry
	if p.hasPackages {
		entries = p.buildPackages()
	} else if p.hasDeps && !p.depsEmpty {
		raws, err := p.parseV1()
		if err != nil {
			return nil, err
		}
		if p.pathBytes > p.pathBudget {
			return nil, p.malformed()
		}
		entries = p.buildV1(raws)
	}
	if len(p.errs) > 0 {
		return nil, p.malformed()
	}
	slices.SortFunc(entries, func(a, b Entry) int { return cmp.Compare(a.Path, b.Path) })
	markBundled(entries)
	lf := &Lockfile{
		Path:            p.file,
		LockfileVersion: p.lockfileVersion,
		Name:            p.name,
		Version:         p.version,
		Entries:         entries,
	}
	if lf.Name == "" {
		lf.Name = p.rootName
	}
	if lf.Version == "" {
		lf.Version = p.rootVersion
	}
	return lf, nil
}

// parseTop reads the top-level object. It returns only syntax errors.
func (p *parser) parseTop() error {
	return p.topObject("a lockfile object", func(key string, line int) (err error) {
		switch key {
		case "lockfileVersion":
			err = p.readLockfileVersion(line)
		case "name":
			p.name, err = p.str(nil, "name")
		case "version":
			p.version, err = p.str(nil, "version")
		case "requires":
			p.requires, err = p.flag(nil, "requires")
		case "packages":
			err = p.parsePackages()
		case "dependencies":
			err = p.markDependencies(line)
		default:
			err = p.sc.skip()
		}
		return err
	})
}

// topObject reads the file's top-level value, which must be an object
// (else that is a problem of the file: it holds what, not want), handing
// each member's key and line to member, which reads its value. It returns
// only syntax errors and those of member.
func (p *parser) topObject(want string, member func(key string, line int) error) error {
	sc := p.sc
	switch t := sc.peekType(); t {
	case typeObject:
	case typeInvalid:
		return sc.errChar("looking for beginning of value")
	default:
		line := sc.line
		if err := sc.skip(); err != nil {
			return err
		}
		if err := sc.end(); err != nil {
			return err
		}
		p.errorf(line, "the file holds %s, not %s", t, want)
		return nil
	}
	if err := sc.beginObject(); err != nil {
		return err
	}
	for first := true; ; first = false {
		key, line, ok, err := sc.member(first)
		if err != nil {
			return err
		}
		if !ok {
			return sc.end()
		}
		if err := member(key, line); err != nil {
			return err
		}
	}
}

func (p *parser) readLockfileVersion(line int) error {
	sc := p.sc
	p.versionLine = line
	p.versionSeen, p.versionErr, p.lockfileVersion = true, nil, 0
	switch t := sc.peekType(); t {
	case typeNumber:
		text, err := sc.number()
		if err != nil {
			return err
		}
		f, perr := strconv.ParseFloat(text, 64)
		switch {
		case perr == nil && f == math.Trunc(f) && f >= 1 && f <= 3:
			p.lockfileVersion = int(f)
		default:
			p.versionErr = fmt.Errorf("%w: %s:%d: lockfileVersion %s (provaudit reads lockfileVersion 1, 2 and 3)", ErrUnsupportedVersion, p.file, line, text)
		}
		return nil
	case typeNull:
		p.versionSeen = false
		_, _, err := sc.literal()
		return err
	case typeInvalid:
		return sc.errChar("looking for beginning of value")
	default:
		p.errorf(sc.line, "lockfileVersion is %s, want a number", t)
		return sc.skip()
	}
}

// str reads a string field of entry r (nil: of the file); null reads as "".
// Another type is recorded as a problem and skipped.
func (p *parser) str(r *rawEntry, field string) (string, error) {
	sc := p.sc
	switch t := sc.peekType(); t {
	case typeString:
		return sc.str()
	case typeNull:
		_, _, err := sc.literal()
		return "", err
	case typeInvalid:
		return "", sc.errChar("looking for beginning of value")
	default:
		p.bad(r, sc.line, "%s is %s, want a string", field, t)
		return "", sc.skip()
	}
}

// flag reads a boolean field of entry r (nil: of the file); null reads as
// false.
func (p *parser) flag(r *rawEntry, field string) (bool, error) {
	sc := p.sc
	switch t := sc.peekType(); t {
	case typeBool, typeNull:
		return sc.boolean()
	case typeInvalid:
		return false, sc.errChar("looking for beginning of value")
	default:
		p.bad(r, sc.line, "%s is %s, want true or false", field, t)
		return false, sc.skip()
	}
}

// strList reads an array of strings of the root entry.
func (p *parser) strList(field string) ([]string, error) {
	sc := p.sc
	switch t := sc.peekType(); t {
	case typeArray:
	case typeNull:
		_, _, err := sc.literal()
		return nil, err
	case typeInvalid:
		return nil, sc.errChar("looking for beginning of value")
	default:
		p.errorf(sc.line, "%s is %s, want an array of strings", field, t)
		return nil, sc.skip()
	}
	if err := sc.beginArray(); err != nil {
		return nil, err
	}
	var out []string
	for first := true; ; first = false {
		ok, err := sc.element(first)
		if err != nil {
			return nil, err
		}
		if !ok {
			return out, nil
		}
		if t := sc.peekType(); t != typeString {
			if t == typeInvalid {
				return nil, sc.errChar("looking for beginning of value")
			}
			p.errorf(sc.line, "%s lists %s, want strings", field, t)
			if err := sc.skip(); err != nil {
				return nil, err
			}
			continue
		}
		s, err := sc.str()
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
}

// workspacesField reads the root's workspaces: an array of globs, or an
// object whose "packages" is one.
func (p *parser) workspacesField() ([]string, error) {
	sc := p.sc
	if sc.peekType() != typeObject {
		return p.strList("the root entry's workspaces")
	}
	if err := sc.beginObject(); err != nil {
		return nil, err
	}
	var out []string
	for first := true; ; first = false {
		key, _, ok, err := sc.member(first)
		if err != nil {
			return nil, err
		}
		if !ok {
			return out, nil
		}
		if key == "packages" {
			out, err = p.strList("the root entry's workspaces.packages")
		} else {
			err = sc.skip()
		}
		if err != nil {
			return nil, err
		}
	}
}

// object checks that the value at pos is an object and consumes its '{'.
// ok is false when it is null (null reports true) or of another type (a
// problem of entry r, or of the file when r is nil, then recorded and the
// value skipped).
func (p *parser) object(r *rawEntry, line int, what string) (ok, null bool, err error) {
	sc := p.sc
	switch t := sc.peekType(); t {
	case typeObject:
		return true, false, sc.beginObject()
	case typeInvalid:
		return false, false, sc.errChar("looking for beginning of value")
	case typeNull:
		_, _, err := sc.literal()
		return false, true, err
	default:
		p.bad(r, line, "%s is %s, want an object", what, t)
		return false, false, sc.skip()
	}
}

func (p *parser) parsePackages() error {
	sc := p.sc
	// A repeated key replaces the earlier value, as in JSON.parse.
	p.hasPackages = false
	p.pkgs = p.pkgs[:0]
	clear(p.pkgIndex)
	p.rootName, p.rootVersion, p.workspaces = "", "", nil
	ok, _, err := p.object(nil, sc.line, "packages")
	if err != nil || !ok {
		return err
	}
	p.hasPackages = true
	if p.pkgIndex == nil {
		// Real lockfiles spend 300 to 500 bytes on an entry.
		p.pkgIndex = make(map[string]int, len(sc.s)/400)
		p.pkgs = make([]rawEntry, 0, len(sc.s)/400)
	}
	for first := true; ; first = false {
		key, line, ok, err := sc.member(first)
		if err != nil {
			return err
		}
		if !ok {
			return nil
		}
		if key == "" {
			if err := p.parseRoot(line); err != nil {
				return err
			}
			continue
		}
		r := rawEntry{key: key, path: key, line: line, parent: -1}
		if err := p.parseEntry(&r, false); err != nil {
			return err
		}
		if i, dup := p.pkgIndex[key]; dup {
			p.pkgs[i] = r
		} else {
			p.pkgIndex[key] = len(p.pkgs)
			p.pkgs = append(p.pkgs, r)
		}
	}
}

// parseRoot reads the root entry "": its name, version and workspaces.
func (p *parser) parseRoot(line int) error {
	sc := p.sc
	p.rootName, p.rootVersion, p.workspaces = "", "", nil
	ok, _, err := p.object(nil, line, `the root entry ""`)
	if err != nil || !ok {
		return err
	}
	for first := true; ; first = false {
		key, _, ok, err := sc.member(first)
		if err != nil {
			return err
		}
		if !ok {
			return nil
		}
		switch key {
		case "name":
			p.rootName, err = p.str(nil, "the root entry's name")
		case "version":
			p.rootVersion, err = p.str(nil, "the root entry's version")
		case "workspaces":
			p.workspacesLine = sc.line
			p.workspaces, err = p.workspacesField()
		default:
			err = sc.skip()
		}
		if err != nil {
			return err
		}
	}
}

// parseEntry reads the object of one entry into r. For v1 it also reads the
// nested dependencies, appending them to p.pkgs (r first). An entry that
// is not an object is kept with that problem.
func (p *parser) parseEntry(r *rawEntry, v1 bool) error {
	if !v1 {
		return p.readEntry(r, -1)
	}
	self := len(p.pkgs)
	p.pkgs = append(p.pkgs, *r)
	err := p.readEntry(r, self)
	p.pkgs[self] = *r
	return err
}

// readEntry reads the object of entry r; self is its index in p.pkgs for
// v1 (whose nested dependencies it reads too), else -1.
func (p *parser) readEntry(r *rawEntry, self int) error {
	sc := p.sc
	v1 := self >= 0
	ok, null, err := p.object(r, r.line, "the entry")
	if err != nil || !ok {
		if null {
			r.addProblem("the entry is null, want an object")
		}
		return err
	}
	for first := true; ; first = false {
		key, line, ok, err := sc.member(first)
		if err != nil {
			return err
		}
		if !ok {
			return nil
		}
		switch key {
		case "name":
			r.name, err = p.str(r, key)
		case "version":
			r.version, err = p.str(r, key)
		case "resolved":
			r.resolved, err = p.str(r, key)
		case "integrity":
			r.integrity, err = p.str(r, key)
		case "link":
			r.link, err = p.flag(r, key)
		case "dev":
			r.dev, err = p.flag(r, key)
		case "optional":
			r.optional, err = p.flag(r, key)
		case "devOptional":
			r.devOptional, err = p.flag(r, key)
		case "peer":
			r.peer, err = p.flag(r, key)
		case "inBundle":
			r.inBundle, err = p.flag(r, key)
		case "bundled":
			if v1 {
				r.inBundle, err = p.flag(r, key)
			} else {
				err = sc.skip()
			}
		case "dependencies":
			if v1 {
				var problem string
				if problem, err = p.parseV1Deps(line, self); problem != "" {
					r.addProblem("%s", problem)
				}
			} else {
				err = sc.skip()
			}
		default:
			err = sc.skip()
		}
		if err != nil {
			return err
		}
	}
}

// markDependencies records where the top-level dependencies object is and
// skips it: it is read (as a v1 tree) only when there is no packages object.
func (p *parser) markDependencies(line int) error {
	sc := p.sc
	switch t := sc.peekType(); t {
	case typeObject:
	case typeNull:
		p.hasDeps = false
		_, _, err := sc.literal()
		return err
	case typeInvalid:
		return sc.errChar("looking for beginning of value")
	default:
		// Only a problem if it is used: checked when there is no packages.
		p.hasDeps, p.depsEmpty = true, false
		p.depsOff, p.depsLine, p.depsLineBeg, p.depsKeyLine = -1, sc.line, sc.lineStart, line
		return sc.skip()
	}
	p.hasDeps = true
	p.depsOff, p.depsLine, p.depsLineBeg, p.depsKeyLine = sc.pos, sc.line, sc.lineStart, line
	if err := sc.skip(); err != nil {
		return err
	}
	inner := sc.s[p.depsOff+1 : sc.pos-1]
	p.depsEmpty = strings.TrimLeft(inner, " \t\r\n") == ""
	return nil
}

// parseV1 reads the recorded top-level dependencies object as a v1 tree.
func (p *parser) parseV1() ([]rawEntry, error) {
	if p.depsOff < 0 {
		p.errorf(p.depsKeyLine, "dependencies is not an object")
		return nil, nil
	}
	sc := p.sc
	sc.pos, sc.line, sc.lineStart, sc.depth = p.depsOff, p.depsLine, p.depsLineBeg, 1
	p.pkgs = p.pkgs[:0]
	if _, err := p.parseV1Deps(p.depsKeyLine, -1); err != nil {
		return nil, err
	}
	return p.pkgs, nil
}

// parseV1Deps reads a v1 dependencies object whose entries are children of
// the entry at index parent (-1 for the top level). A nested dependencies
// value that is not an object is returned as a problem of its entry.
func (p *parser) parseV1Deps(line, parent int) (problem string, err error) {
	sc := p.sc
	prefix := ""
	if parent >= 0 {
		prefix = p.pkgs[parent].path + "/"
		if t := sc.peekType(); t != typeObject && t != typeNull && t != typeInvalid {
			return fmt.Sprintf("dependencies is %s, want an object", t), sc.skip()
		}
	}
	ok, _, err := p.object(nil, line, "dependencies")
	if err != nil || !ok {
		return "", err
	}
	for first := true; ; first = false {
		key, line, ok, err := sc.member(first)
		if err != nil {
			return "", err
		}
		if !ok {
			return "", nil
		}
		r := rawEntry{key: key, line: line, parent: parent}
		if p.pathBytes += len(prefix) + len("node_modules/") + len(key); p.pathBytes <= p.pathBudget {
			r.path = prefix + "node_modules/" + key
		} else if p.pathBytes-len(prefix)-len("node_modules/")-len(key) <= p.pathBudget {
			p.errorf(line, "dependencies are nested too deep: their install paths would take more than %d bytes", p.pathBudget)
		}
		if err := p.parseEntry(&r, true); err != nil {
			return "", err
		}
	}
}
