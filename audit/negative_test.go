package audit

import (
	"context"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/provaudit/provaudit/fetch"
	"github.com/provaudit/provaudit/internal/registrytest"
	"github.com/provaudit/provaudit/lockfile"
	"github.com/provaudit/provaudit/verify"
)

// TestRunNegativeFixtures runs every recorded negative npm attestations
// response (verify.TestNegativeAttestations checks each one's reason)
// through the whole audit path: served by a registry, fetched, verified
// against the embedded trust material. Each must end invalid with an
// attestation-invalid finding, never verified or signed.
func TestRunNegativeFixtures(t *testing.T) {
	trust, err := verify.NewTrust(verify.TrustOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range registrytest.NegativeFixtures {
		t.Run(f.File, func(t *testing.T) {
			read := func(rel string) []byte {
				b, err := os.ReadFile(filepath.Join("..", "testdata", filepath.FromSlash(rel)))
				if err != nil {
					t.Fatal(err)
				}
				return b
			}
			var digest []byte
			if f.Tarball != "" {
				sum := sha512.Sum512(read(f.Tarball))
				digest = sum[:]
			} else if digest, err = hex.DecodeString(f.DigestHex); err != nil {
				t.Fatal(err)
			}
			integrity := "sha512-" + base64.StdEncoding.EncodeToString(digest)

			reg := registrytest.New(registrytest.Options{})
			t.Cleanup(reg.Close)
			reg.SetNoKeys(true)
			doc, err := json.Marshal(map[string]any{"name": f.Name, "version": f.Version, "dist": map[string]any{
				"integrity": integrity,
				"attestations": map[string]any{"url": reg.URL() + "-/npm/v1/attestations/" + f.Name + "@" + f.Version,
					"provenance": map[string]string{"predicateType": f.Predicate}},
			}})
			if err != nil {
				t.Fatal(err)
			}
			if err := reg.AddRecorded(f.Name, f.Version, doc, read(f.File)); err != nil {
				t.Fatal(err)
			}
			base := f.Name[strings.LastIndexByte(f.Name, '/')+1:]
			lf, err := lockfile.Parse("package-lock.json", fmt.Appendf(nil,
				`{"lockfileVersion": 3, "packages": {"": {}, "node_modules/%s": {"version": %q, "resolved": "https://registry.invalid/%s/-/%s-%s.tgz", "integrity": %q}}}`,
				f.Name, f.Version, f.Name, base, f.Version, integrity))
			if err != nil {
				t.Fatal(err)
			}
			cfg, err := fetch.LoadConfig(fetch.ConfigOptions{Registry: reg.URL(), Env: []string{"HOME=" + t.TempDir()}})
			if err != nil {
				t.Fatal(err)
			}
			client, err := fetch.NewClient(cfg, fetch.Options{NoCache: true})
			if err != nil {
				t.Fatal(err)
			}
			res, err := Run(context.Background(), Options{Lockfile: lf, Config: cfg, Client: client, Trust: trust})
			if err != nil {
				t.Fatal(err)
			}
			p := res.Packages[0]
			if p.Status != StatusInvalid || len(p.Findings) == 0 || p.Findings[0].Rule != RuleAttestationInvalid {
				t.Fatalf("%s@%s: %s %v (%s)", f.Name, f.Version, p.Status, p.Findings, p.Reason)
			}
			if p.Attestations.Provenance != nil || p.Attestations.Publish != nil {
				t.Fatalf("facts of invalid attestations reported: %+v", p.Attestations)
			}
		})
	}
}
