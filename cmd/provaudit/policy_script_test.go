package main

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/provaudit/provaudit/internal/registrytest"
	"github.com/provaudit/provaudit/internal/registrytest/fakesigstore"
	"github.com/provaudit/provaudit/lockfile"
)

// cmdAttest serves one package of a lockfile, signed, with attestations
// whose identity facts are the ones given (the others keep the fake
// Sigstore's defaults):
//
//	attest LOCKFILE NAME@VERSION [repo=URL] [ref=REF] [workflow=PATH] [runner=self-hosted] [issuer=URL] [commit=SHA]
func cmdAttest(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 2 {
		ts.Fatalf("usage: attest LOCKFILE NAME@VERSION [key=value...]")
	}
	lf, err := lockfile.Load(ts.MkAbs(args[0]))
	ts.Check(err)
	name, version := splitSpec(ts, args[1])
	a := fakesigstore.Attest{Name: name, Version: version}
	for _, u := range lockfile.Units(lf) {
		if u.Name == name && u.Version == version {
			a.Integrity = u.Integrity
		}
	}
	if a.Integrity == "" {
		ts.Fatalf("%s is not in %s", args[1], args[0])
	}
	for _, kv := range args[2:] {
		k, v, _ := strings.Cut(kv, "=")
		switch k {
		case "repo":
			a.Repository = v
		case "ref":
			a.Ref = v
		case "workflow":
			a.Workflow = v
		case "runner":
			a.Runner = v
		case "issuer":
			a.Issuer = v
		case "commit":
			a.Commit = v
		default:
			ts.Fatalf("attest: unknown %q", kv)
		}
	}
	if strings.HasPrefix(a.Repository, fakesigstore.GitLabURL) {
		a.PredicateType = fakesigstore.PredicateSLSAv02 // what npm makes on GitLab, and the version document must announce
	}
	reg := ts.Value(registryKey).(*registrytest.Registry)
	ts.Check(reg.Add(registrytest.Package{Name: name, Version: version, Integrity: a.Integrity, Signed: true, Attested: true, Attest: &a}))
}

// fakeAPI is a script's fake GitHub and GitLab REST API (one server:
// GitHub under /github, GitLab under /gitlab).
type fakeAPI struct {
	srv *httptest.Server
	mu  sync.Mutex
	// reach maps "github OWNER/REPO" or "gitlab PATH" to each commit that
	// exists there and the refs (tag:NAME, branch:NAME) that reach it.
	reach   map[string]map[string][]string
	headers []string
}

var fakeAPIs sync.Map // *testscript.TestScript -> *fakeAPI

// cmdFakeAPI drives the script's fake GitHub and GitLab APIs:
//
//	fakeapi start                      start them: $FAKE_GITHUB and $FAKE_GITLAB are their base URLs
//	fakeapi github OWNER/REPO SHA [tag:NAME|branch:NAME...]
//	fakeapi gitlab PATH SHA [tag:NAME|branch:NAME...]
//	                                   the commit exists, reached by those refs (none: by nothing);
//	                                   every repository's default branch is main
//	fakeapi tokens HEADER...           assert the credential headers received so far, in order
//	                                   of first appearance ("Authorization: Bearer x")
//	fakeapi down                       stop the server (connections refused)
func cmdFakeAPI(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) == 0 {
		ts.Fatalf("usage: fakeapi start|github|gitlab|tokens|down ...")
	}
	if args[0] == "start" {
		f := &fakeAPI{reach: map[string]map[string][]string{}}
		f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
		ts.Defer(f.srv.Close)
		ts.Defer(func() { fakeAPIs.Delete(ts) })
		fakeAPIs.Store(ts, f)
		ts.Setenv("FAKE_GITHUB", f.srv.URL+"/github")
		ts.Setenv("FAKE_GITLAB", f.srv.URL+"/gitlab")
		return
	}
	v, ok := fakeAPIs.Load(ts)
	if !ok {
		ts.Fatalf("fakeapi start first")
	}
	f := v.(*fakeAPI)
	f.mu.Lock()
	defer f.mu.Unlock()
	switch args[0] {
	case "github", "gitlab":
		if len(args) < 3 {
			ts.Fatalf("usage: fakeapi %s REPO SHA [REF...]", args[0])
		}
		repo := args[0] + " " + args[1]
		if f.reach[repo] == nil {
			f.reach[repo] = map[string][]string{}
		}
		f.reach[repo][args[2]] = args[3:]
	case "tokens":
		var seen []string
		for _, h := range f.headers {
			if !slices.Contains(seen, h) {
				seen = append(seen, h)
			}
		}
		if !slices.Equal(seen, args[1:]) {
			ts.Fatalf("credential headers %q, want %q", seen, args[1:])
		}
	case "down":
		f.srv.Close()
	default:
		ts.Fatalf("unknown fakeapi subcommand %q", args[0])
	}
}

func (f *fakeAPI) serve(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, h := range []string{"Authorization", "PRIVATE-TOKEN"} {
		if v := r.Header.Get(h); v != "" {
			f.headers = append(f.headers, h+": "+v)
		}
	}
	p := r.URL.EscapedPath()
	switch {
	case strings.HasPrefix(p, "/github/repos/"):
		f.github(w, strings.TrimPrefix(p, "/github/repos/"))
	case strings.HasPrefix(p, "/gitlab/projects/"):
		f.gitlab(w, strings.TrimPrefix(p, "/gitlab/projects/"))
	default:
		http.NotFound(w, r)
	}
}

// github answers OWNER/REPO, OWNER/REPO/commits/SHA and
// OWNER/REPO/compare/REF...SHA.
func (f *fakeAPI) github(w http.ResponseWriter, p string) {
	segs := strings.SplitN(p, "/", 4)
	if len(segs) < 2 {
		http.NotFound(w, nil)
		return
	}
	commits, ok := f.reach["github "+segs[0]+"/"+segs[1]]
	if !ok {
		http.Error(w, `{"message": "Not Found"}`, http.StatusNotFound)
		return
	}
	switch {
	case len(segs) == 2:
		fmt.Fprint(w, `{"default_branch": "main"}`)
	case len(segs) == 4 && segs[2] == "commits":
		if _, ok := commits[segs[3]]; !ok {
			http.Error(w, `{"message": "No commit found"}`, http.StatusUnprocessableEntity)
			return
		}
		fmt.Fprint(w, segs[3])
	case len(segs) == 4 && segs[2] == "compare":
		ref, sha, _ := strings.Cut(segs[3], "...")
		known := false
		for _, refs := range commits {
			for _, x := range refs {
				_, name, _ := strings.Cut(x, ":")
				known = known || name == ref
			}
		}
		if !known && ref != "main" {
			http.Error(w, `{"message": "Not Found"}`, http.StatusNotFound)
			return
		}
		status := "diverged"
		for _, x := range commits[sha] {
			if _, name, _ := strings.Cut(x, ":"); name == ref {
				status = "behind"
			}
		}
		fmt.Fprintf(w, `{"status": %q}`, status)
	default:
		http.NotFound(w, nil)
	}
}

// gitlab answers PATH/repository/commits/SHA[/refs] and PATH (escaped).
func (f *fakeAPI) gitlab(w http.ResponseWriter, p string) {
	project, rest, _ := strings.Cut(p, "/")
	project = strings.ReplaceAll(project, "%2F", "/")
	commits, ok := f.reach["gitlab "+project]
	if !ok {
		http.Error(w, `{"message": "404 Project Not Found"}`, http.StatusNotFound)
		return
	}
	sha, refsAsked := strings.CutSuffix(strings.TrimPrefix(rest, "repository/commits/"), "/refs")
	switch {
	case rest == "":
		fmt.Fprint(w, `{"id": 1}`)
	case !hasKey(commits, sha):
		http.Error(w, `{"message": "404 Commit Not Found"}`, http.StatusNotFound)
	case refsAsked:
		var out []string
		for _, x := range commits[sha] {
			typ, name, _ := strings.Cut(x, ":")
			out = append(out, fmt.Sprintf(`{"type": %q, "name": %q}`, typ, name))
		}
		fmt.Fprint(w, "["+strings.Join(out, ",")+"]")
	default:
		fmt.Fprint(w, `{"id": "x"}`)
	}
}

func hasKey(m map[string][]string, k string) bool {
	_, ok := m[k]
	return ok
}

// cmdLinkGit puts the machine's git, if there is one, into $WORK/.bin,
// which the script's PATH has (the setup drops folders that hold an npm,
// and git often lives beside one); scripts then skip with [!exec:git]
// when there is none.
//
//	linkgit
func cmdLinkGit(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 0 {
		ts.Fatalf("usage: linkgit")
	}
	git, err := exec.LookPath("git") // the test process's PATH
	if err != nil {
		return
	}
	ts.Check(os.Symlink(git, filepath.Join(ts.Getenv("WORK"), ".bin", "git")))
}
