package main

import (
	"bytes"
	"context"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/provaudit/provaudit/fetch"
	"github.com/provaudit/provaudit/internal/registrytest"
	"github.com/provaudit/provaudit/internal/sarifschema"
	"github.com/provaudit/provaudit/lockfile"
)

// The README's first command audits testdata/demo offline against the
// demo registry https://registry.invalid/, from the cache in
// testdata/demo/cache. That cache holds what a registry served for real
// packages, recorded by the projects testdata/MANIFEST.md names: their npm
// attestations and tarball digests. No registry signatures of these
// versions were recorded, and a key list cannot be shipped in a cache (it
// would have to be sealed with the user's secret), so offline the demo
// registry's keys are unknown: the verdicts rest on the attestations,
// verified against the embedded Sigstore trust root and npm keys (the
// publish attestation is signed by the registry's pinned key).
// gundam-visor@1.0.1 carries slsa-verifier's tampered provenance and must
// be caught.
//
// go test ./cmd/provaudit -run TestDemo -update-demo rebuilds the cache.

var updateDemo = flag.Bool("update-demo", false, "rebuild testdata/demo/cache from the recorded fixtures")

const (
	demoDir      = "../../testdata/demo"
	demoRegistry = "https://registry.invalid/"
)

// demoPackage is one demo lockfile package and the recorded data behind it.
type demoPackage struct {
	name, version string
	// attestations is a recorded attestation response, or the bundles to
	// wrap into one (in that order).
	attestations string
	bundles      []string
	tarball      string
	want         string // expected status
}

var demoPackages = []demoPackage{
	{name: "sigstore", version: "0.4.0", attestations: "attestations/pacote/valid-attestations.json", tarball: "tarballs-npm-pack/sigstore-0.4.0.tgz", want: "verified"},
	{name: "sigstore", version: "1.0.0", attestations: "attestations/npm-cli/valid-sigstore-attestations.json", tarball: "tarballs-npm-pack/sigstore-1.0.0.tgz", want: "verified"},
	{name: "sigstore", version: "1.3.0", bundles: []string{"bundles/sigstore-go/bundle-publish.json", "bundles/sigstore-go/bundle-provenance.json"}, tarball: "tarballs-npm-pack/sigstore-1.3.0.tgz", want: "verified"},
	{name: "tuf-js", version: "1.0.0", attestations: "attestations/npm-cli/valid-tuf-js-attestations.json", tarball: "tarballs-npm-pack/tuf-js-1.0.0.tgz", want: "verified"},
	{name: "@laurentsimon/provenance-npm-test", version: "1.0.3", attestations: "attestations/slsa-verifier/provenance-npm-test-cli-v02-prega.tgz.json", tarball: "attestations/slsa-verifier/provenance-npm-test-cli-v02-prega.tgz", want: "verified"},
	{name: "@laurentsimon/provenance-npm-test", version: "1.0.5", attestations: "attestations/slsa-verifier/provenance-npm-test-ossf.tgz.json", tarball: "attestations/slsa-verifier/provenance-npm-test-ossf.tgz", want: "verified"},
	{name: "@trishankatdatadog/supreme-goggles", version: "1.0.5", attestations: "attestations/slsa-verifier/supreme-googles-cli-v02-tag.tgz.json", tarball: "attestations/slsa-verifier/supreme-googles-cli-v02-tag.tgz", want: "verified"},
	{name: "gundam-visor", version: "1.0.1", attestations: "negative/slsa-verifier-npm/gundam-visor-cli-v1-tag-invalidsigprov.tgz.json", tarball: "attestations/slsa-verifier/gundam-visor-cli-v1-tag.tgz", want: "invalid"},
}

// TestDemo runs the README's demo command and checks its verdicts, its exit
// code and that it leaves the recorded cache untouched.
func TestDemo(t *testing.T) {
	if *updateDemo {
		buildDemoCache(t)
	}
	cache := filepath.Join(demoDir, "cache")
	before := treeDigest(t, cache)

	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{"provaudit", "--offline", "--no-history", "--registry", demoRegistry, "--cache-dir", cache, "--format", "json", demoDir}, &stdout, &stderr)
	if code != exitFindings {
		t.Fatalf("exit code %d, want %d (the tampered package is a finding)\nstderr: %s", code, exitFindings, stderr.String())
	}
	var res struct {
		Packages []struct {
			Name, Version, Status, Kind string
			Attestations                *struct {
				Provenance *struct{ SourceRepository, Commit string }
			}
		}
	}
	if err := json.Unmarshal(stdout.Bytes(), &res); err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, p := range res.Packages {
		got[p.Name+"@"+p.Version] = p.Status
		if p.Status == "verified" && (p.Attestations == nil || p.Attestations.Provenance == nil ||
			p.Attestations.Provenance.SourceRepository == "" || len(p.Attestations.Provenance.Commit) != 40) {
			t.Errorf("%s@%s verified without source repository and commit", p.Name, p.Version)
		}
	}
	for _, d := range demoPackages {
		if s := got[d.name+"@"+d.version]; s != d.want {
			t.Errorf("%s@%s: status %q, want %q", d.name, d.version, s, d.want)
		}
	}
	if s := got["left-pad-fork@1.3.0"]; s != "skipped" {
		t.Errorf("git dependency: status %q, want skipped", s)
	}
	if n := len(res.Packages); n != len(demoPackages)+2 {
		t.Errorf("%d packages, want %d (the demo packages, a git dependency and a workspace)", n, len(demoPackages)+2)
	}
	if after := treeDigest(t, cache); after != before {
		t.Error("the offline demo modified its cache directory")
	}

	// SARIF of the same audit is valid SARIF 2.1.0 and points at the
	// tampered package's lockfile line.
	stdout.Reset()
	code = run(context.Background(), []string{"provaudit", "--offline", "--no-history", "--registry", demoRegistry, "--cache-dir", cache, "--format", "sarif", demoDir}, &stdout, &stderr)
	if code != exitFindings {
		t.Fatalf("sarif: exit code %d, want %d", code, exitFindings)
	}
	if err := sarifschema.Validate(stdout.Bytes()); err != nil {
		t.Fatalf("the demo's SARIF does not validate: %v", err)
	}
	if !strings.Contains(stdout.String(), `"startLine": 32`) || !strings.Contains(stdout.String(), "gundam-visor@1.0.1") {
		t.Errorf("SARIF does not point at gundam-visor's line 32:\n%s", stdout.String())
	}

	// The table (the README's actual command) names the tampered package.
	stdout.Reset()
	code = run(context.Background(), []string{"provaudit", "--offline", "--no-history", "--registry", demoRegistry, "--cache-dir", cache, "--all", demoDir}, &stdout, &stderr)
	if code != exitFindings || !strings.Contains(stdout.String(), "gundam-visor@1.0.1") || !strings.Contains(stdout.String(), "sigstore/sigstore-js") {
		t.Errorf("table demo: exit %d, output:\n%s", code, stdout.String())
	}
}

// treeDigest hashes every file name and content under dir.
func treeDigest(t *testing.T, dir string) string {
	t.Helper()
	d, err := digestTree(dir)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func digestTree(dir string) (string, error) {
	h := sha256.New()
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		fmt.Fprintf(h, "%s %v\n", filepath.ToSlash(rel), d.IsDir())
		if d.Type().IsRegular() {
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			h.Write(b)
		}
		return nil
	})
	return hex.EncodeToString(h.Sum(nil)), err
}

// buildDemoCache serves the recorded data from a fake registry that stands
// in for https://registry.invalid/ and lets a real fetch client fill the
// cache, exactly as an online audit of that registry would.
func buildDemoCache(t *testing.T) {
	t.Helper()
	lf, err := lockfile.Load(demoDir)
	if err != nil {
		t.Fatal(err)
	}
	locked := map[string]string{}
	for _, u := range lockfile.Units(lf) {
		if u.Kind == lockfile.KindRegistry {
			locked[u.Name+"@"+u.Version] = u.Integrity
		}
	}

	reg := registrytest.New(registrytest.Options{})
	defer reg.Close()
	reg.SetNoKeys(true)
	for _, d := range demoPackages {
		tgz := readTestdata(t, d.tarball)
		integrity := sriSHA512(tgz)
		if locked[d.name+"@"+d.version] != integrity {
			t.Fatalf("%s@%s: the demo lockfile pins %q, the recorded tarball is %q", d.name, d.version, locked[d.name+"@"+d.version], integrity)
		}
		body, provType := demoAttestations(t, d)
		doc := map[string]any{
			"name":    d.name,
			"version": d.version,
			"dist": map[string]any{
				"integrity": integrity,
				"shasum":    fmt.Sprintf("%x", sha1.Sum(tgz)),
				"tarball":   demoRegistry + d.name + "/-/" + d.name[strings.LastIndex(d.name, "/")+1:] + "-" + d.version + ".tgz",
				"attestations": map[string]any{
					"url":        demoRegistry + "-/npm/v1/attestations/" + url.PathEscape(d.name) + "@" + d.version,
					"provenance": map[string]string{"predicateType": provType},
				},
			},
		}
		docJSON, err := json.Marshal(doc)
		if err != nil {
			t.Fatal(err)
		}
		if err := reg.AddRecorded(d.name, d.version, docJSON, body); err != nil {
			t.Fatal(err)
		}
	}

	cacheDir := filepath.Join(demoDir, "cache")
	if err := os.RemoveAll(cacheDir); err != nil {
		t.Fatal(err)
	}
	cfg, err := fetch.LoadConfig(fetch.ConfigOptions{Registry: demoRegistry, Env: []string{"HOME=" + t.TempDir()}})
	if err != nil {
		t.Fatal(err)
	}
	target, _ := url.Parse(reg.URL())
	client, err := fetch.NewClient(cfg, fetch.Options{CacheDir: cacheDir, Transport: rewriteHost{target}})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, d := range demoPackages {
		m, err := client.Manifest(ctx, d.name, d.version, locked[d.name+"@"+d.version])
		if err != nil {
			t.Fatal(err)
		}
		if _, err := client.Attestations(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	if err := client.Close(); err != nil { // flushes the write-behind cache
		t.Fatal(err)
	}
	t.Logf("rebuilt %s with %d requests", cacheDir, client.Stats().Requests)
}

// demoAttestations returns the attestation response of a demo package and
// its provenance predicate type.
func demoAttestations(t *testing.T, d demoPackage) ([]byte, string) {
	t.Helper()
	type att struct {
		PredicateType string          `json:"predicateType"`
		Bundle        json.RawMessage `json:"bundle"`
	}
	var resp struct {
		Attestations []att `json:"attestations"`
	}
	var body []byte
	if d.attestations != "" {
		body = readTestdata(t, d.attestations)
		if err := json.Unmarshal(body, &resp); err != nil {
			t.Fatal(err)
		}
	} else {
		for _, b := range d.bundles {
			bundle := readTestdata(t, b)
			var probe struct {
				DSSEEnvelope struct{ Payload []byte } `json:"dsseEnvelope"`
			}
			if err := json.Unmarshal(bundle, &probe); err != nil {
				t.Fatal(err)
			}
			var st struct{ PredicateType string }
			if err := json.Unmarshal(probe.DSSEEnvelope.Payload, &st); err != nil {
				t.Fatal(err)
			}
			resp.Attestations = append(resp.Attestations, att{PredicateType: st.PredicateType, Bundle: bytes.TrimSpace(bundle)})
		}
		var err error
		if body, err = json.Marshal(resp); err != nil {
			t.Fatal(err)
		}
	}
	var types []string
	for _, a := range resp.Attestations {
		types = append(types, a.PredicateType)
	}
	sort.Strings(types)
	for _, p := range types {
		if strings.HasPrefix(p, "https://slsa.dev/provenance/") {
			return body, p
		}
	}
	t.Fatalf("%s@%s: no provenance among %v", d.name, d.version, types)
	return nil, ""
}

func readTestdata(t *testing.T, rel string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("../../testdata", rel))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func sriSHA512(b []byte) string {
	sum := sha512Sum(b)
	return "sha512-" + base64Std(sum)
}

// rewriteHost sends every request to the fake registry, whatever host the
// URL names, so the cache is keyed by the demo registry's URL.
type rewriteHost struct{ target *url.URL }

func (r rewriteHost) RoundTrip(req *http.Request) (*http.Response, error) {
	out := req.Clone(req.Context())
	out.URL.Scheme, out.URL.Host = r.target.Scheme, r.target.Host
	out.Host = r.target.Host
	return http.DefaultTransport.RoundTrip(out)
}

func sha512Sum(b []byte) []byte {
	s := sha512.Sum512(b)
	return s[:]
}

func base64Std(b []byte) string { return base64.StdEncoding.EncodeToString(b) }
