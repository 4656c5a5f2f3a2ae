package audit

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/provaudit/provaudit/fetch"
	"github.com/provaudit/provaudit/internal/registrytest"
	"github.com/provaudit/provaudit/internal/registrytest/fakesigstore"
	"github.com/provaudit/provaudit/lockfile"
)

// historySetup serves lib@1.0.0 and lib@1.1.0 (both with provenance) and
// the locked lib@1.1.1, published ago before the registry's now.
func historySetup(t *testing.T, locked registrytest.Package, ago time.Duration) (*setup, time.Time) {
	t.Helper()
	lf := lockOf(t, "lib", "1.1.1")
	reg := registrytest.New(registrytest.Options{})
	t.Cleanup(reg.Close)
	now := reg.Sigstore().Now()
	locked.Name, locked.Version, locked.Integrity, locked.Signed = "lib", "1.1.1", registrytestSRI("lib@1.1.1"), true
	locked.PublishTime = now.Add(-ago)
	return newSetupOn(t, reg, lf,
		registrytest.Package{Name: "lib", Version: "1.0.0", Signed: true, Attested: true, PublishTime: now.Add(-300 * 24 * time.Hour)},
		registrytest.Package{Name: "lib", Version: "1.1.0", Signed: true, Attested: true, PublishTime: now.Add(-30 * 24 * time.Hour)},
		locked,
	), now
}

// lockOf is a lockfile that locks name@version with registrytestSRI.
func lockOf(t *testing.T, name, version string) *lockfile.Lockfile {
	t.Helper()
	doc := fmt.Sprintf(`{"name":"t","version":"1.0.0","lockfileVersion":3,"packages":{"":{"name":"t","version":"1.0.0"},
"node_modules/%s":{"version":%q,"resolved":"https://registry.invalid/%s/-/%s-%s.tgz","integrity":%q}}}`,
		name, version, name, name, version, registrytestSRI(name+"@"+version))
	lf, err := lockfile.Parse("package-lock.json", []byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	return lf
}

func (s *setup) run(t *testing.T, opts Options) *Package {
	t.Helper()
	opts.Lockfile, opts.Config, opts.Trust = s.lf, s.cfg, s.trust
	if opts.Client == nil {
		opts.Client = s.client(t, "")
	}
	res, err := Run(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	return &res.Packages[0]
}

// TestReleaseAge: a release an hour old is a release-age finding (medium)
// under a minimum age of three days, and none without one, under a shorter
// one, or with the rule disabled; the age is judged at JudgeAt.
func TestReleaseAge(t *testing.T) {
	s, now := historySetup(t, registrytest.Package{Attested: true}, time.Hour)
	p := s.run(t, Options{MinimumReleaseAge: 72 * time.Hour})
	if len(p.Findings) != 1 || p.Findings[0].Rule != RuleReleaseAge || p.Findings[0].Severity != SeverityMedium ||
		!strings.Contains(p.Findings[0].Message, "published 1h0m0s ago") || !strings.Contains(p.Findings[0].Message, "minimum release age of 72h0m0s") {
		t.Fatalf("findings %+v, want one release-age finding", p.Findings)
	}
	if p.Status != StatusVerified || p.Publication == nil || p.Publication.PublishedAt == nil || !p.Publication.PublishedAt.Equal(now.Add(-time.Hour)) {
		t.Errorf("status %s, publication %+v", p.Status, p.Publication)
	}
	for name, opts := range map[string]Options{
		"off":      {},
		"shorter":  {MinimumReleaseAge: 30 * time.Minute},
		"disabled": {MinimumReleaseAge: 72 * time.Hour, DisabledRules: []Rule{RuleReleaseAge}},
		"later":    {MinimumReleaseAge: 72 * time.Hour, JudgeAt: now.Add(72 * time.Hour)},
	} {
		if p := s.run(t, opts); len(p.Findings) != 0 {
			t.Errorf("%s: findings %+v", name, p.Findings)
		}
	}
	// The age is not the history: with NoHistory it still applies.
	if p := s.run(t, Options{MinimumReleaseAge: 72 * time.Hour, NoHistory: true}); len(p.Findings) != 1 || p.Publication == nil {
		t.Errorf("NoHistory: findings %+v, publication %+v", p.Findings, p.Publication)
	}
}

// TestReleaseAgeUnknownTime: a version whose publish time the registry does
// not record cannot be shown old enough.
func TestReleaseAgeUnknownTime(t *testing.T) {
	s, _ := historySetup(t, registrytest.Package{Attested: true}, time.Hour)
	s.reg.Handle("/lib", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"name":"lib","versions":{"1.1.1":{"_npmUser":{"name":"u"}}}}`)
	})
	p := s.run(t, Options{MinimumReleaseAge: time.Hour})
	if len(p.Findings) != 1 || p.Findings[0].Rule != RuleReleaseAge || !strings.Contains(p.Findings[0].Message, "records no publish time") {
		t.Errorf("findings %+v", p.Findings)
	}
}

func TestPolicyOptions(t *testing.T) {
	s, _ := historySetup(t, registrytest.Package{}, time.Hour)
	for _, opts := range []Options{
		{DisabledRules: []Rule{RuleSignatureInvalid}},
		{DisabledRules: []Rule{"no-such-rule"}},
		{MinimumReleaseAge: -time.Second},
	} {
		opts.Lockfile, opts.Config, opts.Trust, opts.Client = s.lf, s.cfg, s.trust, s.client(t, "")
		if _, err := Run(context.Background(), opts); !errors.Is(err, ErrOptions) {
			t.Errorf("%+v: err = %v, want ErrOptions", opts.DisabledRules, err)
		}
	}
}

// TestDisabledRules: a disabled rule makes no finding; with every
// release-line rule disabled (or NoHistory) no packument is fetched.
func TestDisabledRules(t *testing.T) {
	s, _ := historySetup(t, registrytest.Package{}, time.Hour)
	if p := s.run(t, Options{}); len(p.Findings) != 1 || p.Findings[0].Rule != RuleProvenanceRegression {
		t.Fatalf("findings %+v, want a provenance regression", p.Findings)
	}
	if p := s.run(t, Options{DisabledRules: []Rule{RuleProvenanceRegression}}); len(p.Findings) != 0 || p.Publication == nil {
		t.Errorf("disabled: findings %+v, publication %+v", p.Findings, p.Publication)
	}
	for name, opts := range map[string]Options{
		"all disabled": {DisabledRules: lineRules},
		"no history":   {NoHistory: true},
	} {
		s.reg.ResetStats()
		p := s.run(t, opts)
		if len(p.Findings) != 0 || p.Publication != nil || s.reg.RequestsFor("/lib") != 1 || s.reg.RequestsFor("/lib/1.1.1") != 1 {
			t.Errorf("%s: findings %+v, publication %+v, %d requests for lib (want its version document only)", name, p.Findings, p.Publication, s.reg.RequestsFor("/lib"))
		}
	}
}

// TestHistoryUnavailable: a packument that cannot be had leaves the package
// as error (never a pass), saying why, its verification kept.
func TestHistoryUnavailable(t *testing.T) {
	s, _ := historySetup(t, registrytest.Package{Attested: true}, time.Hour)
	s.reg.Fail("/lib", 100, http.StatusInternalServerError, "")
	p := s.run(t, Options{Client: s.clientWith(t, fetch.Options{NoCache: true, Retries: -1})})
	if p.Status != StatusError || p.Attestations == nil || p.Attestations.Status != CheckVerified ||
		!strings.Contains(p.Reason, "registry signature and attestations verified, but release history incomplete: release history of lib@1.1.1") ||
		!strings.Contains(p.Reason, "--no-history") {
		t.Errorf("status %s, reason %q", p.Status, p.Reason)
	}
}

func (s *setup) clientWith(t *testing.T, opts fetch.Options) *fetch.Client {
	t.Helper()
	c, err := fetch.NewClient(s.cfg, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// TestMalformedNpmUser: a malformed _npmUser of the locked version is a
// fact that is missing, never a failure (issue 22, item 5).
func TestMalformedNpmUser(t *testing.T) {
	s, now := historySetup(t, registrytest.Package{Attested: true}, time.Hour)
	s.reg.Handle("/lib", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"name":"lib","time":{"1.1.1":%q},"versions":{"1.1.1":{"_npmUser":["not","an","object"],"scripts":7}}}`, now.Format(time.RFC3339))
	})
	p := s.run(t, Options{})
	if p.Status != StatusVerified || p.Publication == nil || p.Publication.Publisher != "" || len(p.Findings) != 0 {
		t.Errorf("status %s (%s), publication %+v, findings %+v", p.Status, p.Reason, p.Publication, p.Findings)
	}
}

// TestBaselineDoesNotVerify: the baseline's attestations must verify
// against the registry's integrity for it; when they do not, continuity
// cannot be shown: an identity-drift finding.
func TestBaselineDoesNotVerify(t *testing.T) {
	s, _ := historySetup(t, registrytest.Package{Attested: true}, time.Hour)
	body, err := s.reg.Sigstore().Attestations(fakesigstore.Attest{Name: "lib", Version: "1.1.0", Integrity: registrytestSRI("other")})
	if err != nil {
		t.Fatal(err)
	}
	s.reg.Handle("/-/npm/v1/attestations/lib@1.1.0", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(body)
	})
	p := s.run(t, Options{})
	if p.Status != StatusVerified || len(p.Findings) != 1 || p.Findings[0].Rule != RuleIdentityDrift ||
		!strings.Contains(p.Findings[0].Message, "identity continuity cannot be shown: the attestations of 1.1.0") {
		t.Errorf("status %s, findings %+v", p.Status, p.Findings)
	}
	// A baseline that failed is not cached as an identity: the next run
	// (its raw attestations from the cache) verifies them again.
	dir := t.TempDir()
	for i := range 2 {
		if p := s.run(t, Options{Client: s.client(t, dir)}); len(p.Findings) != 1 || p.Findings[0].Rule != RuleIdentityDrift {
			t.Errorf("run %d with a cache: findings %+v", i+1, p.Findings)
		}
	}
}

func TestTrustLevel(t *testing.T) {
	for _, c := range []struct {
		tp, approved, prov, signed bool
		want                       TrustLevel
	}{
		{true, true, true, true, LevelApprovedTrustedPublishing},
		{false, true, true, true, LevelApprovedTrustedPublishing}, // staged publishing lost the trusted publisher
		{true, true, false, true, LevelApprovedTrustedPublishing},
		{false, true, false, true, LevelSignature}, // approved, but neither trusted publishing nor provenance
		{true, false, true, true, LevelTrustedPublishing},
		{true, false, false, true, LevelSignature}, // trusted publishing without provenance
		{false, false, true, false, LevelProvenance},
		{false, false, false, true, LevelSignature},
		{false, false, false, false, LevelNone},
	} {
		if got := trustLevel(c.tp, c.approved, c.prov, c.signed); got != c.want {
			t.Errorf("trustLevel(tp %v, approved %v, provenance %v, signed %v) = %s, want %s", c.tp, c.approved, c.prov, c.signed, got, c.want)
		}
	}
}

func TestIdentityChanges(t *testing.T) {
	base := Provenance{SourceRepository: "https://github.com/a/b", RepositoryID: "1", OwnerID: "2", Owner: "https://github.com/a",
		WorkflowPath: ".github/workflows/r.yml", BuildTrigger: "push", RunnerEnvironment: "github-hosted",
		BuilderID: "https://github.com/actions/runner/github-hosted", Issuer: "https://token.actions.githubusercontent.com"}
	same := base
	same.SourceRepository, same.Owner = "https://github.com/c/renamed", "https://github.com/c"
	if got := identityChanges(&base, &same); len(got) != 0 {
		t.Errorf("renamed with the same ids: %v", got)
	}
	noIDs := base
	noIDs.RepositoryID, noIDs.OwnerID = "", ""
	if got := identityChanges(&base, &noIDs); len(got) != 2 || !strings.Contains(got[0], "repository id 1 (https://github.com/a/b) -> none") {
		t.Errorf("ids gone: %v", got)
	}
	// A baseline whose certificate predates the ids is compared by URL.
	if got := identityChanges(&noIDs, &same); len(got) != 1 || got[0] != `repository "https://github.com/a/b" -> "https://github.com/c/renamed"` {
		t.Errorf("old certificate: %v", got)
	}
	upper := noIDs
	upper.SourceRepository = "https://github.com/A/B"
	if got := identityChanges(&noIDs, &upper); len(got) != 0 {
		t.Errorf("case only: %v", got)
	}
	// A field the baseline lacks is not compared.
	old := base
	old.BuildTrigger, old.RunnerEnvironment = "", ""
	other := base
	other.BuildTrigger, other.RunnerEnvironment = "release", "self-hosted"
	if got := identityChanges(&old, &other); len(got) != 0 {
		t.Errorf("fields the baseline lacks: %v", got)
	}
	all := Provenance{SourceRepository: "https://gitlab.com/x/y", RepositoryID: "9", OwnerID: "8", Owner: "https://gitlab.com/x",
		WorkflowPath: ".gitlab-ci.yml", BuildTrigger: "api", RunnerEnvironment: "self-hosted", BuilderID: "b", Issuer: "https://gitlab.com"}
	if got := identityChanges(&base, &all); len(got) != 7 {
		t.Errorf("everything changed: %d changes %v", len(got), got)
	}
}

// mapStore is a VerdictStore in memory.
type mapStore map[StoreKey][]byte

func (m mapStore) Lookup(_ context.Context, keys []StoreKey) [][]byte {
	out := make([][]byte, len(keys))
	for i, k := range keys {
		out[i] = m[k]
	}
	return out
}

func (m mapStore) Save(k StoreKey, v []byte) { m[k] = v }

// TestStoredVerdictHistory: a verdict from the store is neither fetched
// nor verified again, but its release history is judged all the same: the
// identity of its verified provenance is compared with the baseline's. The
// store's record carries the history and the baseline's verified identity,
// so the reader fetches neither the packument nor the baseline's
// attestations.
func TestStoredVerdictHistory(t *testing.T) {
	s, _ := historySetup(t, registrytest.Package{Attested: true, Attest: &fakesigstore.Attest{Workflow: ".github/workflows/other.yml"}}, time.Hour)
	store := mapStore{}
	if p := s.run(t, Options{VerdictStore: store}); len(store) != 1 || len(p.Findings) != 1 || p.Findings[0].Rule != RuleIdentityDrift {
		t.Fatalf("writing: %d stored, findings %+v", len(store), p.Findings)
	}
	s.reg.ResetStats()
	p := s.run(t, Options{VerdictStore: store})
	if len(p.Findings) != 1 || p.Findings[0].Rule != RuleIdentityDrift || p.Publication == nil || p.Publication.Baseline != "1.1.0" {
		t.Errorf("reading: findings %+v, publication %+v", p.Findings, p.Publication)
	}
	if n, v := s.reg.RequestsFor("/lib/1.1.1"), s.reg.RequestsFor("/-/npm/v1/attestations/lib@1.1.1"); n+v != 0 {
		t.Errorf("the stored package was fetched again: %d version documents, %d attestations", n, v)
	}
	if n, k := s.reg.Requests(), s.reg.RequestsFor("/-/npm/v1/keys"); n != k {
		t.Errorf("the reader made %d requests besides the key list (packument %d, baseline attestations %d)",
			n-k, s.reg.RequestsFor("/lib"), s.reg.RequestsFor("/-/npm/v1/attestations/lib@1.1.0"))
	}

	// A record of a verdict alone (as a writer without the history rules
	// writes) still serves: the history is fetched and judged.
	for k, b := range store {
		var rec map[string]json.RawMessage
		if err := json.Unmarshal(b, &rec); err != nil {
			t.Fatal(err)
		}
		if rec["history"] == nil || rec["baseline"] == nil {
			t.Fatalf("the record lacks the history or the baseline: %s", b)
		}
		delete(rec, "history")
		delete(rec, "baseline")
		alone, err := json.Marshal(rec)
		if err != nil {
			t.Fatal(err)
		}
		store[k] = alone
	}
	s.reg.ResetStats()
	p = s.run(t, Options{VerdictStore: store})
	if len(p.Findings) != 1 || p.Findings[0].Rule != RuleIdentityDrift {
		t.Errorf("reading a verdict alone: findings %+v", p.Findings)
	}
	if n := s.reg.RequestsFor("/lib"); n == 0 {
		t.Error("reading a verdict alone: the packument was not fetched")
	}
}
