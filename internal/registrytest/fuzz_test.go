package registrytest

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzRoute sends arbitrary request paths through the registry handler:
// it must never panic, answer only with known statuses, and send JSON
// whenever it answers 200 with a JSON content type.
func FuzzRoute(f *testing.F) {
	r := New(Options{})
	defer r.Close()
	if err := r.Add(
		Package{Name: "@scope/pkg", Version: "1.0.0", Signed: true, Attested: true, Tarball: []byte("t"), Versions: 3},
		Package{Name: "plain", Version: "2.0.0-rc.1", Signed: true},
	); err != nil {
		f.Fatal(err)
	}
	for _, s := range []string{
		"/@scope%2fpkg/1.0.0", "/@scope/pkg", "/%40scope%2Fpkg/latest", "/plain/2.0.0-rc.1",
		"/-/npm/v1/keys", "/-/npm/v1/attestations/@scope%2fpkg@1.0.0", "/-/npm/v1/attestations/@",
		"/@scope/pkg/-/pkg-1.0.0.tgz", "/-/registrytest/stats", "//", "/@", "/@/", "/-/", "/%2f%2f",
	} {
		f.Add(s, false)
		f.Add(s, true)
	}
	f.Fuzz(func(t *testing.T, path string, abbreviated bool) {
		u, err := url.Parse("http://registry.invalid" + path)
		if err != nil || u.Path == "" || !strings.HasPrefix(u.Path, "/") || u.Host != "registry.invalid" {
			return
		}
		req := httptest.NewRequest(http.MethodGet, "http://registry.invalid/", nil)
		req.URL = u
		req.RequestURI = u.RequestURI()
		if abbreviated {
			req.Header.Set("Accept", abbreviatedType)
		}
		w := httptest.NewRecorder()
		r.serveHTTP(w, req)
		switch w.Code {
		case http.StatusOK, http.StatusBadRequest, http.StatusNotFound:
		default:
			t.Fatalf("GET %q: status %d", path, w.Code)
		}
		ct := w.Header().Get("Content-Type")
		if w.Code == http.StatusOK && (ct == "application/json" || ct == abbreviatedType) && !json.Valid(w.Body.Bytes()) {
			t.Fatalf("GET %q: invalid JSON body %.200q", path, w.Body.Bytes())
		}
	})
}

// FuzzParseFixture parses arbitrary attestation responses: no panic, and
// whatever loads has a name, a version and a sha512 integrity. The seeds are
// the recorded responses cut down to their publish attestation's statement
// and log time (whole bundles make the fuzzer spend its time minimizing).
func FuzzParseFixture(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join(attestationsDir, "*", "*.json"))
	for _, name := range files {
		data, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		var resp attestationResponse
		if err := json.Unmarshal(data, &resp); err != nil {
			f.Fatal(err)
		}
		for _, a := range resp.Attestations {
			if a.PredicateType != publishPredicate {
				continue
			}
			one := resp
			one.Attestations = slices.Clone(resp.Attestations[:0])
			one.Attestations = append(one.Attestations, a)
			seed, err := json.Marshal(one)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(seed)
		}
	}
	f.Add(bundleWith(`{"subject":[{"name":"pkg:npm/%40a/b@1","digest":{"sha512":"` + strings.Repeat("0", 128) + `"}}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		fx, err := parseFixture("fuzz.json", data)
		if err != nil {
			if !errors.Is(err, ErrFixture) {
				t.Fatalf("error without ErrFixture: %v", err)
			}
			return
		}
		if fx.Name == "" || fx.Version == "" || !strings.HasPrefix(fx.Integrity, "sha512-") || len(fx.PredicateTypes) == 0 {
			t.Fatalf("loaded an incomplete fixture: %+v", fx)
		}
	})
}

// FuzzAppendJSONString: the output is one valid JSON string that decodes to
// the input (invalid UTF-8 becoming U+FFFD, as encoding/json does).
func FuzzAppendJSONString(f *testing.F) {
	for _, s := range []string{"", "plain", "quote\" back\\slash", "\x00\x1f\n\t\r", "héllo", "\xff\xfe", "\u2028"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out := appendJSONString(nil, s)
		var back string
		if err := json.Unmarshal(out, &back); err != nil {
			t.Fatalf("%q -> %s: %v", s, out, err)
		}
		// Each invalid byte becomes one U+FFFD.
		var want strings.Builder
		for i := 0; i < len(s); {
			r, size := utf8.DecodeRuneInString(s[i:])
			want.WriteRune(r)
			i += size
		}
		if back != want.String() {
			t.Fatalf("%q -> %s -> %q", s, out, back)
		}
	})
}

// FuzzAbbreviate: any JSON object abbreviates to a JSON object holding only
// the corgi fields; anything else is an error, never a panic.
func FuzzAbbreviate(f *testing.F) {
	f.Add([]byte(`{"name":"a","version":"1.0.0","_npmUser":{"name":"x"},"dist":{"integrity":"sha512-x"},"scripts":{}}`))
	f.Add([]byte(`[]`))
	f.Add([]byte(`{"dist":null}`))
	f.Fuzz(func(t *testing.T, doc []byte) {
		out, err := abbreviate(doc)
		if err != nil {
			return
		}
		var m map[string]json.RawMessage
		if err := json.Unmarshal(out, &m); err != nil {
			t.Fatalf("abbreviate(%q) = %q: %v", doc, out, err)
		}
		for k := range m {
			if !slices.Contains(corgiFields, k) {
				t.Fatalf("abbreviate kept %q", k)
			}
		}
	})
}

func TestSplitPath(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []string
		ok   bool
	}{
		{"/a", []string{"a"}, true},
		{"/a/1.0.0", []string{"a", "1.0.0"}, true},
		{"/@s%2fa/1.0.0", []string{"@s/a", "1.0.0"}, true},
		{"/@s%2Fa", []string{"@s/a"}, true},
		{"/%40s%2fa", []string{"@s/a"}, true},
		{"/@s/a/1.0.0", []string{"@s/a", "1.0.0"}, true},
		{"/@s/a/-/a-1.0.0.tgz", []string{"@s/a", "-", "a-1.0.0.tgz"}, true},
		{"/-/npm/v1/keys", []string{"-", "npm", "v1", "keys"}, true},
		{"/a%zz", nil, false},
	} {
		got, ok := splitPath(tc.in)
		if ok != tc.ok || !slices.Equal(got, tc.want) {
			t.Errorf("splitPath(%q) = %q, %v; want %q, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}
