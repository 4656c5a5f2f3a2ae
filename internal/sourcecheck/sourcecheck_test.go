package sourcecheck

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/provaudit/provaudit/audit"
	"github.com/provaudit/provaudit/fetch"
)

const (
	onTag     = "1111111111111111111111111111111111111111"
	onMain    = "2222222222222222222222222222222222222222"
	forked    = "3333333333333333333333333333333333333333"
	missing   = "4444444444444444444444444444444444444444"
	githubTok = "gh-secret-token"
	gitlabTok = "gl-secret-token"
)

// fakeAPI is a fake GitHub or GitLab REST API on 127.0.0.1 that records
// what it is asked and with which credentials.
type fakeAPI struct {
	*httptest.Server
	requests atomic.Int64
	mu       sync.Mutex
	headers  []string // Authorization and PRIVATE-TOKEN values seen
	// fail5xx makes the next N requests answer 503; rateLimit makes every
	// request answer 403 with X-RateLimit-Remaining: 0.
	fail5xx   atomic.Int64
	rateLimit atomic.Bool
}

func (f *fakeAPI) record(r *http.Request) {
	f.requests.Add(1)
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, h := range []string{"Authorization", "PRIVATE-TOKEN"} {
		if v := r.Header.Get(h); v != "" {
			f.headers = append(f.headers, h+": "+v)
		}
	}
}

func (f *fakeAPI) seen() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.headers...)
}

// newFakeGitHub serves repository acme/lib: default branch main (which
// reaches onMain and onTag), tag v1.0.0 (reaches onTag), and the commit
// forked, which exists but nothing reaches (a fork's commit, as GitHub
// serves it through the parent); acme/private is not visible.
func newFakeGitHub(t *testing.T) *fakeAPI {
	f := &fakeAPI{}
	reach := map[string][]string{"main": {onMain, onTag}, "v1.0.0": {onTag}}
	exists := map[string]bool{onTag: true, onMain: true, forked: true}
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.record(r)
		if f.fail5xx.Load() > 0 {
			f.fail5xx.Add(-1)
			http.Error(w, "unavailable", http.StatusServiceUnavailable)
			return
		}
		if f.rateLimit.Load() {
			w.Header().Set("X-RateLimit-Remaining", "0")
			http.Error(w, `{"message": "API rate limit exceeded"}`, http.StatusForbidden)
			return
		}
		p := r.URL.EscapedPath()
		switch {
		case p == "/api/repos/acme/lib":
			fmt.Fprint(w, `{"full_name": "acme/lib", "default_branch": "main"}`)
		case strings.HasPrefix(p, "/api/repos/acme/lib/commits/"):
			sha := strings.TrimPrefix(p, "/api/repos/acme/lib/commits/")
			if !exists[sha] {
				http.Error(w, `{"message": "No commit found for SHA"}`, http.StatusUnprocessableEntity)
				return
			}
			if r.Header.Get("Accept") != "application/vnd.github.sha" {
				t.Errorf("commit asked with Accept %q", r.Header.Get("Accept"))
			}
			fmt.Fprint(w, sha)
		case strings.HasPrefix(p, "/api/repos/acme/lib/compare/"):
			base, head, _ := strings.Cut(strings.TrimPrefix(p, "/api/repos/acme/lib/compare/"), "...")
			commits, ok := reach[base]
			if !ok {
				http.Error(w, `{"message": "Not Found"}`, http.StatusNotFound)
				return
			}
			status := "diverged"
			for _, c := range commits {
				if c == head {
					status = "behind"
				}
			}
			// The status comes after a large object, as on GitHub.
			fmt.Fprintf(w, `{"base_commit": {"sha": "x", "files": [%s"f"], "nested": {"a": [1, {"b": null}]}}, "status": %q, "files": [`, strings.Repeat(`"f",`, 1000), status)
			fmt.Fprint(w, strings.Repeat(`{"filename": "a"},`, 1000)+`{}]}`)
		default:
			http.Error(w, `{"message": "Not Found"}`, http.StatusNotFound)
		}
	}))
	t.Cleanup(f.Close)
	return f
}

// newFakeGitLab serves project group/sub/proj: onTag is in tag v1.0.0
// and branch main; forked exists in no branch or tag.
func newFakeGitLab(t *testing.T) *fakeAPI {
	f := &fakeAPI{}
	refs := map[string]string{onTag: `[{"type": "branch", "name": "main"}, {"type": "tag", "name": "v1.0.0"}]`, forked: `[]`}
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.record(r)
		const project = "/api/v4/projects/group%2Fsub%2Fproj"
		p := r.URL.EscapedPath()
		switch {
		case p == project:
			fmt.Fprint(w, `{"id": 7}`)
		case strings.HasPrefix(p, project+"/repository/commits/") && strings.HasSuffix(p, "/refs"):
			sha := strings.TrimSuffix(strings.TrimPrefix(p, project+"/repository/commits/"), "/refs")
			if r.URL.Query().Get("type") != "all" {
				t.Errorf("refs asked without type=all: %s", r.URL)
			}
			fmt.Fprint(w, refs[sha])
		case strings.HasPrefix(p, project+"/repository/commits/"):
			if _, ok := refs[strings.TrimPrefix(p, project+"/repository/commits/")]; !ok {
				http.Error(w, `{"message": "404 Commit Not Found"}`, http.StatusNotFound)
				return
			}
			fmt.Fprint(w, `{"id": "x"}`)
		default:
			http.Error(w, `{"message": "404 Project Not Found"}`, http.StatusNotFound)
		}
	}))
	t.Cleanup(f.Close)
	return f
}

func newChecker(t *testing.T, gh, gl *fakeAPI, mod func(*Options)) *Checker {
	t.Helper()
	o := Options{GitHubAPI: gh.URL + "/api", GitLabAPI: gl.URL + "/api/v4", GitHubToken: githubTok, GitLabToken: gitlabTok}
	if mod != nil {
		mod(&o)
	}
	c, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestCheck(t *testing.T) {
	gh, gl := newFakeGitHub(t), newFakeGitLab(t)
	c := newChecker(t, gh, gl, nil)
	ctx := context.Background()
	tests := []struct {
		name string
		src  Source
		want audit.SourceStatus
		ref  string
		says string
	}{
		{"github tag", Source{"https://github.com/acme/lib", onTag, "refs/tags/v1.0.0"}, audit.SourceVerified, "refs/tags/v1.0.0", "tag v1.0.0 reaches it"},
		{"github tag deleted, main reaches", Source{"https://github.com/acme/lib", onMain, "refs/tags/v2.0.0"}, audit.SourceVerified, "refs/heads/main", "the default branch main reaches it"},
		{"github missing", Source{"https://github.com/acme/lib", missing, "refs/tags/v1.0.0"}, audit.SourceUnverified, "", "commit " + missing + " does not exist in https://github.com/acme/lib"},
		{"github unreachable", Source{"https://github.com/acme/lib", forked, "refs/heads/feature"}, audit.SourceUnverified, "", "is not reachable from branch feature (not found) nor the default branch main: it may come from a fork"},
		{"github private", Source{"https://github.com/acme/private", onTag, "refs/tags/v1.0.0"}, audit.SourceIncomplete, "", "cannot see the repository acme/private"},
		{"gitlab tag", Source{"https://gitlab.com/group/sub/proj", onTag, "refs/tags/v1.0.0"}, audit.SourceVerified, "refs/tags/v1.0.0", "tag v1.0.0 contains it"},
		{"gitlab other ref", Source{"https://gitlab.com/group/sub/proj", onTag, "refs/heads/gone"}, audit.SourceVerified, "refs/heads/main", "branch main contains it"},
		{"gitlab unreachable", Source{"https://gitlab.com/group/sub/proj", forked, "refs/heads/x"}, audit.SourceUnverified, "", "no branch or tag contains it"},
		{"gitlab missing", Source{"https://gitlab.com/group/sub/proj", missing, "refs/heads/x"}, audit.SourceUnverified, "", "commit " + missing + " does not exist in"},
		{"gitlab private", Source{"https://gitlab.com/group/hidden", onTag, "refs/heads/x"}, audit.SourceIncomplete, "", "cannot see the project group/hidden"},
		{"other host", Source{"https://git.example.org/a/b", onTag, ""}, audit.SourceIncomplete, "", "whose API provaudit does not know"},
		{"no commit", Source{"https://github.com/acme/lib", "main", ""}, audit.SourceUnverified, "", "names no commit id"},
		{"not a URL", Source{"acme/lib", onTag, ""}, audit.SourceIncomplete, "", "is not an https URL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := c.Check(ctx, tt.src)
			if got.Status != tt.want || got.Ref != tt.ref || !strings.Contains(got.Reason, tt.says) {
				t.Errorf("got %+v\nwant %s, ref %q, saying %q", got, tt.want, tt.ref, tt.says)
			}
		})
	}
	for _, h := range gh.seen() {
		if h != "Authorization: Bearer "+githubTok {
			t.Errorf("the fake GitHub got %q", h)
		}
	}
	for _, h := range gl.seen() {
		if h != "PRIVATE-TOKEN: "+gitlabTok {
			t.Errorf("the fake GitLab got %q", h)
		}
	}
	if len(gh.seen()) == 0 || len(gl.seen()) == 0 {
		t.Error("no token was sent to its own API")
	}
}

// TestTokenStaysOnItsHost: a redirect from the GitHub API to another host
// carries no token.
func TestTokenStaysOnItsHost(t *testing.T) {
	other := &fakeAPI{}
	other.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		other.record(r)
		fmt.Fprint(w, `{"default_branch": "main"}`)
	}))
	defer other.Close()
	gh := &fakeAPI{}
	gh.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gh.record(r)
		http.Redirect(w, r, other.URL+r.URL.Path, http.StatusFound)
	}))
	defer gh.Close()
	gl := newFakeGitLab(t)
	c := newChecker(t, gh, gl, nil)
	c.Check(context.Background(), Source{"https://github.com/acme/lib", onTag, "refs/tags/v1.0.0"})
	if other.requests.Load() == 0 {
		t.Fatal("the redirect was not followed")
	}
	if h := other.seen(); len(h) > 0 {
		t.Errorf("a token followed the redirect to another host: %q", h)
	}
	if h := gh.seen(); len(h) == 0 {
		t.Error("the GitHub API got no token")
	}
}

func TestAPIDown(t *testing.T) {
	gh, gl := newFakeGitHub(t), newFakeGitLab(t)
	c := newChecker(t, gh, gl, nil)
	gh.Close()
	got := c.Check(context.Background(), Source{"https://github.com/acme/lib", onTag, "refs/tags/v1.0.0"})
	if got.Status != audit.SourceIncomplete || !strings.Contains(got.Reason, "unreachable: "+gh.URL+"/api") {
		t.Fatalf("%+v", got)
	}
	// The rest fail at once: the host is down for the run.
	c.mu.Lock()
	down := c.down[strings.TrimPrefix(gh.URL, "http://")]
	c.mu.Unlock()
	if down == nil {
		t.Fatal("the API host was not marked down")
	}
	got = c.Check(context.Background(), Source{"https://github.com/acme/lib", onMain, "refs/heads/main"})
	if got.Status != audit.SourceIncomplete {
		t.Errorf("%+v", got)
	}
	// GitLab is unaffected.
	if got := c.Check(context.Background(), Source{"https://gitlab.com/group/sub/proj", onTag, "refs/tags/v1.0.0"}); got.Status != audit.SourceVerified {
		t.Errorf("gitlab: %+v", got)
	}
}

func TestRetriesAndRateLimit(t *testing.T) {
	gh, gl := newFakeGitHub(t), newFakeGitLab(t)
	c := newChecker(t, gh, gl, nil)
	src := Source{"https://github.com/acme/lib", onTag, "refs/tags/v1.0.0"}
	gh.fail5xx.Store(1)
	if got := c.Check(context.Background(), src); got.Status != audit.SourceVerified {
		t.Errorf("one 503 is retried: %+v", got)
	}
	gh.fail5xx.Store(2)
	if got := c.Check(context.Background(), src); got.Status != audit.SourceIncomplete || !strings.Contains(got.Reason, "answered 503") {
		t.Errorf("two 503s: %+v", got)
	}
	gh.rateLimit.Store(true)
	if got := c.Check(context.Background(), src); got.Status != audit.SourceIncomplete || !strings.Contains(got.Reason, "rate-limited") || !strings.Contains(got.Reason, "GITHUB_TOKEN") {
		t.Errorf("rate limit: %+v", got)
	}
}

func TestCache(t *testing.T) {
	dir := t.TempDir()
	cache, err := fetch.OpenCache(dir)
	if err != nil {
		t.Fatal(err)
	}
	gh, gl := newFakeGitHub(t), newFakeGitLab(t)
	src := Source{"https://github.com/acme/lib", onTag, "refs/tags/v1.0.0"}
	c := newChecker(t, gh, gl, func(o *Options) { o.Cache = cache })
	if got := c.Check(context.Background(), src); got.Status != audit.SourceVerified {
		t.Fatalf("%+v", got)
	}
	if got := c.Check(context.Background(), Source{src.Repository, forked, "refs/heads/x"}); got.Status != audit.SourceUnverified {
		t.Fatalf("%+v", got)
	}
	n := gh.requests.Load()

	// From the cache: no request, even offline; negative outcomes are
	// asked again.
	offline := newChecker(t, gh, gl, func(o *Options) { o.Cache = cache; o.Offline = true })
	if got := offline.Check(context.Background(), src); got.Status != audit.SourceVerified || gh.requests.Load() != n {
		t.Errorf("cached: %+v, %d requests", got, gh.requests.Load()-n)
	}
	if got := offline.Check(context.Background(), Source{src.Repository, forked, "refs/heads/x"}); got.Status != audit.SourceIncomplete || !strings.Contains(got.Reason, "--offline") {
		t.Errorf("a negative outcome is not cached: %+v", got)
	}

	// A cache sealed with another secret is a miss.
	if err := cache.Flush(); err != nil {
		t.Fatal(err)
	}
	other, err := fetch.OpenCache(dir)
	if err != nil {
		t.Fatal(err)
	}
	stranger := newChecker(t, gh, gl, func(o *Options) { o.Cache = other; o.Offline = true })
	if got := stranger.Check(context.Background(), src); got.Status != audit.SourceIncomplete {
		t.Errorf("a record sealed by another secret was used: %+v", got)
	}
}

func TestCheckResult(t *testing.T) {
	gh, gl := newFakeGitHub(t), newFakeGitLab(t)
	c := newChecker(t, gh, gl, nil)
	pkg := func(name, commit string) audit.Package {
		return audit.Package{Name: name, Version: "1.0.0", Status: audit.StatusVerified, Findings: []audit.Finding{},
			Attestations: &audit.AttestationCheck{Status: audit.CheckVerified, Provenance: &audit.Provenance{
				SourceRepository: "https://github.com/acme/lib", Commit: commit, WorkflowRef: "refs/tags/v1.0.0"}}}
	}
	plain := audit.Package{Name: "plain", Version: "1.0.0", Status: audit.StatusSigned, Findings: []audit.Finding{}}
	r := &audit.Result{Packages: []audit.Package{pkg("a", onTag), pkg("b", onTag), pkg("c", missing), plain}}
	c.CheckResult(context.Background(), r)
	if r.Packages[0].SourceCheck == nil || r.Packages[0].SourceCheck.Status != audit.SourceVerified || r.Packages[1].SourceCheck.Status != audit.SourceVerified {
		t.Errorf("a, b: %+v %+v", r.Packages[0].SourceCheck, r.Packages[1].SourceCheck)
	}
	if len(r.Packages[0].Findings) != 0 {
		t.Errorf("a: %+v", r.Packages[0].Findings)
	}
	if f := r.Packages[2].Findings; len(f) != 1 || f[0].Rule != audit.RuleSourceUnverified || f[0].Severity != audit.SeverityHigh || !strings.Contains(f[0].Message, "does not exist") {
		t.Errorf("c: %+v", f)
	}
	if r.Packages[3].SourceCheck != nil {
		t.Error("a package without provenance was checked")
	}
	// a and b share their source: asked once (repository, commit,
	// compare), and c (repository, commit).
	if n := gh.requests.Load(); n != 5 {
		t.Errorf("%d requests, want 5", n)
	}
}

func TestNewRefusesBadURLs(t *testing.T) {
	for _, u := range []string{"ftp://x", "https://user:pw@x", "not a url", "https://"} {
		if _, err := New(Options{GitHubAPI: u}); err == nil {
			t.Errorf("GitHubAPI %q accepted", u)
		}
	}
}

func TestTopLevelString(t *testing.T) {
	for in, want := range map[string]string{
		`{"a": [1, {"status": "x"}], "status": "behind"}`: "behind",
		`{"status": "identical", "rest": `:                "identical",
	} {
		got, err := topLevelString(strings.NewReader(in), "status")
		if err != nil || got != want {
			t.Errorf("%s: %q, %v", in, got, err)
		}
	}
	for _, in := range []string{`[]`, `{"a": 1}`, `{"status": 1}`, `{"a": [`} {
		if got, err := topLevelString(strings.NewReader(in), "status"); err == nil {
			t.Errorf("%s: %q, want an error", in, got)
		}
	}
}
