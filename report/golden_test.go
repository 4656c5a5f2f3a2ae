package report

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/olekukonko/tablewriter/pkg/twwidth"

	"github.com/provaudit/provaudit/audit"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

func TestMain(m *testing.M) {
	// tablewriter guesses East Asian widths from the locale at init; goldens
	// are written with narrow widths whatever the machine's locale.
	twwidth.SetOptions(twwidth.Options{EastAsianWidth: false})
	os.Exit(m.Run())
}

var fixtures = []struct {
	name   string
	result func() *audit.Result
}{
	{"mixed", mixedResult},
	{"clean", cleanResult},
	{"incomplete", incompleteResult},
	{"hostile", hostileResult},
	{"empty", emptyResult},
	{"unchecked", uncheckedResult},
	{"policy", policyResult},
}

// variants are the renderings each fixture has a golden for.
var variants = []struct {
	name   string
	render func(*bytes.Buffer, *audit.Result) error
}{
	{"table", func(b *bytes.Buffer, r *audit.Result) error { return Table(b, r, Options{}) }},
	{"table-all", func(b *bytes.Buffer, r *audit.Result) error { return Table(b, r, Options{All: true}) }},
	{"table-narrow", func(b *bytes.Buffer, r *audit.Result) error { return Table(b, r, Options{Width: 70}) }},
	{"table-color", func(b *bytes.Buffer, r *audit.Result) error { return Table(b, r, Options{Color: true}) }},
	{"json", func(b *bytes.Buffer, r *audit.Result) error { return JSON(b, r) }},
	{"sarif", func(b *bytes.Buffer, r *audit.Result) error { return SARIF(b, r) }},
	{"markdown", func(b *bytes.Buffer, r *audit.Result) error { return Markdown(b, r, Options{}) }},
	{"markdown-all", func(b *bytes.Buffer, r *audit.Result) error { return Markdown(b, r, Options{All: true}) }},
	{"cyclonedx", func(b *bytes.Buffer, r *audit.Result) error { return CycloneDX(b, r) }},
	{"spdx", func(b *bytes.Buffer, r *audit.Result) error { return SPDX(b, r) }},
}

// goldenPath names the golden of a fixture and variant. The mixed
// fixture's JSON is the README's example, so it is plain JSON.
func goldenPath(fixture, variant string) string {
	if fixture == "mixed" && variant == "json" {
		return filepath.Join("testdata", "example.json")
	}
	return filepath.Join("testdata", fixture+"."+variant+".golden")
}

func TestGolden(t *testing.T) {
	for _, fx := range fixtures {
		for _, v := range variants {
			t.Run(fx.name+"/"+v.name, func(t *testing.T) {
				var buf bytes.Buffer
				if err := v.render(&buf, fx.result()); err != nil {
					t.Fatalf("render: %v", err)
				}
				checkGolden(t, goldenPath(fx.name, v.name), buf.Bytes())
			})
		}
	}
}

// checkGolden compares got with the golden file, or rewrites it under
// -update.
func checkGolden(t *testing.T, path string, got []byte) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("reading golden (run go test ./report -update to create it): %v", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("output differs from %s (run go test ./report -update if the change is intended)\n--- got:\n%s\n--- want:\n%s", path, got, want)
	}
}

// TestGoldensComplete fails when a golden exists that no test writes (a
// renamed fixture or variant), so that stale goldens do not linger.
func TestGoldensComplete(t *testing.T) {
	want := map[string]bool{}
	for _, fx := range fixtures {
		for _, v := range variants {
			want[goldenPath(fx.name, v.name)] = true
		}
	}
	files, err := filepath.Glob(filepath.Join("testdata", "*.golden"))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if !want[f] {
			t.Errorf("%s is not written by TestGolden; delete it", f)
		}
	}
}
