package report

import (
	"bytes"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/olekukonko/tablewriter"
	"github.com/olekukonko/tablewriter/pkg/twwidth"
	"github.com/olekukonko/tablewriter/renderer"
	"github.com/olekukonko/tablewriter/tw"

	"github.com/provaudit/provaudit/audit"
)

// Table writes the human summary of r to w, in the spirit of `npm audit
// signatures`:
//
//	audited 1,222 packages in 1.2s
//	checked 1,180 of 1,222 packages against trusted keys and attestations
//	registry https://r.example/ (from --registry)
//
//	1,180 packages have verified registry signatures
//	42 packages have verified attestations
//	12 packages were skipped (not from a registry)
//
//	2 packages have invalid attestations
//	1 package has a missing registry signature
//	3 packages could not be checked
//
//	3 findings in 3 packages
//
// (only lines with a non-zero count), then a table of the packages that
// need attention (invalid, unsigned, error, or with findings), most severe
// status first, then by name: package, status, reason with the findings'
// rules and severities, and the line of the package in the lockfile. With
// opts.All a table of every package, by name, with its source repository,
// commit and workflow comes before it. Reasons are wrapped to opts.Width;
// text from the lockfile and the registry is stripped of control characters.
func Table(w io.Writer, r *audit.Result, opts Options) error {
	return emit(w, "table", r, func(buf *bytes.Buffer, r *audit.Result) error {
		return renderTable(buf, r, opts)
	})
}

func renderTable(buf *bytes.Buffer, r *audit.Result, opts Options) error {
	buf.WriteString(auditedLine(r))
	buf.WriteByte('\n')
	if l := checkedLine(r.Summary); l != "" {
		buf.WriteString(l)
		buf.WriteByte('\n')
	}
	for _, l := range append(registryLines(r), policyLines(r)...) {
		buf.WriteString(l)
		buf.WriteByte('\n')
	}
	for _, block := range summaryBlocks(countResult(r)) {
		buf.WriteByte('\n')
		for _, l := range block {
			buf.WriteString(l)
			buf.WriteByte('\n')
		}
	}
	if opts.All && len(r.Packages) > 0 {
		fmt.Fprintf(buf, "\n%s:\n", summaryLine{len(r.Packages), "package", "packages"}.String())
		if err := allTable(buf, byName(r), opts); err != nil {
			return err
		}
	}
	if pkgs := attention(r); len(pkgs) > 0 {
		fmt.Fprintf(buf, "\n%s:\n", attentionHeading(len(pkgs), opts.Passed))
		if err := attentionTable(buf, r, pkgs, opts); err != nil {
			return err
		}
	}
	tableExceptions(buf, r, opts)
	return nil
}

// Column limits of the attention table, in terminal columns.
const (
	maxPackageColumn = 40
	minPackageColumn = 16
	minReasonColumn  = 30
	// tableOverhead is what borders and padding take in a four-column table:
	// "│ " + 3 × " │ " + " │".
	tableOverhead = 13
)

func attentionTable(buf *bytes.Buffer, r *audit.Result, pkgs []*audit.Package, opts Options) error {
	width := opts.Width
	if width == 0 {
		width = DefaultWidth
	}
	width = max(width, minWidth)

	pkgW, lineW := 0, len("LINE")
	for _, p := range pkgs {
		pkgW = max(pkgW, twwidth.Width(plainText(pkgID(p))))
		lineW = max(lineW, len(strconv.Itoa(p.Line)))
	}
	statusW := len("unsigned") // the longest status
	// The package and reason columns share what is left; when it is short,
	// the package column gives way down to its minimum.
	avail := width - tableOverhead - statusW - lineW
	pkgW = min(max(pkgW, len("PACKAGE")), maxPackageColumn)
	if avail-pkgW < minReasonColumn {
		pkgW = max(avail-minReasonColumn, minPackageColumn)
	}
	reasonW := avail - pkgW

	t := newTable(buf, true)
	t.Configure(func(c *tablewriter.Config) {
		c.Row.Alignment.PerColumn = []tw.Align{tw.AlignLeft, tw.AlignLeft, tw.AlignLeft, tw.AlignRight}
		c.Header.Alignment.PerColumn = []tw.Align{tw.AlignLeft, tw.AlignLeft, tw.AlignLeft, tw.AlignRight}
	})
	t.Header("Package", "Status", "Reason", "Line")
	for _, p := range pkgs {
		var reason []string
		if ref, ok := problemReason(r, p); ok {
			reason = append(reason, wrap(ref, reasonW)...)
		} else if p.Reason != "" {
			reason = append(reason, wrap(plainText(p.Reason), reasonW)...)
		}
		for _, f := range findingLines(p) {
			reason = append(reason, wrap("- "+plainText(f), reasonW)...)
		}
		row := []string{
			strings.Join(wrap(plainText(pkgID(p)), pkgW), "\n"),
			statusCell(p.Status, opts.Color),
			strings.Join(reason, "\n"),
			strconv.Itoa(p.Line),
		}
		if err := t.Append(row); err != nil {
			return fmt.Errorf("table row for %s: %w", pkgID(p), err)
		}
	}
	return t.Render()
}

func allTable(buf *bytes.Buffer, pkgs []*audit.Package, opts Options) error {
	t := newTable(buf, false)
	t.Configure(func(c *tablewriter.Config) {
		c.Row.Alignment.Global = tw.AlignLeft
		c.Header.Alignment.Global = tw.AlignLeft
	})
	t.Header("Package", "Status", "Source repository", "Commit", "Workflow")
	for _, p := range pkgs {
		repo, commit := "", ""
		pv := provenanceOf(p)
		if pv != nil {
			repo, commit = shortRepo(pv.SourceRepository), shortCommit(pv.Commit)
		}
		row := []string{
			plainText(pkgID(p)),
			statusCell(p.Status, opts.Color),
			plainText(repo),
			plainText(commit),
			plainText(workflowOf(pv)),
		}
		if err := t.Append(row); err != nil {
			return fmt.Errorf("table row for %s: %w", pkgID(p), err)
		}
	}
	return t.Render()
}

// newTable is a light-ruled table whose cells the caller has already
// wrapped (cells keep their own line breaks; tablewriter wraps nothing).
// Rows are separated by a rule when they may span several lines.
func newTable(buf *bytes.Buffer, ruleBetweenRows bool) *tablewriter.Table {
	between := tw.Off
	if ruleBetweenRows {
		between = tw.On
	}
	return tablewriter.NewTable(buf,
		tablewriter.WithRenderer(renderer.NewBlueprint(tw.Rendition{
			Symbols:  tw.NewSymbols(tw.StyleLight),
			Settings: tw.Settings{Separators: tw.Separators{BetweenRows: between}},
		})),
		tablewriter.WithRowAutoWrap(tw.WrapNone),
		tablewriter.WithHeaderAutoWrap(tw.WrapNone),
	)
}

// statusColors are the SGR parameters of each status.
var statusColors = map[audit.Status]string{
	audit.StatusVerified: "32",   // green
	audit.StatusSigned:   "36",   // cyan
	audit.StatusUnsigned: "33",   // yellow
	audit.StatusInvalid:  "1;31", // bold red
	audit.StatusSkipped:  "90",   // grey
	audit.StatusError:    "35",   // magenta
}

func statusCell(s audit.Status, color bool) string {
	text := plainText(string(s))
	if code, ok := statusColors[s]; ok && color {
		return "\x1b[" + code + "m" + text + "\x1b[0m"
	}
	return text
}

// wrap breaks s into lines no wider than width terminal columns, at spaces
// where it can and inside a word only when the word alone is too wide.
// It never returns an empty slice.
func wrap(s string, width int) []string {
	var lines []string
	var cur strings.Builder
	curW := 0
	flush := func() {
		lines = append(lines, cur.String())
		cur.Reset()
		curW = 0
	}
	for _, word := range strings.Fields(s) {
		ww := twwidth.Width(word)
		if curW > 0 && curW+1+ww <= width {
			cur.WriteByte(' ')
			cur.WriteString(word)
			curW += 1 + ww
			continue
		}
		if curW > 0 {
			flush()
		}
		for ww > width {
			head, rest := cutWidth(word, width)
			lines = append(lines, head)
			word, ww = rest, twwidth.Width(rest)
		}
		cur.WriteString(word)
		curW = ww
	}
	if curW > 0 || len(lines) == 0 {
		flush()
	}
	return lines
}

// cutWidth splits s after as many runes as fit in width columns (at least
// one, so that a character wider than width still makes progress). It
// prefers to break after the last '/' or '@' among them, else after the
// last '-', ':' or '.', when that keeps at least half the width: names,
// versions and URLs then break where they read well.
func cutWidth(s string, width int) (string, string) {
	w := 0
	strong, weak := -1, -1 // byte offsets just after a break character
	for i, r := range s {
		rw := twwidth.Width(string(r))
		if w+rw > width && i > 0 {
			switch {
			case strong > 0:
				return s[:strong], s[strong:]
			case weak > 0:
				return s[:weak], s[weak:]
			}
			return s[:i], s[i:]
		}
		w += rw
		if 2*w < width {
			continue
		}
		switch r {
		case '/', '@':
			strong = i + utf8.RuneLen(r)
		case '-', ':', '.':
			weak = i + utf8.RuneLen(r)
		}
	}
	return s, ""
}
