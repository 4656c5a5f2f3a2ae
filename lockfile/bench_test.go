package lockfile

import (
	"os"
	"path/filepath"
	"testing"

	"go.yaml.in/yaml/v3"
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
	benchParseUnits(b, file, data)
}

// benchParseUnits measures Parse + Units on data.
func benchParseUnits(b *testing.B, file string, data []byte) {
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

// BenchmarkParseYAML measures Parse + Units on the real pnpm and yarn
// berry fixtures of one project and on its npm lockfile, and the YAML
// library alone reading each YAML file: the floor of any reader built on
// it.
// Run: go test -run '^$' -bench BenchmarkParseYAML -benchmem ./lockfile
func BenchmarkParseYAML(b *testing.B) {
	const project = "slsa-verifier-actions-installer"
	files := []string{fixtureRoot + "/real-projects/" + project + "/package-lock.json"}
	for _, f := range []string{"pnpm-v6/pnpm-lock.yaml", "pnpm-v9/pnpm-lock.yaml", "yarn-berry/yarn.lock"} {
		files = append(files, pmRoot+"/"+project+"/"+f)
	}
	for i, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			b.Fatal(err)
		}
		name := filepath.Base(filepath.Dir(file))
		if i == 0 {
			name = "npm"
		}
		b.Run(name, func(b *testing.B) { benchParseUnits(b, file, data) })
		if i == 0 {
			continue
		}
		b.Run(name+"/library", func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(data)))
			for b.Loop() {
				var doc yaml.Node
				if err := yaml.Unmarshal(data, &doc); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
