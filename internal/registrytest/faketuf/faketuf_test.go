package faketuf

import (
	"bytes"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/theupdateframework/go-tuf/v2/metadata"
	"github.com/theupdateframework/go-tuf/v2/metadata/config"
	"github.com/theupdateframework/go-tuf/v2/metadata/updater"
)

// fetchTarget runs a go-tuf client from anchor against srv and returns the
// target's contents.
func fetchTarget(t *testing.T, srv *httptest.Server, anchor []byte, name string) ([]byte, error) {
	t.Helper()
	cfg, err := config.New(srv.URL, anchor)
	if err != nil {
		t.Fatal(err)
	}
	cfg.DisableLocalCache = true
	up, err := updater.New(cfg)
	if err != nil {
		return nil, err
	}
	if err := up.Refresh(); err != nil {
		return nil, err
	}
	ti, err := up.GetTargetInfo(name)
	if err != nil {
		return nil, err
	}
	_, data, err := up.DownloadTarget(ti, "", "")
	return data, err
}

func newServed(t *testing.T, targets map[string][]byte) (*Repo, *httptest.Server) {
	t.Helper()
	r, err := New(Options{Targets: targets})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(r)
	t.Cleanup(srv.Close)
	return r, srv
}

func TestClientFollowsPublishAndRotation(t *testing.T) {
	name := "127.0.0.1:1/keys.json"
	r, srv := newServed(t, map[string][]byte{"trusted_root.json": []byte("one"), name: []byte("keys")})
	anchor := r.Root()

	for _, want := range []string{"one"} {
		got, err := fetchTarget(t, srv, anchor, "trusted_root.json")
		if err != nil || string(got) != want {
			t.Fatalf("trusted_root.json = %q, %v; want %q", got, err, want)
		}
	}
	if got, err := fetchTarget(t, srv, anchor, name); err != nil || string(got) != "keys" {
		t.Fatalf("%s = %q, %v", name, got, err)
	}

	if err := r.Publish(Publish{Targets: map[string][]byte{"trusted_root.json": []byte("two")}}); err != nil {
		t.Fatal(err)
	}
	if err := r.RotateRoot(); err != nil {
		t.Fatal(err)
	}
	if v := r.RootVersion(); v != 2 {
		t.Fatalf("root version %d after one rotation", v)
	}
	got, err := fetchTarget(t, srv, anchor, "trusted_root.json")
	if err != nil || string(got) != "two" {
		t.Fatalf("after rotation: %q, %v", got, err)
	}
	if _, err := fetchTarget(t, srv, anchor, name); err == nil {
		t.Fatalf("%s is still served after Publish replaced the targets", name)
	}
}

// The attack knobs must each make a real TUF client fail: otherwise the
// tests that use them would prove nothing.
func TestAttacksFailAClient(t *testing.T) {
	targets := map[string][]byte{"trusted_root.json": []byte("one")}
	cases := map[string]struct {
		attack func(*Repo)
		want   string
	}{
		"expired timestamp": {func(r *Repo) {
			if err := r.Publish(Publish{TimestampExpires: time.Now().Add(-time.Hour)}); err != nil {
				t.Fatal(err)
			}
		}, "expired"},
		"untrusted timestamp key": {func(r *Repo) {
			if err := r.Publish(Publish{UntrustedKey: metadata.TIMESTAMP}); err != nil {
				t.Fatal(err)
			}
		}, "signature"},
		"untrusted targets key": {func(r *Repo) {
			if err := r.Publish(Publish{UntrustedKey: metadata.TARGETS}); err != nil {
				t.Fatal(err)
			}
		}, "signature"},
		"target bytes changed": {func(r *Repo) {
			r.SetFile(r.TargetPath("trusted_root.json"), []byte("onf"))
		}, "hash"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			r, srv := newServed(t, targets)
			c.attack(r)
			_, err := fetchTarget(t, srv, r.Root(), "trusted_root.json")
			if err == nil || !strings.Contains(strings.ToLower(err.Error()), c.want) {
				t.Fatalf("err = %v, want one mentioning %q", err, c.want)
			}
		})
	}
}

func TestFileAndSetFile(t *testing.T) {
	r, srv := newServed(t, map[string][]byte{"a/b.json": []byte("x")})
	p := r.TargetPath("a/b.json")
	if !strings.HasPrefix(p, "targets/a/") || !strings.HasSuffix(p, ".b.json") {
		t.Fatalf("TargetPath = %q", p)
	}
	if !bytes.Equal(r.File(p), []byte("x")) {
		t.Fatalf("File(%s) = %q", p, r.File(p))
	}
	if r.TargetPath("missing") != "" {
		t.Fatal("TargetPath of a missing target is not empty")
	}
	r.SetFile("timestamp.json", nil)
	resp, err := srv.Client().Get(srv.URL + "/timestamp.json")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 404 {
		t.Fatalf("removed file: status %d", resp.StatusCode)
	}
	if _, err := New(Options{Targets: map[string][]byte{"../x": nil}}); err == nil {
		t.Fatal("a target name with .. was accepted")
	}
}
