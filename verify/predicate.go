package verify

import (
	"encoding/json"
	"fmt"
	"strings"
)

// provenancePredicate holds what provaudit reads from a SLSA provenance
// predicate, normalised across SLSA v0.2 and v1 and the builders seen in
// npm provenance: npm CLI on GitHub Actions (gha@v0, gha@v1, gha/v2 with
// v0.2; the GitHub Actions workflow build type with v1), npm CLI on GitLab
// CI (gitlab/v0alpha1, v1alpha1) and the slsa-github-generator Node.js
// builder.
type provenancePredicate struct {
	buildType, builderID string
	// repository is the source repository as an https URL without "git+"
	// and without "@ref".
	repository        string
	commit            string
	ref               string
	workflowPath      string
	runURL            string
	runnerEnvironment string
}

type slsaV02 struct {
	BuildType string `json:"buildType"`
	Builder   struct {
		ID string `json:"id"`
	} `json:"builder"`
	Invocation struct {
		ConfigSource struct {
			URI        string            `json:"uri"`
			Digest     map[string]string `json:"digest"`
			EntryPoint string            `json:"entryPoint"`
		} `json:"configSource"`
		// Environment values are strings for GitHub Actions and objects
		// for GitLab CI.
		Environment map[string]json.RawMessage `json:"environment"`
	} `json:"invocation"`
	Metadata struct {
		BuildInvocationID string `json:"buildInvocationId"`
	} `json:"metadata"`
	Materials []struct {
		URI    string            `json:"uri"`
		Digest map[string]string `json:"digest"`
	} `json:"materials"`
}

type slsaV1 struct {
	BuildDefinition struct {
		BuildType          string          `json:"buildType"`
		ExternalParameters json.RawMessage `json:"externalParameters"`
		// ResolvedDependencies' first entry is the source for the
		// GitHub Actions workflow build type.
		ResolvedDependencies []struct {
			URI    string            `json:"uri"`
			Digest map[string]string `json:"digest"`
		} `json:"resolvedDependencies"`
	} `json:"buildDefinition"`
	RunDetails struct {
		Builder struct {
			ID string `json:"id"`
		} `json:"builder"`
		Metadata struct {
			InvocationID string `json:"invocationId"`
		} `json:"metadata"`
	} `json:"runDetails"`
}

// parseProvenancePredicate decodes a SLSA predicate. Fields of unexpected
// JSON types are an error; fields that are absent stay empty (the identity
// check then fails if the source repository is among them).
func parseProvenancePredicate(predicateType string, raw json.RawMessage) (*provenancePredicate, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, fmt.Errorf("no predicate")
	}
	p := &provenancePredicate{}
	switch predicateType {
	case PredicateSLSAv02:
		var s slsaV02
		if err := json.Unmarshal(raw, &s); err != nil {
			return nil, err
		}
		cs := &s.Invocation.ConfigSource
		p.buildType, p.builderID = s.BuildType, s.Builder.ID
		p.repository, p.ref = splitGitURI(cs.URI)
		p.commit = cs.Digest["sha1"]
		if len(s.Materials) > 0 {
			repo, ref := splitGitURI(s.Materials[0].URI)
			if p.repository == "" {
				p.repository = repo
			}
			p.ref = firstNonEmpty(p.ref, ref)
			p.commit = firstNonEmpty(p.commit, s.Materials[0].Digest["sha1"])
		}
		env := func(k string) string {
			var v string
			if json.Unmarshal(s.Invocation.Environment[k], &v) != nil {
				return ""
			}
			return v
		}
		p.ref = firstNonEmpty(env("GITHUB_REF"), p.ref)
		p.workflowPath = cs.EntryPoint
		if repo := env("GITHUB_REPOSITORY"); repo != "" {
			// gha@v0/v1 entry points read "owner/repo/.github/workflows/x.yml@ref".
			p.workflowPath = strings.TrimPrefix(p.workflowPath, repo+"/")
			p.workflowPath, _, _ = strings.Cut(p.workflowPath, "@")
			if id, attempt := env("GITHUB_RUN_ID"), env("GITHUB_RUN_ATTEMPT"); id != "" && attempt != "" && p.repository != "" {
				p.runURL = p.repository + "/actions/runs/" + id + "/attempts/" + attempt
			}
		} else if strings.HasPrefix(s.Metadata.BuildInvocationID, "https://") {
			// GitLab: the job URL. Its entry point is a job name, not a file.
			p.runURL = s.Metadata.BuildInvocationID
			p.workflowPath = ""
		}
	case PredicateSLSAv1:
		var s slsaV1
		if err := json.Unmarshal(raw, &s); err != nil {
			return nil, err
		}
		bd := &s.BuildDefinition
		p.buildType, p.builderID = bd.BuildType, s.RunDetails.Builder.ID
		var ext struct {
			Workflow struct {
				Ref        string `json:"ref"`
				Repository string `json:"repository"`
				Path       string `json:"path"`
			} `json:"workflow"`
		}
		if len(bd.ExternalParameters) > 0 {
			// Other build types shape externalParameters differently;
			// only the GitHub Actions workflow shape is read.
			_ = json.Unmarshal(bd.ExternalParameters, &ext)
		}
		p.repository = strings.TrimSuffix(ext.Workflow.Repository, "/")
		p.ref, p.workflowPath = ext.Workflow.Ref, ext.Workflow.Path
		if len(bd.ResolvedDependencies) > 0 {
			repo, ref := splitGitURI(bd.ResolvedDependencies[0].URI)
			if p.repository == "" {
				p.repository = repo
			}
			p.ref = firstNonEmpty(p.ref, ref)
			p.commit = bd.ResolvedDependencies[0].Digest["gitCommit"]
		}
		p.runURL = s.RunDetails.Metadata.InvocationID
		if env, ok := strings.CutPrefix(p.builderID, "https://github.com/actions/runner/"); ok && !strings.Contains(env, "/") {
			p.runnerEnvironment = env
		}
	default:
		return nil, fmt.Errorf("unknown provenance predicate type %q", predicateType)
	}
	return p, nil
}

// splitGitURI splits "git+https://host/owner/repo@ref" into
// "https://host/owner/repo" and "ref". The ref starts at the first "@"
// after the host (tags like "@scope/pkg@1.0.0" contain more).
func splitGitURI(uri string) (repo, ref string) {
	uri = strings.TrimPrefix(uri, "git+")
	scheme, rest, ok := strings.Cut(uri, "://")
	if !ok || scheme != "https" {
		return "", ""
	}
	repo, ref, _ = strings.Cut(rest, "@")
	repo = strings.TrimSuffix(repo, "/")
	if repo == "" {
		return "", ""
	}
	return scheme + "://" + repo, ref
}
