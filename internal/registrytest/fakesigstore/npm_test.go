package fakesigstore_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/provaudit/provaudit/internal/registrytest/fakesigstore"
)

// npmModules returns the node_modules folder of the installed npm, whose
// sigstore-js libraries are what `npm audit signatures` verifies with. It
// skips the test when node or npm is not installed.
func npmModules(t *testing.T) (node, modules string) {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node is not installed; sigstore-js compatibility not checked")
	}
	npm, err := exec.LookPath("npm")
	if err != nil {
		t.Skip("npm is not installed; sigstore-js compatibility not checked")
	}
	out, err := exec.Command(npm, "root", "--global").Output()
	if err != nil {
		t.Skipf("npm root --global: %v", err)
	}
	modules = filepath.Join(strings.TrimSpace(string(out)), "npm", "node_modules")
	if _, err := exec.Command(node, "-e", "require(process.argv[1])", filepath.Join(modules, "@sigstore", "verify")).Output(); err != nil {
		t.Skipf("npm at %s bundles no @sigstore/verify: %v", modules, err)
	}
	return node, modules
}

// TestNpmSigstoreJSAccepts checks the data against npm's own verifier
// (sigstore-js, as bundled with the installed npm): every variant verifies,
// the way pacote verifies it for `npm audit signatures`, and tampered copies
// do not.
func TestNpmSigstoreJSAccepts(t *testing.T) {
	node, modules := npmModules(t)
	s := newFake(t, fakesigstore.Options{})
	var keysBody struct {
		Keys []struct {
			KeyID string `json:"keyid"`
			Key   string `json:"key"`
		} `json:"keys"`
	}
	if err := json.Unmarshal(s.NpmKeys(), &keysBody); err != nil {
		t.Fatal(err)
	}
	keys := map[string]string{}
	for _, k := range keysBody.Keys {
		keys[k.KeyID] = k.Key
	}
	type want struct {
		name string
		ok   bool
	}
	var bundles []json.RawMessage
	var wants []want
	add := func(name string, b []byte, ok bool) {
		bundles = append(bundles, b)
		wants = append(wants, want{name, ok})
	}
	integrity, _ := integrityOf("npm")
	for _, mt := range fakesigstore.MediaTypes {
		for _, kind := range fakesigstore.EntryKinds {
			for _, pt := range fakesigstore.ProvenancePredicateTypes {
				a := fakesigstore.Attest{Name: "@npm/check", Version: "1.0.0", Integrity: integrity, MediaType: mt, EntryKind: kind, PredicateType: pt}
				body, err := s.Attestations(a)
				if err != nil {
					t.Fatal(err)
				}
				doc := decodeAttestations(t, body)
				name := fmt.Sprintf("%s/%s/%s", mt, kind, pt)
				add(name+"/publish", doc.Attestations[0].Bundle, true)
				add(name+"/provenance", doc.Attestations[1].Bundle, true)
				for _, part := range []fakesigstore.Part{fakesigstore.TamperSignature, fakesigstore.TamperSET, fakesigstore.TamperInclusionProof, fakesigstore.TamperCheckpoint} {
					for i, which := range []string{"publish", "provenance"} {
						bad, err := fakesigstore.Tamper(doc.Attestations[i].Bundle, part)
						if err != nil {
							t.Fatal(err)
						}
						add(fmt.Sprintf("%s/%s/tampered %s", name, which, part), bad, false)
					}
				}
				bad, err := fakesigstore.Tamper(doc.Attestations[1].Bundle, fakesigstore.TamperCertificate)
				if err != nil {
					t.Fatal(err)
				}
				add(name+"/provenance/tampered certificate", bad, false)
			}
		}
	}
	gitlab, err := s.Attestations(fakesigstore.Attest{Name: "gl", Version: "1.0.0", Integrity: integrity, Repository: "https://gitlab.com/g/gl"})
	if err != nil {
		t.Fatal(err)
	}
	for i, att := range decodeAttestations(t, gitlab).Attestations {
		add(fmt.Sprintf("GitLab/%d", i), att.Bundle, true)
	}
	request, err := json.Marshal(map[string]any{"trustedRoot": json.RawMessage(s.TrustedRoot()), "keys": keys, "bundles": bundles})
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(node, filepath.Join("testdata", "npmverify.js"), modules)
	cmd.Stdin = bytes.NewReader(request)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("node npmverify.js: %v\n%s", err, stderr.Bytes())
	}
	var results []struct {
		OK    bool   `json:"ok"`
		Error string `json:"error"`
	}
	if err := json.Unmarshal(out, &results); err != nil {
		t.Fatalf("npmverify.js output: %v\n%s", err, out)
	}
	if len(results) != len(wants) {
		t.Fatalf("got %d results for %d bundles", len(results), len(wants))
	}
	for i, w := range wants {
		if results[i].OK != w.ok {
			t.Errorf("%s: sigstore-js ok=%v (%s), want ok=%v", w.name, results[i].OK, results[i].Error, w.ok)
		}
	}
}
