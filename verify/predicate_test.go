package verify

import (
	"testing"

	"github.com/sigstore/sigstore-go/pkg/fulcio/certificate"
)

func TestSplitGitURI(t *testing.T) {
	tests := []struct{ in, repo, ref string }{
		{"git+https://github.com/o/r@refs/tags/v1.0.0", "https://github.com/o/r", "refs/tags/v1.0.0"},
		{"git+https://github.com/sigstore/sigstore-js@refs/tags/@sigstore/cli@0.1.0", "https://github.com/sigstore/sigstore-js", "refs/tags/@sigstore/cli@0.1.0"},
		{"git+https://gitlab.com/g/sub/p", "https://gitlab.com/g/sub/p", ""},
		{"https://github.com/o/r/", "https://github.com/o/r", ""},
		{"git+ssh://git@github.com/o/r", "", ""},
		{"git+https://", "", ""},
		{"", "", ""},
	}
	for _, tt := range tests {
		repo, ref := splitGitURI(tt.in)
		if repo != tt.repo || ref != tt.ref {
			t.Errorf("splitGitURI(%q) = %q, %q; want %q, %q", tt.in, repo, ref, tt.repo, tt.ref)
		}
	}
}

// A GitLab CI predicate as the npm CLI writes it (SLSA v0.2,
// gitlab/v0alpha1); no real one exists in the fixtures.
const gitlabPredicate = `{
  "buildType": "https://github.com/npm/cli/gitlab/v0alpha1",
  "builder": {"id": "https://gitlab.com/acme/widgets/-/runners/12270852"},
  "invocation": {
    "configSource": {"uri": "git+https://gitlab.com/acme/widgets", "digest": {"sha1": "a1b2c3d4e5f60718293a4b5c6d7e8f9012345678"}, "entryPoint": "publish"},
    "parameters": {"CI": "true", "CI_JOB_URL": "https://gitlab.com/acme/widgets/-/jobs/42"},
    "environment": {"name": "shared-runner", "architecture": "amd64", "server": "https://gitlab.com", "project": "acme/widgets", "job": {"id": "42"}, "pipeline": {"id": "7", "ref": ".gitlab-ci.yml"}}
  },
  "metadata": {"buildInvocationId": "https://gitlab.com/acme/widgets/-/jobs/42", "completeness": {"parameters": true, "environment": true, "materials": false}, "reproducible": false},
  "materials": [{"uri": "git+https://gitlab.com/acme/widgets", "digest": {"sha1": "a1b2c3d4e5f60718293a4b5c6d7e8f9012345678"}}]
}`

func TestProvenanceFacts(t *testing.T) {
	w := &subjectWant{pkg: "widgets@1.0.0"}
	gitlabCert := certificate.Summary{SubjectAlternativeName: "https://gitlab.com/acme/widgets//.gitlab-ci.yml@refs/heads/main"}
	gitlabCert.Issuer = IssuerGitLab
	gitlabCert.SourceRepositoryURI = "https://gitlab.com/acme/widgets"
	gitlabCert.SourceRepositoryDigest = "a1b2c3d4e5f60718293a4b5c6d7e8f9012345678"
	gitlabCert.SourceRepositoryRef = "refs/heads/main"
	gitlabCert.BuildConfigURI = "https://gitlab.com/acme/widgets//.gitlab-ci.yml@refs/heads/main"
	gitlabCert.RunnerEnvironment = "gitlab-hosted"
	gitlabCert.RunInvocationURI = "https://gitlab.com/acme/widgets/-/jobs/42"

	pred, err := parseProvenancePredicate(PredicateSLSAv02, []byte(gitlabPredicate))
	if err != nil {
		t.Fatal(err)
	}
	f, errs := provenanceFacts(w, "provenance", PredicateSLSAv02, &gitlabCert, pred)
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	want := ProvenanceFacts{
		PredicateType: PredicateSLSAv02, SourceRepository: "https://gitlab.com/acme/widgets",
		Commit: "a1b2c3d4e5f60718293a4b5c6d7e8f9012345678", WorkflowPath: ".gitlab-ci.yml", WorkflowRef: "refs/heads/main",
		BuilderID: "https://gitlab.com/acme/widgets/-/runners/12270852", BuildType: "https://github.com/npm/cli/gitlab/v0alpha1",
		Issuer: IssuerGitLab, RunnerEnvironment: "gitlab-hosted", RunURL: "https://gitlab.com/acme/widgets/-/jobs/42",
		CertificateSAN: gitlabCert.SubjectAlternativeName,
	}
	if *f != want {
		t.Fatalf("facts\n%+v\nwant\n%+v", *f, want)
	}

	// Old GitHub certificates carry only the deprecated extensions.
	oldCert := certificate.Summary{SubjectAlternativeName: "https://github.com/o/r/.github/workflows/publish.yml@refs/tags/v1.0.0"}
	oldCert.Issuer = IssuerGitHubActions
	oldCert.GithubWorkflowRepository = "o/r"
	oldCert.GithubWorkflowSHA = "1111111111111111111111111111111111111111"
	oldCert.GithubWorkflowRef = "refs/tags/v1.0.0"
	oldPred := &provenancePredicate{repository: "https://github.com/o/r", commit: "1111111111111111111111111111111111111111"}
	f, errs = provenanceFacts(w, "provenance", PredicateSLSAv02, &oldCert, oldPred)
	if len(errs) > 0 || f.SourceRepository != "https://github.com/o/r" || f.WorkflowPath != ".github/workflows/publish.yml" || f.WorkflowRef != "refs/tags/v1.0.0" {
		t.Fatalf("old certificate: %+v %v", f, errs)
	}

	tests := []struct {
		name string
		cert func() certificate.Summary
		pred *provenancePredicate
		want error
	}{
		{"repository differs", func() certificate.Summary { return gitlabCert }, &provenancePredicate{repository: "https://gitlab.com/acme/other"}, ErrIdentityMismatch},
		{"commit differs", func() certificate.Summary { return gitlabCert },
			&provenancePredicate{repository: "https://gitlab.com/acme/widgets", commit: "2222222222222222222222222222222222222222"}, ErrIdentityMismatch},
		{"predicate names no repository", func() certificate.Summary { return gitlabCert }, &provenancePredicate{}, ErrIdentityMismatch},
		{"no predicate", func() certificate.Summary { return gitlabCert }, nil, ErrIdentityMismatch},
		{"certificate names no repository", func() certificate.Summary {
			c := gitlabCert
			c.SourceRepositoryURI = ""
			return c
		}, &provenancePredicate{repository: "https://gitlab.com/acme/widgets"}, ErrIdentityMismatch},
		{"self-managed GitLab issuer", func() certificate.Summary {
			c := gitlabCert
			c.Issuer = "https://gitlab.example.com"
			return c
		}, &provenancePredicate{repository: "https://gitlab.com/acme/widgets"}, ErrUntrustedIssuer},
		{"e-mail identity", func() certificate.Summary {
			c := certificate.Summary{SubjectAlternativeName: "someone@example.com"}
			c.Issuer = "https://github.com/login/oauth"
			return c
		}, &provenancePredicate{}, ErrUntrustedIssuer},
		{"GitLab issuer, old GitHub extension only", func() certificate.Summary {
			c := oldCert
			c.Issuer = IssuerGitLab
			return c
		}, oldPred, ErrIdentityMismatch},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := tt.cert()
			f, errs := provenanceFacts(w, "provenance", PredicateSLSAv02, &c, tt.pred)
			if f != nil || len(errs) == 0 {
				t.Fatalf("facts %+v, no error", f)
			}
			wantErrs(t, join(errs), tt.want)
		})
	}
}

func TestParseProvenancePredicateErrors(t *testing.T) {
	tests := []struct{ name, typ, raw string }{
		{"empty", PredicateSLSAv02, ``},
		{"null", PredicateSLSAv1, `null`},
		{"wrong type v0.2", PredicateSLSAv02, `{"buildType": 5}`},
		{"wrong type v1", PredicateSLSAv1, `{"buildDefinition": []}`},
		{"unknown predicate type", PredicatePublish, `{}`},
	}
	for _, tt := range tests {
		if p, err := parseProvenancePredicate(tt.typ, []byte(tt.raw)); err == nil {
			t.Errorf("%s: parsed %+v", tt.name, p)
		}
	}
	// Other v1 build types shape externalParameters differently: parsed,
	// with the repository taken from resolvedDependencies.
	p, err := parseProvenancePredicate(PredicateSLSAv1, []byte(`{"buildDefinition":{"buildType":"x","externalParameters":{"workflow":"not an object"},
		"resolvedDependencies":[{"uri":"git+https://github.com/o/r@refs/heads/main","digest":{"gitCommit":"abc"}}]},"runDetails":{"builder":{"id":"b"}}}`))
	if err != nil || p.repository != "https://github.com/o/r" || p.commit != "abc" || p.ref != "refs/heads/main" {
		t.Fatalf("%+v %v", p, err)
	}
}
