package lockfile

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/provaudit/provaudit/internal/npmspec"
)

// This file reads the yarn.lock of yarn 1 ("# yarn lockfile v1"), a syntax
// of its own:
//
//	"@scope/a@^1.0.0", "@scope/a@^1.1.0":
//	  version "1.2.0"
//	  resolved "https://registry.invalid/@scope/a/-/a-1.2.0.tgz#<sha1 hex>"
//	  integrity sha512-...
//	  dependencies:
//	    b "^2.0.0"
//
// A line is indented by two spaces per level and holds keys (quoted JSON
// strings or bare words) separated by commas, then either a colon that
// opens the indented block below, or a value. "#" starts a comment. The
// reader follows yarn 1's own parser (src/lockfile/parse.js) where it
// matters: a descriptor named by several blocks is resolved by the last,
// and a block only reached through descriptors other blocks took over is
// not installed.

// maxYarnDepth bounds the nesting of a yarn 1 lockfile: yarn writes three
// levels (entry, dependencies, dependency).
const maxYarnDepth = 16

// yarnValue is a value of a yarn 1 lockfile: a scalar, or a block of fields.
type yarnValue struct {
	line   int
	scalar string
	isBool bool
	block  *yarnBlock
}

// yarnBlock is a block: keys in order, each with its value; the top-level
// block keeps its lines as groups instead.
type yarnBlock struct {
	keys   []string
	vals   []yarnValue
	groups []yarnGroup
}

// yarnGroup is a line "k1, k2:" with its value.
type yarnGroup struct {
	keys []string
	val  yarnValue
}

func (b *yarnBlock) get(key string) (yarnValue, bool) {
	for i := len(b.keys) - 1; i >= 0; i-- {
		if b.keys[i] == key {
			return b.vals[i], true
		}
	}
	return yarnValue{}, false
}

// parseYarnSyntax reads yarn 1 lockfile syntax into its top-level block.
func parseYarnSyntax(file, s string) (*yarnBlock, error) {
	top := &yarnBlock{}
	stack := []*yarnBlock{top}
	lineNo := 0
	for len(s) > 0 {
		lineNo++
		var line string
		line, s, _ = strings.Cut(s, "\n")
		line = strings.TrimSuffix(line, "\r")
		if lineNo == 1 {
			line = strings.TrimPrefix(line, "\uFEFF")
		}
		indent := 0
		for indent < len(line) && line[indent] == ' ' {
			indent++
		}
		rest := line[indent:]
		if rest == "" || rest[0] == '#' {
			continue
		}
		syntaxErr := func(col int, format string, args ...any) error {
			return yarnSyntaxError(file, lineNo, col, format, args...)
		}
		if rest[0] == '\t' {
			return nil, syntaxErr(indent, "a tab in the indentation (yarn indents with two spaces)")
		}
		if indent%2 != 0 {
			return nil, syntaxErr(indent, "an odd number of spaces of indentation (yarn indents with two spaces per level)")
		}
		level := indent / 2
		if level > len(stack)-1 {
			return nil, syntaxErr(indent, "indented deeper than the block it is in")
		}
		stack = stack[:level+1]
		keys, val, opens, col, msg := yarnLine(rest)
		if msg != "" {
			return nil, syntaxErr(indent+col, "%s", msg)
		}
		b := stack[level]
		v := yarnValue{line: lineNo, scalar: val.scalar, isBool: val.isBool}
		if opens {
			if len(stack) >= maxYarnDepth {
				return nil, syntaxErr(indent, "nested more than %d levels deep", maxYarnDepth)
			}
			v.block = &yarnBlock{}
			stack = append(stack, v.block)
		}
		if b == top {
			top.groups = append(top.groups, yarnGroup{keys: keys, val: v})
			continue
		}
		for _, k := range keys {
			b.keys = append(b.keys, k)
			b.vals = append(b.vals, v)
		}
	}
	return top, nil
}

func yarnSyntaxError(file string, line, col int, format string, args ...any) error {
	return fmt.Errorf("%w: %s:%d:%d: %s", ErrSyntax, file, line, col+1, sprintClipped(format, args))
}

// yarnLine reads the tokens of one line (without its indentation): keys,
// then a colon (opens: a block follows) or a value. col is where a
// problem is.
func yarnLine(s string) (keys []string, val yarnValue, opens bool, col int, msg string) {
	i := 0
	ws := func() {
		for i < len(s) && (s[i] == ' ' || s[i] == '\t') {
			i++
		}
	}
	token := func() (string, bool, string) {
		if i >= len(s) {
			return "", false, "a key or value is missing"
		}
		if s[i] == '"' {
			j := i + 1
			esc := false
			for ; j < len(s); j++ {
				if s[j] == '\\' {
					esc = true
					j++
					continue
				}
				if s[j] == '"' {
					break
				}
			}
			if j >= len(s) {
				return "", false, "an unterminated string"
			}
			raw := s[i : j+1]
			i = j + 1
			if !esc {
				return raw[1 : len(raw)-1], false, ""
			}
			var out string
			if err := json.Unmarshal([]byte(raw), &out); err != nil {
				return "", false, "a string that is not valid JSON: " + clip(raw)
			}
			return out, false, ""
		}
		j := i
		for j < len(s) && !strings.ContainsRune(" \t:,#\"", rune(s[j])) {
			j++
		}
		if j == i {
			return "", false, fmt.Sprintf("unexpected %q", s[i:i+1])
		}
		t := s[i:j]
		i = j
		return t, t == "true" || t == "false", ""
	}
	for {
		col = i
		k, _, m := token()
		if m != "" {
			return nil, yarnValue{}, false, col, m
		}
		keys = append(keys, k)
		ws()
		if i < len(s) && s[i] == ',' {
			i++
			ws()
			continue
		}
		break
	}
	colon := false
	if i < len(s) && s[i] == ':' {
		colon = true
		i++
		ws()
	}
	if i >= len(s) || s[i] == '#' {
		if !colon {
			return nil, yarnValue{}, false, i, "a key without a value or a colon"
		}
		return keys, yarnValue{}, true, 0, ""
	}
	col = i
	v, isBool, m := token()
	if m != "" {
		return nil, yarnValue{}, false, col, m
	}
	ws()
	if i < len(s) && s[i] != '#' {
		return nil, yarnValue{}, false, i, fmt.Sprintf("unexpected %q after the value", clip(s[i:]))
	}
	return keys, yarnValue{scalar: v, isBool: isBool}, false, 0, ""
}

// yarnV1Header is the comment yarn 1 writes at the top of its lockfile.
const yarnV1Header = "# yarn lockfile v1"

func parseYarnV1(file string, data []byte) (*Lockfile, error) {
	top, err := parseYarnSyntax(file, string(data))
	if err != nil {
		return nil, err
	}
	errs := fileErrors{file: file}
	// A descriptor named twice is resolved by the last block naming it.
	last := make(map[string]int, len(top.groups))
	for gi, g := range top.groups {
		for _, k := range g.keys {
			last[k] = gi
		}
	}
	entries := make([]Entry, 0, len(top.groups))
	for gi, g := range top.groups {
		live := false
		for _, k := range g.keys {
			live = live || last[k] == gi
		}
		if !live {
			continue
		}
		if g.val.block == nil {
			errs.add(g.val.line, "the entry %q is a value, want a block of fields", strings.Join(g.keys, ", "))
			continue
		}
		entries = append(entries, yarnV1Entry(g))
	}
	if err := errs.err(); err != nil {
		return nil, err
	}
	if len(entries) > 0 && !strings.Contains(string(firstLines(data, 4)), yarnV1Header) {
		errs.add(1, "no %q header: this is not a yarn 1 lockfile", yarnV1Header)
		return nil, errs.err()
	}
	if err := sortEntries(file, entries); err != nil {
		return nil, err
	}
	return &Lockfile{Path: file, Format: FormatYarnV1, LockfileVersion: 1, Entries: entries}, nil
}

// yarnV1Entry builds the entry of one block.
func yarnV1Entry(g yarnGroup) Entry {
	b := g.val.block
	e := Entry{Path: strings.Join(g.keys, ", "), Line: g.val.line}
	var problems []string
	field := func(name string) string {
		v, ok := b.get(name)
		if !ok {
			return ""
		}
		if v.block != nil || v.isBool {
			problems = append(problems, name+" is not a string")
			return ""
		}
		return v.scalar
	}
	e.Version, e.Resolved, e.Integrity = field("version"), field("resolved"), field("integrity")
	folder, spec, _ := splitNameAt(g.keys[0])
	e.Name = folder
	if real, ok := strings.CutPrefix(spec, "npm:"); ok {
		if name, _, ok := splitNameAt(real); ok {
			e.Name, e.Alias = name, folder
		}
	}
	for _, k := range g.keys[1:] {
		if f, _, _ := splitNameAt(k); f != folder && f != e.Name {
			if _, s, _ := splitNameAt(k); !strings.HasPrefix(s, "npm:"+e.Name+"@") {
				problems = append(problems, fmt.Sprintf("the keys name different packages (%q and %q)", clip(g.keys[0]), clip(k)))
				break
			}
		}
	}
	if len(problems) > 0 {
		invalidate(&e, problems...)
		return e
	}
	switch {
	case e.Resolved == "" && (strings.HasPrefix(spec, "link:") || strings.HasPrefix(spec, "file:") && !isTarballFile(spec)):
		e.Resolved = spec
		t := linkTarget(spec[strings.IndexByte(spec, ':')+1:])
		if strings.HasPrefix(spec, "link:") {
			e.Link = t
			e.Kind, e.Reason = KindLink, "link to "+t
		} else {
			e.Kind, e.Reason = KindFile, "local directory dependency "+spec
		}
	case e.Resolved == "" && e.Version == "":
		e.Kind, e.Reason = KindFile, "the lockfile records no version or resolved URL for "+e.Path+": yarn installs nothing from it"
	}
	resolved := e.Resolved
	if i := controlChar(resolved); i >= 0 {
		problems = append(problems, fmt.Sprintf("resolved has a control character at byte %d", i))
	}
	if isHTTP(resolved) && !isGitSpec(resolved) {
		// yarn 1 appends "#<sha1 hex>" of the tarball to a registry URL,
		// and checks it when there is no integrity.
		if u, frag, ok := strings.Cut(resolved, "#"); ok {
			e.Resolved = u
			if sum, err := npmspec.FromHex(npmspec.SHA1, frag); err == nil && e.Integrity == "" {
				e.Integrity = sum.String()
			}
		}
	}
	checkEntry(&e, problems)
	e.Resolved = resolved
	return e
}
