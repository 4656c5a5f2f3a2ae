package sourcecheck

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/provaudit/provaudit/audit"
)

const githubJSON = "application/vnd.github+json"

// checkGitHub checks s on GitHub: the repository is visible, the commit
// exists in it, and the provenance's ref or the default branch reaches it.
func (c *Checker) checkGitHub(ctx context.Context, repoPath string, s Source) audit.SourceCheck {
	what := fmt.Sprintf("%s@%s", repoPath, short(s.Commit))
	repo := "/repos/" + escapePath(repoPath)
	var info struct {
		DefaultBranch string `json:"default_branch"`
	}
	a, err := c.get(ctx, c.github, repo, githubJSON, maxBody, decodeJSON(&info))
	switch {
	case err != nil:
		return incomplete("source check of " + what + ": " + err.Error())
	case a.status == http.StatusNotFound:
		return incomplete(fmt.Sprintf("%s cannot see the repository %s (it does not exist, or it is private: set GITHUB_TOKEN to a token that can read it)", redact(c.github), repoPath))
	case a.status != http.StatusOK:
		return refusal(c.github, a, what, "GITHUB_TOKEN")
	}

	a, err = c.get(ctx, c.github, repo+"/commits/"+s.Commit, "application/vnd.github.sha", maxBody, nil)
	switch {
	case err != nil:
		return incomplete("source check of " + what + ": " + err.Error())
	case a.status == http.StatusNotFound || a.status == http.StatusUnprocessableEntity:
		return audit.SourceCheck{Status: audit.SourceUnverified, Reason: fmt.Sprintf("commit %s does not exist in %s", s.Commit, s.Repository)}
	case a.status != http.StatusOK:
		return refusal(c.github, a, what, "GITHUB_TOKEN")
	}

	var tried []string
	for _, ref := range candidates(s.Ref, info.DefaultBranch) {
		var cmp struct{ status string }
		a, err = c.get(ctx, c.github, repo+"/compare/"+escapeRef(ref.name)+"..."+s.Commit, githubJSON, maxCompare, func(r io.Reader) error {
			var err error
			cmp.status, err = topLevelString(r, "status")
			return err
		})
		switch {
		case err != nil:
			return incomplete("source check of " + what + ": " + err.Error())
		case a.status == http.StatusNotFound:
			tried = append(tried, ref.label+" (not found)")
			continue
		case a.status != http.StatusOK:
			return refusal(c.github, a, what, "GITHUB_TOKEN")
		}
		if cmp.status == "behind" || cmp.status == "identical" {
			return audit.SourceCheck{Status: audit.SourceVerified, Reason: fmt.Sprintf("commit %s exists in %s and %s reaches it", short(s.Commit), s.Repository, ref.label), Ref: ref.full}
		}
		tried = append(tried, ref.label)
	}
	return audit.SourceCheck{Status: audit.SourceUnverified, Reason: fmt.Sprintf("commit %s exists in %s but is not reachable from %s: it may come from a fork or a deleted branch, not from the repository's history",
		s.Commit, s.Repository, orNothing(strings.Join(tried, " nor ")))}
}

func orNothing(s string) string {
	if s == "" {
		return "any branch or tag it names"
	}
	return s
}

// ref is a branch or tag to try.
type ref struct {
	name  string // as the compare API takes it: the short name
	full  string // refs/heads/NAME or refs/tags/NAME
	label string // for messages: "tag v1.2.3", "branch main"
}

// candidates are the refs that should reach a provenance's commit: the
// ref it says was built, then the default branch.
func candidates(built, defaultBranch string) []ref {
	var out []ref
	switch {
	case strings.HasPrefix(built, "refs/heads/"):
		n := strings.TrimPrefix(built, "refs/heads/")
		out = append(out, ref{n, built, "branch " + n})
	case strings.HasPrefix(built, "refs/tags/"):
		n := strings.TrimPrefix(built, "refs/tags/")
		out = append(out, ref{n, built, "tag " + n})
	}
	if defaultBranch != "" && (len(out) == 0 || out[0].full != "refs/heads/"+defaultBranch) {
		out = append(out, ref{defaultBranch, "refs/heads/" + defaultBranch, "the default branch " + defaultBranch})
	}
	return out
}

// escapePath escapes each segment of a repository path.
func escapePath(p string) string {
	segs := strings.Split(p, "/")
	for i, s := range segs {
		segs[i] = url.PathEscape(s)
	}
	return strings.Join(segs, "/")
}

// escapeRef escapes a ref name for a URL path, keeping its slashes
// (branch names like release/1.x), as GitHub's compare API takes them.
func escapeRef(r string) string { return escapePath(r) }

// topLevelString reads a JSON object from r until its top-level key
// appears and returns that key's string value, without reading the rest.
func topLevelString(r io.Reader, key string) (string, error) {
	dec := json.NewDecoder(r)
	tok, err := dec.Token()
	if err != nil {
		return "", err
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return "", errors.New("not a JSON object")
	}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return "", err
		}
		k, _ := tok.(string)
		if k == key {
			var v string
			if err := dec.Decode(&v); err != nil {
				return "", fmt.Errorf("%s: %w", key, err)
			}
			return v, nil
		}
		if err := skipValue(dec); err != nil {
			return "", err
		}
	}
	return "", fmt.Errorf("no %q in the answer", key)
}

// skipValue reads one JSON value from dec, token by token (no value is
// kept in memory).
func skipValue(dec *json.Decoder) error {
	depth := 0
	for {
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		switch tok {
		case json.Delim('{'), json.Delim('['):
			depth++
		case json.Delim('}'), json.Delim(']'):
			depth--
		}
		if depth == 0 {
			return nil
		}
	}
}
