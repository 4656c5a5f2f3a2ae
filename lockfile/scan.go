package lockfile

import (
	"bytes"
	"encoding/json/jsontext"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"
)

// This file reads JSON lockfiles with the standard library's tokenizer
// (encoding/json/jsontext), which validates the whole document with
// encoding/json's grammar and nesting limit (10,000). What it adds is what
// the lockfile readers need: the line of every key (from the decoder's
// input offsets: raw newlines only appear in whitespace in valid JSON),
// strings as substrings of the input where they have no escapes, and
// syntax errors at file:line:col.

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

// scanner reads one JSON document. Offsets are byte offsets into s.
type scanner struct {
	s    string // the input, without a byte order mark
	data []byte // the same bytes, read by dec
	dec  *jsontext.Decoder
	base int // offset in s of the first byte of data

	line, lineOff int    // line (1-based) of offset lineOff, advanced by lineAt
	buf           []byte // scratch for strings with escapes

	// What holds for the whole input, and therefore for every string in
	// it: a JSON string ends at an ASCII quote, which is never part of a
	// multi-byte sequence.
	noEscapes, validUTF8 bool
}

func newScanner(data []byte) *scanner {
	// A UTF-8 byte order mark is accepted, as npm accepts it.
	data = bytes.TrimPrefix(data, []byte("\uFEFF"))
	sc := &scanner{s: string(data), data: data, line: 1,
		noEscapes: bytes.IndexByte(data, '\\') < 0, validUTF8: utf8.Valid(data)}
	sc.dec = jsontext.NewDecoder(bytes.NewBuffer(data), jsonOptions...)
	return sc
}

// jsonOptions are those of the decoder: JSON.parse takes the last of a
// repeated key, and reads invalid UTF-8 (as replacement characters).
var jsonOptions = []jsontext.Options{jsontext.AllowDuplicateNames(true), jsontext.AllowInvalidUTF8(true)}

// sub returns a scanner of the value at s[start:end], which this scanner
// has read already and which starts on line.
func (sc *scanner) sub(start, end, line int) *scanner {
	return &scanner{s: sc.s, data: sc.data[:end], base: start, line: line, lineOff: start,
		dec:       jsontext.NewDecoder(bytes.NewBuffer(sc.data[start:end]), jsonOptions...),
		noEscapes: sc.noEscapes, validUTF8: sc.validUTF8}
}

// offset is the offset in s just after the last token read.
func (sc *scanner) offset() int { return sc.base + int(sc.dec.InputOffset()) }

// lineAt returns the line of offset off. It counts from the offset asked
// for before, which is the previous key or value.
func (sc *scanner) lineAt(off int) int {
	if off >= sc.lineOff {
		sc.line += strings.Count(sc.s[sc.lineOff:off], "\n")
	} else {
		sc.line -= strings.Count(sc.s[off:sc.lineOff], "\n")
	}
	sc.lineOff = off
	return sc.line
}

// valueLine returns the line where the next value starts.
func (sc *scanner) valueLine() int {
	off := sc.offset()
	for off < len(sc.s) && strings.IndexByte(" \t\r\n:,", sc.s[off]) >= 0 {
		off++
	}
	return sc.lineAt(off)
}

// errAt builds a syntax error at offset off.
func (sc *scanner) errAt(off int, msg string) *syntaxError {
	off = min(off, len(sc.s))
	start := strings.LastIndexByte(sc.s[:off], '\n') + 1
	return &syntaxError{line: strings.Count(sc.s[:start], "\n") + 1, col: utf8.RuneCountInString(sc.s[start:off]) + 1, msg: msg}
}

// syntax turns an error of the decoder into a syntaxError.
func (sc *scanner) syntax(err error) error {
	var se *jsontext.SyntacticError
	switch {
	case err == io.EOF || errors.Is(err, io.ErrUnexpectedEOF):
		e := sc.errAt(len(sc.s), "unexpected end of input")
		e.eof = true
		return e
	case errors.As(err, &se) && se.Err != nil:
		return sc.errAt(sc.base+int(se.ByteOffset), se.Err.Error())
	}
	return err
}

// fail returns the syntax error at the next value, after peekType said
// typeInvalid.
func (sc *scanner) fail() error {
	_, err := sc.dec.ReadToken()
	if err == nil {
		err = errors.New("jsontext: no token after an invalid kind") // cannot happen
	}
	return sc.syntax(err)
}

// peekType reports the type of the next value.
func (sc *scanner) peekType() jsonType {
	switch sc.dec.PeekKind() {
	case '"':
		return typeString
	case '0':
		return typeNumber
	case '{':
		return typeObject
	case '[':
		return typeArray
	case 't', 'f':
		return typeBool
	case 'n':
		return typeNull
	}
	return typeInvalid
}

// token reads the next token: a literal or a delimiter.
func (sc *scanner) token() (jsontext.Token, error) {
	t, err := sc.dec.ReadToken()
	if err != nil {
		return t, sc.syntax(err)
	}
	return t, nil
}

// beginObject consumes the '{' of the next value (after peekType said
// typeObject).
func (sc *scanner) beginObject() error {
	_, err := sc.token()
	return err
}

// beginArray consumes the '[' of the next value (after peekType said
// typeArray).
func (sc *scanner) beginArray() error {
	_, err := sc.token()
	return err
}

// member advances to the next member of the object being read. It returns
// its key, or ok=false when the object ends (and consumes the '}').
func (sc *scanner) member() (key string, ok bool, err error) {
	switch sc.dec.PeekKind() {
	case '}':
		_, err = sc.token()
		return "", false, err
	case '"':
		key, err = sc.str()
		return key, err == nil, err
	}
	return "", false, sc.fail()
}

// memberLine is member that also returns the line of the key.
func (sc *scanner) memberLine() (key string, line int, ok bool, err error) {
	if key, ok, err = sc.member(); ok {
		line = sc.keyLine()
	}
	return key, line, ok, err
}

// keyLine returns the line of the key member just read.
func (sc *scanner) keyLine() int {
	// The key's end is on its line: strings hold no raw newlines.
	return sc.lineAt(sc.offset())
}

// element advances to the next element of the array being read, like
// member.
func (sc *scanner) element() (ok bool, err error) {
	switch sc.dec.PeekKind() {
	case ']':
		_, err = sc.token()
		return false, err
	case 0:
		return false, sc.fail()
	}
	return true, nil
}

// read reads the next value whole, validating it, and returns it with its
// type. (Decoder.SkipValue reads an object or array token by token;
// ReadValue validates it in one go and, with the input in a bytes.Buffer,
// copies nothing.)
func (sc *scanner) read() (jsontext.Value, jsonType, error) {
	v, err := sc.dec.ReadValue()
	if err != nil {
		return nil, typeInvalid, sc.syntax(err)
	}
	switch v[0] {
	case '"':
		return v, typeString, nil
	case '{':
		return v, typeObject, nil
	case '[':
		return v, typeArray, nil
	case 't', 'f':
		return v, typeBool, nil
	case 'n':
		return v, typeNull, nil
	}
	return v, typeNumber, nil
}

// lineOf returns the line where v, the value just read, starts.
func (sc *scanner) lineOf(v jsontext.Value) int { return sc.lineAt(sc.offset() - len(v)) }

// str reads the string that is the next value (after peekType said
// typeString) and returns its decoded value.
func (sc *scanner) str() (string, error) {
	v, _, err := sc.read()
	if err != nil {
		return "", err
	}
	return sc.text(v), nil
}

// text returns the decoded value of v, the string value just read. Strings
// without escapes are substrings of the input; invalid UTF-8 is replaced,
// as encoding/json does.
func (sc *scanner) text(v jsontext.Value) string {
	end := sc.offset()
	if s := sc.s[end-len(v)+1 : end-1]; (sc.noEscapes || bytes.IndexByte(v, '\\') < 0) && (sc.validUTF8 || utf8.ValidString(s)) {
		return s
	}
	// The decoder validated the string's grammar: what AppendUnquote still
	// reports is invalid UTF-8 or a lone surrogate, replaced in its result.
	sc.buf, _ = jsontext.AppendUnquote(sc.buf[:0], v)
	return string(sc.buf)
}

// number reads the number that is the next value and returns its text.
func (sc *scanner) number() (string, error) {
	start, end, err := sc.raw()
	return sc.s[start:end], err
}

// literal reads the true, false or null that is the next value.
func (sc *scanner) literal() (jsonType, bool, error) {
	t, err := sc.token()
	switch {
	case err != nil:
		return typeInvalid, false, err
	case t.Kind() == 'n':
		return typeNull, false, nil
	}
	return typeBool, t.Bool(), nil
}

// boolean reads the true, false or null that is the next value (after
// peekType).
func (sc *scanner) boolean() (bool, error) {
	_, v, err := sc.literal()
	return v, err
}

// skip skips the next value, validating it.
func (sc *scanner) skip() error {
	_, _, err := sc.read()
	return err
}

// raw reads the next value and returns where it is in s.
func (sc *scanner) raw() (start, end int, err error) {
	v, _, err := sc.read()
	end = sc.offset()
	return end - len(v), end, err
}

// end checks that only whitespace follows the top-level value.
func (sc *scanner) end() error {
	off := sc.offset()
	rest := strings.TrimLeft(sc.s[off:], " \t\r\n")
	if rest == "" {
		return nil
	}
	r, _ := utf8.DecodeRuneInString(rest)
	return sc.errAt(len(sc.s)-len(rest), fmt.Sprintf("invalid character %s after top-level value", quoteRune(r)))
}

// quoteRune quotes a character for an error message as encoding/json does.
func quoteRune(r rune) string {
	switch r {
	case '\'':
		return `'\''`
	case '"':
		return `'"'`
	}
	return fmt.Sprintf("%q", r)
}
