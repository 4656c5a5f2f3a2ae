package lockfile

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// This file holds a small JSON scanner. encoding/json cannot say on which line
// a key starts, and its token API is slow, so the parser walks the bytes once
// itself: it validates the whole document (the same grammar and nesting limit
// as encoding/json), decodes only the values it keeps, and counts lines as it
// goes. Raw newlines can only appear in whitespace in valid JSON, so the line
// count is maintained by the whitespace skipper alone.
//
// The standard tokenizer with input offsets (encoding/json/jsontext) was
// measured as a replacement (issue 22; commit 352f201, reverted): with its
// fast paths (ReadValue for every value, skipped ones included, the input
// in a bytes.Buffer, keys and strings as substrings of the input, lines
// counted lazily from InputOffset) it would remove about 260 lines, but
// BenchmarkParse took 5-9% longer on the three real lockfiles, the
// tokenizing alone 20-30% longer (its per-token state machine and
// PeekKind), BenchmarkParseFormats/npm 5% and /bun 1% longer (that
// benchmark is in bench/lockgen now). This scanner stays until a tokenizer
// is at least as fast.

// maxDepth is the deepest nesting accepted; encoding/json uses the same limit.
const maxDepth = 10000

// syntaxError is a JSON grammar violation at a position of the input.
type syntaxError struct {
	line, col int
	msg       string
	eof       bool // the input ended inside a value: truncated
}

func (e *syntaxError) Error() string { return fmt.Sprintf("%d:%d: %s", e.line, e.col, e.msg) }

// jsonType is the kind of JSON value that starts at a position.
type jsonType uint8

const (
	typeInvalid jsonType = iota
	typeString
	typeNumber
	typeObject
	typeArray
	typeBool
	typeNull
)

func (t jsonType) String() string {
	switch t {
	case typeString:
		return "a string"
	case typeNumber:
		return "a number"
	case typeObject:
		return "an object"
	case typeArray:
		return "an array"
	case typeBool:
		return "a boolean"
	case typeNull:
		return "null"
	}
	return "not a value"
}

// scanner reads JSON from s. Positions are byte offsets into s.
type scanner struct {
	s         string
	pos       int
	line      int // 1-based line of pos
	lineStart int // offset of the first byte of line
	depth     int // current nesting of objects and arrays
	stack     []byte
	buf       []byte // scratch for strings with escapes
}

func newScanner(s string) *scanner {
	sc := &scanner{s: s, line: 1}
	// A UTF-8 byte order mark is accepted, as npm accepts it.
	if strings.HasPrefix(s, "\uFEFF") {
		sc.pos, sc.lineStart = 3, 3
	}
	return sc
}

// errAt builds a syntax error at offset off (which must be on the current line).
func (sc *scanner) errAt(off int, msg string) *syntaxError {
	if off > len(sc.s) {
		off = len(sc.s)
	}
	col := 1
	if off >= sc.lineStart {
		col = utf8.RuneCountInString(sc.s[sc.lineStart:off]) + 1
	}
	return &syntaxError{line: sc.line, col: col, msg: msg}
}

func (sc *scanner) errEOF() *syntaxError {
	e := sc.errAt(len(sc.s), "unexpected end of input")
	e.eof = true
	return e
}

// errChar reports the unexpected byte at pos, in context.
func (sc *scanner) errChar(context string) *syntaxError {
	if sc.pos >= len(sc.s) {
		return sc.errEOF()
	}
	return sc.errAt(sc.pos, "invalid character "+quoteChar(sc.s[sc.pos:])+" "+context)
}

func quoteChar(s string) string {
	r, _ := utf8.DecodeRuneInString(s)
	if r == '\'' {
		return `'\''`
	}
	if r == '"' {
		return `'"'`
	}
	q := strconv.QuoteRune(r)
	return q
}

// ws skips whitespace, counting lines.
func (sc *scanner) ws() {
	s := sc.s
	i := sc.pos
	for i < len(s) {
		switch s[i] {
		case ' ', '\t', '\r':
		case '\n':
			sc.line++
			sc.lineStart = i + 1
		default:
			sc.pos = i
			return
		}
		i++
	}
	sc.pos = i
}

// peekType skips whitespace and reports the type of the value at pos.
func (sc *scanner) peekType() jsonType {
	sc.ws()
	if sc.pos >= len(sc.s) {
		return typeInvalid
	}
	switch c := sc.s[sc.pos]; {
	case c == '"':
		return typeString
	case c == '{':
		return typeObject
	case c == '[':
		return typeArray
	case c == 't' || c == 'f':
		return typeBool
	case c == 'n':
		return typeNull
	case c == '-' || (c >= '0' && c <= '9'):
		return typeNumber
	}
	return typeInvalid
}

func (sc *scanner) push() error {
	sc.depth++
	if sc.depth > maxDepth {
		return sc.errAt(sc.pos, "exceeded max depth")
	}
	sc.pos++
	return nil
}

// beginObject consumes the '{' at pos (after peekType said typeObject).
func (sc *scanner) beginObject() error { return sc.push() }

// beginArray consumes the '[' at pos (after peekType said typeArray).
func (sc *scanner) beginArray() error { return sc.push() }

// member advances to the next member of the object being read. first is true
// for the first call after beginObject. It returns the key and the line it
// starts on, or ok=false when the object ends (and consumes the '}').
func (sc *scanner) member(first bool) (key string, line int, ok bool, err error) {
	sc.ws()
	if sc.pos >= len(sc.s) {
		return "", 0, false, sc.errEOF()
	}
	c := sc.s[sc.pos]
	if c == '}' {
		sc.pos++
		sc.depth--
		return "", 0, false, nil
	}
	if !first {
		if c != ',' {
			return "", 0, false, sc.errChar("after object key:value pair")
		}
		sc.pos++
		sc.ws()
		if sc.pos >= len(sc.s) {
			return "", 0, false, sc.errEOF()
		}
	}
	if sc.s[sc.pos] != '"' {
		return "", 0, false, sc.errChar("looking for beginning of object key string")
	}
	line = sc.line
	key, err = sc.str()
	if err != nil {
		return "", 0, false, err
	}
	sc.ws()
	if sc.pos >= len(sc.s) {
		return "", 0, false, sc.errEOF()
	}
	if sc.s[sc.pos] != ':' {
		return "", 0, false, sc.errChar("after object key")
	}
	sc.pos++
	return key, line, true, nil
}

// element advances to the next element of the array being read, like member.
func (sc *scanner) element(first bool) (ok bool, err error) {
	sc.ws()
	if sc.pos >= len(sc.s) {
		return false, sc.errEOF()
	}
	c := sc.s[sc.pos]
	if c == ']' {
		sc.pos++
		sc.depth--
		return false, nil
	}
	if !first {
		if c != ',' {
			return false, sc.errChar("after array element")
		}
		sc.pos++
	}
	return true, nil
}

// plain marks the bytes a string can hold that need no attention: not a
// quote, backslash, control character or non-ASCII byte.
var plain = func() (t [256]bool) {
	for c := 0x20; c < 0x80; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// str reads the string at pos (which is '"') and returns its decoded value.
// Strings without escapes are returned as substrings of the input.
func (sc *scanner) str() (string, error) {
	s := sc.s
	start := sc.pos + 1
	ascii := true
	for i := start; i < len(s); i++ {
		for i < len(s) && plain[s[i]] {
			i++
		}
		if i == len(s) {
			break
		}
		c := s[i]
		switch {
		case c == '"':
			sc.pos = i + 1
			v := s[start:i]
			if !ascii && !utf8.ValidString(v) {
				v = strings.ToValidUTF8(v, "\uFFFD")
			}
			return v, nil
		case c == '\\':
			return sc.strEscaped(start, i)
		case c < 0x20:
			sc.pos = i
			return "", sc.errChar("in string literal")
		case c >= 0x80:
			ascii = false
		}
	}
	sc.pos = len(s)
	return "", sc.errEOF()
}

// strEscaped decodes a string that has an escape at offset esc.
func (sc *scanner) strEscaped(start, esc int) (string, error) {
	s := sc.s
	b := append(sc.buf[:0], s[start:esc]...)
	i := esc
	for i < len(s) {
		c := s[i]
		switch {
		case c == '"':
			sc.pos = i + 1
			sc.buf = b
			if !utf8.Valid(b) {
				return strings.ToValidUTF8(string(b), "\uFFFD"), nil
			}
			return string(b), nil
		case c < 0x20:
			sc.pos = i
			return "", sc.errChar("in string literal")
		case c != '\\':
			b = append(b, c)
			i++
			continue
		}
		// Escape.
		if i+1 >= len(s) {
			sc.pos = len(s)
			return "", sc.errEOF()
		}
		switch e := s[i+1]; e {
		case '"', '\\', '/':
			b = append(b, e)
		case 'b':
			b = append(b, '\b')
		case 'f':
			b = append(b, '\f')
		case 'n':
			b = append(b, '\n')
		case 'r':
			b = append(b, '\r')
		case 't':
			b = append(b, '\t')
		case 'u':
			r, err := sc.hex4(i + 2)
			if err != nil {
				return "", err
			}
			i += 6
			if utf16.IsSurrogate(r) {
				// A high surrogate followed by an escaped low one makes one
				// rune; anything else is replaced, as encoding/json does.
				r2 := rune(-1)
				if i+1 < len(s) && s[i] == '\\' && s[i+1] == 'u' {
					if r2, err = sc.hex4(i + 2); err != nil {
						return "", err
					}
				}
				if dec := utf16.DecodeRune(r, r2); dec != utf8.RuneError {
					i += 6
					r = dec
				} else {
					r = utf8.RuneError
				}
			}
			b = utf8.AppendRune(b, r)
			continue
		default:
			sc.pos = i + 1
			return "", sc.errChar("in string escape code")
		}
		i += 2
	}
	sc.pos = len(s)
	return "", sc.errEOF()
}

// hex4 decodes the four hex digits of a \u escape starting at off.
func (sc *scanner) hex4(off int) (rune, error) {
	var r rune
	for j := off; j < off+4; j++ {
		if j >= len(sc.s) {
			sc.pos = len(sc.s)
			return 0, sc.errEOF()
		}
		c := sc.s[j]
		var v byte
		switch {
		case c >= '0' && c <= '9':
			v = c - '0'
		case c >= 'a' && c <= 'f':
			v = c - 'a' + 10
		case c >= 'A' && c <= 'F':
			v = c - 'A' + 10
		default:
			sc.pos = j
			return 0, sc.errChar("in \\u hexadecimal character escape")
		}
		r = r<<4 | rune(v)
	}
	return r, nil
}

// skipStr skips the string at pos (which is '"'), validating it.
func (sc *scanner) skipStr() error {
	s := sc.s
	i := sc.pos + 1
	for i < len(s) {
		if plain[s[i]] {
			i++
			continue
		}
		c := s[i]
		switch {
		case c == '"':
			sc.pos = i + 1
			return nil
		case c < 0x20:
			sc.pos = i
			return sc.errChar("in string literal")
		case c == '\\':
			if i+1 >= len(s) {
				sc.pos = len(s)
				return sc.errEOF()
			}
			switch s[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				if _, err := sc.hex4(i + 2); err != nil {
					return err
				}
				i += 6
			default:
				sc.pos = i + 1
				return sc.errChar("in string escape code")
			}
		default:
			i++
		}
	}
	sc.pos = len(s)
	return sc.errEOF()
}

// number reads the number at pos and returns its text.
func (sc *scanner) number() (string, error) {
	s := sc.s
	start := sc.pos
	i := start
	if i < len(s) && s[i] == '-' {
		i++
	}
	if i >= len(s) {
		sc.pos = i
		return "", sc.errEOF()
	}
	switch c := s[i]; {
	case c == '0':
		i++
	case c >= '1' && c <= '9':
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
	default:
		sc.pos = i
		return "", sc.errChar("in numeric literal")
	}
	if i < len(s) && s[i] == '.' {
		i++
		if i >= len(s) {
			sc.pos = i
			return "", sc.errEOF()
		}
		if s[i] < '0' || s[i] > '9' {
			sc.pos = i
			return "", sc.errChar("after decimal point in numeric literal")
		}
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		if i >= len(s) {
			sc.pos = i
			return "", sc.errEOF()
		}
		if s[i] < '0' || s[i] > '9' {
			sc.pos = i
			return "", sc.errChar("in exponent of numeric literal")
		}
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
	}
	sc.pos = i
	return s[start:i], nil
}

// literal reads true, false or null at pos.
func (sc *scanner) literal() (jsonType, bool, error) {
	var want string
	switch sc.s[sc.pos] {
	case 't':
		want = "true"
	case 'f':
		want = "false"
	default:
		want = "null"
	}
	for j := 1; j < len(want); j++ {
		if sc.pos+j >= len(sc.s) {
			sc.pos = len(sc.s)
			return typeInvalid, false, sc.errEOF()
		}
		if sc.s[sc.pos+j] != want[j] {
			sc.pos += j
			return typeInvalid, false, sc.errChar("in literal " + want + " (expecting " + quoteChar(want[j:]) + ")")
		}
	}
	sc.pos += len(want)
	if want == "null" {
		return typeNull, false, nil
	}
	return typeBool, want == "true", nil
}

// boolean reads a true, false or null at pos (after peekType).
func (sc *scanner) boolean() (bool, error) {
	_, v, err := sc.literal()
	return v, err
}

// skip skips one value of any type, validating it. It does not recurse, so
// arbitrarily deep input cannot exhaust the stack.
func (sc *scanner) skip() error {
	base := len(sc.stack)
	defer func() { sc.stack = sc.stack[:base] }()
	for {
		// A value.
		switch sc.peekType() {
		case typeString:
			if err := sc.skipStr(); err != nil {
				return err
			}
		case typeNumber:
			if _, err := sc.number(); err != nil {
				return err
			}
		case typeBool, typeNull:
			if _, _, err := sc.literal(); err != nil {
				return err
			}
		case typeObject:
			if err := sc.push(); err != nil {
				return err
			}
			sc.stack = append(sc.stack, '{')
			_, _, ok, err := sc.member(true)
			if err != nil {
				return err
			}
			if ok {
				continue // read the member's value
			}
			sc.stack = sc.stack[:len(sc.stack)-1]
		case typeArray:
			if err := sc.push(); err != nil {
				return err
			}
			sc.stack = append(sc.stack, '[')
			ok, err := sc.element(true)
			if err != nil {
				return err
			}
			if ok {
				continue
			}
			sc.stack = sc.stack[:len(sc.stack)-1]
		default:
			return sc.errChar("looking for beginning of value")
		}
		// After a value: close containers or move to their next value.
		for {
			if len(sc.stack) == base {
				return nil
			}
			var ok bool
			var err error
			if sc.stack[len(sc.stack)-1] == '{' {
				_, _, ok, err = sc.member(false)
			} else {
				ok, err = sc.element(false)
			}
			if err != nil {
				return err
			}
			if ok {
				break
			}
			sc.stack = sc.stack[:len(sc.stack)-1]
		}
	}
}

// end checks that only whitespace follows the top-level value.
func (sc *scanner) end() error {
	sc.ws()
	if sc.pos < len(sc.s) {
		return sc.errChar("after top-level value")
	}
	return nil
}
