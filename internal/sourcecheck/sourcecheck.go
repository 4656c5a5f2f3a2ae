// Package sourcecheck checks, for provaudit --check-source, that the commit
// a verified provenance names exists in the repository it claims and is
// reachable from a branch or tag there, through the GitHub and GitLab REST
// APIs.
//
// # Why
//
// A valid provenance says which repository and commit a workflow built.
// GitHub serves the commits of every fork through the parent repository's
// API, and a workflow can build a commit that no branch or tag of the
// repository holds (a pull request from a fork, a branch deleted after the
// release). A commit that does not exist in the claimed repository, or
// that nothing there reaches, is a source-unverified finding.
//
// # What is asked
//
// GitHub (repositories on github.com): GET /repos/OWNER/REPO/commits/SHA
// (does it exist; 404 and 422 say no), then GET
// /repos/OWNER/REPO/compare/REF...SHA for the ref the provenance says was
// built and then the repository's default branch (GET /repos/OWNER/REPO):
// "behind" or "identical" means the ref reaches the commit. GitLab
// (repositories on gitlab.com): GET /projects/PATH/repository/commits/SHA,
// then GET /projects/PATH/repository/commits/SHA/refs?type=all, which
// lists the branches and tags that contain it. The API base URLs are
// options (the CLI's --github-api and --gitlab-api, or
// PROVAUDIT_GITHUB_API and PROVAUDIT_GITLAB_API).
//
// # Tokens
//
// GITHUB_TOKEN (else GH_TOKEN) is sent as a bearer token, GITLAB_TOKEN as
// PRIVATE-TOKEN, each only on requests to its own API base's scheme, host
// and port: the transport adds it per request from the request's own URL,
// so a redirect elsewhere carries none. Tokens are never printed.
//
// # Outcomes, cache, failures
//
// Each (repository, commit, ref) is checked once per run, whatever the
// number of packages built from it, with at most Options.Concurrency
// checks at a time. A verified outcome is stored sealed in the cache
// (fetch.Cache.PutSealed: an edited record is a miss) and reused; negative
// outcomes are asked again on every run. A check that cannot be made (an
// API that cannot be reached or answers 5xx after one retry, rate limits,
// a refused token, a repository host without a known API, --offline
// without a cached outcome) is incomplete, with the reason: the audit is
// then incomplete, never a pass. After a connection failure to an API
// host, the remaining checks against it are incomplete at once.
package sourcecheck

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/provaudit/provaudit/audit"
	"github.com/provaudit/provaudit/fetch"
)

// Default API base URLs.
const (
	DefaultGitHubAPI = "https://api.github.com"
	DefaultGitLabAPI = "https://gitlab.com/api/v4"
)

// Repository hosts whose APIs the checker knows.
const (
	githubHost = "github.com"
	gitlabHost = "gitlab.com"
)

// Defaults of Options.
const (
	DefaultConcurrency = 8
	DefaultTimeout     = 20 * time.Second
	// maxBody caps a JSON answer read whole (repository, refs).
	maxBody = 4 << 20
	// maxCompare caps what is read of a compare answer, which lists files
	// after its status.
	maxCompare = 64 << 20
	// cacheFormat names the format of cached outcomes.
	cacheFormat = "sourcecheck/v1"
)

// Options configure a Checker.
type Options struct {
	// GitHubAPI and GitLabAPI are the API base URLs (defaults
	// DefaultGitHubAPI and DefaultGitLabAPI).
	GitHubAPI, GitLabAPI string
	// GitHubToken and GitLabToken are sent to their own API only.
	GitHubToken, GitLabToken string
	// Transport is the HTTP transport (nil: one that honours the proxy
	// environment variables).
	Transport http.RoundTripper
	// Cache stores verified outcomes, sealed (nil: none).
	Cache *fetch.Cache
	// Offline answers from the cache alone.
	Offline bool
	// Concurrency bounds the checks at once (default 8).
	Concurrency int
	// Timeout bounds one request (default 20s).
	Timeout time.Duration
	// UserAgent is sent with every request.
	UserAgent string
}

// Checker checks the sources of provenances. It is safe for concurrent
// use.
type Checker struct {
	opts   Options
	github *url.URL
	gitlab *url.URL
	hc     *http.Client

	mu   sync.Mutex
	down map[string]error // API host -> why it is down
}

// ErrOptions reports unusable Options.
var ErrOptions = errors.New("sourcecheck: invalid options")

// New returns a Checker.
func New(opts Options) (*Checker, error) {
	if opts.GitHubAPI == "" {
		opts.GitHubAPI = DefaultGitHubAPI
	}
	if opts.GitLabAPI == "" {
		opts.GitLabAPI = DefaultGitLabAPI
	}
	if opts.Concurrency <= 0 {
		opts.Concurrency = DefaultConcurrency
	}
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultTimeout
	}
	c := &Checker{opts: opts, down: map[string]error{}}
	var err error
	if c.github, err = ParseAPIURL(opts.GitHubAPI); err != nil {
		return nil, err
	}
	if c.gitlab, err = ParseAPIURL(opts.GitLabAPI); err != nil {
		return nil, err
	}
	base := opts.Transport
	if base == nil {
		t := http.DefaultTransport.(*http.Transport).Clone()
		base = t
	}
	c.hc = &http.Client{
		Timeout: opts.Timeout,
		Transport: &tokenTransport{base: base, tokens: []apiToken{
			{base: c.github, header: "Authorization", value: bearer(opts.GitHubToken)},
			{base: c.gitlab, header: "PRIVATE-TOKEN", value: opts.GitLabToken},
		}},
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if len(via) >= 5 {
				return errors.New("too many redirects")
			}
			if req.URL.Scheme != "https" && via[0].URL.Scheme == "https" {
				return errors.New("redirect from https to " + req.URL.Scheme + " refused")
			}
			return nil
		},
	}
	return c, nil
}

func bearer(tok string) string {
	if tok == "" {
		return ""
	}
	return "Bearer " + tok
}

// ParseAPIURL parses an API base URL: http or https, a host, no
// credentials (tokens come from the environment, never from URLs).
func ParseAPIURL(s string) (*url.URL, error) {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil {
		return nil, fmt.Errorf("%w: API URL %q: want http(s)://host[/path] without credentials", ErrOptions, s)
	}
	u.Path = strings.TrimSuffix(u.Path, "/")
	return u, nil
}

// apiToken is a header sent only to one API base.
type apiToken struct {
	base          *url.URL
	header, value string
}

// tokenTransport adds each token to the requests whose scheme, host and
// port are its API base's, and to no other.
type tokenTransport struct {
	base   http.RoundTripper
	tokens []apiToken
}

func (t *tokenTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	for _, tok := range t.tokens {
		if tok.value != "" && sameOrigin(tok.base, req.URL) {
			req = req.Clone(req.Context())
			req.Header.Set(tok.header, tok.value)
		}
	}
	return t.base.RoundTrip(req)
}

func sameOrigin(a, b *url.URL) bool {
	return strings.EqualFold(a.Scheme, b.Scheme) && strings.EqualFold(a.Hostname(), b.Hostname()) && port(a) == port(b)
}

func port(u *url.URL) string {
	if p := u.Port(); p != "" {
		return p
	}
	if strings.EqualFold(u.Scheme, "https") {
		return "443"
	}
	return "80"
}

// Source is what is checked: a repository URL as the provenance gives it,
// a commit, and the ref the provenance says was built.
type Source struct {
	Repository, Commit, Ref string
}

func (s Source) key() string { return s.Repository + "\n" + s.Commit + "\n" + s.Ref }

// CheckResult checks the source of every package of r with verified
// provenance, sets its SourceCheck and adds a source-unverified finding
// where the commit does not exist or is not reachable. It does not
// recount the summary (package policy's Apply, or audit.Recount, does).
func (c *Checker) CheckResult(ctx context.Context, r *audit.Result) {
	bySource := map[string][]*audit.Package{}
	var order []Source
	for i := range r.Packages {
		pk := &r.Packages[i]
		if !audit.HasProvenance(pk) || pk.Status == audit.StatusInvalid {
			continue
		}
		pv := pk.Attestations.Provenance
		s := Source{Repository: pv.SourceRepository, Commit: pv.Commit, Ref: pv.WorkflowRef}
		if _, ok := bySource[s.key()]; !ok {
			order = append(order, s)
		}
		bySource[s.key()] = append(bySource[s.key()], pk)
	}
	outcomes := make([]audit.SourceCheck, len(order))
	g := new(errgroup.Group)
	g.SetLimit(c.opts.Concurrency)
	for i, s := range order {
		g.Go(func() error {
			outcomes[i] = c.Check(ctx, s)
			return nil
		})
	}
	_ = g.Wait() // outcomes carry their failures
	for i, s := range order {
		o := outcomes[i]
		for _, pk := range bySource[s.key()] {
			sc := o
			pk.SourceCheck = &sc
			if o.Status == audit.SourceUnverified {
				pk.Findings = append(pk.Findings, audit.Finding{Rule: audit.RuleSourceUnverified, Severity: audit.SeverityHigh,
					Message: "source check (--check-source): " + o.Reason})
			}
		}
	}
}

// Check checks one source.
func (c *Checker) Check(ctx context.Context, s Source) audit.SourceCheck {
	host, repoPath, err := splitRepository(s.Repository)
	if err != nil {
		return incomplete(err.Error())
	}
	if !isHexCommit(s.Commit) {
		return audit.SourceCheck{Status: audit.SourceUnverified, Reason: fmt.Sprintf("the provenance names no commit id of %s (%q)", s.Repository, s.Commit)}
	}
	key := cacheFormat + "\n" + c.apiFor(host) + "\n" + s.key()
	if o, ok := c.cached(key); ok {
		return o
	}
	if c.opts.Offline {
		return incomplete(fmt.Sprintf("the source of %s@%s has not been checked before and --offline allows no request", s.Repository, short(s.Commit)))
	}
	var o audit.SourceCheck
	switch host {
	case githubHost:
		o = c.checkGitHub(ctx, repoPath, s)
	case gitlabHost:
		o = c.checkGitLab(ctx, repoPath, s)
	default:
		return incomplete(fmt.Sprintf("%s is on %s, whose API provaudit does not know (GitHub and GitLab repositories on %s and %s are checked)", s.Repository, host, githubHost, gitlabHost))
	}
	if o.Status == audit.SourceVerified && c.opts.Cache != nil {
		if b, err := json.Marshal(o); err == nil {
			_ = c.opts.Cache.PutSealed(key, b) // a failed write only costs a request next time
		}
	}
	return o
}

func (c *Checker) apiFor(host string) string {
	switch host {
	case githubHost:
		return c.github.String()
	case gitlabHost:
		return c.gitlab.String()
	}
	return host
}

func (c *Checker) cached(key string) (audit.SourceCheck, bool) {
	if c.opts.Cache == nil {
		return audit.SourceCheck{}, false
	}
	b, ok := c.opts.Cache.GetSealed(key)
	if !ok {
		return audit.SourceCheck{}, false
	}
	var o audit.SourceCheck
	if json.Unmarshal(b, &o) != nil || o.Status != audit.SourceVerified {
		return audit.SourceCheck{}, false
	}
	return o, true
}

func incomplete(reason string) audit.SourceCheck {
	return audit.SourceCheck{Status: audit.SourceIncomplete, Reason: reason}
}

func short(commit string) string {
	if len(commit) > 12 {
		return commit[:12]
	}
	return commit
}

func isHexCommit(s string) bool {
	if len(s) != 40 && len(s) != 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

// splitRepository returns the host and the path (OWNER/REPO, or
// GROUP/.../PROJECT) of a repository URL.
func splitRepository(repo string) (host, path string, err error) {
	u, perr := url.Parse(strings.TrimPrefix(repo, "git+"))
	if perr != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return "", "", fmt.Errorf("the provenance's source repository %q is not an https URL", repo)
	}
	path = strings.TrimSuffix(strings.Trim(u.Path, "/"), ".git")
	segs := strings.Split(path, "/")
	if len(segs) < 2 || slicesContainsEmpty(segs) {
		return "", "", fmt.Errorf("the provenance's source repository %q names no repository", repo)
	}
	host = strings.ToLower(u.Hostname())
	if host == githubHost && len(segs) != 2 {
		return "", "", fmt.Errorf("the provenance's source repository %q is not OWNER/REPO on %s", repo, githubHost)
	}
	return host, path, nil
}

func slicesContainsEmpty(ss []string) bool {
	for _, s := range ss {
		if s == "" || s == "." || s == ".." {
			return true
		}
	}
	return false
}

// answer is what one request got: its status and headers (the body went
// to the caller's read function).
type answer struct {
	status int
	header http.Header
}

// errUnreachable marks an API that could not be reached at all.
var errUnreachable = errors.New("unreachable")

// get asks the API at base for path (already escaped) and hands 2xx
// bodies to read (capped at limit). It retries once on a connection
// failure or 5xx; after a connection failure that persists, the API host is
// down for the rest of the run.
func (c *Checker) get(ctx context.Context, base *url.URL, path string, accept string, limit int64, read func(io.Reader) error) (answer, error) {
	c.mu.Lock()
	down := c.down[base.Host]
	c.mu.Unlock()
	if down != nil {
		return answer{}, down
	}
	u := base.String() + path
	var last error
	for attempt := range 2 {
		if attempt > 0 {
			select {
			case <-ctx.Done():
				return answer{}, context.Cause(ctx)
			case <-time.After(500 * time.Millisecond):
			}
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
		if err != nil {
			return answer{}, err
		}
		req.Header.Set("Accept", accept)
		if c.opts.UserAgent != "" {
			req.Header.Set("User-Agent", c.opts.UserAgent)
		}
		if base == c.github {
			req.Header.Set("X-GitHub-Api-Version", "2022-11-28")
		}
		resp, err := c.hc.Do(req)
		if err != nil {
			if ctx.Err() != nil {
				return answer{}, context.Cause(ctx)
			}
			last = fmt.Errorf("%w: %s: %w", errUnreachable, redact(base), unwrapURLError(err))
			continue
		}
		a := answer{status: resp.StatusCode, header: resp.Header}
		if resp.StatusCode >= 500 {
			resp.Body.Close()
			last = fmt.Errorf("%s answered %s", redact(base), resp.Status)
			continue
		}
		if resp.StatusCode/100 == 2 && read != nil {
			err = read(io.LimitReader(resp.Body, limit))
		}
		resp.Body.Close()
		if err != nil {
			return a, fmt.Errorf("%s: unreadable answer to %s: %w", redact(base), path, err)
		}
		return a, nil
	}
	if errors.Is(last, errUnreachable) {
		c.mu.Lock()
		c.down[base.Host] = last
		c.mu.Unlock()
	}
	return answer{}, last
}

func unwrapURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		var ne net.Error
		if errors.As(ue.Err, &ne) && ne.Timeout() {
			return errors.New("timed out")
		}
		return ue.Err
	}
	return err
}

// redact names an API base without anything secret (base URLs carry no
// credentials: New refuses them).
func redact(u *url.URL) string { return u.Scheme + "://" + u.Host + u.Path }

// refusal turns an answer that is neither a success nor "not found" into
// the reason the check is incomplete.
func refusal(base *url.URL, a answer, what, tokenVar string) audit.SourceCheck {
	switch {
	case a.status == http.StatusTooManyRequests || a.status == http.StatusForbidden && a.header.Get("X-RateLimit-Remaining") == "0":
		return incomplete(fmt.Sprintf("%s rate-limited the source check of %s (set %s to a token to raise the limit)", redact(base), what, tokenVar))
	case a.status == http.StatusUnauthorized:
		return incomplete(fmt.Sprintf("%s refused the token in %s (HTTP 401) checking %s", redact(base), tokenVar, what))
	}
	return incomplete(fmt.Sprintf("%s answered HTTP %d checking %s", redact(base), a.status, what))
}

func decodeJSON(v any) func(io.Reader) error {
	return func(r io.Reader) error { return json.NewDecoder(r).Decode(v) }
}
