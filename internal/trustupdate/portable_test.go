package trustupdate

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"
)

// TestEncodeDecode carries an update in its stored form to another place
// and verifies it there: from the root it was updated from it decodes to the
// same material; from another root, tampered with or dated after "now" it
// does not.
func TestEncodeDecode(t *testing.T) {
	e := newTUFEnv(t)
	st := e.mustUpdate()
	data, err := st.Encode()
	if err != nil {
		t.Fatal(err)
	}
	got, err := Decode(data, e.repo.Root(), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	sameState(t, got, st)
	if got.Path != "" || got.KeysTarget != st.KeysTarget {
		t.Errorf("Path %q, KeysTarget %q; want none and %q", got.Path, got.KeysTarget, st.KeysTarget)
	}
	again, err := got.Encode()
	if err != nil || !bytes.Equal(again, data) {
		t.Errorf("a decoded update encodes to other bytes (%v)", err)
	}

	if _, err := Decode(data, nil, time.Now()); !errors.Is(err, ErrStore) {
		t.Errorf("from the embedded root: %v, want ErrStore", err)
	}
	if _, err := Decode(data, []byte("{}"), time.Now()); !errors.Is(err, ErrTUFRoot) {
		t.Errorf("from a malformed root: %v, want ErrTUFRoot", err)
	}
	if _, err := Decode(data, e.repo.Root(), st.Fetched.Add(-time.Hour)); !errors.Is(err, ErrStore) || !strings.Contains(err.Error(), "in the future") {
		t.Errorf("fetched after now: %v, want ErrStore naming the future fetch time", err)
	}
	tampered := bytes.Replace(data, []byte(`"fetched":"`), []byte(`"fetched":"1`), 1)
	if _, err := Decode(tampered, e.repo.Root(), time.Now()); !errors.Is(err, ErrStore) {
		t.Errorf("tampered: %v, want ErrStore", err)
	}
	if _, err := (&State{}).Encode(); err == nil {
		t.Error("a State that was not stored encodes")
	}
}
