package verify

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"strings"
)

// Hash algorithms an SRI string may carry, strongest first.
var sriAlgorithms = []struct {
	name string
	size int
}{
	{"sha512", 64},
	{"sha384", 48},
	{"sha256", 32},
	{"sha1", 20},
}

// maxSRILen bounds an integrity string (a few hashes are a few hundred bytes).
const maxSRILen = 4096

// sri is a parsed Subresource Integrity string: one digest per algorithm.
type sri map[string][]byte

// parseSRI parses an SRI string ("sha512-<base64> sha1-<base64>", options
// after "?" ignored). Unknown algorithms are skipped as the SRI
// specification requires, but at least one known one must be present; a
// known algorithm with bad base64, the wrong length, or two different values
// is an error.
func parseSRI(s string) (sri, error) {
	if len(s) > maxSRILen {
		return nil, fmt.Errorf("%w: integrity string of %d bytes", ErrMalformed, len(s))
	}
	out := sri{}
	for _, tok := range strings.Fields(s) {
		alg, val, ok := strings.Cut(tok, "-")
		if !ok {
			return nil, fmt.Errorf("%w: integrity token %q has no algorithm prefix", ErrMalformed, tok)
		}
		val, _, _ = strings.Cut(val, "?")
		size := 0
		for _, a := range sriAlgorithms {
			if a.name == alg {
				size = a.size
			}
		}
		if size == 0 {
			continue
		}
		d, err := base64.StdEncoding.DecodeString(val)
		if err != nil || len(d) != size {
			return nil, fmt.Errorf("%w: integrity %s value %q is not a base64 %s digest", ErrMalformed, alg, val, alg)
		}
		if prev, dup := out[alg]; dup && !bytes.Equal(prev, d) {
			return nil, fmt.Errorf("%w: integrity lists two different %s digests", ErrMalformed, alg)
		}
		out[alg] = d
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%w: integrity %q has no sha512, sha384, sha256 or sha1 digest", ErrMalformed, s)
	}
	return out, nil
}

// binding is the outcome of comparing the lockfile's integrity with what the
// registry served.
type binding struct {
	// sha512 is the digest attestation subjects must carry: the lockfile's
	// sha512, or the served sha512 when the served data is bound to the
	// lockfile through another algorithm; nil when neither exists.
	sha512 []byte
	// weak is true when the binding rests on sha1 only.
	weak bool
	// unbound is true when something was served but it shares no hash
	// algorithm with the lockfile and no tarball digests link them: nothing
	// served can be tied to what the lockfile installs.
	unbound bool
	// viaTarball is true when the lockfile and the served integrity share
	// no algorithm and the tarball's digests link them.
	viaTarball bool
}

// bindIntegrity compares the lockfile integrity with the served integrity
// (dist.integrity) and served shasum (dist.shasum, sha1 hex). Every
// algorithm both carry must agree (else ErrIntegrityMismatch); the binding
// is weak when the strongest shared algorithm is sha1. When they share
// none, tarball (the digests of the tarball the registry serves, as an SRI
// string; "" when not known) links them as pacote does: it must agree with
// both sides and share an algorithm with each (else ErrIntegrityMismatch);
// without it the binding is unbound (callers decide whether that matters:
// an algorithm difference alone is never a mismatch). served and
// servedShasum may be empty when the caller has nothing served to compare
// (then only the lockfile's own sha512 can be bound).
func bindIntegrity(pkg, lock, served, servedShasum, tarball string) (binding, error) {
	if strings.TrimSpace(lock) == "" {
		return binding{}, fmt.Errorf("%w: %s: the lockfile has no integrity", ErrMalformed, pkg)
	}
	l, err := parseSRI(lock)
	if err != nil {
		return binding{}, fmt.Errorf("%s: lockfile: %w", pkg, err)
	}
	s := sri{}
	if strings.TrimSpace(served) != "" {
		if s, err = parseSRI(served); err != nil {
			return binding{}, fmt.Errorf("%s: served dist.integrity: %w", pkg, err)
		}
	}
	if servedShasum != "" {
		d, err := hex.DecodeString(servedShasum)
		if err != nil || len(d) != 20 {
			return binding{}, fmt.Errorf("%w: %s: served dist.shasum %q is not a sha1 hex digest", ErrMalformed, pkg, servedShasum)
		}
		if prev, ok := s["sha1"]; ok && !bytes.Equal(prev, d) {
			return binding{}, fmt.Errorf("%w: %s: served dist.shasum disagrees with served dist.integrity", ErrIntegrityMismatch, pkg)
		}
		s["sha1"] = d
	}
	if len(s) == 0 {
		return binding{sha512: l["sha512"]}, nil
	}
	strongest, err := strongestShared(pkg, "lockfile", l, "registry served", s)
	if err != nil {
		return binding{}, err
	}
	b := binding{weak: strongest == "sha1", unbound: strongest == ""}
	if b.unbound && strings.TrimSpace(tarball) != "" {
		t, err := parseSRI(tarball)
		if err != nil {
			return binding{}, fmt.Errorf("%s: tarball digests: %w", pkg, err)
		}
		lockSide, err := strongestShared(pkg, "lockfile", l, "the registry's tarball has", t)
		if err != nil {
			return binding{}, err
		}
		servedSide, err := strongestShared(pkg, "the registry's tarball has", t, "registry served", s)
		if err != nil {
			return binding{}, err
		}
		if lockSide != "" && servedSide != "" {
			b = binding{viaTarball: true, weak: lockSide == "sha1" || servedSide == "sha1"}
			if d, ok := t["sha512"]; ok {
				s["sha512"] = d
			}
		}
	}
	if d, ok := l["sha512"]; ok {
		b.sha512 = d
	} else if d, ok := s["sha512"]; ok && !b.unbound {
		b.sha512 = d
	}
	return b, nil
}

// strongestShared compares two parsed integrities algorithm by algorithm:
// every algorithm both carry must agree (else ErrIntegrityMismatch naming
// both sides); it returns the strongest they share, "" when none.
func strongestShared(pkg, aName string, a sri, bName string, b sri) (string, error) {
	strongest := ""
	for _, alg := range sriAlgorithms {
		ad, aok := a[alg.name]
		bd, bok := b[alg.name]
		if !aok || !bok {
			continue
		}
		if !bytes.Equal(ad, bd) {
			return "", fmt.Errorf("%w: %s: %s %s-%s, %s %s-%s", ErrIntegrityMismatch, pkg,
				aName, alg.name, base64.StdEncoding.EncodeToString(ad), bName, alg.name, base64.StdEncoding.EncodeToString(bd))
		}
		if strongest == "" {
			strongest = alg.name
		}
	}
	return strongest, nil
}

// NeedsTarball reports whether the lockfile's integrity and what the
// registry served (dist.integrity, dist.shasum) share no hash algorithm, so
// that only the digests of the tarball itself can tie the registry's signed
// integrity to what the lockfile installs (old versions whose registry
// integrity is sha1 only, locked with sha512). It is false when either
// side is empty or malformed: verification reports those.
func NeedsTarball(lock, served, servedShasum string) bool {
	if strings.TrimSpace(lock) == "" || strings.TrimSpace(served) == "" && servedShasum == "" {
		return false
	}
	b, err := bindIntegrity("", lock, served, servedShasum, "")
	return err == nil && b.unbound
}
