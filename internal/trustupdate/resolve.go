package trustupdate

import (
	"errors"
	"fmt"
	"time"

	"github.com/provaudit/provaudit/verify"
)

// Piece is the material chosen for one part of the trust.
type Piece struct {
	// Data is the material, never nil.
	Data []byte
	// Updated tells whether Data comes from the update (Resolved.State)
	// rather than from the binary.
	Updated bool
	// Note says why an update did not replace the embedded material ("" if
	// it did, or there was none).
	Note string
}

// Resolved is the material an audit uses, before --trusted-root and
// --npm-keys override it.
type Resolved struct {
	TrustedRoot, NpmKeys Piece
	// State is the verified update (nil if none).
	State *State
	// Ignored says why a stored update was not used because it did not
	// verify (nil otherwise). The caller warns about it.
	Ignored error
}

// Resolve loads the stored update and chooses, per piece, the newest valid
// material as the package documentation describes. It fails only when a
// starting root was given (LoadOptions.Root, from --tuf-root) and no update
// verifies from it, or when the root itself is unusable (errors wrap
// [ErrNotStored], [ErrStore] or [ErrTUFRoot]); with the embedded root a
// missing or invalid update leaves the embedded material in use.
func Resolve(opts LoadOptions) (*Resolved, error) {
	res := &Resolved{
		TrustedRoot: Piece{Data: verify.EmbeddedTrustedRoot()},
		NpmKeys:     Piece{Data: verify.EmbeddedNpmKeys()},
	}
	st, err := Load(opts)
	custom := opts.Root != nil
	switch {
	case err != nil && (custom || errors.Is(err, ErrTUFRoot)):
		return nil, err
	case errors.Is(err, ErrNotStored):
		return res, nil
	case err != nil:
		res.Ignored = err
		return res, nil
	}
	res.State = st
	tr, err := choose(st.TrustedRoot, res.TrustedRoot.Data, custom, TrustedRootIssued)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %s: %w", ErrStore, st.Path, trustedRootTarget, err)
	}
	res.TrustedRoot = tr
	if st.NpmKeys == nil {
		res.NpmKeys.Note = "the TUF repository has no keys for the registry " + st.Registry
		return res, nil
	}
	keys, err := choose(st.NpmKeys, res.NpmKeys.Data, custom, NpmKeysIssued)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %s: %w", ErrStore, st.Path, st.KeysTarget, err)
	}
	res.NpmKeys = keys
	return res, nil
}

// choose returns the updated piece unless it is older than the embedded one
// (with the public-good root).
func choose(updated, embedded []byte, custom bool, issued func([]byte) (time.Time, error)) (Piece, error) {
	u, err := issued(updated)
	if err != nil {
		return Piece{}, err
	}
	if custom {
		return Piece{Data: updated, Updated: true}, nil
	}
	e, err := issued(embedded)
	if err != nil {
		return Piece{}, fmt.Errorf("embedded material: %w", err)
	}
	if u.Before(e) {
		return Piece{Data: embedded, Note: fmt.Sprintf("the updated material's newest entry starts %s, before the embedded material's (%s): using the embedded material",
			u.Format(time.DateOnly), e.Format(time.DateOnly))}, nil
	}
	return Piece{Data: updated, Updated: true}, nil
}

// TrustedRootIssued dates a trusted_root.json by the latest validity start
// among its certificate authorities, transparency logs, CT logs and
// timestamp authorities.
func TrustedRootIssued(b []byte) (time.Time, error) {
	return issued(DescribeTrustedRoot(b))
}

// NpmKeysIssued dates npm keys by the latest validity start among them.
func NpmKeysIssued(b []byte) (time.Time, error) {
	return issued(DescribeNpmKeys(b))
}

func issued(entries []Entry, err error) (time.Time, error) {
	if err != nil {
		return time.Time{}, err
	}
	var latest time.Time
	for _, e := range entries {
		if e.Start.After(latest) {
			latest = e.Start
		}
	}
	return latest, nil
}
