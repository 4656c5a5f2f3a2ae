package lockfile

import (
	"encoding/base64"
	"fmt"
	"strings"
)

// Hash is one hash of a Subresource Integrity string.
type Hash struct {
	// Algorithm is the lower-case algorithm name, e.g. "sha512".
	Algorithm string
	// Digest is the decoded digest.
	Digest []byte
}

// digestSizes are the digest lengths of the algorithms npm uses.
var digestSizes = map[string]int{"sha1": 20, "sha256": 32, "sha384": 48, "sha512": 64}

// ParseIntegrity parses an SRI string (space-separated "alg-base64" tokens;
// options after "?" are ignored) and returns every hash it lists, in order.
// Algorithms other than sha1, sha256, sha384 and sha512 are kept as they are.
// A token without an algorithm, with malformed base64, or with a digest of
// the wrong length for its algorithm is an error wrapping [ErrMalformed], as
// is a string that lists no hash at all.
func ParseIntegrity(sri string) ([]Hash, error) {
	var hashes []Hash
	for tok := range strings.FieldsSeq(sri) {
		alg, d, err := parseHash(tok, nil)
		if err != nil {
			return nil, err
		}
		hashes = append(hashes, Hash{Algorithm: alg, Digest: d})
	}
	if len(hashes) == 0 {
		return nil, fmt.Errorf("%w: integrity %q lists no hash", ErrMalformed, sri)
	}
	return hashes, nil
}

// checkIntegrity is ParseIntegrity without keeping the digests: it does not
// allocate for the usual SRI strings.
func checkIntegrity(sri string) error {
	var buf [128]byte
	if sri != "" && !strings.ContainsAny(sri, " \t\n\r\v\f") {
		// One token, the usual case.
		_, _, err := parseHash(sri, buf[:0])
		return err
	}
	n := 0
	for tok := range strings.FieldsSeq(sri) {
		if _, _, err := parseHash(tok, buf[:0]); err != nil {
			return err
		}
		n++
	}
	if n == 0 {
		return fmt.Errorf("%w: integrity %q lists no hash", ErrMalformed, sri)
	}
	return nil
}

// parseHash parses one SRI token, decoding the digest into buf when it fits
// (a new slice otherwise). The algorithm is returned in lower case.
func parseHash(tok string, buf []byte) (string, []byte, error) {
	tok, _, _ = strings.Cut(tok, "?")
	alg, b64, ok := strings.Cut(tok, "-")
	if !ok || alg == "" || !isAlgorithm(alg) {
		return "", nil, fmt.Errorf("%w: integrity token %q is not of the form algorithm-base64", ErrMalformed, tok)
	}
	alg = strings.ToLower(alg)
	enc := base64.StdEncoding
	if !strings.HasSuffix(b64, "=") && len(b64)%4 != 0 {
		enc = base64.RawStdEncoding
	}
	enc = enc.Strict()
	if need := enc.DecodedLen(len(b64)); cap(buf) < need {
		buf = make([]byte, need)
	} else {
		buf = buf[:need]
	}
	n, err := enc.Decode(buf, []byte(b64))
	if err != nil || n == 0 {
		return "", nil, fmt.Errorf("%w: integrity token %q: digest is not valid base64", ErrMalformed, tok)
	}
	d := buf[:n]
	if want, ok := digestSizes[alg]; ok && len(d) != want {
		return "", nil, fmt.Errorf("%w: integrity token %q: %s digest has %d bytes, want %d", ErrMalformed, tok, alg, len(d), want)
	}
	return alg, d, nil
}

func isAlgorithm(a string) bool {
	for i := 0; i < len(a); i++ {
		c := a[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

// SHA512 returns the first sha512 digest of an SRI string, and whether it
// has a well-formed one. Other tokens, well-formed or not, are ignored.
func SHA512(sri string) ([]byte, bool) {
	for tok := range strings.FieldsSeq(sri) {
		if alg, d, err := parseHash(tok, nil); err == nil && alg == "sha512" {
			return d, true
		}
	}
	return nil, false
}

// WeakIntegrity reports whether an SRI string lists no well-formed sha512,
// sha384 or sha256 hash: it is sha1-only, lists nothing, or is malformed.
func WeakIntegrity(sri string) bool {
	var buf [128]byte
	for tok := range strings.FieldsSeq(sri) {
		if alg, _, err := parseHash(tok, buf[:0]); err == nil {
			switch alg {
			case "sha512", "sha384", "sha256":
				return false
			}
		}
	}
	return true
}
