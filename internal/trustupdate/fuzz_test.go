package trustupdate

import (
	"context"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/provaudit/provaudit/internal/registrytest/fakesigstore"
	"github.com/provaudit/provaudit/internal/registrytest/faketuf"
)

// FuzzParseStored feeds arbitrary stored files to the check every audit
// runs on the cache: it must never panic, and whatever it accepts must be
// complete.
func FuzzParseStored(f *testing.F) {
	ss, err := fakesigstore.New(fakesigstore.Options{})
	if err != nil {
		f.Fatal(err)
	}
	const kt = "127.0.0.1:1/keys.json"
	repo, err := faketuf.New(faketuf.Options{Targets: map[string][]byte{trustedRootTarget: ss.TrustedRoot(), kt: ss.NpmKeysTUF()}})
	if err != nil {
		f.Fatal(err)
	}
	srv := httptest.NewServer(repo)
	defer srv.Close()
	cache := f.TempDir()
	if _, err := Update(context.Background(), UpdateOptions{
		CacheDir: cache, Mirror: srv.URL, Root: repo.Root(), Registry: "http://127.0.0.1:1/", HTTPClient: srv.Client(),
	}); err != nil {
		f.Fatal(err)
	}
	valid, err := os.ReadFile(storePath(cache))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(valid)
	f.Add([]byte(`{"format":"provaudit-trust-tuf-v1","fetched":"2026-01-01T00:00:00Z","roots":[""],"files":{}}`))
	f.Add([]byte(`{}`))
	anchor := repo.Root()
	now := time.Now()
	f.Fuzz(func(t *testing.T, data []byte) {
		st, err := parseStored(data, anchor, now)
		if err != nil {
			return
		}
		if len(st.TrustedRoot) == 0 || st.Fetched.IsZero() || st.Fetched.After(now.Add(maxSkew)) ||
			(st.KeysTarget == "") != (st.NpmKeys == nil) || st.lastRoot == nil {
			t.Fatalf("accepted an incomplete update: %+v", st)
		}
	})
}

func FuzzKeysTarget(f *testing.F) {
	for _, s := range []string{"https://registry.example.invalid/", "http://[::1]:80/a/b/", "https://u:p@h.invalid:443//x//", "http://%41/", "https://h.invalid/a@b/"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, registry string) {
		name, err := KeysTarget(registry)
		if err != nil {
			return
		}
		host, _, _ := strings.Cut(name, "/")
		if !strings.HasSuffix(name, "/keys.json") || host == "" || strings.Contains(host, "@") || strings.Contains(name, "://") {
			t.Fatalf("KeysTarget(%q) = %q", registry, name)
		}
	})
}
