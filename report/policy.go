package report

import (
	"bytes"
	"fmt"
	"strings"

	"github.com/provaudit/provaudit/audit"
)

// This file renders what the policy issue adds to a result, for the table
// and markdown: which policy and baseline applied, diff mode, waived
// findings, source checks left incomplete, and the list of exceptions
// (reviewers see every one, applied or expired).

// policyLines are the summary lines of the policy: where it came from,
// the identity baseline, diff mode, waivers and incomplete source checks.
func policyLines(r *audit.Result) []string {
	var out []string
	if p := r.Policy; p != nil {
		switch {
		case p.File != "" && p.NamedBy == audit.NamedByProject:
			out = append(out, "policy "+plainText(p.File)+" (the audited project's own: it can only make the gate stricter and waive findings with the exceptions listed below)")
		case p.File != "":
			out = append(out, "policy "+plainText(p.File)+" (--policy)")
		}
		if p.Baseline != "" {
			out = append(out, "identity baseline "+plainText(p.Baseline))
		}
	}
	if d := r.Diff; d != nil {
		out = append(out, fmt.Sprintf("diff against %s: %s new, %s changed, %s unchanged (skipped)",
			plainText(d.Baseline), thousands(d.New), thousands(d.Changed), thousands(d.Unchanged)))
	}
	if n := r.Summary.Waived; n > 0 {
		out = append(out, summaryLine{n, "finding waived by a policy exception", "findings waived by policy exceptions"}.String())
	}
	if n := r.Summary.SourceUnchecked; n > 0 {
		out = append(out, "the source of "+summaryLine{n, "package", "packages"}.String()+" could not be checked (--check-source)")
	}
	return out
}

// exceptionRow is one exception as it applied to one package.
type exceptionRow struct {
	pkg *audit.Package
	e   *audit.AppliedException
}

// exceptionRows lists every exception recorded on a package, by package
// name.
func exceptionRows(r *audit.Result) []exceptionRow {
	var out []exceptionRow
	for _, p := range byName(r) {
		for i := range p.Exceptions {
			out = append(out, exceptionRow{p, &p.Exceptions[i]})
		}
	}
	return out
}

// exceptionText describes an exception for a package: what it waived (or
// that it expired), its reason, where it is declared and until when.
func exceptionText(x exceptionRow) string {
	e := x.e
	rule := "every policy rule"
	if e.Rule != "" {
		rule = string(e.Rule)
	}
	var what string
	if e.Expired {
		what = fmt.Sprintf("%s: the exception for %s expired on %s and no longer applies", pkgID(x.pkg), rule, e.Expires)
	} else {
		var waived []string
		for _, f := range e.Waived {
			waived = append(waived, fmt.Sprintf("%s (%s)", f.Rule, f.Severity))
		}
		what = fmt.Sprintf("%s: waived %s until %s", pkgID(x.pkg), strings.Join(waived, ", "), e.Expires)
	}
	return fmt.Sprintf("%s; reason: %s (%s)", what, e.Reason, e.Where)
}

// tableExceptions writes the table's list of exceptions, wrapped to the
// table's width.
func tableExceptions(buf *bytes.Buffer, r *audit.Result, opts Options) {
	rows := exceptionRows(r)
	if len(rows) == 0 {
		return
	}
	width := opts.Width
	if width == 0 {
		width = DefaultWidth
	}
	width = max(width, minWidth)
	fmt.Fprintf(buf, "\npolicy exceptions (%d):\n", len(rows))
	for _, x := range rows {
		for i, l := range wrap(plainText(exceptionText(x)), width-2) {
			if i == 0 {
				buf.WriteString("- " + l + "\n")
			} else {
				buf.WriteString("  " + l + "\n")
			}
		}
	}
}

// sourceIncomplete reports a package whose source check (--check-source)
// could not be made: it needs attention, and SARIF says so.
func sourceIncomplete(p *audit.Package) bool {
	return p.SourceCheck != nil && p.SourceCheck.Status == audit.SourceIncomplete
}

// sourceNotes lists the packages whose source check is incomplete.
func sourceNotes(pkgs []*audit.Package) []*audit.Package {
	var out []*audit.Package
	for _, p := range pkgs {
		if sourceIncomplete(p) {
			out = append(out, p)
		}
	}
	return out
}

// justification is the SARIF suppression justification of a waived
// finding.
func justification(e *audit.AppliedException) string {
	return fmt.Sprintf("%s (policy exception in %s, until %s)", e.Reason, e.Where, e.Expires)
}
