package fetch

import (
	"bytes"
	"encoding/json/jsontext"
	"fmt"
	"io"
)

// Streaming decoding of registry documents.
//
// Version documents, abbreviated and full packuments are decoded as a
// stream of tokens, keeping only the fields verification needs, so that
// what a document costs in memory does not depend on its size:
//
//   - tokenFilter cuts every JSON string to maxStreamString bytes in the
//     byte stream, before the tokenizer sees it: jsontext buffers a whole
//     token, even one it is asked to skip, and a 40 MB readme (or
//     signature) would otherwise be held whole. Whitespace runs shrink to
//     one byte and a number longer than maxStreamNumber ends the document.
//   - the decoders walk objects member by member and skip what they do not
//     keep; duplicate member names are allowed by the tokenizer (tracking
//     them costs memory per member) and refused by the decoders where they
//     matter: the members they keep.
//   - every string kept is at most maxKeptString bytes, dist.signatures at
//     most maxSignatures entries; past that the version is malformed. A
//     string cut by tokenFilter is always longer than maxKeptString, even
//     after unescaping (six raw bytes give at least one), so a cut string
//     is never kept.

// Limits of the streaming decoders.
const (
	// maxStreamString is the longest JSON string, in raw bytes between its
	// quotes, the tokenizer is given; the rest of a longer one is dropped.
	maxStreamString = 64 << 10
	// maxStreamNumber is the longest number allowed; no registry document
	// has one near it.
	maxStreamNumber = 256
	// maxKeptString bounds each string a decoder keeps: integrity, shasum,
	// keyid, signature, attestation URL and predicate type, publisher,
	// publish time.
	maxKeptString = 4 << 10
	// maxSignatures bounds the entries of dist.signatures.
	maxSignatures = 32
)

// newStreamDecoder returns a tokenizer over r for the streaming decoders:
// long strings cut (tokenFilter), invalid UTF-8 tolerated (old documents
// have some in free text), duplicate names left to the decoders.
func newStreamDecoder(r io.Reader) *jsontext.Decoder {
	return jsontext.NewDecoder(&tokenFilter{r: r, max: maxStreamString},
		jsontext.AllowInvalidUTF8(true), jsontext.AllowDuplicateNames(true))
}

// filterState is where tokenFilter is in the JSON text.
type filterState uint8

const (
	outside  filterState = iota // between tokens, or in a literal or number
	inString                    // in a string, at the start of a character
	inEscape                    // after a backslash
	inHex                       // in the hex digits of a \u escape
)

// tokenFilter passes JSON text through, dropping what no decoder needs to
// see: the bytes of a string past the first max (the string is then cut at
// a character or escape boundary and closed by its own quote), and
// whitespace after the first of a run. A number longer than
// maxStreamNumber is an error. Text that is not JSON passes through for the
// tokenizer to refuse.
type tokenFilter struct {
	r     io.Reader
	max   int
	state filterState
	n     int  // raw bytes of the current string, or length of the number
	keep  bool // whether the current escape sequence is kept
	hex   int  // hex digits left in a \u escape
	num   bool // inside a run of number bytes
	space bool // the last byte passed outside strings was whitespace
	err   error
}

func (f *tokenFilter) Read(p []byte) (int, error) {
	for {
		if f.err != nil {
			return 0, f.err
		}
		if len(p) == 0 {
			return 0, nil
		}
		n, err := f.r.Read(p)
		kept := f.filter(p[:n])
		if err != nil && f.err == nil {
			f.err = err
		}
		if kept > 0 {
			return kept, nil
		}
	}
}

// filter filters b in place and returns how many bytes it kept.
func (f *tokenFilter) filter(b []byte) int {
	w := 0
	for i := 0; i < len(b); i++ {
		c := b[i]
		switch f.state {
		case outside:
			switch {
			case c == '"':
				f.state, f.n, f.num, f.space = inString, 0, false, false
			case c == ' ' || c == '\t' || c == '\n' || c == '\r':
				f.num = false
				if f.space {
					continue
				}
				f.space = true
			default:
				f.space = false
				if c >= '0' && c <= '9' || c == '-' || c == '+' || c == '.' || c == 'e' || c == 'E' {
					if !f.num {
						f.num, f.n = true, 0
					}
					if f.n++; f.n > maxStreamNumber {
						f.err = fmt.Errorf("a number longer than %d bytes", maxStreamNumber)
						return w
					}
				} else {
					f.num = false
				}
			}
			b[w] = c
			w++
		case inString:
			// A run of plain characters up to the next quote or escape
			// is kept while the string is short enough.
			run := plainRun(b[i:])
			if run > 0 {
				keep := min(run, max(f.max-f.n, 0))
				w += copy(b[w:], b[i:i+keep])
				f.n += run
				i += run - 1
				continue
			}
			if c == '"' {
				f.state = outside
				b[w] = c
				w++
				continue
			}
			// a backslash: the escape is kept whole or not at all
			f.state, f.keep = inEscape, f.n < f.max
			if f.keep {
				b[w] = c
				w++
			}
			f.n++
		case inEscape, inHex:
			if f.keep {
				b[w] = c
				w++
			}
			f.n++
			switch {
			case f.state == inEscape && c == 'u':
				f.state, f.hex = inHex, 4
			case f.state == inEscape:
				f.state = inString
			default:
				if f.hex--; f.hex == 0 {
					f.state = inString
				}
			}
		}
	}
	return w
}

// plainRun returns the length of the run of string characters at the start
// of b: up to the first quote or backslash. Short runs, the common case,
// are scanned in a loop; long ones with IndexByte.
func plainRun(b []byte) int {
	n := min(len(b), 32)
	for i, c := range b[:n] {
		if c == '"' || c == '\\' {
			return i
		}
	}
	if n == len(b) {
		return n
	}
	run := bytes.IndexByte(b[n:], '"')
	if run < 0 {
		run = len(b) - n
	}
	if e := bytes.IndexByte(b[n:n+run], '\\'); e >= 0 {
		run = e
	}
	return n + run
}

// keptString reads a string member value that is kept. A null reads as "";
// anything else, or a string longer than maxKeptString, is bad (the
// document is malformed, but the decoder's position is past the value).
func keptString(dec *jsontext.Decoder, field string) (s string, bad, err error) {
	switch dec.PeekKind() {
	case 'n':
		_, err = dec.ReadToken()
		return "", nil, err
	case '"':
		tok, err := dec.ReadToken()
		if err != nil {
			return "", nil, err
		}
		if s = tok.String(); len(s) > maxKeptString {
			return "", fmt.Errorf("%s is longer than %d bytes", field, maxKeptString), nil
		}
		return s, nil, nil
	}
	return "", fmt.Errorf("%s is not a string", field), dec.SkipValue()
}

// objectMembers walks the object at the decoder's position, calling fn
// with each member name (valid until fn reads on) and the decoder at its
// value, which fn must consume; names are read without allocating. A value
// that is not an object (or null, when nullOK) is reported as bad and
// skipped. Each member name in once is allowed once: a repeat is bad
// (JSON.parse would take the last, a reader of the first would see another
// document) and its value is skipped.
func objectMembers(dec *jsontext.Decoder, field string, nullOK bool, once []string, fn func(key []byte) (bad, err error)) (bad, err error) {
	switch k := dec.PeekKind(); {
	case k == 'n' && nullOK:
		_, err := dec.ReadToken()
		return nil, err
	case k != '{':
		return fmt.Errorf("%s is not an object", field), dec.SkipValue()
	}
	if _, err := dec.ReadToken(); err != nil {
		return nil, err
	}
	var (
		seen    seenMembers
		scratch []byte
	)
	for dec.PeekKind() != '}' {
		raw, err := dec.ReadValue() // the member name
		if err != nil {
			return bad, err
		}
		key := raw[1 : len(raw)-1]
		if bytes.IndexByte(key, '\\') >= 0 {
			if scratch, err = jsontext.AppendUnquote(scratch[:0], raw); err != nil {
				return bad, err
			}
			key = scratch
		}
		if seen.repeated(key, once...) {
			bad = firstErr(bad, fmt.Errorf("%s.%s appears twice", field, key))
			if err := dec.SkipValue(); err != nil {
				return bad, err
			}
			continue
		}
		b, err := fn(key)
		bad = firstErr(bad, b)
		if err != nil {
			return bad, err
		}
	}
	_, err = dec.ReadToken() // '}'
	return bad, err
}

// seenMembers records the member names of one object that may appear once.
type seenMembers []string

// repeated reports whether key is one of watched and was seen before, and
// records it.
func (s *seenMembers) repeated(key []byte, watched ...string) bool {
	for _, w := range watched {
		if string(key) != w {
			continue
		}
		for _, k := range *s {
			if k == w {
				return true
			}
		}
		*s = append(*s, w)
	}
	return false
}

func firstErr(a, b error) error {
	if a != nil {
		return a
	}
	return b
}

// versionMembers are the members of a version object that are kept, each
// allowed once.
var versionMembers = []string{"name", "version", "dist"}

// readVersion reads a version object (a packument's versions[v]) at the
// decoder's position, keeping name, version and the dist fields of
// versionDoc. bad is what makes it malformed; err a syntax error that ends
// the document.
func readVersion(dec *jsontext.Decoder, field string) (doc versionDoc, bad, err error) {
	bad, err = objectMembers(dec, field, false, versionMembers, func(key []byte) (bad, err error) {
		return readVersionMember(dec, field, key, &doc)
	})
	return doc, bad, err
}

// readVersionMember reads the value of member key of a version object into
// doc, or skips it.
func readVersionMember(dec *jsontext.Decoder, field string, key []byte, doc *versionDoc) (bad, err error) {
	switch string(key) {
	case "name":
		doc.Name, bad, err = keptString(dec, field+".name")
	case "version":
		doc.Version, bad, err = keptString(dec, field+".version")
	case "dist":
		doc.Dist, bad, err = readDist(dec, field+".dist")
	default:
		err = dec.SkipValue()
	}
	return bad, err
}

// readDist reads dist; a null dist is absent (nil).
func readDist(dec *jsontext.Decoder, field string) (*distDoc, error, error) {
	if dec.PeekKind() == 'n' {
		_, err := dec.ReadToken()
		return nil, nil, err
	}
	d := &distDoc{}
	bad, err := objectMembers(dec, field, false, []string{"integrity", "shasum", "signatures", "attestations"}, func(key []byte) (bad, err error) {
		switch string(key) {
		case "integrity":
			d.Integrity, bad, err = keptString(dec, field+".integrity")
		case "shasum":
			d.Shasum, bad, err = keptString(dec, field+".shasum")
		case "signatures":
			d.Signatures, bad, err = readSignatures(dec, field+".signatures")
		case "attestations":
			bad, err = readAttestationRef(dec, field+".attestations", d)
		default:
			err = dec.SkipValue()
		}
		return bad, err
	})
	return d, bad, err
}

// readSignatures reads dist.signatures: null or an array of at most
// maxSignatures objects {keyid, sig}.
func readSignatures(dec *jsontext.Decoder, field string) (sigs []Signature, bad, err error) {
	switch dec.PeekKind() {
	case 'n':
		_, err := dec.ReadToken()
		return nil, nil, err
	case '[':
	default:
		return nil, fmt.Errorf("%s is not an array", field), dec.SkipValue()
	}
	if _, err := dec.ReadToken(); err != nil {
		return nil, nil, err
	}
	for i := 0; dec.PeekKind() != ']'; i++ {
		if i == maxSignatures {
			bad = firstErr(bad, fmt.Errorf("%s has more than %d entries", field, maxSignatures))
		}
		if bad != nil {
			if err := dec.SkipValue(); err != nil {
				return nil, nil, err
			}
			continue
		}
		var s Signature
		el := fmt.Sprintf("%s[%d]", field, i)
		b, err := objectMembers(dec, el, false, []string{"keyid", "sig"}, func(key []byte) (bad, err error) {
			switch string(key) {
			case "keyid":
				s.KeyID, bad, err = keptString(dec, el+".keyid")
			case "sig":
				s.Sig, bad, err = keptString(dec, el+".sig")
			default:
				err = dec.SkipValue()
			}
			return bad, err
		})
		if err != nil {
			return nil, nil, err
		}
		bad = b
		sigs = append(sigs, s)
	}
	if _, err := dec.ReadToken(); err != nil { // ']'
		return nil, nil, err
	}
	if bad != nil {
		return nil, bad, nil
	}
	return sigs, nil, nil
}

// readAttestationRef reads dist.attestations {url, provenance:
// {predicateType}} into d; null is absent.
func readAttestationRef(dec *jsontext.Decoder, field string, d *distDoc) (bad, err error) {
	if dec.PeekKind() == 'n' {
		_, err := dec.ReadToken()
		return nil, err
	}
	a := &attestationsDoc{}
	bad, err = objectMembers(dec, field, false, []string{"url", "provenance"}, func(key []byte) (bad, err error) {
		switch string(key) {
		case "url":
			a.URL, bad, err = keptString(dec, field+".url")
		case "provenance":
			if dec.PeekKind() == 'n' {
				_, err = dec.ReadToken()
				return nil, err
			}
			p := &provenanceDoc{}
			bad, err = objectMembers(dec, field+".provenance", false, []string{"predicateType"}, func(key []byte) (bad, err error) {
				if string(key) != "predicateType" {
					return nil, dec.SkipValue()
				}
				p.PredicateType, bad, err = keptString(dec, field+".provenance.predicateType")
				return bad, err
			})
			a.Provenance = p
		default:
			err = dec.SkipValue()
		}
		return bad, err
	})
	d.Attestations = a
	return bad, err
}
