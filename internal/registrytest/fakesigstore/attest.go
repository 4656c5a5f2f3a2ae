package fakesigstore

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha1" //nolint:gosec // fake git commit ids are SHA-1 sized, like real ones
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/provaudit/provaudit/internal/npmspec"
)

// Bundle media types (the four spellings seen in npm data).
const (
	MediaTypeV01    = "application/vnd.dev.sigstore.bundle+json;version=0.1"
	MediaTypeV02    = "application/vnd.dev.sigstore.bundle+json;version=0.2"
	MediaTypeV03    = "application/vnd.dev.sigstore.bundle+json;version=0.3"
	MediaTypeV03Alt = "application/vnd.dev.sigstore.bundle.v0.3+json"
)

// MediaTypes lists every bundle media type the fake makes.
var MediaTypes = []string{MediaTypeV01, MediaTypeV02, MediaTypeV03, MediaTypeV03Alt}

// Rekor entry kinds.
const (
	EntryKindIntoto = "intoto" // intoto/0.0.2
	EntryKindDSSE   = "dsse"   // dsse/0.0.1
)

// EntryKinds lists every Rekor entry kind the fake makes.
var EntryKinds = []string{EntryKindIntoto, EntryKindDSSE}

// Predicate types.
const (
	PredicatePublish = "https://github.com/npm/attestation/tree/main/specs/publish/v0.1"
	PredicateSLSAv1  = "https://slsa.dev/provenance/v1"
	PredicateSLSAv02 = "https://slsa.dev/provenance/v0.2"
)

// ProvenancePredicateTypes lists every provenance predicate type the fake makes.
var ProvenancePredicateTypes = []string{PredicateSLSAv1, PredicateSLSAv02}

// Defaults of [Attest]. A Repository under GitLabURL makes GitLab CI
// provenance; any other makes GitHub Actions provenance.
const (
	GitHubURL             = "https://github.com/"
	GitLabURL             = "https://gitlab.com/"
	DefaultIssuer         = "https://token.actions.githubusercontent.com"
	DefaultGitLabIssuer   = "https://gitlab.com"
	DefaultWorkflow       = ".github/workflows/release.yml"
	DefaultGitLabWorkflow = ".gitlab-ci.yml"
	// RunnerGitHubHosted, RunnerGitLabHosted and RunnerSelfHosted are the
	// values of [Attest.Runner] (certificate extension
	// 1.3.6.1.4.1.57264.1.11).
	RunnerGitHubHosted = "github-hosted"
	RunnerGitLabHosted = "gitlab-hosted"
	RunnerSelfHosted   = "self-hosted"
)

const (
	payloadTypeInToto = "application/vnd.in-toto+json"
	statementV01      = "https://in-toto.io/Statement/v0.1"
	statementV1       = "https://in-toto.io/Statement/v1"
)

// Attest describes the attestations of one package version. Only Name,
// Version and Integrity are required; every other field has a default.
type Attest struct {
	Name, Version string
	// Integrity is the SRI of the tarball; it must hold a sha512 hash, which
	// becomes the subject digest (hex) of both statements.
	Integrity string
	// Repository is the source repository URL: https://github.com/OWNER/REPO
	// for GitHub Actions provenance, https://gitlab.com/GROUP[/SUBGROUP...]/PROJECT
	// for GitLab CI provenance. Default
	// "https://github.com/fake-org/<name sanitized>".
	Repository string
	// Ref is the git ref built. Default "refs/tags/v<version>".
	Ref string
	// Commit is the 40-hex git commit built. Default: derived from name@version.
	Commit string
	// Workflow is the workflow (GitHub) or CI configuration (GitLab) file
	// path. Default DefaultWorkflow or DefaultGitLabWorkflow.
	Workflow string
	// PredicateType is the provenance predicate: PredicateSLSAv1 (default for
	// GitHub) or PredicateSLSAv02 (the only one npm makes on GitLab).
	PredicateType string
	// Issuer is the OIDC issuer written into the certificate. Default
	// DefaultIssuer or DefaultGitLabIssuer.
	Issuer string
	// Runner is RunnerGitHubHosted or RunnerGitLabHosted (the default of
	// each CI), or RunnerSelfHosted.
	Runner string
	// RepositoryID and OwnerID are the numeric ids of the repository and
	// its owner in the certificate (and the provenance). Default: derived
	// from the repository path and the owner, so that a renamed repository
	// keeps its id only when the test says so.
	RepositoryID, OwnerID string
	// Trigger is the event that started the build (certificate extension
	// 1.3.6.1.4.1.57264.1.20 and the provenance's event name). Default
	// "push".
	Trigger string
	// Registry is the registry URL in the publish predicate. Default
	// DefaultRegistry.
	Registry string
	// IntegratedTime is when both entries were logged; the certificate is
	// issued one second before it. Default: the Sigstore's Now.
	IntegratedTime time.Time
	// MediaType is the bundle media type, one of MediaTypes. Default
	// MediaTypeV03Alt.
	MediaType string
	// EntryKind is the Rekor entry kind, EntryKindIntoto (default) or
	// EntryKindDSSE.
	EntryKind string
	// NpmKey is the index of the npm key that signs the publish attestation.
	NpmKey int
	// OmitProvenance leaves the provenance out of Attestations.
	OmitProvenance bool
	// Extra lists predicate types of further attestations that Attestations
	// appends after the provenance: each an in-toto v1 statement about the
	// same subject with a small predicate, signed keyless with its own
	// certificate and logged like the provenance, as a genuine attestation
	// of a type the verifier does not interpret.
	Extra []string
}

// attest is a validated Attest with every default applied and every derived
// value computed.
type attest struct {
	Attest
	subjectName string // pkg:npm/...
	sha512Hex   string
	gitlab      bool   // GitLab CI rather than GitHub Actions
	host        string // GitHubURL or GitLabURL
	repoPath    string // OWNER/REPO, or GROUP/.../PROJECT
	owner       string // OWNER, or GROUP/...
	runID       string // GitHub run id, GitLab job id
	pipelineID  string // GitLab only
	runnerID    string // GitLab only
	repoID      string
	ownerID     string
	trigger     string
}

// Attestations returns the body the registry serves at
// /-/npm/v1/attestations/NAME@VERSION:
// {"attestations":[{"predicateType","bundle"}, ...]}, the publish attestation
// first, then (unless OmitProvenance) the provenance. Both are logged at
// IntegratedTime, the provenance first, and their inclusion proofs share one
// checkpoint. Each call makes new signatures and log entries.
func (s *Sigstore) Attestations(a Attest) ([]byte, error) {
	n, err := s.normalize(a)
	if err != nil {
		return nil, err
	}
	type item struct {
		PredicateType string          `json:"predicateType"`
		Bundle        json.RawMessage `json:"bundle"`
	}
	pub, err := s.publish(n)
	if err != nil {
		return nil, err
	}
	if n.OmitProvenance {
		logged, err := s.logAndMarshal(n.IntegratedTime, pub)
		if err != nil {
			return nil, err
		}
		return marshal(struct {
			Attestations []item `json:"attestations"`
		}{[]item{{PredicatePublish, logged[0]}}})
	}
	prov, err := s.provenance(n)
	if err != nil {
		return nil, err
	}
	// The provenance is logged first: the registry makes the publish
	// attestation after the upload that carries the provenance.
	bundles := []*signed{prov, pub}
	for _, pt := range n.Extra {
		payload, err := marshal(statement[map[string]string]{Type: statementV1, Subject: n.subjects(), PredicateType: pt, Predicate: map[string]string{"note": "made by fakesigstore"}})
		if err != nil {
			return nil, err
		}
		extra, err := s.keyless(n, payload)
		if err != nil {
			return nil, err
		}
		bundles = append(bundles, extra)
	}
	logged, err := s.logAndMarshal(n.IntegratedTime, bundles...)
	if err != nil {
		return nil, err
	}
	items := []item{{PredicatePublish, logged[1]}, {n.PredicateType, logged[0]}}
	for i, pt := range n.Extra {
		items = append(items, item{pt, logged[2+i]})
	}
	return marshal(struct {
		Attestations []item `json:"attestations"`
	}{items})
}

// PublishBundle returns the publish attestation bundle alone.
func (s *Sigstore) PublishBundle(a Attest) ([]byte, error) {
	n, err := s.normalize(a)
	if err != nil {
		return nil, err
	}
	pub, err := s.publish(n)
	if err != nil {
		return nil, err
	}
	logged, err := s.logAndMarshal(n.IntegratedTime, pub)
	if err != nil {
		return nil, err
	}
	return logged[0], nil
}

// ProvenanceBundle returns the provenance bundle alone (OmitProvenance is
// ignored).
func (s *Sigstore) ProvenanceBundle(a Attest) ([]byte, error) {
	n, err := s.normalize(a)
	if err != nil {
		return nil, err
	}
	prov, err := s.provenance(n)
	if err != nil {
		return nil, err
	}
	logged, err := s.logAndMarshal(n.IntegratedTime, prov)
	if err != nil {
		return nil, err
	}
	return logged[0], nil
}

// SubjectName returns the in-toto subject name npm gives a package version,
// as npm-package-arg's toPurl makes it: "pkg:npm/" + the name with its
// leading "@" written "%40" + "@" + version. npm package names are URL-safe,
// so nothing else is encoded.
func SubjectName(name, version string) string {
	if rest, ok := strings.CutPrefix(name, "@"); ok {
		name = "%40" + rest
	}
	return "pkg:npm/" + name + "@" + version
}

// SHA512Hex returns the hex of the sha512 hash in an SRI integrity string
// ("sha512-<base64>", possibly among other space-separated hashes), which
// must be well formed as internal/npmspec reads it.
func SHA512Hex(integrity string) (string, error) {
	in, err := npmspec.ParseIntegrity(integrity)
	if err != nil {
		return "", fmt.Errorf("%w: %w", ErrInvalidAttest, err)
	}
	d := in.SHA512()
	if d == nil {
		return "", fmt.Errorf("%w: integrity %q has no sha512 hash", ErrInvalidAttest, integrity)
	}
	return hex.EncodeToString(d), nil
}

func (s *Sigstore) normalize(a Attest) (*attest, error) {
	id := a.Name + "@" + a.Version
	if !plainText(a.Name) {
		return nil, fmt.Errorf("%w: package name %q is empty or not printable UTF-8 without spaces", ErrInvalidAttest, a.Name)
	}
	if !plainText(a.Version) {
		return nil, fmt.Errorf("%w: %s: version %q is empty or not printable UTF-8 without spaces", ErrInvalidAttest, a.Name, a.Version)
	}
	n := &attest{Attest: a, subjectName: SubjectName(a.Name, a.Version), trigger: "push"}
	if a.Trigger != "" {
		if !plainText(a.Trigger) {
			return nil, fmt.Errorf("%w: %s: trigger %q is not printable UTF-8 without spaces", ErrInvalidAttest, id, a.Trigger)
		}
		n.trigger = a.Trigger
	}
	var err error
	if n.sha512Hex, err = SHA512Hex(a.Integrity); err != nil {
		return nil, fmt.Errorf("%w (%s)", err, id)
	}
	if n.Repository == "" {
		n.Repository = GitHubURL + "fake-org/" + sanitize(a.Name)
	}
	if err := n.parseRepository(); err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrInvalidAttest, id, err)
	}
	if n.Ref == "" {
		n.Ref = "refs/tags/v" + a.Version
	}
	if !strings.HasPrefix(n.Ref, "refs/") {
		return nil, fmt.Errorf("%w: %s: ref %q does not start with refs/", ErrInvalidAttest, id, n.Ref)
	}
	if n.Commit == "" {
		sum := sha1.Sum([]byte(id)) //nolint:gosec // a fake commit id, not security
		n.Commit = hex.EncodeToString(sum[:])
	}
	if c, err := hex.DecodeString(n.Commit); err != nil || len(c) != 20 {
		return nil, fmt.Errorf("%w: %s: commit %q is not 40 hex digits", ErrInvalidAttest, id, n.Commit)
	}
	if n.Workflow == "" {
		n.Workflow = DefaultWorkflow
		if n.gitlab {
			n.Workflow = DefaultGitLabWorkflow
		}
	}
	if strings.HasPrefix(n.Workflow, "/") || strings.Contains(n.Workflow, "@") {
		return nil, fmt.Errorf("%w: %s: workflow %q must be a relative path without @", ErrInvalidAttest, id, n.Workflow)
	}
	hosted, issuer, predicate := RunnerGitHubHosted, DefaultIssuer, PredicateSLSAv1
	if n.gitlab {
		hosted, issuer, predicate = RunnerGitLabHosted, DefaultGitLabIssuer, PredicateSLSAv02
	}
	if n.PredicateType == "" {
		n.PredicateType = predicate
	}
	if n.PredicateType != PredicateSLSAv1 && n.PredicateType != PredicateSLSAv02 || n.gitlab && n.PredicateType != PredicateSLSAv02 {
		return nil, fmt.Errorf("%w: %s: predicate type %q from %s", ErrUnsupported, id, n.PredicateType, n.host)
	}
	if n.Issuer == "" {
		n.Issuer = issuer
	}
	if n.Runner == "" {
		n.Runner = hosted
	}
	if n.Runner != hosted && n.Runner != RunnerSelfHosted {
		return nil, fmt.Errorf("%w: %s: runner %q on %s", ErrUnsupported, id, n.Runner, n.host)
	}
	if n.Registry == "" {
		n.Registry = DefaultRegistry
	}
	if n.IntegratedTime.IsZero() {
		n.IntegratedTime = s.now
	}
	n.IntegratedTime = n.IntegratedTime.UTC().Truncate(time.Second)
	if n.IntegratedTime.Add(-time.Second).Before(s.caStart) || n.IntegratedTime.After(s.caEnd) {
		return nil, fmt.Errorf("%w: %s: integrated time %s is outside the fake CA's validity %s to %s",
			ErrInvalidAttest, id, n.IntegratedTime.Format(time.RFC3339), s.caStart.Format(time.RFC3339), s.caEnd.Format(time.RFC3339))
	}
	if n.MediaType == "" {
		n.MediaType = MediaTypeV03Alt
	}
	switch n.MediaType {
	case MediaTypeV01, MediaTypeV02, MediaTypeV03, MediaTypeV03Alt:
	default:
		return nil, fmt.Errorf("%w: %s: bundle media type %q", ErrUnsupported, id, n.MediaType)
	}
	if n.EntryKind == "" {
		n.EntryKind = EntryKindIntoto
	}
	if n.EntryKind != EntryKindIntoto && n.EntryKind != EntryKindDSSE {
		return nil, fmt.Errorf("%w: %s: Rekor entry kind %q", ErrUnsupported, id, n.EntryKind)
	}
	if _, err := s.key(n.NpmKey); err != nil {
		return nil, fmt.Errorf("%w (%s)", err, id)
	}
	// Deterministic ids, so that the same Attest gives the same facts.
	number := func(seed string, shift uint, base uint64) string {
		sum := sha256.Sum256([]byte(seed))
		return strconv.FormatUint(uint64(binary.BigEndian.Uint32(sum[:4])>>shift)+base, 10)
	}
	n.runID = number(id, 0, 1_000_000_000)
	n.pipelineID = number("pipeline "+id, 2, 100_000_000)
	n.runnerID = number("runner "+n.repoPath, 12, 10_000)
	n.repoID = number(n.repoPath, 2, 0)
	n.ownerID = number(n.owner, 4, 0)
	for _, f := range [][2]string{{a.RepositoryID, "repository id"}, {a.OwnerID, "owner id"}} {
		if _, err := strconv.ParseUint(f[0], 10, 64); f[0] != "" && err != nil {
			return nil, fmt.Errorf("%w: %s: %s %q is not a number", ErrInvalidAttest, id, f[1], f[0])
		}
	}
	if a.RepositoryID != "" {
		n.repoID = a.RepositoryID
	}
	if a.OwnerID != "" {
		n.ownerID = a.OwnerID
	}
	return n, nil
}

// parseRepository splits the repository URL into host, path and owner.
func (n *attest) parseRepository() error {
	for _, host := range []string{GitHubURL, GitLabURL} {
		path, ok := strings.CutPrefix(n.Repository, host)
		if !ok {
			continue
		}
		segs := strings.Split(path, "/")
		if len(segs) < 2 || host == GitHubURL && len(segs) != 2 || slices.Contains(segs, "") || strings.ContainsAny(path, "@ ") {
			break
		}
		n.gitlab, n.host, n.repoPath = host == GitLabURL, host, path
		n.owner = strings.Join(segs[:len(segs)-1], "/")
		return nil
	}
	return fmt.Errorf("repository %q is neither %sOWNER/REPO nor %sGROUP/PROJECT", n.Repository, GitHubURL, GitLabURL)
}

// plainText reports whether s is non-empty, valid UTF-8 and free of spaces
// and control characters, so that it survives JSON and URLs unchanged.
func plainText(s string) bool {
	if s == "" || !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if unicode.IsSpace(r) || unicode.IsControl(r) {
			return false
		}
	}
	return true
}

// sanitize makes a repository name from a package name.
func sanitize(name string) string {
	name = strings.TrimPrefix(name, "@")
	b := []byte(name)
	for i, c := range b {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '.', c == '_', c == '-':
		default:
			b[i] = '-'
		}
	}
	return string(b)
}

// Certificate identity and provenance facts derived from an attest.

// san is the certificate's subject alternative name: the workflow (GitHub)
// or CI configuration (GitLab) at the ref.
func (n *attest) san() string {
	if n.gitlab {
		return n.Repository + "//" + n.Workflow + "@" + n.Ref
	}
	return n.Repository + "/" + n.Workflow + "@" + n.Ref
}

// runURL is the URL of the CI run (GitHub) or job (GitLab).
func (n *attest) runURL() string {
	if n.gitlab {
		return n.Repository + "/-/jobs/" + n.runID
	}
	return n.Repository + "/actions/runs/" + n.runID + "/attempts/1"
}

func (n *attest) gitURI() string { return "git+" + n.Repository + "@" + n.Ref }

func (n *attest) identity() identity {
	san := n.san()
	id := identity{san: san, raw: []oidValue{{1, n.Issuer}}}
	if !n.gitlab {
		id.raw = append(id.raw,
			oidValue{2, n.trigger},
			oidValue{3, n.Commit},
			oidValue{4, "Release"},
			oidValue{5, n.repoPath},
			oidValue{6, n.Ref},
		)
	}
	id.der = []oidValue{
		{8, n.Issuer},
		{9, san},
		{10, n.Commit},
		{11, n.Runner},
		{12, n.Repository},
		{13, n.Commit},
		{14, n.Ref},
		{15, n.repoID},
		{16, n.host + n.owner},
		{17, n.ownerID},
		{18, san},
		{19, n.Commit},
		{20, n.trigger},
		{21, n.runURL()},
		{22, "public"},
	}
	return id
}

// In-toto statements, with fields in the order npm writes them.

type subject struct {
	Name   string            `json:"name"`
	Digest map[string]string `json:"digest"`
}

type statement[P any] struct {
	Type          string    `json:"_type"`
	Subject       []subject `json:"subject"`
	PredicateType string    `json:"predicateType"`
	Predicate     P         `json:"predicate"`
}

type publishPredicate struct {
	Name     string `json:"name"`
	Version  string `json:"version"`
	Registry string `json:"registry"`
}

type slsaV1Predicate struct {
	BuildDefinition struct {
		BuildType          string `json:"buildType"`
		ExternalParameters struct {
			Workflow struct {
				Ref        string `json:"ref"`
				Repository string `json:"repository"`
				Path       string `json:"path"`
			} `json:"workflow"`
		} `json:"externalParameters"`
		InternalParameters struct {
			GitHub struct {
				EventName         string `json:"event_name"`
				RepositoryID      string `json:"repository_id"`
				RepositoryOwnerID string `json:"repository_owner_id"`
			} `json:"github"`
		} `json:"internalParameters"`
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

type material struct {
	URI    string            `json:"uri"`
	Digest map[string]string `json:"digest"`
}

type slsaV02Predicate struct {
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
		Parameters  struct{}          `json:"parameters"`
		Environment map[string]string `json:"environment"`
	} `json:"invocation"`
	Metadata struct {
		BuildInvocationID string `json:"buildInvocationId"`
		Completeness      struct {
			Parameters  bool `json:"parameters"`
			Environment bool `json:"environment"`
			Materials   bool `json:"materials"`
		} `json:"completeness"`
		Reproducible bool `json:"reproducible"`
	} `json:"metadata"`
	Materials []material `json:"materials"`
}

func (n *attest) subjects() []subject {
	return []subject{{Name: n.subjectName, Digest: map[string]string{"sha512": n.sha512Hex}}}
}

func (n *attest) publishStatement() ([]byte, error) {
	return marshal(statement[publishPredicate]{
		Type:          statementV01,
		Subject:       n.subjects(),
		PredicateType: PredicatePublish,
		Predicate:     publishPredicate{Name: n.Name, Version: n.Version, Registry: n.Registry},
	})
}

func (n *attest) provenanceStatement() ([]byte, error) {
	if n.gitlab {
		return n.gitlabStatement()
	}
	if n.PredicateType == PredicateSLSAv02 {
		var p slsaV02Predicate
		p.BuildType = "https://github.com/npm/cli/gha/v2"
		p.Builder.ID = "https://github.com/actions/runner"
		p.Invocation.ConfigSource.URI = n.gitURI()
		p.Invocation.ConfigSource.Digest = map[string]string{"sha1": n.Commit}
		p.Invocation.ConfigSource.EntryPoint = n.Workflow
		p.Invocation.Environment = map[string]string{
			"GITHUB_EVENT_NAME":          n.trigger,
			"GITHUB_REF":                 n.Ref,
			"GITHUB_REPOSITORY":          n.repoPath,
			"GITHUB_REPOSITORY_ID":       n.repoID,
			"GITHUB_REPOSITORY_OWNER_ID": n.ownerID,
			"GITHUB_RUN_ATTEMPT":         "1",
			"GITHUB_RUN_ID":              n.runID,
			"GITHUB_SHA":                 n.Commit,
			"GITHUB_WORKFLOW_REF":        n.repoPath + "/" + n.Workflow + "@" + n.Ref,
			"GITHUB_WORKFLOW_SHA":        n.Commit,
		}
		p.Metadata.BuildInvocationID = n.runID + "-1"
		p.Materials = []material{{URI: n.gitURI(), Digest: map[string]string{"sha1": n.Commit}}}
		return marshal(statement[slsaV02Predicate]{Type: statementV01, Subject: n.subjects(), PredicateType: PredicateSLSAv02, Predicate: p})
	}
	var p slsaV1Predicate
	bd := &p.BuildDefinition
	bd.BuildType = "https://slsa-framework.github.io/github-actions-buildtypes/workflow/v1"
	bd.ExternalParameters.Workflow.Ref = n.Ref
	bd.ExternalParameters.Workflow.Repository = n.Repository
	bd.ExternalParameters.Workflow.Path = n.Workflow
	bd.InternalParameters.GitHub.EventName = n.trigger
	bd.InternalParameters.GitHub.RepositoryID = n.repoID
	bd.InternalParameters.GitHub.RepositoryOwnerID = n.ownerID
	bd.ResolvedDependencies = append(bd.ResolvedDependencies, struct {
		URI    string            `json:"uri"`
		Digest map[string]string `json:"digest"`
	}{URI: n.gitURI(), Digest: map[string]string{"gitCommit": n.Commit}})
	p.RunDetails.Builder.ID = "https://github.com/actions/runner/" + n.Runner
	p.RunDetails.Metadata.InvocationID = n.runURL()
	return marshal(statement[slsaV1Predicate]{Type: statementV1, Subject: n.subjects(), PredicateType: PredicateSLSAv1, Predicate: p})
}

// gitlabPredicate is the SLSA v0.2 predicate npm makes on GitLab CI.
type gitlabPredicate struct {
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
		Parameters  map[string]string `json:"parameters"`
		Environment struct {
			Name         string `json:"name"`
			Architecture string `json:"architecture"`
			Server       string `json:"server"`
			Project      string `json:"project"`
			Job          struct {
				ID string `json:"id"`
			} `json:"job"`
			Pipeline struct {
				ID  string `json:"id"`
				Ref string `json:"ref"`
			} `json:"pipeline"`
		} `json:"environment"`
	} `json:"invocation"`
	Metadata struct {
		BuildInvocationID string `json:"buildInvocationId"`
		Completeness      struct {
			Parameters  bool `json:"parameters"`
			Environment bool `json:"environment"`
			Materials   bool `json:"materials"`
		} `json:"completeness"`
		Reproducible bool `json:"reproducible"`
	} `json:"metadata"`
	Materials []material `json:"materials"`
}

func (n *attest) gitlabStatement() ([]byte, error) {
	const server = "https://gitlab.com"
	refName := n.Ref[strings.LastIndexByte(n.Ref, '/')+1:]
	var p gitlabPredicate
	p.BuildType = "https://github.com/npm/cli/gitlab/v0alpha1"
	p.Builder.ID = n.Repository + "/-/runners/" + n.runnerID
	p.Invocation.ConfigSource.URI = "git+" + n.Repository
	p.Invocation.ConfigSource.Digest = map[string]string{"sha1": n.Commit}
	p.Invocation.ConfigSource.EntryPoint = "publish"
	p.Invocation.Parameters = map[string]string{
		"CI":                   "true",
		"CI_COMMIT_REF_NAME":   refName,
		"CI_COMMIT_SHA":        n.Commit,
		"CI_COMMIT_SHORT_SHA":  n.Commit[:8],
		"CI_CONFIG_PATH":       n.Workflow,
		"CI_JOB_ID":            n.runID,
		"CI_JOB_NAME":          "publish",
		"CI_JOB_STAGE":         "deploy",
		"CI_JOB_URL":           n.runURL(),
		"CI_PIPELINE_ID":       n.pipelineID,
		"CI_PIPELINE_SOURCE":   n.trigger,
		"CI_PIPELINE_URL":      n.Repository + "/-/pipelines/" + n.pipelineID,
		"CI_PROJECT_ID":        n.repoID,
		"CI_PROJECT_NAMESPACE": n.owner,
		"CI_PROJECT_PATH":      n.repoPath,
		"CI_PROJECT_URL":       n.Repository,
		"CI_RUNNER_ID":         n.runnerID,
		"CI_SERVER_URL":        server,
		"GITLAB_CI":            "true",
	}
	env := &p.Invocation.Environment
	env.Name = n.Runner + " runner"
	env.Architecture = "amd64"
	env.Server = server
	env.Project = n.repoPath
	env.Job.ID = n.runID
	env.Pipeline.ID = n.pipelineID
	env.Pipeline.Ref = n.Workflow
	p.Metadata.BuildInvocationID = n.runURL()
	p.Metadata.Completeness.Parameters = true
	p.Metadata.Completeness.Environment = true
	p.Materials = []material{{URI: "git+" + n.Repository, Digest: map[string]string{"sha1": n.Commit}}}
	return marshal(statement[gitlabPredicate]{Type: statementV01, Subject: n.subjects(), PredicateType: PredicateSLSAv02, Predicate: p})
}

// Bundle JSON, with fields in the order npm serves them.

type bundle struct {
	MediaType            string               `json:"mediaType"`
	VerificationMaterial verificationMaterial `json:"verificationMaterial"`
	DSSEEnvelope         envelope             `json:"dsseEnvelope"`
}

type verificationMaterial struct {
	PublicKey                 *keyHint        `json:"publicKey,omitempty"`
	X509CertificateChain      *certChain      `json:"x509CertificateChain,omitempty"`
	Certificate               *rawBytes       `json:"certificate,omitempty"`
	TlogEntries               []tlogEntry     `json:"tlogEntries"`
	TimestampVerificationData json.RawMessage `json:"timestampVerificationData"`
}

type keyHint struct {
	Hint string `json:"hint"`
}

type envelope struct {
	Payload     string         `json:"payload"`
	PayloadType string         `json:"payloadType"`
	Signatures  []envSignature `json:"signatures"`
}

type envSignature struct {
	Sig   string `json:"sig"`
	KeyID string `json:"keyid"`
}

// signed is a bundle before logging: the signed envelope, its verification
// material and the Rekor body to log.
type signed struct {
	mediaType string
	vm        verificationMaterial
	env       envelope
	kv        kindVersion
	body      []byte
}

// publish signs the publish attestation with the npm key.
func (s *Sigstore) publish(n *attest) (*signed, error) {
	k, err := s.key(n.NpmKey)
	if err != nil {
		return nil, err
	}
	payload, err := n.publishStatement()
	if err != nil {
		return nil, err
	}
	vm := verificationMaterial{PublicKey: &keyHint{Hint: k.keyid}}
	return sign(n, vm, payload, k.priv, k.keyid, k.pem)
}

// provenance signs the provenance with an ephemeral key and a fresh
// certificate.
func (s *Sigstore) provenance(n *attest) (*signed, error) {
	payload, err := n.provenanceStatement()
	if err != nil {
		return nil, err
	}
	return s.keyless(n, payload)
}

// keyless signs payload with an ephemeral key and a fresh certificate for
// n's CI identity.
func (s *Sigstore) keyless(n *attest, payload []byte) (*signed, error) {
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("%w: ephemeral key: %w", ErrGenerate, err)
	}
	certDER, err := s.ca.issueLeaf(&priv.PublicKey, n.identity(), n.IntegratedTime.Add(-time.Second), s.ct)
	if err != nil {
		return nil, fmt.Errorf("%w (%s@%s)", err, n.Name, n.Version)
	}
	cert := rawBytes{RawBytes: base64.StdEncoding.EncodeToString(certDER)}
	var vm verificationMaterial
	if n.MediaType == MediaTypeV01 || n.MediaType == MediaTypeV02 {
		vm.X509CertificateChain = &certChain{Certificates: []rawBytes{cert}}
	} else {
		vm.Certificate = &cert
	}
	return sign(n, vm, payload, priv, "", pemEncode("CERTIFICATE", certDER))
}

// sign signs payload into a DSSE envelope and makes the Rekor body for it.
// verifierPEM is the PEM (with trailing newline) of the key or certificate
// that Rekor records.
func sign(n *attest, vm verificationMaterial, payload []byte, priv *ecdsa.PrivateKey, keyid string, verifierPEM []byte) (*signed, error) {
	pae := dssePAE(payloadTypeInToto, payload)
	digest := sha256.Sum256(pae)
	sig, err := ecdsa.SignASN1(rand.Reader, priv, digest[:])
	if err != nil {
		return nil, fmt.Errorf("%w: DSSE signature: %w", ErrGenerate, err)
	}
	env := envelope{
		Payload:     base64.StdEncoding.EncodeToString(payload),
		PayloadType: payloadTypeInToto,
		Signatures:  []envSignature{{Sig: base64.StdEncoding.EncodeToString(sig), KeyID: keyid}},
	}
	body, kv, err := rekorBody(n.EntryKind, env, payload, verifierPEM)
	if err != nil {
		return nil, err
	}
	return &signed{mediaType: n.MediaType, vm: vm, env: env, kv: kv, body: body}, nil
}

// logAndMarshal logs the signed bundles in order, all at integratedTime, as
// one batch (their inclusion proofs share one checkpoint), and returns their
// JSON.
func (s *Sigstore) logAndMarshal(integratedTime time.Time, bundles ...*signed) ([][]byte, error) {
	entries := make([]logRequest, len(bundles))
	for i, b := range bundles {
		entries[i] = logRequest{kv: b.kv, body: b.body, integratedTime: integratedTime.Unix()}
	}
	logged, err := s.rekor.log(entries...)
	if err != nil {
		return nil, err
	}
	out := make([][]byte, len(bundles))
	for i, b := range bundles {
		vm := b.vm
		vm.TlogEntries = []tlogEntry{logged[i]}
		if b.mediaType == MediaTypeV01 {
			vm.TimestampVerificationData = json.RawMessage("null")
		} else {
			vm.TimestampVerificationData = json.RawMessage(`{"rfc3161Timestamps":[]}`)
		}
		if out[i], err = marshal(bundle{MediaType: b.mediaType, VerificationMaterial: vm, DSSEEnvelope: b.env}); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// dssePAE is the DSSE v1 pre-authentication encoding.
func dssePAE(payloadType string, payload []byte) []byte {
	var b []byte
	b = append(b, "DSSEv1 "...)
	b = strconv.AppendInt(b, int64(len(payloadType)), 10)
	b = append(b, ' ')
	b = append(b, payloadType...)
	b = append(b, ' ')
	b = strconv.AppendInt(b, int64(len(payload)), 10)
	b = append(b, ' ')
	return append(b, payload...)
}

type hashValue struct {
	Algorithm string `json:"algorithm"`
	Value     string `json:"value"`
}

func sha256Hex(b []byte) hashValue {
	sum := sha256.Sum256(b)
	return hashValue{Algorithm: "sha256", Value: hex.EncodeToString(sum[:])}
}

// rekorBody returns the canonicalized body Rekor stores for the envelope,
// exactly as Rekor v1 writes it for entries uploaded by sigstore-js.
func rekorBody(kind string, env envelope, payload, verifierPEM []byte) ([]byte, kindVersion, error) {
	switch kind {
	case EntryKindIntoto:
		// sigstore-js uploads the PEM without its final newline and hashes
		// the canonical JSON of this envelope; Rekor keeps both.
		pemText := strings.TrimSuffix(string(verifierPEM), "\n")
		type hashedSig struct {
			KeyID     string `json:"keyid,omitempty"`
			PublicKey string `json:"publicKey"`
			Sig       string `json:"sig"`
		}
		type hashedEnv struct {
			Payload     string      `json:"payload"`
			PayloadType string      `json:"payloadType"`
			Signatures  []hashedSig `json:"signatures"`
		}
		sig := env.Signatures[0]
		canon, err := marshal(hashedEnv{env.Payload, env.PayloadType, []hashedSig{{sig.KeyID, pemText, sig.Sig}}})
		if err != nil {
			return nil, kindVersion{}, err
		}
		b64 := base64.StdEncoding.EncodeToString
		var body struct {
			APIVersion string `json:"apiVersion"`
			Kind       string `json:"kind"`
			Spec       struct {
				Content struct {
					Envelope struct {
						PayloadType string      `json:"payloadType"`
						Signatures  []hashedSig `json:"signatures"`
					} `json:"envelope"`
					Hash        hashValue `json:"hash"`
					PayloadHash hashValue `json:"payloadHash"`
				} `json:"content"`
			} `json:"spec"`
		}
		body.APIVersion, body.Kind = "0.0.2", "intoto"
		c := &body.Spec.Content
		c.Envelope.PayloadType = env.PayloadType
		c.Envelope.Signatures = []hashedSig{{sig.KeyID, b64([]byte(pemText)), b64([]byte(sig.Sig))}}
		c.Hash = sha256Hex(canon)
		c.PayloadHash = sha256Hex(payload)
		out, err := marshal(body)
		return out, kindVersion{"intoto", "0.0.2"}, err
	case EntryKindDSSE:
		// Rekor hashes the envelope JSON exactly as uploaded.
		uploaded, err := marshal(env)
		if err != nil {
			return nil, kindVersion{}, err
		}
		type dsseSig struct {
			Signature string `json:"signature"`
			Verifier  string `json:"verifier"`
		}
		var body struct {
			APIVersion string `json:"apiVersion"`
			Kind       string `json:"kind"`
			Spec       struct {
				EnvelopeHash hashValue `json:"envelopeHash"`
				PayloadHash  hashValue `json:"payloadHash"`
				Signatures   []dsseSig `json:"signatures"`
			} `json:"spec"`
		}
		body.APIVersion, body.Kind = "0.0.1", "dsse"
		body.Spec.EnvelopeHash = sha256Hex(uploaded)
		body.Spec.PayloadHash = sha256Hex(payload)
		body.Spec.Signatures = []dsseSig{{env.Signatures[0].Sig, base64.StdEncoding.EncodeToString(verifierPEM)}}
		out, err := marshal(body)
		return out, kindVersion{"dsse", "0.0.1"}, err
	}
	return nil, kindVersion{}, fmt.Errorf("%w: Rekor entry kind %q", ErrUnsupported, kind)
}

// marshal is json.Marshal without HTML escaping and without the trailing
// newline, as JavaScript's JSON.stringify writes.
func marshal(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, fmt.Errorf("%w: encoding JSON: %w", ErrGenerate, err)
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}
