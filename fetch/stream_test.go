package fetch

import (
	"bytes"
	"context"
	"encoding/json/jsontext"
	"errors"
	"fmt"
	"io"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/provaudit/provaudit/internal/registrytest"
)

// filterAll runs data through a tokenFilter of the given max, in chunks of
// chunk bytes.
func filterAll(data []byte, max, chunk int) ([]byte, error) {
	f := &tokenFilter{r: &chunkReader{data: data, chunk: chunk}, max: max}
	return io.ReadAll(f)
}

type chunkReader struct {
	data  []byte
	chunk int
}

func (c *chunkReader) Read(p []byte) (int, error) {
	if len(c.data) == 0 {
		return 0, io.EOF
	}
	n := min(len(p), c.chunk, len(c.data))
	copy(p, c.data[:n])
	c.data = c.data[n:]
	return n, nil
}

func TestTokenFilter(t *testing.T) {
	tests := []struct{ in, want string }{
		{`{"a":"short","b":[1, 2.5e3, true, null]}`, `{"a":"short","b":[1, 2.5e3, true, null]}`},
		{`{"a":"0123456789"}`, `{"a":"01234567"}`},
		{`"0123456\"89"`, `"0123456\""`},            // an escape that starts before the cut is kept whole
		{`"0123456\u00e9x" 1`, `"0123456\u00e9" 1`}, // likewise \u escapes
		{`"01234567\"x" 1`, `"01234567" 1`},         // an escape after the cut goes with the rest
		{`"\\\\\\\\\\\\"`, `"\\\\\\\\"`},            // escaped backslashes are not quotes
		{"{\n\n   \t\"a\" :  1\r\n}", "{\n\"a\" : 1\r}"},
		{`"a  b"`, `"a  b"`}, // whitespace inside strings is kept
		{`<html>`, `<html>`},
	}
	for _, tt := range tests {
		for _, chunk := range []int{1, 3, 1 << 20} {
			got, err := filterAll([]byte(tt.in), 8, chunk)
			if err != nil || string(got) != tt.want {
				t.Errorf("filter(%q) in chunks of %d = %q, %v; want %q", tt.in, chunk, got, err, tt.want)
			}
		}
	}
	if _, err := filterAll([]byte(`[`+strings.Repeat("1", maxStreamNumber+1)+`]`), 8, 7); err == nil {
		t.Error("a number longer than maxStreamNumber passed")
	}
	if _, err := filterAll([]byte(`[`+strings.Repeat("1", maxStreamNumber)+`]`), 8, 7); err != nil {
		t.Errorf("a number of maxStreamNumber bytes: %v", err)
	}
}

// A string the filter cut must never be kept: even unescaped, it is
// longer than maxKeptString.
func TestCutStringsAreNeverKept(t *testing.T) {
	if maxStreamString/6 <= maxKeptString {
		t.Fatalf("maxStreamString %d / 6 <= maxKeptString %d", maxStreamString, maxKeptString)
	}
	in := `{"name":"p","version":"1.0.0","dist":{"integrity":"` + strings.Repeat(`\u0041`, maxStreamString) + `"}}`
	_, err := decodeManifest(strings.NewReader(in), "p", "1.0.0", "r", "p@1.0.0", "u")
	if !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), "integrity is longer than") {
		t.Fatalf("err = %v", err)
	}
}

// longDoc is a reader of head, n bytes of 'A' and tail, made on the fly.
func longDoc(head string, n int, tail string) io.Reader {
	return io.MultiReader(strings.NewReader(head), io.LimitReader(repeatReader('A'), int64(n)), strings.NewReader(tail))
}

type repeatReader byte

func (r repeatReader) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = byte(r)
	}
	return len(p), nil
}

// allocated reports the bytes fn allocates.
func allocated(fn func()) uint64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	fn()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// TestStreamDecodersBounded: 40 MB strings in a field nobody needs are
// skipped, and in a kept field make the version malformed, naming the
// field; either way decoding allocates a few megabytes at most, not the
// document (jsontext buffers a whole token, even one it skips).
func TestStreamDecodersBounded(t *testing.T) {
	const n = 40 << 20
	const sri = "sha512-AAAA"
	version := `"name":"p","version":"1.0.0","dist":{"integrity":"` + sri + `","signatures":[{"keyid":"k","sig":"s"}]}`
	attBody := append(append([]byte(`{"attestations":[{"bundle":{"mediaType":"`), bytes.Repeat([]byte{'A'}, n)...), `"}}]}`...)
	tests := []struct {
		name   string
		decode func() error
		want   string // "" = success
	}{
		{"version document, long readme", func() error {
			m, err := decodeManifest(longDoc(`{"readme":"`, n, `",`+version+`}`), "p", "1.0.0", "r", "p@1.0.0", "u")
			if err == nil && (m.Integrity != sri || len(m.Signatures) != 1) {
				err = fmt.Errorf("decoded %+v", m)
			}
			return err
		}, ""},
		{"version document, long signature", func() error {
			_, err := decodeManifest(longDoc(`{"name":"p","version":"1.0.0","dist":{"integrity":"x","signatures":[{"keyid":"k","sig":"`, n, `"}]}}`), "p", "1.0.0", "r", "p@1.0.0", "u")
			return err
		}, "the document.dist.signatures[0].sig is longer than 4096 bytes"},
		{"abbreviated packument, long signature", func() error {
			cg, err := decodeCorgi(longDoc(`{"name":"p","versions":{"1.0.0":{"name":"p","version":"1.0.0","dist":{"integrity":"x","signatures":[{"keyid":"k","sig":"`, n, `"}]}}}}`), "p", "1.0.0", "r", "u")
			if err == nil {
				err = cg.errs["1.0.0"]
			}
			return err
		}, `versions["1.0.0"].dist.signatures[0].sig is longer than 4096 bytes`},
		{"abbreviated packument, another version's long readme", func() error {
			cg, err := decodeCorgi(longDoc(`{"name":"p","versions":{"0.9.0":{"readme":"`, n, `"},"1.0.0":{`+version+`}}}`), "p", "1.0.0", "r", "u")
			if err == nil && cg.versions["1.0.0"] == nil {
				err = fmt.Errorf("1.0.0 not decoded: %v", cg.errs)
			}
			return err
		}, ""},
		{"full packument, long readme", func() error {
			pf, err := decodePublishFacts(longDoc(`{"name":"p","readme":"`, n, `","time":{"1.0.0":"2024-01-02T03:04:05Z"},"versions":{"1.0.0":{"_npmUser":{"name":"u"}}}}`), "p", "u", nil, nil)
			if err == nil {
				var pi *PublishInfo
				if pi, err = pf.lookup("p", "1.0.0", "u"); err == nil && (pi.NpmUser != "u" || pi.Time.IsZero()) {
					err = fmt.Errorf("decoded %+v", pi)
				}
			}
			return err
		}, ""},
		{"full packument, long publisher", func() error {
			// A malformed publisher is a fact that is missing.
			pf, err := decodePublishFacts(longDoc(`{"name":"p","versions":{"1.0.0":{"_npmUser":{"name":"`, n, `"}}}}`), "p", "u", nil, nil)
			if err == nil {
				var pi *PublishInfo
				if pi, err = pf.lookup("p", "1.0.0", "u"); err == nil && pi.NpmUser != "" {
					err = fmt.Errorf("kept a publisher of %d bytes", len(pi.NpmUser))
				}
			}
			return err
		}, ""},
		{"attestations body, long media type", func() error {
			return checkAttestationsBody(attBody) // given whole: checking copies nothing
		}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var err error
			alloc := allocated(func() { err = tt.decode() })
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("err = %v", err)
			case tt.want != "" && (!errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), tt.want)):
				t.Fatalf("err = %v, want ErrMalformed saying %q", err, tt.want)
			}
			if alloc > 4<<20 {
				t.Errorf("decoding allocated %d MB", alloc>>20)
			}
		})
	}
}

func TestStreamDecodersDuplicates(t *testing.T) {
	const v = `{"name":"p","version":"1.0.0","dist":{"integrity":"x"}}`
	tests := []struct {
		name   string
		decode func() error
	}{
		{"version document, dist twice", func() error {
			_, err := decodeManifest(strings.NewReader(`{"name":"p","version":"1.0.0","dist":{"integrity":"x"},"dist":{"integrity":"y"}}`), "p", "1.0.0", "r", "p@1.0.0", "u")
			return err
		}},
		{"signatures twice", func() error {
			_, err := decodeManifest(strings.NewReader(`{"name":"p","version":"1.0.0","dist":{"integrity":"x","signatures":[],"signatures":[{"keyid":"k","sig":"s"}]}}`), "p", "1.0.0", "r", "p@1.0.0", "u")
			return err
		}},
		{"too many signatures", func() error {
			sigs := strings.Repeat(`{"keyid":"k","sig":"s"},`, maxSignatures) + `{"keyid":"k","sig":"s"}`
			_, err := decodeManifest(strings.NewReader(`{"name":"p","version":"1.0.0","dist":{"integrity":"x","signatures":[`+sigs+`]}}`), "p", "1.0.0", "r", "p@1.0.0", "u")
			return err
		}},
		{"packument, the version twice", func() error {
			cg, err := decodeCorgi(strings.NewReader(`{"name":"p","versions":{"1.0.0":`+v+`,"1.0.0":`+v+`}}`), "p", "1.0.0", "r", "u")
			if err == nil {
				err = cg.errs["1.0.0"]
			}
			return err
		}},
		{"packument, versions twice", func() error {
			_, err := decodeCorgi(strings.NewReader(`{"name":"p","versions":{},"versions":{"1.0.0":`+v+`}}`), "p", "1.0.0", "r", "u")
			return err
		}},
		{"full packument, a kept time twice", func() error {
			_, err := decodePublishFacts(strings.NewReader(`{"name":"p","time":{"1.0.0":"2024-01-01T00:00:00Z","1.0.0":"2020-01-01T00:00:00Z"},"versions":{}}`), "p", "u", nil, nil)
			return err
		}},
		{"attestations twice", func() error {
			return fmt.Errorf("%w: %w", ErrMalformed, checkAttestationsBody([]byte(`{"attestations":[],"attestations":[]}`)))
		}},
	}
	for _, tt := range tests {
		if err := tt.decode(); !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), "twice") && !strings.Contains(err.Error(), "more than") {
			t.Errorf("%s: err = %v, want ErrMalformed", tt.name, err)
		}
	}
	// Other members may repeat: JSON.parse takes the last, and nothing
	// reads them.
	if _, err := decodeManifest(strings.NewReader(`{"readme":"a","readme":"b","name":"p","version":"1.0.0","dist":{"integrity":"x"}}`), "p", "1.0.0", "r", "p@1.0.0", "u"); err != nil {
		t.Errorf("a repeated member nobody reads: %v", err)
	}
}

// TestMemoryBudget: attestation bodies of 600 kB under a 2 MiB budget.
// Each takes a lease that grows as it is read and holds the body's size
// until released, so no more than a few bodies are read or kept at once
// (the registry sees few requests in flight), and every call still ends
// well. Without the budget all 30 would be in flight together.
func TestMemoryBudget(t *testing.T) {
	checkGoroutines(t)
	pkgs := make([]registrytest.Package, 30)
	for i := range pkgs {
		pkgs[i] = registrytest.Package{Name: fmt.Sprint("p", i), Version: "1.0.0", Signed: true, Attested: true}
	}
	r := newRT(t, pkgs...)
	for i := range pkgs {
		head := `{"attestations":[{"predicateType":"x","bundle":{"mediaType":"`
		r.Handle(fmt.Sprintf("/-/npm/v1/attestations/p%d@1.0.0", i), r.LongString([]byte(head), 600<<10, []byte(`"}}]}`)))
	}
	c := testClient(t, testConfig(t, r.URL(), ""), Options{NoCache: true, MemoryBudget: 2 << 20})
	ctx := context.Background()
	ms := make([]*Manifest, len(pkgs))
	for i := range pkgs {
		m, err := c.Manifest(ctx, pkgs[i].Name, "1.0.0", "")
		if err != nil {
			t.Fatal(err)
		}
		ms[i] = m
	}
	r.ResetStats()
	var wg sync.WaitGroup
	errs := make(chan error, len(ms))
	for _, m := range ms {
		wg.Go(func() {
			b, err := c.AttestationsBody(ctx, m)
			if err != nil {
				errs <- err
				return
			}
			defer b.Release()
			if len(b.Data) < 600<<10 {
				errs <- fmt.Errorf("%s: %d bytes", m.Name, len(b.Data))
			}
			time.Sleep(20 * time.Millisecond) // kept a while, as by a verifier
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if n := r.MaxInFlight(); n > 8 {
		t.Errorf("%d requests in flight at once under a 2 MiB budget", n)
	}
	// everything was given back
	if !c.budget.TryAcquire(2 << 20) {
		t.Error("leases were not given back")
	}
}

// FuzzTokenFilter checks the filter against the tokenizer: filtering does
// not depend on how the input is split; valid JSON stays valid JSON with
// the same tokens, strings cut only when longer than the limit (and then
// to a prefix of at least the limit); nothing grows.
func FuzzTokenFilter(f *testing.F) {
	for _, s := range []string{
		`{"a":"0123456789","b":[1,2.5e-3,true,false,null],"c":{"d":"\u00e9\"\\x"}}`,
		`  "a\u0041b"  `, `[]`, `{"a":"` + strings.Repeat(`\"`, 10) + `"}`, `"\`, `<html>`, `[1e99999]`,
	} {
		f.Add([]byte(s), uint8(3), uint8(5))
	}
	f.Fuzz(func(t *testing.T, in []byte, max, chunk uint8) {
		m := int(max%16) + 1
		whole, errWhole := filterAll(in, m, len(in)+1)
		parts, errParts := filterAll(in, m, int(chunk%7)+1)
		if !bytes.Equal(whole, parts) || (errWhole == nil) != (errParts == nil) {
			t.Fatalf("split input filtered differently: %q (%v) vs %q (%v)", whole, errWhole, parts, errParts)
		}
		if len(whole) > len(in) {
			t.Fatalf("output grew: %q -> %q", in, whole)
		}
		if errWhole != nil || !validJSON(in) {
			return
		}
		if !validJSON(whole) {
			t.Fatalf("valid JSON %q became invalid: %q", in, whole)
		}
		a, b := tokens(t, in), tokens(t, whole)
		if len(a) != len(b) {
			t.Fatalf("%d tokens became %d: %q -> %q", len(a), len(b), in, whole)
		}
		for i := range a {
			if a[i].kind != b[i].kind {
				t.Fatalf("token %d: %v became %v", i, a[i].kind, b[i].kind)
			}
			if a[i].kind != '"' {
				if a[i].text != b[i].text {
					t.Fatalf("token %d: %q became %q", i, a[i].text, b[i].text)
				}
				continue
			}
			raw, cut := a[i].raw, b[i].raw
			switch {
			case len(raw) <= m && raw != cut:
				t.Fatalf("string %q (not longer than %d) became %q", raw, m, cut)
			case len(raw) > m && (!strings.HasPrefix(raw, cut) || len(cut) < m):
				t.Fatalf("string %q (longer than %d) became %q, not a prefix of at least %d bytes", raw, m, cut, m)
			}
		}
	})
}

func validJSON(b []byte) bool {
	dec := jsontext.NewDecoder(bytes.NewReader(b), jsontext.AllowInvalidUTF8(true), jsontext.AllowDuplicateNames(true))
	if _, err := dec.ReadValue(); err != nil {
		return false
	}
	_, err := dec.ReadToken()
	return err == io.EOF
}

type token struct {
	kind      jsontext.Kind
	text, raw string // raw: a string's bytes between its quotes
}

func tokens(t *testing.T, b []byte) []token {
	t.Helper()
	dec := jsontext.NewDecoder(bytes.NewReader(b), jsontext.AllowInvalidUTF8(true), jsontext.AllowDuplicateNames(true))
	var out []token
	for {
		k := dec.PeekKind()
		if k == '"' {
			v, err := dec.ReadValue() // a string value or a member name
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, token{kind: k, raw: string(v[1 : len(v)-1])})
			continue
		}
		tok, err := dec.ReadToken()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, token{kind: tok.Kind(), text: tok.String()})
	}
}
