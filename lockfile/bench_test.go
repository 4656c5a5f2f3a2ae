package lockfile

import (
	"os"
	"testing"
)

// BenchmarkParse measures Parse + Units on the largest real lockfiles.
// Run: go test -run '^$' -bench BenchmarkParse -benchmem -cpu 1 ./lockfile
func BenchmarkParse(b *testing.B) {
	for _, name := range []string{"npm-cli-smoke-large-install", "npm-cli-v10.9.0", "sigstore-js"} {
		file := fixtureRoot + "/real-projects/" + name + "/package-lock.json"
		data, err := os.ReadFile(file)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(data)))
			var entries, units int
			for b.Loop() {
				lf, err := Parse(file, data)
				if err != nil {
					b.Fatal(err)
				}
				entries, units = len(lf.Entries), len(Units(lf))
			}
			b.ReportMetric(float64(entries), "entries")
			b.ReportMetric(float64(units), "units")
		})
	}
}

// BenchmarkParseV1 measures the lockfileVersion 1 path (nested
// dependencies, read in a second pass).
func BenchmarkParseV1(b *testing.B) {
	file := fixtureRoot + "/npm-cli-arborist/audit-all-severities/package-lock.json"
	data, err := os.ReadFile(file)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		lf, err := Parse(file, data)
		if err != nil {
			b.Fatal(err)
		}
		Units(lf)
	}
}
