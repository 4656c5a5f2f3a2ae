package registrytest

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const (
	attestationsDir = "../../testdata/attestations"
	manifestsDir    = "../../testdata/manifests"
	realNpmKeys     = "../../testdata/trust/corepack/npm-keys-endpoint.json"
)

func TestLoadFixtures(t *testing.T) {
	fixtures, err := LoadFixtures(attestationsDir)
	if err != nil {
		t.Fatal(err)
	}
	// From testdata/MANIFEST.md, section 1.
	want := map[string]struct {
		tarball bool
		publish string // integrated time of the publish attestation
		prov    string
	}{
		"sigstore@1.0.0":     {true, "2023-02-09T17:56:02Z", "https://slsa.dev/provenance/v0.2"},
		"tuf-js@1.0.0":       {true, "2023-02-09T17:38:27Z", "https://slsa.dev/provenance/v0.2"},
		"sigstore@0.4.0":     {true, "2023-01-11T17:31:54Z", "https://slsa.dev/provenance/v0.2"},
		"gundam-visor@1.0.1": {true, "2024-06-03T22:18:01Z", "https://slsa.dev/provenance/v1"},
		"@laurentsimon/provenance-npm-test@1.0.0":  {false, "2023-02-15T19:33:35Z", "https://slsa.dev/provenance/v0.2"},
		"@laurentsimon/provenance-npm-test@1.0.3":  {true, "2023-04-20T17:17:21Z", "https://slsa.dev/provenance/v0.2"},
		"@laurentsimon/provenance-npm-test@1.0.5":  {true, "2023-05-18T17:58:57Z", "https://slsa.dev/provenance/v0.2"},
		"@trishankatdatadog/supreme-goggles@1.0.5": {true, "2023-05-16T17:33:01Z", "https://slsa.dev/provenance/v0.2"},
	}
	if len(fixtures) != len(want) {
		t.Errorf("%d fixtures, want %d", len(fixtures), len(want))
	}
	for _, f := range fixtures {
		id := f.Name + "@" + f.Version
		w, ok := want[id]
		if !ok {
			t.Errorf("unexpected fixture %s (%s)", id, f.File)
			continue
		}
		if (f.Tarball != nil) != w.tarball {
			t.Errorf("%s: tarball found = %v, want %v", id, f.Tarball != nil, w.tarball)
		}
		if f.Tarball != nil && sriSHA512(f.Tarball) != f.Integrity {
			t.Errorf("%s: integrity is not the tarball's", id)
		}
		if !strings.HasPrefix(f.Integrity, "sha512-") {
			t.Errorf("%s: integrity %q", id, f.Integrity)
		}
		if got := f.PublishTime.Format(time.RFC3339); got != w.publish {
			t.Errorf("%s: publish time %s, want %s", id, got, w.publish)
		}
		if f.ProvenanceType() != w.prov || len(f.PredicateTypes) != 2 {
			t.Errorf("%s: predicate types %q", id, f.PredicateTypes)
		}
		onDisk, err := os.ReadFile(f.File)
		if err != nil || !bytes.Equal(onDisk, f.Attestations) {
			t.Errorf("%s: Attestations are not the file's bytes (%v)", id, err)
		}
	}
}

func TestAddRecordedFixtures(t *testing.T) {
	r := newRegistry(t, Options{})
	fixtures, err := r.AddRecordedFixtures(attestationsDir)
	if err != nil {
		t.Fatal(err)
	}
	keys := keysFrom(t, mustGet(t, r, "/-/npm/v1/keys"))
	for _, f := range fixtures {
		id := f.Name + "@" + f.Version
		esc := strings.Replace(f.Name, "/", "%2f", 1)
		doc := decode[testVersionDoc](t, mustGet(t, r, "/"+esc+"/"+f.Version))
		if doc.Dist.Integrity != f.Integrity {
			t.Errorf("%s: integrity %q, want %q", id, doc.Dist.Integrity, f.Integrity)
		}
		if len(doc.Dist.Signatures) != 1 || !verifyRegistrySig(keys, doc.Dist.Signatures[0].KeyID, doc.Dist.Signatures[0].Sig, f.Name, f.Version, f.Integrity) {
			t.Errorf("%s: no valid registry signature by the fake key", id)
		}
		a := doc.Dist.Attestations
		if a == nil || a.Provenance == nil || a.Provenance.PredicateType != f.ProvenanceType() {
			t.Fatalf("%s: dist.attestations %+v", id, a)
		}
		if body := mustGet(t, r, strings.TrimPrefix(a.URL, r.URL())); !bytes.Equal(body, f.Attestations) {
			t.Errorf("%s: attestation body differs from the recorded file", id)
		}
		if f.Tarball != nil {
			if tgz := mustGet(t, r, strings.TrimPrefix(doc.Dist.Tarball, r.URL())); !bytes.Equal(tgz, f.Tarball) {
				t.Errorf("%s: tarball differs", id)
			}
		}
		pk := decode[testPackument](t, mustGet(t, r, "/"+esc))
		if pt, err := time.Parse(time.RFC3339, pk.Time[f.Version]); err != nil || !pt.Equal(f.PublishTime) {
			t.Errorf("%s: time[version] %q, want %v", id, pk.Time[f.Version], f.PublishTime)
		}
	}
}

func TestAddRecordedManifests(t *testing.T) {
	r := newRegistry(t, Options{})
	if err := r.AddRecordedManifests(manifestsDir); err != nil {
		t.Fatal(err)
	}
	realKeys, err := os.ReadFile(realNpmKeys)
	if err != nil {
		t.Fatal(err)
	}
	r.SetKeys(realKeys)
	keys := keysFrom(t, mustGet(t, r, "/-/npm/v1/keys"))

	// Packuments come back byte for byte, full and abbreviated.
	for name, file := range map[string]string{
		"has-package-exports":                  "npm-cli-arborist/has-package-exports",
		"@ljharb/has-package-exports-patterns": "npm-cli-arborist/ljharb-has-package-exports-patterns",
	} {
		full, err := os.ReadFile(filepath.Join(manifestsDir, file+".json"))
		if err != nil {
			t.Fatal(err)
		}
		min, err := os.ReadFile(filepath.Join(manifestsDir, file+".min.json"))
		if err != nil {
			t.Fatal(err)
		}
		path := "/" + strings.Replace(name, "/", "%2f", 1)
		if got := mustGet(t, r, path); !bytes.Equal(got, full) {
			t.Errorf("%s: full packument is not the recorded bytes", name)
		}
		resp := get(t, r, path, "Accept", abbreviatedType)
		if !bytes.Equal(resp.body, min) || resp.header.Get("Content-Type") != abbreviatedType {
			t.Errorf("%s: abbreviated packument is not the recorded bytes (%s)", name, resp.header.Get("Content-Type"))
		}
		// Every version document carries the real signature, which verifies
		// with the real key: the recorded bytes went through unchanged.
		pk := decode[testPackument](t, full)
		for v := range pk.Versions {
			d := decode[testVersionDoc](t, mustGet(t, r, path+"/"+v))
			if len(d.Dist.Signatures) != 1 || !verifyRegistrySig(keys, d.Dist.Signatures[0].KeyID, d.Dist.Signatures[0].Sig, name, v, d.Dist.Integrity) {
				t.Errorf("%s@%s: recorded signature does not verify", name, v)
			}
		}
		latest := decode[testVersionDoc](t, mustGet(t, r, path+"/latest"))
		if latest.Version != pk.DistTags["latest"] {
			t.Errorf("%s: /latest is %s, want %s", name, latest.Version, pk.DistTags["latest"])
		}
	}

	// An npm view output is served as a version document, as is.
	view, err := os.ReadFile(filepath.Join(manifestsDir, "midas-npm-view/tag.json"))
	if err != nil {
		t.Fatal(err)
	}
	if got := mustGet(t, r, "/@midas-ds%2ftag/0.1.2"); !bytes.Equal(got, view) {
		t.Error("@midas-ds/tag@0.1.2: not the recorded bytes")
	}
	// npm view writes _npmUser as a string: read only dist.
	d := decode[struct {
		Dist struct {
			Integrity  string `json:"integrity"`
			Signatures []struct {
				KeyID string `json:"keyid"`
				Sig   string `json:"sig"`
			} `json:"signatures"`
		} `json:"dist"`
	}](t, view)
	if len(d.Dist.Signatures) != 1 {
		t.Fatalf("@midas-ds/tag@0.1.2: %d signatures", len(d.Dist.Signatures))
	}
	if !verifyRegistrySig(keys, d.Dist.Signatures[0].KeyID, d.Dist.Signatures[0].Sig, "@midas-ds/tag", "0.1.2", d.Dist.Integrity) {
		t.Error("@midas-ds/tag@0.1.2: recorded signature does not verify")
	}
	pk := decode[struct {
		Time map[string]string `json:"time"`
	}](t, mustGet(t, r, "/@midas-ds/tag"))
	if pk.Time["0.1.2"] != "2024-11-15T14:24:05.461Z" {
		t.Errorf("time from the npm view output: %q", pk.Time["0.1.2"])
	}

	// The pacote packument has no abbreviated twin: one is derived.
	ab := get(t, r, "/abbrev", "Accept", abbreviatedType)
	var m map[string]json.RawMessage
	if err := json.Unmarshal(ab.body, &m); err != nil || m["time"] != nil || bytes.Contains(ab.body, []byte("_npmUser")) {
		t.Errorf("derived abbreviated packument: err %v, %.200s", err, ab.body)
	}
	if n := len(decode[testPackument](t, ab.body).Versions); n == 0 {
		t.Error("derived abbreviated packument has no versions")
	}

	// Adding a generated version drops the verbatim packument.
	if err := r.Add(Package{Name: "abbrev", Version: "9.9.9"}); err != nil {
		t.Fatal(err)
	}
	if pk := decode[testPackument](t, mustGet(t, r, "/abbrev")); pk.Versions["9.9.9"].Version != "9.9.9" || pk.Versions["1.1.1"].Version != "1.1.1" {
		t.Error("packument after Add lacks the new or the recorded versions")
	}
}

func TestAddRecorded(t *testing.T) {
	r := newRegistry(t, Options{Now: published})
	doc := []byte(`{"name":"wrong-on-purpose","version":"1.0.0","dist":{"integrity":"sha512-AAAA"}}`)
	att := []byte(`{"attestations":[]}`)
	if err := r.AddRecorded("x", "1.0.0", doc, att); err != nil {
		t.Fatal(err)
	}
	if got := mustGet(t, r, "/x/1.0.0"); !bytes.Equal(got, doc) {
		t.Errorf("doc: %s", got)
	}
	if got := mustGet(t, r, "/-/npm/v1/attestations/x@1.0.0"); !bytes.Equal(got, att) {
		t.Errorf("attestations: %s", got)
	}
	pk := decode[testPackument](t, mustGet(t, r, "/x"))
	if pk.Time["1.0.0"] != "2024-03-05T10:20:30.000Z" {
		t.Errorf("time[1.0.0] = %q, want Options.Now", pk.Time["1.0.0"])
	}
	for _, tc := range []struct {
		name, version string
		doc, att      []byte
	}{
		{"", "1.0.0", doc, nil},
		{"x", "", doc, nil},
		{"x", "1.0.0", nil, nil},
		{"x", "1.0.0", []byte(`[1]`), nil},
		{"x", "1.0.0", []byte(`{`), nil},
		{"x", "1.0.0", doc, []byte(`{`)},
	} {
		if err := r.AddRecorded(tc.name, tc.version, tc.doc, tc.att); !errors.Is(err, ErrFixture) {
			t.Errorf("AddRecorded(%q, %q, %q, %q) = %v, want ErrFixture", tc.name, tc.version, tc.doc, tc.att, err)
		}
	}
}

func TestAddRecordedPackumentErrors(t *testing.T) {
	r := newRegistry(t, Options{})
	full := []byte(`{"name":"p","versions":{"1.0.0":{"name":"p","version":"1.0.0"}}}`)
	for _, tc := range []struct {
		name        string
		full, abbrv []byte
	}{
		{"not JSON", []byte(`nope`), nil},
		{"no name", []byte(`{"versions":{"1.0.0":{}}}`), nil},
		{"no versions", []byte(`{"name":"p","versions":{}}`), nil},
		{"bad abbreviated", full, []byte(`{`)},
		{"abbreviated of another package", full, []byte(`{"name":"q","versions":{}}`)},
		{"version not an object", []byte(`{"name":"p","versions":{"1.0.0":7}}`), nil},
	} {
		if err := r.AddRecordedPackument(tc.full, tc.abbrv); !errors.Is(err, ErrFixture) {
			t.Errorf("%s: err = %v, want ErrFixture", tc.name, err)
		}
	}
	if s := get(t, r, "/p").status; s != http.StatusNotFound {
		t.Errorf("a failed AddRecordedPackument added p (status %d)", s)
	}
}

func TestLoadFixturesErrors(t *testing.T) {
	valid, err := os.ReadFile(filepath.Join(attestationsDir, "npm-cli/valid-tuf-js-attestations.json"))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name  string
		files map[string][]byte
	}{
		{"empty dir", map[string][]byte{}},
		{"not JSON", map[string][]byte{"a.json": []byte("<html>")}},
		{"no attestations", map[string][]byte{"a.json": []byte(`{"attestations":[]}`)}},
		{"no DSSE envelope", map[string][]byte{"a.json": []byte(`{"attestations":[{"predicateType":"x","bundle":{}}]}`)}},
		{"payload not base64", map[string][]byte{"a.json": []byte(`{"attestations":[{"bundle":{"dsseEnvelope":{"payload":"!!"}}}]}`)}},
		{"subject not npm", map[string][]byte{"a.json": bundleWith(`{"subject":[{"name":"pkg:pypi/x@1","digest":{"sha512":"` + strings.Repeat("ab", 64) + `"}}]}`)}},
		{"no sha512", map[string][]byte{"a.json": bundleWith(`{"subject":[{"name":"pkg:npm/x@1","digest":{"sha256":"ab"}}]}`)}},
		{"short digest", map[string][]byte{"a.json": bundleWith(`{"subject":[{"name":"pkg:npm/x@1","digest":{"sha512":"abcd"}}]}`)}},
		{"no version", map[string][]byte{"a.json": bundleWith(`{"subject":[{"name":"pkg:npm/x","digest":{"sha512":"` + strings.Repeat("ab", 64) + `"}}]}`)}},
		{"duplicate", map[string][]byte{"a.json": valid, "b.json": valid}},
		{"tarball of other bytes", map[string][]byte{"tuf.tgz.json": valid, "tuf.tgz": []byte("tampered")}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			for name, data := range tc.files {
				if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := LoadFixtures(dir); !errors.Is(err, ErrFixture) {
				t.Fatalf("err = %v, want ErrFixture", err)
			}
			r := newRegistry(t, Options{})
			if _, err := r.AddRecordedFixtures(dir); !errors.Is(err, ErrFixture) {
				t.Fatalf("AddRecordedFixtures: err = %v, want ErrFixture", err)
			}
		})
	}
	if _, err := LoadFixtures(filepath.Join(t.TempDir(), "missing")); !errors.Is(err, ErrFixture) {
		t.Errorf("missing dir: err = %v", err)
	}
	r := newRegistry(t, Options{})
	if err := r.AddRecordedManifests(t.TempDir()); !errors.Is(err, ErrFixture) {
		t.Errorf("AddRecordedManifests(empty): err = %v", err)
	}
}

// bundleWith makes an attestation response whose one bundle carries stmt.
func bundleWith(stmt string) []byte {
	b, _ := json.Marshal(map[string]any{"attestations": []any{map[string]any{
		"predicateType": "x",
		"bundle":        map[string]any{"dsseEnvelope": map[string]any{"payload": []byte(stmt)}},
	}}})
	return b
}
