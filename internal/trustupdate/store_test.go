package trustupdate

import (
	"bytes"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/provaudit/provaudit/internal/registrytest/faketuf"
)

// Whatever is in the cache directory is verified again on every load: a
// stored update changed in any way is refused with a reason naming the file.
func TestLoadRefusesATamperedStore(t *testing.T) {
	cases := []struct {
		name string
		edit func(e *tufEnv, s *stored)
		want string
	}{
		{"one byte of the trusted root", func(_ *tufEnv, s *stored) { s.Files[trustedRootTarget][20] ^= 1 },
			"target trusted_root.json does not match targets metadata version 1"},
		{"the trusted root replaced", func(e *tufEnv, s *stored) { s.Files[trustedRootTarget] = []byte("{}") },
			"target trusted_root.json does not match"},
		{"one byte of the keys", func(e *tufEnv, s *stored) { s.Files[e.keysTarget][30] ^= 1 },
			"does not match targets metadata"},
		{"keys removed", func(e *tufEnv, s *stored) { delete(s.Files, e.keysTarget) }, "no target " + "127.0.0.1:"},
		{"trusted root removed", func(e *tufEnv, s *stored) { delete(s.Files, trustedRootTarget) }, "no target trusted_root.json"},
		{"a target the metadata does not list", func(e *tufEnv, s *stored) {
			s.KeysTarget = "other.invalid/keys.json"
			s.Files[s.KeysTarget] = s.Files[e.keysTarget]
			delete(s.Files, e.keysTarget)
		}, "target other.invalid/keys.json is not in targets metadata"},
		{"an extra file", func(e *tufEnv, s *stored) { s.Files["x.json"] = []byte("{}") }, "unexpected target x.json"},
		{"timestamp changed", func(_ *tufEnv, s *stored) {
			s.Timestamp = bytes.Replace(s.Timestamp, []byte(`"version": 1`), []byte(`"version": 9`), 1)
		}, "timestamp: unsigned metadata error"},
		{"snapshot changed", func(_ *tufEnv, s *stored) { s.Snapshot = append(s.Snapshot, ' ') }, "snapshot: length/hash verification error"},
		{"targets metadata changed", func(_ *tufEnv, s *stored) { s.Targets = append(s.Targets, ' ') }, "targets: length/hash verification error"},
		{"no timestamp", func(_ *tufEnv, s *stored) { s.Timestamp = nil }, "timestamp:"},
		{"fetch time in the future", func(_ *tufEnv, s *stored) { s.Fetched = time.Now().Add(time.Hour) }, "is in the future"},
		{"no fetch time", func(_ *tufEnv, s *stored) { s.Fetched = time.Time{} }, "no fetch time"},
		{"another format", func(_ *tufEnv, s *stored) { s.Format = "v0" }, `format "v0"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := newTUFEnv(t)
			e.mustUpdate()
			e.editStore(func(s *stored) { c.edit(e, s) })
			_, err := e.load()
			if !errors.Is(err, ErrStore) || !strings.Contains(err.Error(), storePath(e.cache)) || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v, want ErrStore naming the file and %q", err, c.want)
			}
		})
	}
}

// Expiry is judged at the recorded fetch time: an update whose metadata
// expired since still loads (an offline audit can get nothing newer), one
// that had expired when it was fetched does not.
func TestLoadJudgesExpiryAtFetchTime(t *testing.T) {
	reg := newTUFEnv(t)
	expires := time.Now().Add(2 * time.Hour)
	repo, err := faketuf.New(faketuf.Options{Expires: expires, Targets: map[string][]byte{trustedRootTarget: reg.reg.Sigstore().TrustedRoot()}})
	if err != nil {
		t.Fatal(err)
	}
	reg.srv.Config.Handler = repo
	reg.repo = repo
	st := reg.mustUpdate()

	later := func() time.Time { return expires.Add(30 * 24 * time.Hour) }
	loaded, err := Load(LoadOptions{CacheDir: reg.cache, Root: repo.Root(), Now: later})
	if err != nil {
		t.Fatalf("an update whose metadata expired after it was fetched: %v", err)
	}
	sameState(t, loaded, st)
	if !loaded.Expires.Equal(expires.UTC().Truncate(time.Second)) {
		t.Fatalf("Expires = %s, want %s", loaded.Expires, expires)
	}

	reg.editStore(func(s *stored) { s.Fetched = expires.Add(time.Minute) })
	_, err = Load(LoadOptions{CacheDir: reg.cache, Root: repo.Root(), Now: later})
	if !errors.Is(err, ErrStore) || !strings.Contains(err.Error(), "expired") {
		t.Fatalf("fetched after expiry: err = %v", err)
	}
}

func TestLoadFromAnotherRoot(t *testing.T) {
	e := newTUFEnv(t)
	e.mustUpdate()
	other := newTUFEnv(t)
	_, err := Load(LoadOptions{CacheDir: e.cache, Root: other.repo.Root()})
	if !errors.Is(err, ErrStore) || !strings.Contains(err.Error(), "not enough signatures") {
		t.Fatalf("err = %v", err)
	}
	// And from the embedded public-good root.
	if _, err := Load(LoadOptions{CacheDir: e.cache}); !errors.Is(err, ErrStore) {
		t.Fatalf("err = %v", err)
	}
}

func TestLoadNothingStored(t *testing.T) {
	dir := t.TempDir()
	if _, err := Load(LoadOptions{CacheDir: dir}); !errors.Is(err, ErrNotStored) {
		t.Fatalf("err = %v", err)
	}
	if _, err := Load(LoadOptions{}); !errors.Is(err, ErrNotStored) {
		t.Fatalf("no cache dir: err = %v", err)
	}
	if _, err := Load(LoadOptions{CacheDir: dir, Root: []byte("nope")}); !errors.Is(err, ErrTUFRoot) {
		t.Fatalf("bad root: err = %v", err)
	}
}

func TestLoadMalformedAndOversizedStore(t *testing.T) {
	e := newTUFEnv(t)
	e.mustUpdate()
	p := storePath(e.cache)
	for name, body := range map[string][]byte{
		"malformed": []byte("{not json"),
		"oversized": bytes.Repeat([]byte(" "), maxStore+1),
	} {
		if err := os.WriteFile(p, body, 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := e.load(); !errors.Is(err, ErrStore) {
			t.Fatalf("%s: err = %v", name, err)
		}
	}
	if err := os.Remove(p); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(p, 0o700); err != nil {
		t.Fatal(err)
	}
	if _, err := e.load(); !errors.Is(err, ErrStore) {
		t.Fatalf("a directory: err = %v", err)
	}
}

func TestLoadRootChainWithAGap(t *testing.T) {
	e := newTUFEnv(t)
	anchor := e.repo.Root()
	for range 2 {
		if err := e.repo.RotateRoot(); err != nil {
			t.Fatal(err)
		}
	}
	e.mustUpdate()
	e.editStore(func(s *stored) {
		if len(s.Roots) != 2 {
			t.Fatalf("%d roots stored, want 2", len(s.Roots))
		}
		s.Roots = s.Roots[1:]
	})
	_, err := Load(LoadOptions{CacheDir: e.cache, Root: anchor})
	if !errors.Is(err, ErrStore) || !strings.Contains(err.Error(), "root version 3: unsigned metadata error") {
		t.Fatalf("err = %v", err)
	}
	// From root version 2 the gap does not matter.
	if _, err := Load(LoadOptions{CacheDir: e.cache, Root: e.repo.File("2.root.json")}); err != nil {
		t.Fatal(err)
	}
}
