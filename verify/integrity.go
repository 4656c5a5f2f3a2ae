package verify

import (
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"github.com/provaudit/provaudit/internal/npmspec"
)

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
	l, err := npmspec.ParseIntegrity(lock)
	if err != nil {
		return binding{}, fmt.Errorf("%w: %s: lockfile integrity: %w", ErrMalformed, pkg, err)
	}
	var s npmspec.Integrity
	if strings.TrimSpace(served) != "" {
		if s, err = npmspec.ParseIntegrity(served); err != nil {
			return binding{}, fmt.Errorf("%w: %s: served dist.integrity: %w", ErrMalformed, pkg, err)
		}
	}
	if servedShasum != "" {
		sha1, err := npmspec.FromHex(npmspec.SHA1, servedShasum)
		if err != nil {
			return binding{}, fmt.Errorf("%w: %s: served dist.shasum: %w", ErrMalformed, pkg, err)
		}
		if s, err = s.Merge(sha1); err != nil {
			return binding{}, fmt.Errorf("%w: %s: served dist.shasum disagrees with served dist.integrity", ErrIntegrityMismatch, pkg)
		}
	}
	if s.IsZero() {
		return binding{sha512: l.SHA512()}, nil
	}
	shared, err := match(pkg, "lockfile", l, "registry served", s)
	if err != nil {
		return binding{}, err
	}
	b := binding{weak: shared.Weak(), unbound: !shared.Shared()}
	if b.unbound && strings.TrimSpace(tarball) != "" {
		t, err := npmspec.ParseIntegrity(tarball)
		if err != nil {
			return binding{}, fmt.Errorf("%w: %s: tarball digests: %w", ErrMalformed, pkg, err)
		}
		lockSide, err := match(pkg, "lockfile", l, "the registry's tarball has", t)
		if err != nil {
			return binding{}, err
		}
		servedSide, err := match(pkg, "the registry's tarball has", t, "registry served", s)
		if err != nil {
			return binding{}, err
		}
		if lockSide.Shared() && servedSide.Shared() {
			b = binding{viaTarball: true, weak: lockSide.Weak() || servedSide.Weak()}
			if s, err = s.Merge(t); err != nil {
				return binding{}, fmt.Errorf("%w: %s: %w", ErrIntegrityMismatch, pkg, err)
			}
		}
	}
	if d := l.SHA512(); d != nil {
		b.sha512 = d
	} else if d := s.SHA512(); d != nil && !b.unbound {
		b.sha512 = d
	}
	return b, nil
}

// match compares two integrities: every algorithm both carry must agree
// (else ErrIntegrityMismatch naming both sides and the digests).
func match(pkg, aName string, a npmspec.Integrity, bName string, b npmspec.Integrity) (npmspec.Binding, error) {
	shared, err := a.Match(b)
	var me *npmspec.MismatchError
	if errors.As(err, &me) {
		return shared, fmt.Errorf("%w: %s: %s %s-%s, %s %s-%s", ErrIntegrityMismatch, pkg,
			aName, me.Algorithm, base64.StdEncoding.EncodeToString(me.Want), bName, me.Algorithm, base64.StdEncoding.EncodeToString(me.Got))
	}
	return shared, err
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
