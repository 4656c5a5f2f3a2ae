package lockfile

import (
	"fmt"
	"os"
	"strings"
	"testing"
)

// npmLock is a v3 lockfile of name@version:integrity entries, plus one
// link.
func npmLock(t *testing.T, entries ...string) *Lockfile {
	t.Helper()
	var b strings.Builder
	b.WriteString(`{"name": "t", "version": "1.0.0", "lockfileVersion": 3, "packages": {"": {"name": "t", "version": "1.0.0"}, "node_modules/linked": {"resolved": "../linked", "link": true}`)
	for _, e := range entries {
		nv, integ, _ := strings.Cut(e, ":")
		name, version, _ := strings.Cut(nv, "@")
		fmt.Fprintf(&b, `, "node_modules/%s": {"version": %q, "resolved": "https://registry.invalid/%s/-/%s-%s.tgz", "integrity": "sha512-%s"}`,
			name, version, name, name, version, strings.Repeat(integ, 86)+"==")
	}
	b.WriteString("}}")
	lf, err := Parse("package-lock.json", []byte(b.String()))
	if err != nil {
		t.Fatal(err)
	}
	return lf
}

func TestCompare(t *testing.T) {
	base := npmLock(t, "a@1.0.0:A", "b@1.0.0:B", "c@1.0.0:C")
	cur := npmLock(t, "a@1.0.0:A", "b@1.0.0:X", "c@1.1.0:C", "d@1.0.0:D")
	got := Compare(base, cur)
	want := map[string]Change{"a": ChangeUnchanged, "b": ChangeChanged, "c": ChangeChanged, "d": ChangeNew, "linked": ChangeUnchanged}
	units := Units(cur)
	if len(got) != len(units) {
		t.Errorf("%d changes for %d units", len(got), len(units))
	}
	for _, u := range units {
		if got[u.Key()] != want[u.Name] {
			t.Errorf("%s: %q, want %q", u.Key(), got[u.Key()], want[u.Name])
		}
	}
	for k, c := range Compare(nil, cur) {
		if c != ChangeNew {
			t.Errorf("against no baseline, %s is %q", k, c)
		}
	}
}

// BenchmarkCompare measures diff mode's comparison on the largest real
// lockfile against itself, beside the Parse + Units it needs anyway.
// Run: go test -run '^$' -bench Compare -benchmem -cpu 1 ./lockfile
func BenchmarkCompare(b *testing.B) {
	file := fixtureRoot + "/real-projects/npm-cli-smoke-large-install/package-lock.json"
	data, err := os.ReadFile(file)
	if err != nil {
		b.Fatal(err)
	}
	lf, err := Parse(file, data)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("parse+units", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			lf, err := Parse(file, data)
			if err != nil {
				b.Fatal(err)
			}
			Units(lf)
		}
	})
	b.Run("compare", func(b *testing.B) {
		b.ReportAllocs()
		var n int
		for b.Loop() {
			n = len(Compare(lf, lf))
		}
		b.ReportMetric(float64(n), "units")
	})
}
