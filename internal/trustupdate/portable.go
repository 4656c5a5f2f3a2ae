package trustupdate

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// Encode returns the update in the form it is stored in (the file
// <cache dir>/trust/tuf.json): everything [Decode] needs to verify it again
// elsewhere, offline. An evidence bundle carries it so that an air-gapped
// audit can check the trust material it records.
func (s *State) Encode() ([]byte, error) {
	if s == nil || s.raw == nil {
		return nil, errors.New("trustupdate: no stored update to encode")
	}
	return json.Marshal(s.raw)
}

// Decode verifies an update in its stored form (see [State.Encode]) from
// root (nil: [EmbeddedRoot]) as [Load] verifies the stored file: the same
// TUF checks, expiry judged at the recorded fetch time, and a fetch time
// after now (beyond five minutes of skew) refused. Errors wrap [ErrTUFRoot]
// for an unusable root and [ErrStore] for an update that does not verify.
// The State's Path is empty.
func Decode(data, root []byte, now time.Time) (*State, error) {
	anchor := root
	if anchor == nil {
		anchor = embeddedRoot
	}
	if _, err := checkRoot(anchor); err != nil {
		return nil, err
	}
	st, err := parseStored(data, anchor, now)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrStore, err)
	}
	return st, nil
}
