package fetch

import (
	"bytes"
	"encoding/json/jsontext"
	"encoding/json/v2"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/provaudit/provaudit/internal/npmspec"
)

func FuzzParseNpmrc(f *testing.F) {
	for _, s := range []string{
		"registry=https://r.invalid/\n",
		"; c\n# c\n//r.invalid/:_authToken=${TOKEN}\n@s:registry=https://s.invalid/\n",
		"ca[]=\"-----BEGIN\\nX\"\nca[]='y'\nk=a\\;b # c\n[sec]\nx=1\n",
		"k=\\\\${TOKEN?}${UNSET?}\\${X}\r\n",
		"\xef\xbb\xbfalways-auth\n=bad\n",
	} {
		f.Add(s)
	}
	env := map[string]string{"TOKEN": "t", "X": "x"}
	f.Fuzz(func(t *testing.T, in string) {
		entries, err := parseNpmrc([]byte(in), "f", env)
		if err != nil {
			if !errors.Is(err, ErrConfig) || !strings.HasPrefix(err.Error(), ErrConfig.Error()+": f:") {
				t.Fatalf("error %q does not wrap ErrConfig with the file name", err)
			}
			return
		}
		lines := strings.Count(in, "\n") + 1
		last := 0
		for _, e := range entries {
			if e.Key == "" || e.Line < 1 || e.Line > lines || e.Line <= last {
				t.Fatalf("bad entry %+v (lines %d, previous %d)", e, lines, last)
			}
			last = e.Line
		}
		again, err := parseNpmrc([]byte(in), "f", env)
		if err != nil || len(again) != len(entries) {
			t.Fatalf("not deterministic: %v", err)
		}
	})
}

func FuzzDecodeManifest(f *testing.F) {
	f.Add([]byte(`{"name":"@s/a","version":"1.0.0","dist":{"integrity":"sha512-x","signatures":[{"keyid":"k","sig":"s"}],"attestations":{"url":"u","provenance":{"predicateType":"p"}}}}`))
	f.Add([]byte(`{"name":"@s/a","version":"1.0.0","dist":{"shasum":"ab"}}`))
	f.Add([]byte(`<html>`))
	for _, p := range []string{"../testdata/manifests/midas-npm-view/tag.json", "../testdata/manifests/midas-npm-view/date-picker.json"} {
		if data, err := os.ReadFile(p); err == nil {
			f.Add(data)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, want := range [][2]string{{"@s/a", "1.0.0"}, {"@midas-ds/tag", "0.1.2"}} {
			m, err := decodeManifest(bytes.NewReader(data), want[0], want[1], "https://r.invalid/", "what", "url")
			if err != nil {
				if !errors.Is(err, ErrMalformed) {
					t.Fatalf("error %v is not ErrMalformed", err)
				}
				continue
			}
			if m.Name != want[0] || m.Version != want[1] || m.Integrity == "" && m.Shasum == "" ||
				m.Attestations != nil && m.Attestations.URL == "" || m.Signatures != nil && len(m.Signatures) == 0 {
				t.Fatalf("accepted an invalid document as %+v", m)
			}
			checkKeptBounds(t, m)
		}
	})
}

// checkKeptBounds checks that a decoded Manifest holds no more than the
// stream decoders keep.
func checkKeptBounds(t *testing.T, m *Manifest) {
	t.Helper()
	kept := []string{m.Integrity, m.Shasum}
	if a := m.Attestations; a != nil {
		kept = append(kept, a.URL, a.PredicateType)
	}
	for _, s := range m.Signatures {
		kept = append(kept, s.KeyID, s.Sig)
	}
	for _, s := range kept {
		if len(s) > maxKeptString {
			t.Fatalf("kept a string of %d bytes", len(s))
		}
	}
	if len(m.Signatures) > maxSignatures {
		t.Fatalf("kept %d signatures", len(m.Signatures))
	}
}

// FuzzDecodeCorgi decodes arbitrary packuments for one version: an error is
// ErrMalformed (for the document or the version), a decoded version is the
// one asked for, within the bounds, and no other version is kept.
func FuzzDecodeCorgi(f *testing.F) {
	f.Add([]byte(`{"name":"p","versions":{"0.9.0":{"readme":"x"},"1.0.0":{"name":"p","version":"1.0.0","dist":{"integrity":"sha512-x","signatures":[{"keyid":"k","sig":"s"}]}}}}`))
	f.Add([]byte(`{"name":"p","versions":{"1.0.0":{"name":"p","version":"1.0.0","dist":{"shasum":"ab"}},"1.0.0":{}}}`))
	f.Add([]byte(`{"versions":{"1.0.0":[]},"name":"p","versions":{}}`))
	for _, p := range []string{"npm-cli-arborist/has-package-exports.json", "npm-cli-arborist/has-package-exports.min.json", "pacote/abbrev-packument-full.json"} {
		if data, err := os.ReadFile(filepath.Join("..", "testdata", "manifests", p)); err == nil {
			f.Add(data)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, want := range [][2]string{{"p", "1.0.0"}, {"has-package-exports", "1.2.0"}, {"abbrev", "1.1.1"}} {
			cg, err := decodeCorgi(bytes.NewReader(data), want[0], want[1], "https://r.invalid/", "url")
			if err != nil {
				if !errors.Is(err, ErrMalformed) {
					t.Fatalf("error %v is not ErrMalformed", err)
				}
				continue
			}
			if len(cg.versions)+len(cg.errs) > 1 {
				t.Fatalf("kept %d versions and %d errors", len(cg.versions), len(cg.errs))
			}
			for v, e := range cg.errs {
				if v != want[1] || !errors.Is(e, ErrMalformed) {
					t.Fatalf("errs[%q] = %v", v, e)
				}
			}
			for v, m := range cg.versions {
				if v != want[1] || m.Name != want[0] || m.Version != want[1] {
					t.Fatalf("versions[%q] = %+v", v, m)
				}
				checkKeptBounds(t, m)
			}
		}
	})
}

// FuzzCheckArrayBody checks the shape check of attestation and key bodies
// against a plain decoder: it accepts exactly the JSON objects whose member
// is an array.
func FuzzCheckArrayBody(f *testing.F) {
	f.Add([]byte(`{"attestations":[{"predicateType":"p","bundle":{}}]}`))
	f.Add([]byte(`{"keys":[],"attestations":{}}`))
	f.Add([]byte(`{"attestations":[],"attestations":[]}`))
	f.Add([]byte(` <html>`))
	if data, err := os.ReadFile(filepath.Join("..", "testdata", "attestations", "pacote", "valid-attestations.json")); err == nil {
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		err := checkAttestationsBody(data)
		var doc map[string]jsontext.Value
		plain := json.Unmarshal(data, &doc, json.JoinOptions(jsontext.AllowInvalidUTF8(true)))
		want := plain == nil && doc["attestations"].Kind() == '[' && !looksHTML(data)
		if (err == nil) != want {
			// The stream check only relaxes what it cannot see: strings
			// longer than 64 KiB and repeats of other members.
			if err == nil && len(data) < maxStreamString && !bytes.Contains(data, []byte(`\`)) {
				t.Fatalf("checkAttestationsBody accepted %q (plain decoder: %v)", data, plain)
			}
			if err != nil && want {
				t.Fatalf("checkAttestationsBody refused %q: %v", data, err)
			}
		}
	})
}

// FuzzCacheRecord decodes arbitrary bytes as a cache record (a poisoned
// cache is hostile input): a record decodes only with its own key's hash,
// its length and its checksum, and every encoded record decodes back.
func FuzzCacheRecord(f *testing.F) {
	f.Add([]byte(encodeRecord("k", []byte("v"))), "k", []byte("v"))
	f.Add([]byte("provaudit-cache v2 00 1 00\nx"), "", []byte{})
	f.Fuzz(func(t *testing.T, raw []byte, key string, data []byte) {
		sum := keySum(key)
		if got, n, ok := decodeRecord(raw, &sum); ok {
			if n > len(raw) || !bytes.Equal(got, raw[n-len(got):n]) {
				t.Fatalf("decoded %q of %d bytes from a %d-byte record", got, n, len(raw))
			}
			if !bytes.Equal(encodeRecord(key, got), raw[:n]) {
				t.Fatalf("record %q is not the encoding of its data", raw[:n])
			}
		}
		rec := encodeRecord(key, data)
		got, n, ok := decodeRecord(append(rec, raw...), &sum)
		if !ok || n != len(rec) || !bytes.Equal(got, data) {
			t.Fatalf("round trip of %q: %q, %d, %v", data, got, n, ok)
		}
		other := keySum(key + "x")
		if _, _, ok := decodeRecord(rec, &other); ok {
			t.Fatal("a record decoded under another key")
		}
	})
}

func FuzzPublishInfo(f *testing.F) {
	f.Add([]byte(`{"name":"p","time":{"1.0.0":"2021-02-03T04:05:06.789Z"},"versions":{"1.0.0":{"_npmUser":{"name":"a","trustedPublisher":{"id":"github"}}}}}`))
	f.Add([]byte(`{"versions":{"1.0.0":{"_npmUser":"x <y>","trustedPublisher":true}},"name":"p"}`))
	f.Add([]byte(`{"name":"p","versions":{"1.0.0":[]},"time":"x"}`))
	f.Add([]byte(`{"name":"p","time":{"1.0.0":"2021-02-03T04:05:06Z","1.1.0":"2021-01-01T00:00:00Z","0.3.0":"x"},"versions":{"1.1.0":{"_npmUser":{"name":"b","approver":{"name":"c"}},"dist":{"integrity":"sha512-x","signatures":[{}],"attestations":{"url":"u","provenance":{"predicateType":"t"}}},"scripts":{"postinstall":"n"}},"1.0.0":{"scripts":{"preinstall":"x"},"scripts":{"install":"y"}},"0.3.0":{"dist":5},"1.0.0-rc.1":{}}}`))
	if data, err := os.ReadFile(filepath.Join("..", "testdata", "manifests", "pacote", "abbrev-packument-full.json")); err == nil {
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, name := range []string{"p", "abbrev"} {
			pf, err := decodePublishFacts(bytes.NewReader(data), name, "url", nil, nil)
			if err != nil {
				if !errors.Is(err, ErrMalformed) {
					t.Fatalf("error %v is not ErrMalformed", err)
				}
				continue
			}
			for v := range pf.versions {
				pi, err := pf.lookup(name, v, "url")
				if err != nil {
					if !errors.Is(err, ErrMalformed) {
						t.Fatalf("lookup(%q): %v", v, err)
					}
					continue
				}
				if raw, ok := pf.times[v]; ok && pi.Time.IsZero() && !strings.HasPrefix(raw, "0001-01-01") {
					t.Fatalf("time %q of %q lost", raw, v)
				}
			}
			if _, present := pf.versions["not-a-version-\x00"]; !present {
				if _, err := pf.lookup(name, "not-a-version-\x00", "url"); !errors.Is(err, ErrNotFound) {
					t.Fatalf("absent version: %v", err)
				}
			}
			checkHistories(t, data, name)
			// the corgi decoder must agree on what is well-formed JSON
			if _, err := decodeCorgi(bytes.NewReader(data), name, "1.0.0", "r", "url"); err != nil && !errors.Is(err, ErrMalformed) {
				t.Fatalf("decodeCorgi: %v", err)
			}
		}
	})
}

// checkHistories decodes data for the release histories of two versions
// of name: only versions asked for or on their lines are kept, every
// version asked for has a history or an error that says why, and the
// reduced packument of an evidence bundle gives the same histories.
func checkHistories(t *testing.T, data []byte, name string) {
	t.Helper()
	keep := []string{"1.0.0", "0.3.1"}
	km := map[string]bool{"1.0.0": true, "0.3.1": true}
	lines := map[string]bool{"1.x": true, "0.3.x": true}
	pf, err := decodePublishFacts(bytes.NewReader(data), name, "url", km, lines)
	if err != nil {
		if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrTooLarge) {
			t.Fatalf("history decode: %v is neither ErrMalformed nor ErrTooLarge", err)
		}
		return
	}
	for v := range pf.versions {
		if !km[v] && !lines[npmspec.ReleaseLine(v)] {
			t.Fatalf("kept %q, neither asked for nor on a line", v)
		}
	}
	hs := pf.histories(name, "url")
	for _, v := range keep {
		r := hs.results[v]
		if (r.h == nil) == (r.err == nil) {
			t.Fatalf("history of %s: %+v, %v", v, r.h, r.err)
		}
		if r.err != nil && !errors.Is(r.err, ErrMalformed) && !errors.Is(r.err, ErrNotFound) {
			t.Fatalf("history of %s: %v", v, r.err)
		}
		if r.h != nil && r.h.Earlier.Versions > len(pf.versions) {
			t.Fatalf("history of %s counts %d earlier versions of %d kept", v, r.h.Earlier.Versions, len(pf.versions))
		}
	}
	malformed := false
	for _, v := range keep {
		if vf, ok := pf.versions[v]; ok && vf.err != nil {
			malformed = true
		}
	}
	reduced, err := ReducePackument(bytes.NewReader(data), name, "url", keep)
	if malformed != (err != nil) {
		t.Fatalf("reduction: %v, with a malformed kept version: %v", err, malformed)
	}
	if err != nil {
		return
	}
	again, err := decodePublishFacts(bytes.NewReader(reduced), name, "url", km, lines)
	if err != nil {
		t.Fatalf("the reduced packument does not decode: %v", err)
	}
	if rh := again.histories(name, "url"); !reflect.DeepEqual(rh.results, hs.results) {
		t.Fatalf("the reduced packument gives other histories")
	}
}

func FuzzInferRegistry(f *testing.F) {
	f.Add("https://r.invalid/api/npm/x/@s/p/-/p-1.0.0.tgz")
	f.Add("https://u:p@r.invalid/a/-/a-1.tgz")
	f.Fuzz(func(t *testing.T, u string) {
		reg := inferRegistry([]string{u})
		if reg == "" {
			return
		}
		if !strings.HasSuffix(reg, "/") || !(strings.HasPrefix(reg, "http://") || strings.HasPrefix(reg, "https://")) || strings.Contains(reg, "@") && strings.Contains(reg[:strings.Index(reg, "//")+2+strings.IndexByte(reg[strings.Index(reg, "//")+2:]+"/", '/')], "@") {
			t.Fatalf("inferRegistry(%q) = %q", u, reg)
		}
		if !utf8.ValidString(reg) && utf8.ValidString(u) {
			t.Fatalf("invalid UTF-8 from valid input: %q", reg)
		}
	})
}
