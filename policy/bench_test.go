package policy

import (
	"fmt"
	"testing"

	"github.com/provaudit/provaudit/audit"
)

// BenchmarkApply measures the policy's evaluation of a 10,000-package
// result (a third with provenance) with identity constraints, a required
// scope, rule settings, 50 exceptions and a baseline of every package:
// the work an audit adds after its last request.
// Run: go test -run '^$' -bench Apply -benchmem -cpu 1 ./policy
func BenchmarkApply(b *testing.B) {
	doc := `requireProvenance: ["@scope-1/*"]
identity:
  issuers: [https://token.actions.githubusercontent.com]
  hostedRunnersOnly: true
  packages:
    "@scope-2/*": {repository: github.com/scope-2/*, refs: ["refs/tags/v*"]}
rules:
  provenance-missing: high
exceptions:
`
	for i := range 50 {
		doc += fmt.Sprintf("  - {package: \"@scope-1/p%d@^1.0.0\", reason: r, expires: 2099-01-01}\n", i*3+1)
	}
	pol, err := Parse("provaudit.yaml", audit.NamedByUser, []byte(doc))
	if err != nil {
		b.Fatal(err)
	}
	pkgs := make([]audit.Package, 10_000)
	for i := range pkgs {
		name := fmt.Sprintf("@scope-%d/p%d", i%5, i)
		if i%3 == 0 {
			pkgs[i] = attested(name, "1.0.0", provenance(fmt.Sprintf("scope-%d/p%d", i%5, i)))
		} else {
			pkgs[i] = signed(name, "1.0.0")
		}
	}
	base := Record(result(pkgs...))
	base.File = BaselineFileName
	fresh := func() *audit.Result {
		r := result(pkgs...)
		for i := range r.Packages {
			r.Packages[i].Findings = []audit.Finding{}
		}
		return r
	}
	b.ReportAllocs()
	var findings int
	for b.Loop() {
		b.StopTimer()
		r := fresh()
		b.StartTimer()
		Apply(r, pol, base, now)
		findings = r.Summary.Findings
	}
	b.ReportMetric(float64(findings), "findings")
}
