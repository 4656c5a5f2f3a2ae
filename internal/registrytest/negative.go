package registrytest

// NegativeFixture names one recorded npm attestations response that must
// fail verification (testdata/MANIFEST.md section 6a), with the package it
// claims to be about: the lockfile integrity comes from the real tarball
// when one exists, else from the valid response's subject digest.
type NegativeFixture struct {
	// File is the response, relative to the repository's testdata.
	File          string
	Name, Version string
	// Tarball is the real tarball (relative to testdata), or "".
	Tarball string
	// DigestHex is the sha512 subject digest (hex) when there is no tarball.
	DigestHex string
	// Predicate is the provenance predicate type the version announces.
	Predicate string
}

// Subject digest of @laurentsimon/provenance-npm-test@1.0.0, the package of
// the slsa-verifier .intoto.sigstore files (no tarball exists; this is the
// subject digest of the valid response).
const provenanceNpmTest100 = "29d19f26233f4441328412b34fd73ed104ecfef62f14097890cccf7455b521b65c5acff851849faa85c85395aa22d401436f01f3afb61b19c780e906c88c7f20"

const (
	slsaV02 = "https://slsa.dev/provenance/v0.2"
	slsaV1  = "https://slsa.dev/provenance/v1"
)

// NegativeFixtures lists every recorded negative npm attestations
// response, in MANIFEST order. What each must fail with is for the test
// that uses it to say.
var NegativeFixtures = func() []NegativeFixture {
	const sigstore040 = "tarballs-npm-pack/sigstore-0.4.0.tgz"
	var out []NegativeFixture
	for _, f := range []string{"invalid", "malformed-subject", "mismatched-keyid", "mismatched-subject-digest", "mismatched-subject-name", "no-keyid", "unsupported"} {
		out = append(out, NegativeFixture{File: "negative/pacote/" + f + "-attestations.json", Name: "sigstore", Version: "0.4.0", Tarball: sigstore040, Predicate: slsaV02})
	}
	for _, c := range []struct{ base, name, version, pred string }{
		{"gundam-visor-cli-v1-tag", "gundam-visor", "1.0.1", slsaV1},
		{"provenance-npm-test-cli-v02-prega", "@laurentsimon/provenance-npm-test", "1.0.3", slsaV02},
		{"provenance-npm-test-ossf", "@laurentsimon/provenance-npm-test", "1.0.5", slsaV02},
		{"supreme-googles-cli-v02-tag", "@trishankatdatadog/supreme-goggles", "1.0.5", slsaV02},
	} {
		for _, which := range []string{"invalidsigprov", "invalidsigpub"} {
			file := "negative/slsa-verifier-npm/" + c.base + "-" + which + ".tgz"
			out = append(out, NegativeFixture{File: file + ".json", Name: c.name, Version: c.version, Tarball: file, Predicate: c.pred})
		}
	}
	for _, f := range []string{
		"npm-att-mismatch-prov-payloadtype", "npm-att-mismatch-prov-predicatetype", "npm-att-mismatch-pub-payloadtype",
		"npm-att-mismatch-pub-predicatetype", "npm-att-prov-invalid-signature", "npm-att-publish-invalid-signature",
		"npm-att-publish-nodigest", "npm-att-publish-nosubjects", "npm-stmt-mismatch-prov-predicatetype",
		"npm-stmt-mismatch-prov-type", "npm-stmt-mismatch-pub-predicatetype", "npm-stmt-mismatch-pub-type",
	} {
		out = append(out, NegativeFixture{File: "negative/slsa-verifier-npm/" + f + ".intoto.sigstore", Name: "@laurentsimon/provenance-npm-test", Version: "1.0.0",
			DigestHex: provenanceNpmTest100, Predicate: slsaV02})
	}
	return out
}()
