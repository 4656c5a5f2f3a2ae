package report

import (
	"bytes"
	"encoding/json"
	"io"

	"github.com/provaudit/provaudit/audit"
)

// JSON writes r as the versioned JSON contract of [audit.Result]: indented
// by two spaces, fields in the order of the struct tags, packages in the
// result's order, and `packages`, `paths` and `findings` always arrays,
// never null. HTML characters are not escaped (`<` stays `<`), so that the
// output reads as it is; it is still valid JSON for any consumer.
func JSON(w io.Writer, r *audit.Result) error {
	return emit(w, "json", r, func(buf *bytes.Buffer, r *audit.Result) error {
		enc := json.NewEncoder(buf)
		enc.SetIndent("", "  ")
		enc.SetEscapeHTML(false)
		return enc.Encode(normalized(r))
	})
}

// normalized returns a shallow copy of r whose nil slices that the contract
// promises as arrays are empty instead. r itself is not modified.
func normalized(r *audit.Result) *audit.Result {
	out := *r
	if out.Registries == nil {
		out.Registries = []audit.Registry{}
	}
	if out.Problems == nil {
		out.Problems = []audit.Problem{}
	}
	out.Packages = make([]audit.Package, len(r.Packages))
	copy(out.Packages, r.Packages)
	for i := range out.Packages {
		p := &out.Packages[i]
		if p.Paths == nil {
			p.Paths = []string{}
		}
		if p.Findings == nil {
			p.Findings = []audit.Finding{}
		}
	}
	return &out
}
