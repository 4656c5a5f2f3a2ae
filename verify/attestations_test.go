package verify

import (
	"testing"
	"time"
)

// realAttestation is a real attestations response and the package it is for.
type realAttestation struct {
	file          string
	name, version string
	// tarball is the package's real .tgz; the lockfile integrity is
	// computed from it. When there is no tarball, digestHex is the
	// subject digest (MANIFEST section 1: "no tarball here").
	tarball   string
	digestHex string
	predicate string

	// expected facts
	repo, commit, workflowPath, workflowRef string
	builderID, buildType, runner, runURL    string
	san                                     string
	provLogIndex, pubLogIndex               int64
	provTime, pubTime                       string
}

var realAttestations = []realAttestation{
	{
		file: "attestations/npm-cli/valid-sigstore-attestations.json", name: "sigstore", version: "1.0.0",
		tarball: "tarballs-npm-pack/sigstore-1.0.0.tgz", predicate: PredicateSLSAv02,
		repo: "https://github.com/sigstore/sigstore-js", commit: "06528997c3c8ab9f864fad9a3658446aca7fd86d",
		workflowPath: ".github/workflows/publish.yml", workflowRef: "refs/tags/v1.0.0",
		builderID: "https://github.com/npm/cli@9.4.2", buildType: "https://github.com/npm/cli/gha@v0",
		runURL:       "https://github.com/sigstore/sigstore-js/actions/runs/4137028816/attempts/1",
		san:          "https://github.com/sigstore/sigstore-js/.github/workflows/publish.yml@refs/tags/v1.0.0",
		provLogIndex: 12988397, pubLogIndex: 12988399,
		provTime: "2023-02-09T17:56:00Z", pubTime: "2023-02-09T17:56:02Z",
	},
	{
		file: "attestations/npm-cli/valid-tuf-js-attestations.json", name: "tuf-js", version: "1.0.0",
		tarball: "tarballs-npm-pack/tuf-js-1.0.0.tgz", predicate: PredicateSLSAv02,
		repo: "https://github.com/theupdateframework/tuf-js", workflowPath: ".github/workflows/publish.yml", workflowRef: "refs/tags/v1.0.0",
		san:          "https://github.com/theupdateframework/tuf-js/.github/workflows/publish.yml@refs/tags/v1.0.0",
		provLogIndex: 12987347, pubLogIndex: 12987349,
		provTime: "2023-02-09T17:38:25Z", pubTime: "2023-02-09T17:38:27Z",
	},
	{
		file: "attestations/pacote/valid-attestations.json", name: "sigstore", version: "0.4.0",
		tarball: "tarballs-npm-pack/sigstore-0.4.0.tgz", predicate: PredicateSLSAv02,
		repo: "https://github.com/sigstore/sigstore-js", commit: "8a2ee2fd20dda58ffa4a8d808a65cb1e04711c03",
		workflowPath: ".github/workflows/publish.yml", workflowRef: "refs/tags/v0.4.0",
		provLogIndex: 10960845, pubLogIndex: 10960848,
		provTime: "2023-01-11T17:31:52Z", pubTime: "2023-01-11T17:31:54Z",
	},
	{
		file: "attestations/slsa-verifier/gundam-visor-cli-v1-tag.tgz.json", name: "gundam-visor", version: "1.0.1",
		tarball: "attestations/slsa-verifier/gundam-visor-cli-v1-tag.tgz", predicate: PredicateSLSAv1,
		repo: "https://github.com/ramonpetgrave64/gundam-visor", commit: "599500821344b070902a7a5666064bfdaba715df",
		workflowPath: ".github/workflows/npm-publish.yml", workflowRef: "refs/tags/v1.0.1",
		builderID: "https://github.com/actions/runner/github-hosted",
		buildType: "https://slsa-framework.github.io/github-actions-buildtypes/workflow/v1",
		runner:    "github-hosted", runURL: "https://github.com/ramonpetgrave64/gundam-visor/actions/runs/9358004112/attempts/1",
		provLogIndex: 99434462, pubLogIndex: 99434465,
		provTime: "2024-06-03T22:17:59Z", pubTime: "2024-06-03T22:18:01Z",
	},
	{
		file: "attestations/slsa-verifier/npm-attestations.intoto.sigstore", name: "@laurentsimon/provenance-npm-test", version: "1.0.0",
		digestHex: "29d19f26233f4441328412b34fd73ed104ecfef62f14097890cccf7455b521b65c5acff851849faa85c85395aa22d401436f01f3afb61b19c780e906c88c7f20",
		predicate: PredicateSLSAv02,
		repo:      "https://github.com/laurentsimon/provenance-npm-test", commit: "16babffb9153811e193c019939391357372b25ce",
		workflowPath: ".github/workflows/release.yml", workflowRef: "refs/heads/main",
		provLogIndex: 13420286, pubLogIndex: 13420289,
		provTime: "2023-02-15T19:33:32Z", pubTime: "2023-02-15T19:33:35Z",
	},
	{
		file: "attestations/slsa-verifier/provenance-npm-test-cli-v02-prega.tgz.json", name: "@laurentsimon/provenance-npm-test", version: "1.0.3",
		tarball: "attestations/slsa-verifier/provenance-npm-test-cli-v02-prega.tgz", predicate: PredicateSLSAv02,
		repo: "https://github.com/laurentsimon/provenance-npm-test", commit: "b38894f2dda4355ea5606fccb166e61565e12a14",
		workflowPath: ".github/workflows/release.yml", workflowRef: "refs/heads/main",
		builderID: "https://github.com/actions/runner", buildType: "https://github.com/npm/cli/gha/v2", runner: "github-hosted",
		runURL:       "https://github.com/laurentsimon/provenance-npm-test/actions/runs/4757060009/attempts/1",
		provLogIndex: 18493590, pubLogIndex: 18493593,
		provTime: "2023-04-20T17:17:18Z", pubTime: "2023-04-20T17:17:21Z",
	},
	{
		file: "attestations/slsa-verifier/provenance-npm-test-ossf.tgz.json", name: "@laurentsimon/provenance-npm-test", version: "1.0.5",
		tarball: "attestations/slsa-verifier/provenance-npm-test-ossf.tgz", predicate: PredicateSLSAv02,
		repo: "https://github.com/laurentsimon/provenance-npm-test", commit: "34490b44db557f009617bcb92b8780f972c189ab",
		// The slsa-github-generator signs with its own workflow identity;
		// the workflow that ran it comes from the certificate's build
		// config extension.
		workflowPath: ".github/workflows/release-slsa3.yml", workflowRef: "refs/heads/main",
		buildType:    "https://github.com/slsa-framework/slsa-github-generator/delegator-generic@v0",
		san:          "https://github.com/slsa-framework/slsa-github-generator/.github/workflows/delegator_lowperms-generic_slsa3.yml@refs/tags/v1.6.0",
		provLogIndex: 20994759, pubLogIndex: 20994827,
		provTime: "2023-05-18T17:57:53Z", pubTime: "2023-05-18T17:58:57Z",
	},
	{
		file: "attestations/slsa-verifier/supreme-googles-cli-v02-tag.tgz.json", name: "@trishankatdatadog/supreme-goggles", version: "1.0.5",
		tarball: "attestations/slsa-verifier/supreme-googles-cli-v02-tag.tgz", predicate: PredicateSLSAv02,
		repo: "https://github.com/trishankatdatadog/supreme-goggles", commit: "38ebf99444e033b2f1550c9aaaeacd62d02a12ba",
		workflowPath: ".github/workflows/npm-publish.yml", workflowRef: "refs/tags/v1.0.5",
		provLogIndex: 20783663, pubLogIndex: 20783673,
		provTime: "2023-05-16T17:32:54Z", pubTime: "2023-05-16T17:33:01Z",
	},
}

// integrity is the lockfile integrity of the attestation's package.
func (ra *realAttestation) integrity(t testing.TB) string {
	t.Helper()
	if ra.tarball != "" {
		return sriOf(fixture(t, ra.tarball))
	}
	return sriFromHex(t, ra.digestHex)
}

func (ra *realAttestation) input(t testing.TB) AttestationInput {
	t.Helper()
	integ := ra.integrity(t)
	return AttestationInput{
		Name: ra.name, Version: ra.version,
		Integrity: integ, ServedIntegrity: integ,
		ExpectedPredicate: ra.predicate,
		Body:              fixture(t, ra.file),
	}
}

func mustTime(t testing.TB, s string) time.Time {
	t.Helper()
	tm, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t.Fatal(err)
	}
	return tm
}

func TestAttestationsRealVerify(t *testing.T) {
	v := embeddedVerifier(t)
	for _, ra := range realAttestations {
		t.Run(ra.file, func(t *testing.T) {
			res := v.Attestations(ra.input(t))
			if res.Status != StatusVerified || res.Err != nil {
				t.Fatalf("status %s, err %v", res.Status, res.Err)
			}
			if len(res.PredicateTypes) != 2 {
				t.Fatalf("predicate types %v", res.PredicateTypes)
			}
			pub := res.Publish
			if pub == nil || pub.KeyID != "SHA256:jl3bwswu80PjjokCgh0o2w5c2U4LhQAE57gj9cz1kzA" || !pub.Pinned {
				t.Fatalf("publish facts %+v", pub)
			}
			if pub.LogIndex != ra.pubLogIndex || !pub.IntegratedTime.Equal(mustTime(t, ra.pubTime)) {
				t.Errorf("publish log %d @ %s, want %d @ %s", pub.LogIndex, pub.IntegratedTime, ra.pubLogIndex, ra.pubTime)
			}
			p := res.Provenance
			if p == nil {
				t.Fatal("no provenance facts")
			}
			check := func(field, got, want string) {
				t.Helper()
				if want != "" && got != want {
					t.Errorf("%s = %q, want %q", field, got, want)
				}
				if got == "" && field != "RunnerEnvironment" && field != "RunURL" && field != "BuilderID" {
					t.Errorf("%s is empty", field)
				}
			}
			check("PredicateType", p.PredicateType, ra.predicate)
			check("SourceRepository", p.SourceRepository, ra.repo)
			check("Commit", p.Commit, ra.commit)
			check("WorkflowPath", p.WorkflowPath, ra.workflowPath)
			check("WorkflowRef", p.WorkflowRef, ra.workflowRef)
			check("BuilderID", p.BuilderID, ra.builderID)
			check("BuildType", p.BuildType, ra.buildType)
			check("Issuer", p.Issuer, IssuerGitHubActions)
			check("RunnerEnvironment", p.RunnerEnvironment, ra.runner)
			check("RunURL", p.RunURL, ra.runURL)
			check("CertificateSAN", p.CertificateSAN, ra.san)
			if p.LogIndex != ra.provLogIndex || !p.IntegratedTime.Equal(mustTime(t, ra.provTime)) {
				t.Errorf("provenance log %d @ %s, want %d @ %s", p.LogIndex, p.IntegratedTime, ra.provLogIndex, ra.provTime)
			}
		})
	}
}
