package fetch

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/provaudit/provaudit/internal/registrytest"
)

// historyDoc is a packument with one release line told out of semver
// order, a maintenance release, a prerelease, a version without a time, a
// tie and another line.
const historyDoc = `{"name":"p","time":{"created":"2019-01-01T00:00:00Z",
"1.0.0":"2020-01-01T00:00:00Z","1.1.0":"2020-02-01T00:00:00Z","1.2.0":"2020-03-01T00:00:00Z",
"1.2.1-beta.1":"2020-03-15T00:00:00Z","1.0.1":"2020-05-01T00:00:00Z","1.3.0":"2020-06-01T00:00:00Z",
"1.1.1":"2020-06-01T00:00:00Z","1.4.0":"2020-07-01T00:00:00Z","2.0.0":"2019-06-01T00:00:00Z","1.5.0":"not a time"},
"versions":{
"1.0.0":{"_npmUser":{"name":"ann"}},
"1.1.0":{"_npmUser":{"name":"ann"},"dist":{"integrity":"sha512-b","signatures":[{"keyid":"k","sig":"s"}],"attestations":{"url":"u","provenance":{"predicateType":"https://slsa.dev/provenance/v1"}}}},
"1.2.0":{"_npmUser":{"name":"GitHub Actions","trustedPublisher":{"id":"github"},"approver":{"name":"cat"}},"dist":{"integrity":"sha512-c","attestations":{"url":"u","provenance":{"predicateType":"https://slsa.dev/provenance/v1"}}}},
"1.2.1-beta.1":{"_npmUser":{"name":"eve"},"scripts":{"preinstall":"x"},"dist":{"attestations":{"url":"u","provenance":{"predicateType":"https://slsa.dev/provenance/v1"}}}},
"1.2.2":{"_npmUser":{"name":"old","trustedPublisher":{"id":"github"}}},
"1.0.1":{"_npmUser":{"name":"bob"},"scripts":{"postinstall":"node p.js","test":"t"}},
"1.1.1":{"_npmUser":5},
"1.3.0":{"_npmUser":{"name":"zed"},"scripts":{"install":"node-gyp rebuild"},"dist":{"integrity":"sha512-z"}},
"1.4.0":{"_npmUser":{"name":"ann"},"dist":{"attestations":{"url":"u","provenance":{"predicateType":"p"}}}},
"1.5.0":{"_npmUser":{"name":"ann"}},
"1.6.0":[],
"2.0.0":{"_npmUser":{"name":"two"},"dist":{"attestations":{"url":"u","provenance":{"predicateType":"p"}}}}
}}`

func decodeHistories(t *testing.T, doc string, keep ...string) *histories {
	t.Helper()
	km, lines := map[string]bool{}, map[string]bool{}
	for _, v := range keep {
		km[v] = true
		lines[strings.SplitN(v, ".", 2)[0]+".x"] = true
	}
	pf, err := decodePublishFacts(strings.NewReader(doc), "p", "u", km, lines)
	if err != nil {
		t.Fatal(err)
	}
	return pf.histories("p", "u")
}

// TestHistorySummary checks what a release history holds: the versions of
// the line published before the version by the time map (ties by semver,
// versions without a time by semver), prereleases and other lines left
// out, a malformed _npmUser a missing fact, and the newest of them with
// each fact.
func TestHistorySummary(t *testing.T) {
	hs := decodeHistories(t, historyDoc, "1.3.0", "1.0.1", "1.2.1-beta.1", "1.6.0", "9.0.0")
	got := hs.results["1.3.0"]
	if got.err != nil {
		t.Fatal(got.err)
	}
	h := got.h
	want := History{
		Name: "p", Line: "1.x",
		Version: VersionFacts{Version: "1.3.0", Time: time.Date(2020, 6, 1, 0, 0, 0, 0, time.UTC), Publisher: "zed",
			InstallScripts: []string{"install"}, Integrity: "sha512-z"},
		Earlier: LineHistory{
			// 1.0.0, 1.1.0, 1.2.0, 1.0.1, 1.1.1 (same time, lower semver)
			// and 1.2.2 (no time, lower semver); not 1.4.0 (later), 1.5.0
			// (no readable time, higher semver), 1.2.1-beta.1, 2.0.0.
			Versions: 6,
			Provenance: &VersionFacts{Version: "1.2.0", Time: time.Date(2020, 3, 1, 0, 0, 0, 0, time.UTC), Publisher: "GitHub Actions",
				TrustedPublisher: "github", Approver: "cat", Provenance: "https://slsa.dev/provenance/v1", Attestations: true, Integrity: "sha512-c"},
			TrustedPublishing: "1.2.0", // 1.2.2 has no time: it sorts first
			Approved:          "1.2.0",
			InstallScripts:    "1.0.1",
			Publishers:        []string{"bob", "GitHub Actions", "ann", "old"},
		},
	}
	if !reflect.DeepEqual(*h, want) {
		t.Errorf("history of 1.3.0:\n got %+v\nwant %+v", *h, want)
	}

	// A maintenance release published after a later version of its line
	// follows the time map: 1.2.0 came before it, 1.2.2 (no time) did not.
	if m := hs.results["1.0.1"].h; m == nil || m.Earlier.Versions != 3 || m.Earlier.Provenance == nil || m.Earlier.Provenance.Version != "1.2.0" ||
		m.Earlier.PublisherSeen || m.Earlier.InstallScripts != "" {
		t.Errorf("history of 1.0.1: %+v", m)
	}
	if p := hs.results["1.2.1-beta.1"].h; p == nil || p.Line != "" || !reflect.DeepEqual(p.Earlier, LineHistory{}) || len(p.Version.InstallScripts) != 1 {
		t.Errorf("a prerelease has no line and no earlier versions: %+v", p)
	}
	if err := hs.results["1.6.0"].err; !errors.Is(err, ErrMalformed) {
		t.Errorf("a version that is not an object: %v, want ErrMalformed", err)
	}
	if err := hs.results["9.0.0"].err; !errors.Is(err, ErrNotFound) {
		t.Errorf("a version the packument does not list: %v, want ErrNotFound", err)
	}
}

func TestHistoryPublisherSeen(t *testing.T) {
	const doc = `{"name":"p","time":{"1.0.0":"2020-01-01T00:00:00Z","1.1.0":"2020-02-01T00:00:00Z","1.2.0":"2020-03-01T00:00:00Z"},
"versions":{"1.0.0":{"_npmUser":{"name":"ann"}},"1.1.0":{"_npmUser":{"name":"bob"}},"1.2.0":{"_npmUser":{"name":"ann"}}}}`
	hs := decodeHistories(t, doc, "1.2.0", "1.1.0", "1.0.0")
	for v, want := range map[string]bool{"1.2.0": true, "1.1.0": false, "1.0.0": false} {
		if h := hs.results[v].h; h == nil || h.Earlier.PublisherSeen != want {
			t.Errorf("%s: %+v, want PublisherSeen %v", v, h, want)
		}
	}
}

// TestHistoryBounded shows that the facts kept of the versions on a
// release line are bounded: a packument whose line versions carry more
// ends as ErrTooLarge, while the same versions off the line cost nothing.
func TestHistoryBounded(t *testing.T) {
	long := strings.Repeat("x", maxKeptString)
	var b strings.Builder
	b.WriteString(`{"name":"p","versions":{`)
	n := maxHistoryBytes/maxKeptString + 10
	for i := range n {
		fmt.Fprintf(&b, `"1.0.%d":{"_npmUser":{"name":%q}},`, i, long)
	}
	b.WriteString(`"1.0.99999":{}}}`)
	doc := b.String()
	_, err := decodePublishFacts(strings.NewReader(doc), "p", "u", map[string]bool{"1.0.99999": true}, map[string]bool{"1.x": true})
	if !errors.Is(err, ErrTooLarge) || !strings.Contains(err.Error(), "1.x") {
		t.Errorf("a line past the bound: %v, want ErrTooLarge naming the line", err)
	}
	pf, err := decodePublishFacts(strings.NewReader(doc), "p", "u", map[string]bool{"1.0.99999": true}, map[string]bool{"2.x": true})
	if err != nil || len(pf.versions) != 1 {
		t.Errorf("another line: %v, %d versions kept", err, len(pf.versions))
	}
}

// TestClientHistory fetches histories from the fake registry: one
// download for every sibling, each history cached sealed, offline from
// the cache only, and a version the registry does not list.
func TestClientHistory(t *testing.T) {
	checkGoroutines(t)
	r := newRT(t,
		registrytest.Package{Name: "@h/p", Version: "1.0.0", Signed: true, Attested: true, PublishTime: published, NpmUser: "ann"},
		registrytest.Package{Name: "@h/p", Version: "1.1.0", Signed: true, PublishTime: published.Add(time.Hour), NpmUser: "bob", Scripts: map[string]string{"preinstall": "x"}, Versions: 50},
		registrytest.Package{Name: "@h/p", Version: "2.0.0", Signed: true, PublishTime: published.Add(2 * time.Hour), TrustedPublisher: "github", Approver: "cat"},
	)
	cfg := testConfig(t, r.URL(), "")
	dir := t.TempDir()
	secret := bytes.Repeat([]byte{3}, SecretSize)
	c := testClient(t, cfg, Options{CacheDir: dir, CacheSecret: secret})
	ctx := context.Background()
	siblings := []string{"1.1.0", "2.0.0"}
	h11, err := c.History(ctx, "@h/p", "1.1.0", siblings...)
	if err != nil {
		t.Fatal(err)
	}
	h20, err := c.History(ctx, "@h/p", "2.0.0", siblings...)
	if err != nil {
		t.Fatal(err)
	}
	if n := r.RequestsFor("/@h/p"); n != 1 {
		t.Errorf("two sibling histories: %d packument downloads, want 1", n)
	}
	e := h11.Earlier
	if h11.Line != "1.x" || !h11.Version.Time.Equal(published.Add(time.Hour)) || h11.Version.Publisher != "bob" ||
		!reflect.DeepEqual(h11.Version.InstallScripts, []string{"preinstall"}) || !h11.Version.Signed ||
		e.Versions != 1 || e.Provenance == nil || e.Provenance.Version != "1.0.0" || e.Provenance.Integrity == "" || e.InstallScripts != "" {
		t.Errorf("history of 1.1.0: %+v (earlier %+v)", h11, e)
	}
	if h20.Line != "2.x" || h20.Version.TrustedPublisher != "github" || h20.Version.Approver != "cat" || h20.Earlier.Versions != 0 {
		t.Errorf("history of 2.0.0: %+v", h20)
	}
	if _, err := c.History(ctx, "@h/p", "7.0.0"); !errors.Is(err, ErrNotFound) {
		t.Errorf("a version the registry does not list: %v, want ErrNotFound", err)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}

	off := testClient(t, cfg, Options{CacheDir: dir, Offline: true, CacheSecret: secret, Transport: failTransport{t}})
	if got, err := off.History(ctx, "@h/p", "1.1.0"); err != nil || !reflect.DeepEqual(got, h11) {
		t.Errorf("offline, cached: %+v, %v; want %+v", got, err, h11)
	}
	if _, err := off.History(ctx, "@h/p", "1.0.0"); !errors.Is(err, ErrNotInCache) || !strings.Contains(err.Error(), "@h/p@1.0.0") {
		t.Errorf("offline, not cached: %v, want ErrNotInCache naming the package", err)
	}
	// Sealed: under another secret the cached history is not there.
	other := testClient(t, cfg, Options{CacheDir: dir, Offline: true, CacheSecret: bytes.Repeat([]byte{4}, SecretSize), Transport: failTransport{t}})
	if _, err := other.History(ctx, "@h/p", "1.1.0"); !errors.Is(err, ErrNotInCache) {
		t.Errorf("under another secret: %v, want ErrNotInCache", err)
	}
}
