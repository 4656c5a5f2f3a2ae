package trustupdate

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	"github.com/provaudit/provaudit/internal/registrytest"
	"github.com/provaudit/provaudit/internal/registrytest/faketuf"
)

// tufEnv is a fake registry (with its fake Sigstore), a TUF repository
// whose targets are that Sigstore's trusted root and the registry's keys,
// served over HTTP, and an empty cache directory.
type tufEnv struct {
	t          testing.TB
	reg        *registrytest.Registry
	repo       *faketuf.Repo
	srv        *httptest.Server
	cache      string
	keysTarget string
}

func newTUFEnv(t testing.TB) *tufEnv {
	t.Helper()
	reg := registrytest.New(registrytest.Options{})
	t.Cleanup(reg.Close)
	kt, err := KeysTarget(reg.URL())
	if err != nil {
		t.Fatal(err)
	}
	ss := reg.Sigstore()
	repo, err := faketuf.New(faketuf.Options{Targets: map[string][]byte{
		trustedRootTarget: ss.TrustedRoot(),
		kt:                ss.NpmKeysTUF(),
	}})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(repo)
	t.Cleanup(srv.Close)
	return &tufEnv{t: t, reg: reg, repo: repo, srv: srv, cache: t.TempDir(), keysTarget: kt}
}

func (e *tufEnv) options() UpdateOptions {
	return UpdateOptions{
		CacheDir:   e.cache,
		Mirror:     e.srv.URL,
		Root:       e.repo.Root(),
		Registry:   e.reg.URL(),
		HTTPClient: e.srv.Client(),
		UserAgent:  "provaudit-test",
	}
}

func (e *tufEnv) update() (*UpdateResult, error) {
	e.t.Helper()
	return Update(e.t.Context(), e.options())
}

func (e *tufEnv) mustUpdate() *State {
	e.t.Helper()
	res, err := e.update()
	if err != nil {
		e.t.Fatalf("update: %v", err)
	}
	return res.State
}

func (e *tufEnv) load() (*State, error) {
	return Load(LoadOptions{CacheDir: e.cache, Root: e.repo.Root()})
}

// publishTrustedRoot publishes a new trusted_root.json (the keys target
// unchanged) and returns it.
func (e *tufEnv) publishTrustedRoot(body []byte) {
	e.t.Helper()
	if err := e.repo.Publish(faketuf.Publish{Targets: map[string][]byte{
		trustedRootTarget: body,
		e.keysTarget:      e.reg.Sigstore().NpmKeysTUF(),
	}}); err != nil {
		e.t.Fatal(err)
	}
}

// editStore rewrites the stored update through edit.
func (e *tufEnv) editStore(edit func(*stored)) {
	e.t.Helper()
	p := storePath(e.cache)
	data, err := os.ReadFile(p)
	if err != nil {
		e.t.Fatal(err)
	}
	var s stored
	if err := json.Unmarshal(data, &s); err != nil {
		e.t.Fatal(err)
	}
	edit(&s)
	out, err := json.Marshal(&s)
	if err != nil {
		e.t.Fatal(err)
	}
	if err := os.WriteFile(p, out, 0o600); err != nil {
		e.t.Fatal(err)
	}
}

// sameState fails unless got is the update want described.
func sameState(t *testing.T, got, want *State) {
	t.Helper()
	if got == nil || want == nil {
		t.Fatalf("state %v, want %v", got, want)
	}
	if !got.Fetched.Equal(want.Fetched) || !bytes.Equal(got.TrustedRoot, want.TrustedRoot) ||
		!bytes.Equal(got.NpmKeys, want.NpmKeys) || got.TimestampVersion != want.TimestampVersion ||
		got.RootVersion != want.RootVersion {
		t.Fatalf("stored update changed: fetched %s, timestamp v%d, root v%d; want fetched %s, timestamp v%d, root v%d",
			got.Fetched, got.TimestampVersion, got.RootVersion, want.Fetched, want.TimestampVersion, want.RootVersion)
	}
}

// noLeftovers fails if an update left temporary files in the store folder.
func noLeftovers(t *testing.T, cache string) {
	t.Helper()
	ents, err := os.ReadDir(filepath.Join(cache, storeDir))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		if e.Name() != storeName {
			t.Fatalf("left behind in %s: %s", filepath.Join(cache, storeDir), e.Name())
		}
	}
}

func cancelled() context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	return ctx
}
