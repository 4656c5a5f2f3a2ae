package trustupdate

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/provaudit/provaudit/internal/registrytest/fakesigstore"
	"github.com/provaudit/provaudit/verify"
)

func TestResolveWithAGivenRoot(t *testing.T) {
	e := newTUFEnv(t)
	opts := LoadOptions{CacheDir: e.cache, Root: e.repo.Root()}
	if _, err := Resolve(opts); !errors.Is(err, ErrNotStored) {
		t.Fatalf("nothing stored: err = %v", err)
	}
	st := e.mustUpdate()
	res, err := Resolve(opts)
	if err != nil {
		t.Fatal(err)
	}
	// The fake Sigstore's material starts years before the embedded one:
	// with a root the person gave, the update is used all the same.
	if !res.TrustedRoot.Updated || !bytes.Equal(res.TrustedRoot.Data, st.TrustedRoot) ||
		!res.NpmKeys.Updated || !bytes.Equal(res.NpmKeys.Data, st.NpmKeys) || res.State == nil || res.Ignored != nil {
		t.Fatalf("resolved %+v", res)
	}
	e.editStore(func(s *stored) { s.Files[trustedRootTarget][5] ^= 1 })
	if _, err := Resolve(opts); !errors.Is(err, ErrStore) {
		t.Fatalf("tampered: err = %v", err)
	}
	if _, err := Resolve(LoadOptions{CacheDir: e.cache, Root: []byte("{}")}); !errors.Is(err, ErrTUFRoot) {
		t.Fatalf("bad root: err = %v", err)
	}
}

// With the embedded root, an update that does not verify from it is ignored
// with a reason and the embedded material is used.
func TestResolveWithTheEmbeddedRoot(t *testing.T) {
	e := newTUFEnv(t)
	res, err := Resolve(LoadOptions{CacheDir: e.cache})
	if err != nil {
		t.Fatal(err)
	}
	if res.Ignored != nil || res.State != nil || res.TrustedRoot.Updated || res.NpmKeys.Updated {
		t.Fatalf("nothing stored: %+v", res)
	}
	e.mustUpdate()
	res, err = Resolve(LoadOptions{CacheDir: e.cache})
	if err != nil {
		t.Fatal(err)
	}
	if !errors.Is(res.Ignored, ErrStore) || res.State != nil ||
		!bytes.Equal(res.TrustedRoot.Data, verify.EmbeddedTrustedRoot()) || !bytes.Equal(res.NpmKeys.Data, verify.EmbeddedNpmKeys()) {
		t.Fatalf("ignored %v, state %v", res.Ignored, res.State)
	}
}

func TestChooseNewest(t *testing.T) {
	embeddedTR, embeddedKeys := verify.EmbeddedTrustedRoot(), verify.EmbeddedNpmKeys()
	now := time.Now()
	older, err := fakesigstore.New(fakesigstore.Options{Now: now, NpmKeys: []fakesigstore.KeySpec{{Start: time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)}}})
	if err != nil {
		t.Fatal(err)
	}
	// CAs and logs start ten years before Now: after the embedded ones.
	newer, err := fakesigstore.New(fakesigstore.Options{Now: now.AddDate(11, 0, 0), NpmKeys: []fakesigstore.KeySpec{{Start: now}}})
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name              string
		updated, embedded []byte
		custom            bool
		issued            func([]byte) (time.Time, error)
		wantUpdated       bool
		wantNote          string
	}{
		{"older trusted root", older.TrustedRoot(), embeddedTR, false, TrustedRootIssued, false, "before the embedded material's (2025-09-23)"},
		{"newer trusted root", newer.TrustedRoot(), embeddedTR, false, TrustedRootIssued, true, ""},
		{"same trusted root", embeddedTR, embeddedTR, false, TrustedRootIssued, true, ""},
		{"older trusted root from a given root", older.TrustedRoot(), embeddedTR, true, TrustedRootIssued, true, ""},
		{"older keys", older.NpmKeysTUF(), embeddedKeys, false, NpmKeysIssued, false, "starts 2020-01-01, before the embedded material's (2025-01-13)"},
		{"newer keys", newer.NpmKeysTUF(), embeddedKeys, false, NpmKeysIssued, true, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p, err := choose(c.updated, c.embedded, c.custom, c.issued)
			if err != nil {
				t.Fatal(err)
			}
			want := c.embedded
			if c.wantUpdated {
				want = c.updated
			}
			if p.Updated != c.wantUpdated || !bytes.Equal(p.Data, want) || !strings.Contains(p.Note, c.wantNote) || (c.wantNote == "") != (p.Note == "") {
				t.Fatalf("updated %t, note %q", p.Updated, p.Note)
			}
		})
	}
	if _, err := choose([]byte("{}"), embeddedTR, true, TrustedRootIssued); err == nil {
		t.Fatal("a malformed trusted root was chosen")
	}
}
