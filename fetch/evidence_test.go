package fetch

import (
	"bytes"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/provaudit/provaudit/internal/npmspec"
)

// sameLookups fails when the two documents give different answers to a
// lookup of any version in versions (publish facts, release history or
// error).
func sameLookups(t *testing.T, orig, reduced []byte, name string, keep []string, versions ...string) {
	t.Helper()
	km, lines := map[string]bool{}, map[string]bool{}
	for _, v := range keep {
		km[v] = true
		if l := npmspec.ReleaseLine(v); l != "" {
			lines[l] = true
		}
	}
	for _, ls := range []map[string]bool{nil, lines} {
		a, err := decodePublishFacts(bytes.NewReader(orig), name, "u", km, ls)
		if err != nil {
			t.Fatalf("original: %v", err)
		}
		b, err := decodePublishFacts(bytes.NewReader(reduced), name, "u", km, ls)
		if err != nil {
			t.Fatalf("reduced: %v\n%s", err, reduced)
		}
		ha, hb := a.histories(name, "u"), b.histories(name, "u")
		for _, v := range versions {
			pa, ea := a.lookup(name, v, "u")
			pb, eb := b.lookup(name, v, "u")
			if !reflect.DeepEqual(pa, pb) || !sameErr(ea, eb) {
				t.Errorf("%s: original gives %+v, %v; reduced gives %+v, %v", v, pa, ea, pb, eb)
			}
			if ls == nil {
				continue
			}
			if ra, rb := ha.results[v], hb.results[v]; !reflect.DeepEqual(ra.h, rb.h) || !sameErr(ra.err, rb.err) {
				t.Errorf("%s: original history %+v, %v; reduced %+v, %v", v, ra.h, ra.err, rb.h, rb.err)
			}
		}
	}
}

func sameErr(a, b error) bool {
	return (a == nil) == (b == nil) && (a == nil || a.Error() == b.Error())
}

func TestReducePackumentRecorded(t *testing.T) {
	orig, err := os.ReadFile(filepath.Join("..", "testdata", "manifests", "pacote", "abbrev-packument-full.json"))
	if err != nil {
		t.Fatal(err)
	}
	keep := []string{"1.1.1", "1.0.4", "9.9.9"}
	reduced, err := ReducePackument(bytes.NewReader(orig), "abbrev", "u", keep)
	if err != nil {
		t.Fatal(err)
	}
	if len(reduced)*10 > len(orig) {
		t.Errorf("reduced to %d of %d bytes: want a tenth at most", len(reduced), len(orig))
	}
	// 1.0.9 is on the release line 1.x of the versions kept; 0.x versions
	// are on none of theirs.
	if !strings.Contains(string(reduced), `"1.0.9"`) || strings.Contains(string(reduced), `"0.`) {
		t.Errorf("the reduced document does not hold exactly the versions kept and those on their lines: %s", reduced)
	}
	sameLookups(t, orig, reduced, "abbrev", keep, keep...)
	// Kept with fewer versions, as an audit asking about one of them keeps.
	sameLookups(t, orig, reduced, "abbrev", keep[:1], keep...)
}

// TestReducePackumentCases reduces every publish-facts case: a document
// that reduces reads back with the same answers; one that does not decode,
// or whose facts are malformed, is not reduced.
func TestReducePackumentCases(t *testing.T) {
	tests := []struct {
		doc    string
		reduce bool
	}{
		{`{"name":"p","time":{"created":"x","1.0.0":"2021-02-03T04:05:06.789Z"},"versions":{"1.0.0":{"_npmUser":{"name":"ann","email":"e"},"readme":"long"}}}`, true},
		{`{"name":"p","versions":{"1.0.0":{"_npmUser":"old <old@example.invalid>"}}}`, true},
		{`{"name":"p","versions":{"1.0.0":{"_npmUser":{"name":"GitHub Actions","trustedPublisher":{"id":"github","oidcConfigId":"oidc:1"}}}}}`, true},
		{`{"name":"p","versions":{"1.0.0":{"_npmUser":{"name":"u","trustedPublisher":true}}}}`, true},
		{`{"name":"p","versions":{"1.0.0":{"trustedPublisher":{"id":"gitlab"}}}}`, true},
		{`{"name":"p","time":{"1.0.0":"yesterday"},"versions":{"1.0.0":{}}}`, true},
		{`{"name":"p","time":{"1.0.0":"2021-02-03T04:05:06Z"},"versions":{}}`, true},
		{`{"name":"p","time":"nope","versions":{"1.0.0":{}}}`, true},
		{`{"name":"p","versions":{"0.9.0":{"_npmUser":5},"1.0.0":{"_npmUser":{"name":"ok"}}}}`, true}, // 0.9.0 not kept
		{`{"name":"p","versions":{"1.0.0":{"_npmUser":5}}}`, true},                                    // a fact that is missing
		{`{"name":"p","time":{"1.0.0":"2021-02-03T04:05:06Z","1.1.0":"2021-03-01T00:00:00Z"},"versions":{"1.1.0":{"_npmUser":{"name":"b","approver":{"name":"c"}},"dist":{"integrity":"sha512-x","signatures":[{"keyid":"k","sig":"s"}],"attestations":{"url":"u","provenance":{"predicateType":"https://slsa.dev/provenance/v1"}}},"scripts":{"postinstall":"node x.js","test":"t"}},"1.0.0":{"_npmUser":{"name":"a"},"scripts":{"preinstall":""}}}}`, true},
		{`{"name":"p","versions":{"1.2.0":[],"1.0.0":{}}}`, true}, // an unreadable line version is absent alike
		{`{"name":"p","versions":{"1.0.0":[]}}`, false},
		{`{"name":"q","versions":{"1.0.0":{}}}`, false},
		{`{"name":"p","versions":{"1.0.0":{}}}x`, false},
		{`<html><body>502</body></html>`, false},
	}
	keep := []string{"1.0.0", "2.0.0"}
	for _, tt := range tests {
		reduced, err := ReducePackument(strings.NewReader(tt.doc), "p", "https://r.invalid/p", keep)
		if (err == nil) != tt.reduce {
			t.Errorf("%s: reduced %v, err %v; want reduced %v", tt.doc, err == nil, err, tt.reduce)
			continue
		}
		if err == nil {
			sameLookups(t, []byte(tt.doc), reduced, "p", keep, "1.0.0", "2.0.0")
		}
	}
}

func TestPackumentReducerFor(t *testing.T) {
	cfg, err := LoadConfig(ConfigOptions{Registry: "https://r.invalid/npm/", Env: []string{"npm_config_@s:registry=https://s.invalid/"}})
	if err != nil {
		t.Fatal(err)
	}
	p := NewPackumentReducer(cfg, map[string][]string{"plain": {"1.0.0"}, "@s/pkg": {"2.0.0"}})
	get := func(u, accept string) *http.Request {
		req, err := http.NewRequest(http.MethodGet, u, nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Accept", accept)
		return req
	}
	for _, tt := range []struct {
		req  *http.Request
		want bool
	}{
		{get("https://r.invalid/npm/plain", acceptJSON), true},
		{get("https://s.invalid/@s%2fpkg", acceptJSON), true},
		{get("https://r.invalid/npm/plain", acceptCorgi), false},      // the abbreviated packument
		{get("https://r.invalid/npm/plain/1.0.0", acceptJSON), false}, // a version document
		{get("https://r.invalid/npm/other", acceptJSON), false},
		{get("https://r.invalid/npm/@s%2fpkg", acceptJSON), false}, // not its registry
		{get("https://r.invalid/npm/-/npm/v1/keys", acceptJSON), false},
	} {
		if got := p.For(tt.req) != nil; got != tt.want {
			t.Errorf("For(%s, %s) = %v, want %v", tt.req.URL, tt.req.Header.Get("Accept"), got, tt.want)
		}
	}
	reduce := p.For(get("https://s.invalid/@s%2fpkg", acceptJSON))
	out, err := reduce(strings.NewReader(`{"name":"@s/pkg","time":{"2.0.0":"2021-02-03T04:05:06Z","1.0.0":"2020-01-01T00:00:00Z"},"versions":{"2.0.0":{"_npmUser":{"name":"a"}},"1.0.0":{}}}`))
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"name":"@s/pkg","time":{"2.0.0":"2021-02-03T04:05:06Z"},"versions":{"2.0.0":{"_npmUser":{"name":"a"}}}}`; string(out) != want {
		t.Errorf("reduced to %s, want %s", out, want)
	}
	if _, err := reduce(strings.NewReader(`{"name":"other","versions":{}}`)); !errors.Is(err, ErrMalformed) {
		t.Errorf("a packument of another name: %v, want ErrMalformed", err)
	}
}

// FuzzReducePackument checks that whatever reduces reads back with the
// answers of the original, for the versions kept and others.
func FuzzReducePackument(f *testing.F) {
	f.Add([]byte(`{"name":"p","time":{"1.0.0":"2021-02-03T04:05:06.789Z"},"versions":{"1.0.0":{"_npmUser":{"name":"a","trustedPublisher":{"id":"github"}}}}}`))
	f.Add([]byte(`{"versions":{"1.0.0":{"_npmUser":"x <y>","trustedPublisher":true}},"name":"p"}`))
	f.Add([]byte(`{"name":"p","versions":{"1.0.0":{"trustedPublisher":""},"2.0.0":{"_npmUser":{"name":"","trustedPublisher":{"id":""}}}},"time":{"2.0.0":"x"}}`))
	keep := []string{"1.0.0", "2.0.0"}
	f.Fuzz(func(t *testing.T, data []byte) {
		reduced, err := ReducePackument(bytes.NewReader(data), "p", "u", keep)
		if err != nil {
			return
		}
		sameLookups(t, data, reduced, "p", keep, "1.0.0", "2.0.0", "3.0.0")
		if len(reduced) > 64+2*len(data) {
			t.Fatalf("reduced %d bytes to %d", len(data), len(reduced))
		}
	})
}
