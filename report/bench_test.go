package report

import (
	"fmt"
	"io"
	"testing"
	"time"

	"github.com/provaudit/provaudit/audit"
)

// largeResult is shaped like an audit of a real 1,600-entry lockfile: a
// third of the packages with provenance, most of the rest signed, a few
// skipped, unsigned, invalid and unreachable ones.
func largeResult(n int) *audit.Result {
	published := time.Date(2024, 5, 2, 10, 11, 12, 0, time.UTC)
	pkgs := make([]audit.Package, n)
	for i := range pkgs {
		name := fmt.Sprintf("@scope%d/package-%d", i%37, i)
		p := registryPkg(name, fmt.Sprintf("%d.%d.%d", i%7, i%13, i%5), 10+i*14, "node_modules/"+name)
		switch {
		case i%3 == 0:
			p.Status, p.Reason = audit.StatusVerified, "registry signature and attestations verified"
			p.RegistrySignature = sigVerified(keyNew, published, "rekor")
			p.Attestations = attVerified(name, "https://github.com/example/"+name[1:], int64(i), published)
		case i%97 == 1:
			p.Status, p.Kind, p.Reason = audit.StatusSkipped, "git", "not from a registry (git)"
		case i%211 == 2:
			p.Status = audit.StatusInvalid
			p.RegistrySignature = &audit.SignatureCheck{Status: audit.CheckInvalid, KeyID: keyOld, Reason: "signature does not verify over " + name}
			p.Attestations = attMissing
			p.Findings = []audit.Finding{{Rule: audit.RuleSignatureInvalid, Severity: audit.SeverityCritical, Message: "registry signature is invalid: " + p.RegistrySignature.Reason}}
			p.Reason = p.Findings[0].Message
		case i%307 == 5:
			p.Status, p.Reason = audit.StatusError, "GET https://registry.invalid/"+name+": 500 Internal Server Error after 4 attempts"
		default:
			p.Status, p.Reason = audit.StatusSigned, "registry signature verified; the version has no attestations"
			p.RegistrySignature = sigVerified(keyOld, published, "publish-time")
			p.Attestations = attMissing
		}
		pkgs[i] = p
	}
	return newResult(pkgs...)
}

func BenchmarkRender(b *testing.B) {
	r := largeResult(1600)
	for _, tt := range []struct {
		format string
		opts   Options
	}{
		{"table", Options{}},
		{"table", Options{All: true, Color: true}},
		{"json", Options{}},
		{"sarif", Options{}},
		{"markdown", Options{}},
		{"markdown", Options{All: true}},
		{"cyclonedx", Options{}},
		{"spdx", Options{}},
	} {
		name := tt.format
		if tt.opts.All {
			name += "-all"
		}
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if err := Render(io.Discard, tt.format, r, tt.opts); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
