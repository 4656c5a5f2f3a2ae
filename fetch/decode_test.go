package fetch

import (
	"crypto/sha1"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"
)

func TestDecodeManifest(t *testing.T) {
	const reg = "https://r.invalid/"
	tests := []struct {
		name    string
		doc     string
		want    *Manifest
		wantErr error
	}{
		{"full", `{"name":"@s/a","version":"1.0.0","dist":{"integrity":"sha512-AAA","shasum":"abc","signatures":[{"keyid":"k1","sig":"s1"}],
			"attestations":{"url":"https://r.invalid/-/npm/v1/attestations/@s%2fa@1.0.0","provenance":{"predicateType":"https://slsa.dev/provenance/v1"}}}}`,
			&Manifest{Name: "@s/a", Version: "1.0.0", Integrity: "sha512-AAA", Shasum: "abc", Registry: reg,
				Signatures:   []Signature{{KeyID: "k1", Sig: "s1"}},
				Attestations: &AttestationRef{URL: "https://r.invalid/-/npm/v1/attestations/@s%2fa@1.0.0", PredicateType: "https://slsa.dev/provenance/v1"}}, nil},
		{"shasum only", `{"name":"@s/a","version":"1.0.0","dist":{"shasum":"abc"}}`,
			&Manifest{Name: "@s/a", Version: "1.0.0", Shasum: "abc", Registry: reg}, nil},
		{"empty signatures", `{"name":"@s/a","version":"1.0.0","dist":{"integrity":"x","signatures":[]}}`,
			&Manifest{Name: "@s/a", Version: "1.0.0", Integrity: "x", Registry: reg}, nil},
		{"attestations without provenance", `{"name":"@s/a","version":"1.0.0","dist":{"integrity":"x","attestations":{"url":"u"}}}`,
			&Manifest{Name: "@s/a", Version: "1.0.0", Integrity: "x", Registry: reg, Attestations: &AttestationRef{URL: "u"}}, nil},
		{"case matters", `{"Name":"@s/a","version":"1.0.0","dist":{"integrity":"x"}}`, nil, ErrMalformed},
		{"HTML", "  <!DOCTYPE html><html>", nil, ErrMalformed},
		{"null", `null`, nil, ErrMalformed},
		{"dist null", `{"name":"@s/a","version":"1.0.0","dist":null}`, nil, ErrMalformed},
		{"integrity not a string", `{"name":"@s/a","version":"1.0.0","dist":{"integrity":5}}`, nil, ErrMalformed},
		{"empty", ``, nil, ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := decodeManifest(strings.NewReader(tt.doc), "@s/a", "1.0.0", reg, "@s/a@1.0.0", "https://r.invalid/@s%2fa/1.0.0")
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("err = %v, want %v", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got, want := toJSON(t, m), toJSON(t, tt.want); got != want {
				t.Errorf("got  %s\nwant %s", got, want)
			}
		})
	}
}

func TestIntegrityConflict(t *testing.T) {
	sri := func(alg string, d []byte) string { return alg + "-" + base64.StdEncoding.EncodeToString(d) }
	da, db := sha512.Sum512([]byte("a")), sha512.Sum512([]byte("b"))
	d1, d1b := sha1.Sum([]byte("a")), sha1.Sum([]byte("b"))
	a, b, s1 := sri("sha512", da[:]), sri("sha512", db[:]), sri("sha1", d1[:])
	hex1, hex1b := hex.EncodeToString(d1[:]), hex.EncodeToString(d1b[:])
	tests := []struct {
		lock, integrity, shasum string
		want                    bool
	}{
		{"", a, "", false}, // unpinned: nothing to contradict
		{a, a, "", false},
		{a, b, "", true},
		{a + " " + s1, a, "", false},
		{a + "?opt", a + "?other", "", false}, // options do not count
		{s1, "", hex1, false},                 // shasum is sha1
		{s1, "", hex1b, true},
		{s1, a, "", false},                           // nothing in common: not a contradiction here
		{a + " " + s1, a, hex1b, true},               // the shasum contradicts the lockfile's sha1
		{a, a + " " + s1, hex1b, true},               // the served integrity and shasum disagree
		{a, "sha512-AAAA", "", true},                 // an unreadable served integrity is not used
		{a, a, "zz", true},                           // nor an unreadable shasum
		{"SHA512" + a[len("sha512"):], b, "", false}, // not a lockfile integrity npm reads
	}
	for _, tt := range tests {
		if got := integrityConflict(tt.lock, &Manifest{Integrity: tt.integrity, Shasum: tt.shasum}); got != tt.want {
			t.Errorf("integrityConflict(%q, %q/%q) = %v, want %v", tt.lock, tt.integrity, tt.shasum, got, tt.want)
		}
	}
}

func TestDecodePublishFacts(t *testing.T) {
	tests := []struct {
		name    string
		doc     string
		version string
		want    PublishInfo
		wantErr error
	}{
		{"object user", `{"name":"p","time":{"created":"x","1.0.0":"2021-02-03T04:05:06.789Z"},"versions":{"1.0.0":{"_npmUser":{"name":"ann","email":"e"}}}}`,
			"1.0.0", PublishInfo{Time: time.Date(2021, 2, 3, 4, 5, 6, 789e6, time.UTC), NpmUser: "ann"}, nil},
		{"time after versions", `{"versions":{"1.0.0":{"_npmUser":{"name":"ann"}}},"name":"p","time":{"1.0.0":"2021-02-03T04:05:06Z"}}`,
			"1.0.0", PublishInfo{Time: time.Date(2021, 2, 3, 4, 5, 6, 0, time.UTC), NpmUser: "ann"}, nil},
		{"escaped member name", `{"name":"p","versions":{"1.0.0":{"x\"":1,"_npm\u0055ser":{"name":"hidden"}}}}`, "1.0.0", PublishInfo{NpmUser: "hidden"}, nil},
		{"string user", `{"name":"p","versions":{"1.0.0":{"_npmUser":"old <old@example.invalid>"}}}`, "1.0.0", PublishInfo{NpmUser: "old"}, nil},
		{"no time, no user", `{"name":"p","versions":{"1.0.0":{}}}`, "1.0.0", PublishInfo{}, nil},
		{"time not an object", `{"name":"p","time":"nope","versions":{"1.0.0":{}}}`, "1.0.0", PublishInfo{}, nil},
		{"trusted publisher", `{"name":"p","versions":{"1.0.0":{"_npmUser":{"name":"GitHub Actions","trustedPublisher":{"id":"github","oidcConfigId":"oidc:1"}}}}}`,
			"1.0.0", PublishInfo{NpmUser: "GitHub Actions", TrustedPublisher: "github"}, nil},
		{"trusted publisher without id", `{"name":"p","versions":{"1.0.0":{"_npmUser":{"name":"u","trustedPublisher":{}}}}}`,
			"1.0.0", PublishInfo{NpmUser: "u", TrustedPublisher: "unknown"}, nil},
		{"trusted publisher true", `{"name":"p","versions":{"1.0.0":{"_npmUser":{"name":"u","trustedPublisher":true}}}}`,
			"1.0.0", PublishInfo{NpmUser: "u", TrustedPublisher: "unknown"}, nil},
		{"trusted publisher null", `{"name":"p","versions":{"1.0.0":{"_npmUser":{"name":"u","trustedPublisher":null}}}}`,
			"1.0.0", PublishInfo{NpmUser: "u"}, nil},
		{"top-level trusted publisher", `{"name":"p","versions":{"1.0.0":{"trustedPublisher":{"id":"gitlab"}}}}`,
			"1.0.0", PublishInfo{TrustedPublisher: "gitlab"}, nil},
		{"other version malformed", `{"name":"p","versions":{"0.9.0":{"_npmUser":5},"1.0.0":{"_npmUser":{"name":"ok"}}}}`,
			"1.0.0", PublishInfo{NpmUser: "ok"}, nil},
		// A malformed _npmUser is a fact that is missing, never a failure.
		{"own version malformed user", `{"name":"p","versions":{"1.0.0":{"_npmUser":5}}}`, "1.0.0", PublishInfo{}, nil},
		{"own version malformed user name", `{"name":"p","versions":{"1.0.0":{"_npmUser":{"name":5,"trustedPublisher":{"id":"github"}}}}}`, "1.0.0", PublishInfo{TrustedPublisher: "github"}, nil},
		{"own version user twice", `{"name":"p","versions":{"1.0.0":{"_npmUser":{"name":"a","trustedPublisher":{"id":"github"}},"_npmUser":{"name":"b"}}}}`, "1.0.0", PublishInfo{}, nil},
		{"own version not an object", `{"name":"p","versions":{"1.0.0":[]}}`, "1.0.0", PublishInfo{}, ErrMalformed},
		{"bad time", `{"name":"p","time":{"1.0.0":"yesterday"},"versions":{"1.0.0":{}}}`, "1.0.0", PublishInfo{}, ErrMalformed},
		{"missing version", `{"name":"p","time":{"1.0.0":"2021-02-03T04:05:06Z"},"versions":{}}`, "1.0.0", PublishInfo{}, ErrNotFound},
		{"wrong name", `{"name":"q","versions":{"1.0.0":{}}}`, "1.0.0", PublishInfo{}, ErrMalformed},
		{"no name", `{"versions":{"1.0.0":{}}}`, "1.0.0", PublishInfo{}, ErrMalformed},
		{"versions not an object", `{"name":"p","versions":[]}`, "1.0.0", PublishInfo{}, ErrMalformed},
		{"duplicate member", `{"name":"p","name":"p","versions":{"1.0.0":{}}}`, "1.0.0", PublishInfo{}, ErrMalformed},
		{"trailing data", `{"name":"p","versions":{"1.0.0":{}}}x`, "1.0.0", PublishInfo{}, ErrMalformed},
		{"truncated", `{"name":"p","versions":{"1.0.0":{}`, "1.0.0", PublishInfo{}, ErrMalformed},
		{"HTML", `<html><body>502</body></html>`, "1.0.0", PublishInfo{}, ErrMalformed},
		{"empty", ``, "1.0.0", PublishInfo{}, ErrMalformed},
	}
	// Every case holds whether all versions are kept or only the one asked
	// for (what PublishInfo keeps when no siblings are given).
	for _, keep := range []map[string]bool{nil, {"1.0.0": true}} {
		for _, tt := range tests {
			t.Run(fmt.Sprintf("%s/keep=%v", tt.name, keep), func(t *testing.T) {
				checkPublishFacts(t, tt.doc, tt.version, keep, tt.want, tt.wantErr)
			})
		}
	}
}

// TestDecodePublishFactsKeep shows that only the versions asked for are
// kept, that one not asked for reads as absent, and that a malformed
// version not asked for still fails the document only when it is not JSON.
func TestDecodePublishFactsKeep(t *testing.T) {
	const doc = `{"name":"p","time":{"0.9.0":"2020-01-01T00:00:00Z","1.0.0":"2021-02-03T04:05:06Z","2.0.0":"bad"},` +
		`"versions":{"0.9.0":{"_npmUser":{"name":"old"}},"1.0.0":{"_npmUser":{"name":"ann"}},"2.0.0":{"_npmUser":5}}}`
	pf, err := decodePublishFacts(strings.NewReader(doc), "p", "u", map[string]bool{"1.0.0": true, "3.0.0": true}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(pf.versions) != 1 || len(pf.times) != 1 {
		t.Errorf("kept %d versions and %d times, want 1 and 1", len(pf.versions), len(pf.times))
	}
	if !pf.kept("1.0.0") || !pf.kept("3.0.0") || pf.kept("0.9.0") || pf.kept("2.0.0") {
		t.Error("kept() does not follow the keep set")
	}
	pi, err := pf.lookup("p", "1.0.0", "u")
	if err != nil || pi.NpmUser != "ann" || !pi.Time.Equal(time.Date(2021, 2, 3, 4, 5, 6, 0, time.UTC)) {
		t.Errorf("lookup 1.0.0 = %+v, %v", pi, err)
	}
	if _, err := pf.lookup("p", "3.0.0", "u"); !errors.Is(err, ErrNotFound) {
		t.Errorf("lookup of a kept but absent version: %v, want ErrNotFound", err)
	}
	if _, err := decodePublishFacts(strings.NewReader(`{"name":"p","versions":{"0.9.0":{"x":},"1.0.0":{}}}`), "p", "u", map[string]bool{"1.0.0": true}, nil); !errors.Is(err, ErrMalformed) {
		t.Errorf("a skipped version that is not JSON: %v, want ErrMalformed", err)
	}
}

// checkPublishFacts decodes doc keeping keep, looks version up and
// compares with want or wantErr.
func checkPublishFacts(t *testing.T, doc, version string, keep map[string]bool, want PublishInfo, wantErr error) {
	t.Helper()
	const url = "https://r.invalid/p"
	pf, err := decodePublishFacts(strings.NewReader(doc), "p", url, keep, nil)
	var pi *PublishInfo
	if err == nil {
		pi, err = pf.lookup("p", version, url)
	}
	if wantErr != nil {
		if !errors.Is(err, wantErr) {
			t.Fatalf("err = %v, want %v", err, wantErr)
		}
		if !strings.Contains(err.Error(), "p") || !strings.Contains(err.Error(), url) {
			t.Errorf("err %q does not name the package and URL", err)
		}
		return
	}
	if err != nil {
		t.Fatal(err)
	}
	if !pi.Time.Equal(want.Time) || pi.NpmUser != want.NpmUser || pi.TrustedPublisher != want.TrustedPublisher {
		t.Errorf("got %+v, want %+v", *pi, want)
	}
}

// TestDecodeRecordedPackuments reads the real recorded packuments in both
// forms with both stream decoders.
func TestDecodeRecordedPackuments(t *testing.T) {
	tests := []struct {
		file, name, version string
		sigs                int
	}{
		{"../testdata/manifests/npm-cli-arborist/has-package-exports.json", "has-package-exports", "1.2.0", 1},
		{"../testdata/manifests/npm-cli-arborist/has-package-exports.min.json", "has-package-exports", "1.2.0", 1},
		{"../testdata/manifests/npm-cli-arborist/ljharb-has-package-exports-patterns.json", "@ljharb/has-package-exports-patterns", "0.0.2", 1},
		{"../testdata/manifests/pacote/abbrev-packument-full.json", "abbrev", "1.1.1", 0},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			data, err := os.ReadFile(tt.file)
			if err != nil {
				t.Fatal(err)
			}
			cg, err := decodeCorgi(strings.NewReader(string(data)), tt.name, tt.version, "https://r.invalid/", "u")
			if err != nil {
				t.Fatal(err)
			}
			m := cg.versions[tt.version]
			if m == nil || len(m.Signatures) != tt.sigs || !strings.HasPrefix(m.Integrity, "sha") {
				t.Fatalf("%s: %+v (errors %v)", tt.version, m, cg.errs)
			}
			if !strings.HasSuffix(tt.file, ".min.json") {
				pf, err := decodePublishFacts(strings.NewReader(string(data)), tt.name, "u", map[string]bool{tt.version: true}, nil)
				if err != nil {
					t.Fatal(err)
				}
				pi, err := pf.lookup(tt.name, tt.version, "u")
				if err != nil || pi.Time.IsZero() || pi.NpmUser == "" {
					t.Errorf("publish facts: %+v, %v", pi, err)
				}
			}
		})
	}
}

func toJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
