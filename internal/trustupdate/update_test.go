package trustupdate

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/theupdateframework/go-tuf/v2/metadata"

	"github.com/provaudit/provaudit/internal/registrytest/faketuf"
)

func TestUpdateStoresVerifiedMaterial(t *testing.T) {
	e := newTUFEnv(t)
	before := time.Now().UTC().Add(-time.Second)
	res, err := e.update()
	if err != nil {
		t.Fatal(err)
	}
	st := res.State
	ss := e.reg.Sigstore()
	if !bytes.Equal(st.TrustedRoot, ss.TrustedRoot()) {
		t.Fatal("stored trusted root is not the repository's target")
	}
	if st.KeysTarget != e.keysTarget || !bytes.Equal(st.NpmKeys, ss.NpmKeysTUF()) {
		t.Fatalf("keys target %q (%d bytes), want %q", st.KeysTarget, len(st.NpmKeys), e.keysTarget)
	}
	if !strings.HasPrefix(e.keysTarget, "127.0.0.1:") || !strings.HasSuffix(e.keysTarget, "/keys.json") {
		t.Fatalf("keys target %q", e.keysTarget)
	}
	if st.Fetched.Before(before) || st.Fetched.After(time.Now()) {
		t.Fatalf("fetched %s", st.Fetched)
	}
	if st.Mirror != e.srv.URL || st.Registry != e.reg.URL() || st.RootVersion != 1 || st.TimestampVersion != 1 {
		t.Fatalf("state %+v", st)
	}
	if res.Previous != nil || res.Ignored != nil {
		t.Fatalf("first update: previous %v, ignored %v", res.Previous, res.Ignored)
	}
	loaded, err := e.load()
	if err != nil {
		t.Fatal(err)
	}
	sameState(t, loaded, st)
	if loaded.Path != st.Path || loaded.Path != storePath(e.cache) {
		t.Fatalf("paths %s, %s", loaded.Path, st.Path)
	}
	noLeftovers(t, e.cache)

	// A second update with nothing new keeps the versions and names the
	// update it replaces.
	res, err = e.update()
	if err != nil {
		t.Fatal(err)
	}
	if res.Previous == nil || res.State.TimestampVersion != 1 {
		t.Fatalf("second update: previous %v, timestamp v%d", res.Previous, res.State.TimestampVersion)
	}
}

func TestUpdateFollowsRootRotation(t *testing.T) {
	for _, withPrevious := range []bool{false, true} {
		name := "fresh cache"
		if withPrevious {
			name = "after an update"
		}
		t.Run(name, func(t *testing.T) {
			e := newTUFEnv(t)
			anchor := e.repo.Root()
			if withPrevious {
				e.mustUpdate()
			}
			// Two rotations: v2 signed by v1 and v2 keys, v3 by v2 and v3.
			for range 2 {
				if err := e.repo.RotateRoot(); err != nil {
					t.Fatal(err)
				}
			}
			newer := e.reg.Sigstore().TrustedRoot()
			newer = bytes.Replace(newer, []byte(`"mediaType"`), []byte(` "mediaType"`), 1)
			e.publishTrustedRoot(newer)
			st := e.mustUpdate()
			if st.RootVersion != 3 || !bytes.Equal(st.TrustedRoot, newer) {
				t.Fatalf("root v%d, trusted root updated: %t", st.RootVersion, bytes.Equal(st.TrustedRoot, newer))
			}
			// The whole chain is stored: it verifies from the first root.
			loaded, err := Load(LoadOptions{CacheDir: e.cache, Root: anchor})
			if err != nil {
				t.Fatal(err)
			}
			sameState(t, loaded, st)
		})
	}
}

// Each attack must fail the update with a clear error and leave the
// previous update in use.
// Roots fetched by an earlier update stay in the stored chain: an update
// that starts from root 2 must still store what verifies from root 1.
func TestUpdateKeepsTheRootChain(t *testing.T) {
	e := newTUFEnv(t)
	anchor := e.repo.Root()
	if err := e.repo.RotateRoot(); err != nil {
		t.Fatal(err)
	}
	if st := e.mustUpdate(); st.RootVersion != 2 {
		t.Fatalf("root v%d", st.RootVersion)
	}
	if err := e.repo.RotateRoot(); err != nil {
		t.Fatal(err)
	}
	st := e.mustUpdate()
	if st.RootVersion != 3 || len(st.raw.Roots) != 2 {
		t.Fatalf("root v%d, %d roots stored", st.RootVersion, len(st.raw.Roots))
	}
	if _, err := Load(LoadOptions{CacheDir: e.cache, Root: anchor}); err != nil {
		t.Fatal(err)
	}
}

func TestUpdateRefusesAttacks(t *testing.T) {
	cases := []struct {
		name   string
		attack func(e *tufEnv)
		want   string
	}{
		{"expired timestamp", func(e *tufEnv) {
			if err := e.repo.Publish(faketuf.Publish{TimestampExpires: time.Now().Add(-time.Minute)}); err != nil {
				t.Fatal(err)
			}
		}, "timestamp.json is expired"},
		{"rollback to an older timestamp", func(e *tufEnv) {
			old := e.repo.File("timestamp.json")
			e.publishTrustedRoot(append(e.reg.Sigstore().TrustedRoot(), ' '))
			e.mustUpdate() // now at timestamp version 2
			e.repo.SetFile("timestamp.json", old)
		}, "new timestamp version 1 must be >= 2"},
		{"timestamp signed by a key the root does not list", func(e *tufEnv) {
			if err := e.repo.Publish(faketuf.Publish{UntrustedKey: metadata.TIMESTAMP}); err != nil {
				t.Fatal(err)
			}
		}, "Verifying timestamp failed, not enough signatures"},
		{"targets signed by a key the root does not list", func(e *tufEnv) {
			if err := e.repo.Publish(faketuf.Publish{UntrustedKey: metadata.TARGETS}); err != nil {
				t.Fatal(err)
			}
		}, "Verifying targets failed, not enough signatures"},
		{"target bytes not the ones in targets metadata", func(e *tufEnv) {
			e.publishTrustedRoot(append(e.reg.Sigstore().TrustedRoot(), ' '))
			e.repo.SetFile(e.repo.TargetPath(trustedRootTarget), append(e.reg.Sigstore().TrustedRoot(), '\t'))
		}, "hash verification failed"},
		{"keys target bytes not the ones in targets metadata", func(e *tufEnv) {
			e.publishTrustedRoot(append(e.reg.Sigstore().TrustedRoot(), ' '))
			e.repo.SetFile(e.repo.TargetPath(e.keysTarget), []byte(`{"keys":[]}`))
		}, "hash verification failed"},
		{"targets metadata of an older snapshot", func(e *tufEnv) {
			e.publishTrustedRoot(append(e.reg.Sigstore().TrustedRoot(), ' '))
			e.repo.SetFile("2.targets.json", e.repo.File("1.targets.json"))
		}, "hash verification failed"},
		{"repository unreachable", func(e *tufEnv) {
			e.srv.Close()
		}, "connect"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := newTUFEnv(t)
			e.mustUpdate()
			c.attack(e)
			prev, err := e.load()
			if err != nil {
				t.Fatal(err)
			}
			_, err = e.update()
			if err == nil {
				t.Fatal("the update succeeded")
			}
			t.Log(err)
			if !errors.Is(err, ErrUpdate) || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), e.srv.URL) {
				t.Fatalf("err = %v, want ErrUpdate naming the mirror and %q", err, c.want)
			}
			after, err := e.load()
			if err != nil {
				t.Fatalf("previous update no longer loads: %v", err)
			}
			sameState(t, after, prev)
			noLeftovers(t, e.cache)
		})
	}
}

func TestUpdateRefusesUnusableMaterial(t *testing.T) {
	e := newTUFEnv(t)
	e.publishTrustedRoot([]byte(`{"mediaType":"application/vnd.dev.sigstore.trustedroot+json;version=0.1"}`))
	_, err := e.update()
	if !errors.Is(err, ErrUpdate) || !strings.Contains(err.Error(), "not usable") {
		t.Fatalf("err = %v", err)
	}
	if _, err := e.load(); !errors.Is(err, ErrNotStored) {
		t.Fatalf("something was stored: %v", err)
	}
}

func TestUpdateWithoutKeysTarget(t *testing.T) {
	e := newTUFEnv(t)
	if err := e.repo.Publish(faketuf.Publish{Targets: map[string][]byte{trustedRootTarget: e.reg.Sigstore().TrustedRoot()}}); err != nil {
		t.Fatal(err)
	}
	st := e.mustUpdate()
	if st.KeysTarget != "" || st.NpmKeys != nil {
		t.Fatalf("keys target %q, %d bytes", st.KeysTarget, len(st.NpmKeys))
	}
	res, err := Resolve(LoadOptions{CacheDir: e.cache, Root: e.repo.Root()})
	if err != nil {
		t.Fatal(err)
	}
	if !res.TrustedRoot.Updated || res.NpmKeys.Updated || !strings.Contains(res.NpmKeys.Note, "no keys for the registry "+e.reg.URL()) {
		t.Fatalf("resolved %+v / %+v", res.TrustedRoot.Updated, res.NpmKeys)
	}
}

func TestUpdateReplacesAnInvalidStore(t *testing.T) {
	e := newTUFEnv(t)
	e.mustUpdate()
	e.editStore(func(s *stored) { s.Files[trustedRootTarget][10] ^= 1 })
	res, err := e.update()
	if err != nil {
		t.Fatal(err)
	}
	if !errors.Is(res.Ignored, ErrStore) || res.Previous != nil {
		t.Fatalf("ignored %v, previous %v", res.Ignored, res.Previous)
	}
	if _, err := e.load(); err != nil {
		t.Fatal(err)
	}
}

func TestUpdateOptionErrors(t *testing.T) {
	e := newTUFEnv(t)
	cases := []struct {
		name string
		edit func(*UpdateOptions)
		want error
	}{
		{"no cache directory", func(o *UpdateOptions) { o.CacheDir = "" }, ErrUpdate},
		{"malformed root", func(o *UpdateOptions) { o.Root = []byte("{}") }, ErrTUFRoot},
		{"empty root", func(o *UpdateOptions) { o.Root = []byte{} }, ErrTUFRoot},
		{"root with a bad signature", func(o *UpdateOptions) {
			o.Root = bytes.Replace(o.Root, []byte(`"version": 1`), []byte(`"version": 7`), 1)
		}, ErrTUFRoot},
		{"no registry", func(o *UpdateOptions) { o.Registry = "" }, ErrRegistry},
		{"mirror without scheme", func(o *UpdateOptions) { o.Mirror = "mirror.invalid/path" }, ErrMirror},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			o := e.options()
			c.edit(&o)
			if _, err := Update(t.Context(), o); !errors.Is(err, c.want) {
				t.Fatalf("err = %v, want %v", err, c.want)
			}
		})
	}
}

func TestUpdateCancelled(t *testing.T) {
	e := newTUFEnv(t)
	_, err := Update(cancelled(), e.options())
	if !errors.Is(err, ErrUpdate) || !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v", err)
	}
	if _, err := e.load(); !errors.Is(err, ErrNotStored) {
		t.Fatalf("something was stored: %v", err)
	}
}
