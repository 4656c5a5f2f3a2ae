package sourcecheck

import (
	"context"
	"fmt"
	"net/http"
	"net/url"

	"github.com/provaudit/provaudit/audit"
)

// checkGitLab checks s on GitLab: the commit exists in the project, and a
// branch or tag contains it.
func (c *Checker) checkGitLab(ctx context.Context, projectPath string, s Source) audit.SourceCheck {
	what := fmt.Sprintf("%s@%s", projectPath, short(s.Commit))
	project := "/projects/" + url.PathEscape(projectPath)
	a, err := c.get(ctx, c.gitlab, project+"/repository/commits/"+s.Commit, "application/json", maxBody, nil)
	switch {
	case err != nil:
		return incomplete("source check of " + what + ": " + err.Error())
	case a.status == http.StatusNotFound:
		// GitLab answers 404 for a missing project and a missing commit
		// alike; the project is asked to tell them apart.
		p, err := c.get(ctx, c.gitlab, project, "application/json", maxBody, nil)
		switch {
		case err != nil:
			return incomplete("source check of " + what + ": " + err.Error())
		case p.status == http.StatusNotFound:
			return incomplete(fmt.Sprintf("%s cannot see the project %s (it does not exist, or it is private: set GITLAB_TOKEN to a token that can read it)", redact(c.gitlab), projectPath))
		case p.status != http.StatusOK:
			return refusal(c.gitlab, p, what, "GITLAB_TOKEN")
		}
		return audit.SourceCheck{Status: audit.SourceUnverified, Reason: fmt.Sprintf("commit %s does not exist in %s", s.Commit, s.Repository)}
	case a.status != http.StatusOK:
		return refusal(c.gitlab, a, what, "GITLAB_TOKEN")
	}

	var refs []struct {
		Type string `json:"type"`
		Name string `json:"name"`
	}
	a, err = c.get(ctx, c.gitlab, project+"/repository/commits/"+s.Commit+"/refs?type=all&per_page=20", "application/json", maxBody, decodeJSON(&refs))
	switch {
	case err != nil:
		return incomplete("source check of " + what + ": " + err.Error())
	case a.status != http.StatusOK:
		return refusal(c.gitlab, a, what, "GITLAB_TOKEN")
	}
	if len(refs) == 0 {
		return audit.SourceCheck{Status: audit.SourceUnverified, Reason: fmt.Sprintf("commit %s exists in %s but no branch or tag contains it: it may come from a fork or a deleted branch, not from the project's history", s.Commit, s.Repository)}
	}
	// Prefer the ref the provenance says was built.
	r := refs[0]
	for _, x := range refs {
		if fullRef(x.Type, x.Name) == s.Ref {
			r = x
			break
		}
	}
	return audit.SourceCheck{Status: audit.SourceVerified, Reason: fmt.Sprintf("commit %s exists in %s and %s %s contains it", short(s.Commit), s.Repository, r.Type, r.Name), Ref: fullRef(r.Type, r.Name)}
}

func fullRef(typ, name string) string {
	if typ == "tag" {
		return "refs/tags/" + name
	}
	return "refs/heads/" + name
}
