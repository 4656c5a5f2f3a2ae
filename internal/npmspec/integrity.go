package npmspec

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
)

// Algorithm is the name of a hash algorithm of an SRI token, in lower case.
type Algorithm string

// The algorithms provaudit reads, strongest first in [Algorithms].
const (
	SHA512 Algorithm = "sha512"
	SHA384 Algorithm = "sha384"
	SHA256 Algorithm = "sha256"
	SHA1   Algorithm = "sha1"
)

// algorithms lists the known algorithms, strongest first, with their digest
// sizes. Integrity stores digest i at sums[i].
var algorithms = [...]struct {
	name Algorithm
	size int
}{{SHA512, 64}, {SHA384, 48}, {SHA256, 32}, {SHA1, 20}}

// Algorithms returns the known algorithms, strongest first.
func Algorithms() []Algorithm {
	out := make([]Algorithm, len(algorithms))
	for i, a := range algorithms {
		out[i] = a.name
	}
	return out
}

// Size returns the digest size of a known algorithm in bytes, else 0.
func (a Algorithm) Size() int {
	if i := a.index(); i >= 0 {
		return algorithms[i].size
	}
	return 0
}

func (a Algorithm) index() int {
	for i, k := range algorithms {
		if k.name == a {
			return i
		}
	}
	return -1
}

// MaxIntegrityLen is the longest integrity string ParseIntegrity reads; a
// few hashes take a few hundred bytes.
const MaxIntegrityLen = 4096

// Errors of this package. Every error returned wraps one of them.
var (
	// ErrMalformedIntegrity reports an integrity string that is not a usable
	// SRI string.
	ErrMalformedIntegrity = errors.New("malformed integrity")
	// ErrMismatch reports two integrities that carry different digests of
	// one algorithm.
	ErrMismatch = errors.New("integrity mismatch")
)

// Integrity is a parsed SRI string: at most one digest of each known
// algorithm. The zero value carries no digest. Integrity values are
// comparable with ==.
type Integrity struct {
	has  uint8 // bit i: sums[i] is set
	sums [len(algorithms)][64]byte
}

// ParseIntegrity parses an SRI string; the package documentation gives the
// rules. Errors wrap [ErrMalformedIntegrity] and quote the offending token.
func ParseIntegrity(s string) (Integrity, error) {
	var in Integrity
	if len(s) > MaxIntegrityLen {
		return in, fmt.Errorf("%w: %d bytes (at most %d)", ErrMalformedIntegrity, len(s), MaxIntegrityLen)
	}
	spaces := false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case isSpace(c):
			spaces = true
		case c >= 0x7f || c < ' ':
			return in, fmt.Errorf("%w: %s has a control or non-ASCII character at byte %d", ErrMalformedIntegrity, quote(s), i)
		}
	}
	if !spaces {
		// One token (or none), the usual case: no iterator.
		if s != "" {
			if err := in.add(s); err != nil {
				return Integrity{}, err
			}
		}
	} else {
		for tok := range strings.FieldsSeq(s) {
			if err := in.add(tok); err != nil {
				return Integrity{}, err
			}
		}
	}
	if in.has == 0 {
		if strings.TrimSpace(s) == "" {
			return in, fmt.Errorf("%w: no hash", ErrMalformedIntegrity)
		}
		return in, fmt.Errorf("%w: %s lists no sha512, sha384, sha256 or sha1 hash", ErrMalformedIntegrity, quote(s))
	}
	return in, nil
}

func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r'
}

// add parses one token into in.
func (in *Integrity) add(tok string) error {
	body, _, _ := strings.Cut(tok, "?")
	alg, b64, _ := strings.Cut(body, "-")
	i := Algorithm(alg).index()
	if i < 0 {
		for _, a := range algorithms {
			if strings.EqualFold(alg, string(a.name)) {
				return fmt.Errorf("%w: token %s: algorithm %q is not lower case: npm ignores such a hash, so it pins nothing", ErrMalformedIntegrity, quote(tok), alg)
			}
		}
		return nil // an algorithm npm may know but provaudit does not read
	}
	size := algorithms[i].size
	// DecodedLen(88) is 66: an 88-character digest without padding decodes
	// to 66 bytes, reported below as the wrong length.
	var buf [66]byte
	enc := base64.StdEncoding.Strict()
	n, err := 0, error(nil)
	if len(b64) == base64.StdEncoding.EncodedLen(size) {
		n, err = enc.Decode(buf[:], []byte(b64))
	} else {
		var d []byte
		d, err = enc.DecodeString(b64)
		n = len(d)
	}
	switch {
	case err != nil:
		return fmt.Errorf("%w: token %s: the %s digest is not canonical base64 (standard alphabet, padded)", ErrMalformedIntegrity, quote(tok), alg)
	case n != size:
		return fmt.Errorf("%w: token %s: the %s digest has %d bytes, want %d", ErrMalformedIntegrity, quote(tok), alg, n, size)
	}
	var sum [64]byte
	copy(sum[:], buf[:n])
	if in.has&(1<<i) != 0 && in.sums[i] != sum {
		return fmt.Errorf("%w: two different %s digests", ErrMalformedIntegrity, alg)
	}
	in.has |= 1 << i
	in.sums[i] = sum
	return nil
}

// FromHex returns the Integrity of one hex digest of a known algorithm, such
// as a registry's dist.shasum (sha1). Errors wrap [ErrMalformedIntegrity].
func FromHex(a Algorithm, digest string) (Integrity, error) {
	var in Integrity
	i := a.index()
	if i < 0 {
		return in, fmt.Errorf("%w: unknown algorithm %q", ErrMalformedIntegrity, string(a))
	}
	size := algorithms[i].size
	if len(digest) != 2*size {
		return in, fmt.Errorf("%w: %s hex digest %s has %d characters, want %d", ErrMalformedIntegrity, a, quote(digest), len(digest), 2*size)
	}
	if _, err := hex.Decode(in.sums[i][:size], []byte(digest)); err != nil {
		return Integrity{}, fmt.Errorf("%w: %s hex digest %s is not hex", ErrMalformedIntegrity, a, quote(digest))
	}
	in.has = 1 << i
	return in, nil
}

// IsZero reports whether in carries no digest.
func (in Integrity) IsZero() bool { return in.has == 0 }

// Has reports whether in carries a digest of algorithm a.
func (in Integrity) Has(a Algorithm) bool {
	i := a.index()
	return i >= 0 && in.has&(1<<i) != 0
}

// Digest returns a copy of the digest of algorithm a, or nil when in has none.
func (in Integrity) Digest(a Algorithm) []byte {
	if !in.Has(a) {
		return nil
	}
	i := a.index()
	return bytes.Clone(in.sums[i][:algorithms[i].size])
}

// SHA512 returns the sha512 digest, or nil when in has none.
func (in Integrity) SHA512() []byte { return in.Digest(SHA512) }

// Strongest returns the strongest algorithm in carries, "" for none.
func (in Integrity) Strongest() Algorithm {
	for i, a := range algorithms {
		if in.has&(1<<i) != 0 {
			return a.name
		}
	}
	return ""
}

// String returns in as a canonical SRI string, strongest algorithm first:
// "sha512-<base64> sha1-<base64>"; "" for the zero Integrity.
func (in Integrity) String() string {
	var b strings.Builder
	for i, a := range algorithms {
		if in.has&(1<<i) == 0 {
			continue
		}
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(string(a.name))
		b.WriteByte('-')
		b.WriteString(base64.StdEncoding.EncodeToString(in.sums[i][:a.size]))
	}
	return b.String()
}

// Common returns the strongest algorithm both in and other carry, "" when
// they share none.
func (in Integrity) Common(other Integrity) Algorithm {
	return (Integrity{has: in.has & other.has}).Strongest()
}

// Binding says how two integrities are tied together by [Integrity.Match].
type Binding struct {
	// Algorithm is the strongest algorithm both carry (and agree on); ""
	// when they share none.
	Algorithm Algorithm
}

// Shared reports whether the integrities share an algorithm at all.
func (b Binding) Shared() bool { return b.Algorithm != "" }

// Weak reports whether the strongest shared algorithm is sha1.
func (b Binding) Weak() bool { return b.Algorithm == SHA1 }

// MismatchError reports the strongest algorithm on which two integrities
// disagree. It wraps [ErrMismatch].
type MismatchError struct {
	Algorithm Algorithm
	// Want is the digest of the Integrity whose Match was called, Got the
	// other one's.
	Want, Got []byte
}

func (e *MismatchError) Error() string {
	enc := base64.StdEncoding.EncodeToString
	return fmt.Sprintf("%s: %s-%s, other %s-%s", ErrMismatch, e.Algorithm, enc(e.Want), e.Algorithm, enc(e.Got))
}

// Unwrap returns [ErrMismatch].
func (e *MismatchError) Unwrap() error { return ErrMismatch }

// Match compares in with other: every algorithm both carry must have the
// same digest, else the error is a [*MismatchError] for the strongest one
// that differs. The Binding names the strongest shared algorithm; when they
// share none, nothing binds one to the other and the caller decides what
// that means.
func (in Integrity) Match(other Integrity) (Binding, error) {
	b := Binding{Algorithm: in.Common(other)}
	for i, a := range algorithms {
		if in.has&other.has&(1<<i) != 0 && in.sums[i] != other.sums[i] {
			return b, &MismatchError{Algorithm: a.name, Want: in.Digest(a.name), Got: other.Digest(a.name)}
		}
	}
	return b, nil
}

// Merge returns the union of in and other, for two descriptions of one
// tarball (a registry's dist.integrity and dist.shasum). An algorithm both
// carry with different digests is a [*MismatchError].
func (in Integrity) Merge(other Integrity) (Integrity, error) {
	if _, err := in.Match(other); err != nil {
		return Integrity{}, err
	}
	out := in
	for i := range algorithms {
		if other.has&(1<<i) != 0 {
			out.sums[i] = other.sums[i]
		}
	}
	out.has |= other.has
	return out, nil
}

// quote quotes untrusted text for an error message, shortened to 100 bytes.
func quote(s string) string {
	const maxLen = 100
	if len(s) > maxLen {
		return fmt.Sprintf("%q...", s[:maxLen])
	}
	return fmt.Sprintf("%q", s)
}
