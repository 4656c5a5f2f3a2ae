package report

import (
	"bytes"
	"fmt"
	"io"
	"strings"

	"github.com/provaudit/provaudit/audit"
)

// Markdown writes a short GitHub-flavoured markdown report of r for pull
// request comments and $GITHUB_STEP_SUMMARY: a heading that states the
// outcome (findings, said as a pass when opts.Passed; else packages that could not be checked; else nothing
// or not everything checked against trusted keys, with no success mark;
// else success), where the registries came from,
// the counts by status as a one-row table, the packages that need attention
// as a table (as in [Table]), and with opts.All every package inside a
// <details> block. Text from the lockfile and the registry is escaped so
// that it cannot break a table or inject markup.
func Markdown(w io.Writer, r *audit.Result, opts Options) error {
	return emit(w, "markdown", r, func(buf *bytes.Buffer, r *audit.Result) error {
		renderMarkdown(buf, r, opts)
		return nil
	})
}

var statusEmoji = map[audit.Status]string{
	audit.StatusVerified: "✅",
	audit.StatusSigned:   "☑️",
	audit.StatusUnsigned: "⚠️",
	audit.StatusInvalid:  "❌",
	audit.StatusSkipped:  "⏭️",
	audit.StatusError:    "❗",
}

func renderMarkdown(buf *bytes.Buffer, r *audit.Result, opts Options) {
	c := countResult(r)
	s := r.Summary
	switch {
	case opts.Passed && s.Findings > 0:
		// The findings are below the severity that fails the audit.
		fmt.Fprintf(buf, "## ⚠️ provaudit: passed, %s in %s below the failing severity\n",
			summaryLine{s.Findings, "finding", "findings"}, summaryLine{c.withFindings, "package", "packages"})
	case s.Findings > 0:
		fmt.Fprintf(buf, "## ❌ provaudit: %s in %s\n",
			summaryLine{s.Findings, "finding", "findings"}, summaryLine{c.withFindings, "package", "packages"})
	case s.Error > 0:
		fmt.Fprintf(buf, "## ❗ provaudit: audit incomplete, %s\n",
			summaryLine{s.Error, "package could not be checked", "packages could not be checked"})
	case s.SourceUnchecked > 0:
		fmt.Fprintf(buf, "## ❗ provaudit: audit incomplete, the source of %s could not be checked\n",
			summaryLine{s.SourceUnchecked, "package", "packages"})
	case nothingChecked(s):
		fmt.Fprintf(buf, "## ❗ provaudit: nothing verified, checked 0 of %s against trusted keys and attestations\n",
			summaryLine{s.Audited, "audited package", "audited packages"})
	case s.Checked < s.Audited:
		// No finding, but not everything was checked: no success mark.
		fmt.Fprintf(buf, "## ⚠️ provaudit: checked %s of %s against trusted keys and attestations\n", thousands(s.Checked), summaryLine{s.Audited, "audited package", "audited packages"})
	default:
		fmt.Fprintf(buf, "## ✅ provaudit: checked %s of %s, no findings\n", thousands(s.Checked), summaryLine{s.Audited, "audited package", "audited packages"})
	}

	buf.WriteString("\n| packages | verified | signed | unsigned | invalid | skipped | error | findings |\n")
	buf.WriteString("|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	fmt.Fprintf(buf, "| %s | %s | %s | %s | %s | %s | %s | %s |\n",
		thousands(s.Packages), thousands(s.Verified), thousands(s.Signed), thousands(s.Unsigned),
		thousands(s.Invalid), thousands(s.Skipped), thousands(s.Error), thousands(s.Findings))

	verb := "Audited"
	if nothingChecked(s) {
		verb = "Checked 0 of"
	}
	fmt.Fprintf(buf, "\n%s %s from %s%s in %s", verb, summaryLine{s.Audited, "package", "packages"}, mdCode(r.Lockfile.Path), lockfileKind(r.Lockfile), duration(s.DurationMS))
	if l := checkedLine(s); l != "" {
		buf.WriteString("; " + l)
	}
	buf.WriteString(".\n")
	var details []string
	for _, l := range append(registryLines(r), policyLines(r)...) {
		details = append(details, mdText(l))
	}
	for _, block := range summaryBlocks(c) {
		for _, l := range block {
			details = append(details, mdText(l))
		}
	}
	if len(details) > 0 {
		buf.WriteByte('\n')
		for _, l := range details {
			fmt.Fprintf(buf, "- %s\n", l)
		}
	}

	if pkgs := attention(r); len(pkgs) > 0 {
		fmt.Fprintf(buf, "\n### %s\n\n", attentionHeading(len(pkgs), opts.Passed))
		buf.WriteString("| Package | Status | Reason | Line |\n|---|---|---|---:|\n")
		for _, p := range pkgs {
			reason := mdText(p.Reason)
			if ref, ok := problemReason(r, p); ok {
				reason = ref
			}
			for _, f := range findingLines(p) {
				if reason != "" {
					reason += "<br>"
				}
				reason += "• " + mdText(f)
			}
			fmt.Fprintf(buf, "| %s | %s | %s | %d |\n", mdCode(pkgID(p)), mdStatus(p.Status), reason, p.Line)
		}
	}

	if rows := exceptionRows(r); len(rows) > 0 {
		fmt.Fprintf(buf, "\n### Policy exceptions (%d)\n\n", len(rows))
		for _, x := range rows {
			fmt.Fprintf(buf, "- %s\n", mdText(exceptionText(x)))
		}
	}

	if opts.All && len(r.Packages) > 0 {
		fmt.Fprintf(buf, "\n<details>\n<summary>All %s</summary>\n\n", summaryLine{len(r.Packages), "package", "packages"})
		buf.WriteString("| Package | Status | Source repository | Commit | Workflow |\n|---|---|---|---|---|\n")
		for _, p := range byName(r) {
			repo, commit := "", ""
			pv := provenanceOf(p)
			if pv != nil {
				repo, commit = shortRepo(pv.SourceRepository), shortCommit(pv.Commit)
			}
			fmt.Fprintf(buf, "| %s | %s | %s | %s | %s |\n",
				mdCode(pkgID(p)), mdStatus(p.Status), mdText(repo), mdCodeOrEmpty(commit), mdCodeOrEmpty(workflowOf(pv)))
		}
		buf.WriteString("\n</details>\n")
	}

	version := r.Tool.Version
	if version == "" {
		version = "(unknown version)"
	}
	fmt.Fprintf(buf, "\n<sub>%s %s</sub>\n", mdText(toolName(r)), mdText(version))
}

func toolName(r *audit.Result) string {
	if r.Tool.Name == "" {
		return "provaudit"
	}
	return r.Tool.Name
}

func mdStatus(s audit.Status) string {
	return strings.TrimSpace(statusEmoji[s] + " " + mdText(string(s)))
}

// mdText escapes untrusted text for a GitHub markdown table cell: control
// characters are made visible (see plainText), markdown punctuation is
// backslash-escaped (@ too, so that no one is mentioned, and # so that no
// issue is linked), and <, > and & become entities, so that the text
// renders as written, cannot close a <details> block, and a | cannot end
// the cell. Line breaks become spaces.
func mdText(s string) string {
	s = plainText(s)
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range s {
		switch r {
		case '<':
			b.WriteString("&lt;")
		case '>':
			b.WriteString("&gt;")
		case '&':
			b.WriteString("&amp;")
		case '\\', '`', '*', '_', '[', ']', '|', '#', '~', '@':
			b.WriteByte('\\')
			b.WriteRune(r)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// mdCode writes s as a code span inside a table cell: the fence is one
// backtick more than the longest run of backticks in s. GitHub splits table
// cells on | even inside code spans, and a backslash cannot be escaped
// there, so text with a | is written with mdText instead; so is text with
// < or >, which no name or path needs, to keep markup out entirely.
func mdCode(s string) string {
	s = plainText(s)
	if strings.ContainsAny(s, "|<>") {
		return mdText(s)
	}
	longest, run := 0, 0
	for _, r := range s {
		if r == '`' {
			run++
			longest = max(longest, run)
		} else {
			run = 0
		}
	}
	fence := strings.Repeat("`", longest+1)
	if s == "" {
		return ""
	}
	if strings.HasPrefix(s, "`") || strings.HasSuffix(s, "`") || strings.HasPrefix(s, " ") && strings.HasSuffix(s, " ") {
		s = " " + s + " "
	}
	return fence + s + fence
}

func mdCodeOrEmpty(s string) string {
	if s == "" {
		return ""
	}
	return mdCode(s)
}
