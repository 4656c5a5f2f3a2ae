package policy

import (
	"bytes"
	"errors"
	"testing"

	"github.com/provaudit/provaudit/audit"
	"github.com/provaudit/provaudit/internal/npmspec"
)

// FuzzParse: a policy file is the audited project's input. Parse never
// panics, fails only with ErrMalformed, and what it accepts keeps the
// rules of the format.
func FuzzParse(f *testing.F) {
	f.Add([]byte(fullPolicy), true)
	f.Add([]byte("requireProvenance: true\n"), false)
	f.Add([]byte("exceptions:\n  - {package: a@^1, reason: r, expires: 2027-01-01}\n"), false)
	f.Add([]byte("identity:\n  packages:\n    \"@s/*\": {refs: [\"refs/tags/*\"], hostedRunnersOnly: true}\n"), false)
	f.Add([]byte("a: &x [1]\nb: *x\n"), true)
	f.Add([]byte("rules: {release-age: off}\n---\n"), true)
	f.Add([]byte("minimumReleaseAge: 1w2d3h4m5s\n"), true)
	f.Fuzz(func(t *testing.T, data []byte, user bool) {
		namedBy := audit.NamedByProject
		if user {
			namedBy = audit.NamedByUser
		}
		p, err := Parse("p.yaml", namedBy, data)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error not ErrMalformed: %v", err)
			}
			return
		}
		for r, s := range p.Rules {
			if !audit.IsPolicyRule(r) {
				t.Fatalf("rule %q accepted", r)
			}
			if s.Off && namedBy == audit.NamedByProject {
				t.Fatalf("the project's file switched %s off", r)
			}
		}
		for _, e := range p.Exceptions {
			if npmspec.ValidName(e.Name) != nil || e.Reason == "" || e.Expires.IsZero() || (e.Rule != "" && !audit.IsPolicyRule(e.Rule)) {
				t.Fatalf("exception accepted: %+v", e)
			}
		}
		if p.MinimumReleaseAge < 0 || p.MinimumReleaseAge > maxAge {
			t.Fatalf("minimumReleaseAge %v", p.MinimumReleaseAge)
		}
	})
}

// FuzzParseBaseline: a baseline file is the audited project's input.
// ParseBaseline never panics, fails only with ErrMalformedBaseline, and
// what it accepts writes back to bytes that read back the same.
func FuzzParseBaseline(f *testing.F) {
	good, _ := Record(result(attested("a", "1.0.0", provenance("x/a")), signed("b", "0.2.0"))).Marshal()
	f.Add(good)
	f.Add([]byte(`{"provauditBaseline": 1, "packages": {}}`))
	f.Add([]byte(`{"provauditBaseline": 1, "packages": {"a": {"lines": {"1.x": "none"}}}}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		b, err := ParseBaseline("b.json", data)
		if err != nil {
			if !errors.Is(err, ErrMalformedBaseline) {
				t.Fatalf("error not ErrMalformedBaseline: %v", err)
			}
			return
		}
		out, err := b.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		b2, err := ParseBaseline("b.json", out)
		if err != nil {
			t.Fatalf("written back, it does not read: %v\n%s", err, out)
		}
		again, _ := b2.Marshal()
		if !bytes.Equal(out, again) {
			t.Fatalf("not stable:\n%s\n%s", out, again)
		}
	})
}
