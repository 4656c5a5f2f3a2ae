package report

import (
	"bytes"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/olekukonko/tablewriter/pkg/twwidth"

	"github.com/provaudit/provaudit/audit"
)

func tableString(t testing.TB, r *audit.Result, opts Options) string {
	t.Helper()
	var buf bytes.Buffer
	if err := Table(&buf, r, opts); err != nil {
		t.Fatalf("Table: %v", err)
	}
	return buf.String()
}

// summaryOf returns the summary part of a table output: the lines before
// the first table's title (summary lines never end with a colon).
func summaryOf(out string) []string {
	var lines []string
	for _, l := range strings.Split(out, "\n") {
		if strings.HasSuffix(l, ":") {
			break
		}
		lines = append(lines, l)
	}
	return lines
}

func TestTableSummary(t *testing.T) {
	one := func(status audit.Status, sig, att audit.CheckStatus, findings ...audit.Finding) audit.Package {
		p := registryPkg("p", "1.0.0", 2)
		p.Status, p.Reason, p.Findings = status, "r", append([]audit.Finding{}, findings...)
		if sig != "" {
			p.RegistrySignature = &audit.SignatureCheck{Status: sig}
		}
		if att != "" {
			p.Attestations = &audit.AttestationCheck{Status: att}
		}
		return p
	}
	many := func(n int, p audit.Package) []audit.Package {
		out := make([]audit.Package, n)
		for i := range out {
			out[i] = p
			out[i].Name = p.Name + strings.Repeat("x", i)
		}
		return out
	}
	finding := audit.Finding{Rule: "signature-missing", Severity: audit.SeverityHigh, Message: "m"}
	tests := []struct {
		name string
		pkgs []audit.Package
		want []string
	}{
		{"none", nil, []string{"audited 0 packages (npm lockfile) in 1.2s", ""}},
		{"one signed", []audit.Package{one(audit.StatusSigned, "verified", "missing")}, []string{
			"audited 1 package (npm lockfile) in 1.2s", "checked 1 of 1 package against trusted keys and attestations", "registry https://registry.invalid/ (from --registry)", "", "1 package has a verified registry signature", ""}},
		{"1,234 verified", many(1234, one(audit.StatusVerified, "verified", "verified")), []string{
			"audited 1,234 packages (npm lockfile) in 1.2s", "checked 1,234 of 1,234 packages against trusted keys and attestations", "registry https://registry.invalid/ (from --registry)", "",
			"1,234 packages have verified registry signatures",
			"1,234 packages have verified attestations", ""}},
		{"problems", slices.Concat(
			many(2, one(audit.StatusInvalid, "verified", "invalid", audit.Finding{Rule: "attestation-invalid", Severity: audit.SeverityCritical})),
			many(1, one(audit.StatusUnsigned, "missing", "missing", finding)),
			many(3, one(audit.StatusError, "", "")),
		), []string{
			"audited 6 packages (npm lockfile) in 1.2s", "checked 2 of 6 packages against trusted keys and attestations", "registry https://registry.invalid/ (from --registry)", "",
			"2 packages have verified registry signatures", "",
			"2 packages have invalid attestations",
			"1 package has a missing registry signature",
			"3 packages could not be checked", "",
			"3 findings in 3 packages", ""}},
		{"skipped only", []audit.Package{
			{Name: "w", Line: 1, Kind: "workspace", Status: audit.StatusSkipped},
			{Name: "g", Line: 2, Kind: "git", Status: audit.StatusSkipped},
			{Name: "o", Line: 3, Kind: "registry", Status: audit.StatusSkipped},
		}, []string{
			"audited 0 packages (npm lockfile) in 1.2s", "",
			"2 packages were skipped (not from a registry)",
			"1 registry package was skipped (omitted or bundled)", ""}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := tableString(t, newResult(tt.pkgs...), Options{})
			got := summaryOf(out)
			if !slices.Equal(got, tt.want) {
				t.Errorf("summary:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
		})
	}
}

func TestTableAttentionOrder(t *testing.T) {
	out := tableString(t, mixedResult(), Options{})
	order := []string{"event-stream@3.3.6", "is-odd@3.0.1", "tampered-lib@2.0.1", "@internal/config@1.0.4", "left-pad@1.3.0", "chalk@5.3.0", "lodash@4.17.21"}
	at := 0
	for _, name := range order {
		i := strings.Index(out[at:], "│ "+name)
		if i < 0 {
			t.Fatalf("%s missing or out of order in:\n%s", name, out)
		}
		at += i
	}
	for _, fine := range []string{"ms@2.1.3", "@sigstore/core@1.1.0", "typescript@5.4.5", "@acme/app"} {
		if strings.Contains(out, fine) {
			t.Errorf("%s does not need attention but is listed", fine)
		}
	}
	all := tableString(t, mixedResult(), Options{All: true})
	for _, want := range []string{"ms@2.1.3", "github.com/sigstore/sigstore-js", "904169a", ".github/workflows/release.yml@main", "typescript@5.4.5"} {
		if !strings.Contains(all, want) {
			t.Errorf("--all output lacks %q", want)
		}
	}
}

func TestTableWidth(t *testing.T) {
	for _, width := range []int{0, 60, 80, 100, 160} {
		for _, fx := range fixtures {
			out := tableString(t, fx.result(), Options{Width: width})
			limit := width
			if limit == 0 {
				limit = DefaultWidth
			}
			for _, l := range strings.Split(out, "\n") {
				// Only table lines are wrapped; summary lines are short.
				if !strings.ContainsAny(l, "│┌├└") {
					continue
				}
				if w := twwidth.Width(l); w > limit {
					t.Errorf("%s at width %d: line of %d columns:\n%s", fx.name, width, w, l)
				}
			}
		}
	}
}

func TestTableColor(t *testing.T) {
	plain := tableString(t, mixedResult(), Options{All: true})
	if strings.Contains(plain, "\x1b") {
		t.Error("colourless output contains an escape")
	}
	colored := tableString(t, mixedResult(), Options{All: true, Color: true})
	for status, code := range statusColors {
		if want := "\x1b[" + code + "m" + string(status) + "\x1b[0m"; !strings.Contains(colored, want) {
			t.Errorf("coloured output lacks %q", want)
		}
	}
	stripped := twwidth.Filter().ReplaceAllString(colored, "")
	if stripped != plain {
		t.Errorf("colour changed more than the escapes:\n%s\n---\n%s", stripped, plain)
	}
}

// TestTableNoControlCharacters: text from the registry never reaches the
// terminal as an escape sequence.
func TestTableNoControlCharacters(t *testing.T) {
	for _, opts := range []Options{{}, {All: true}} {
		out := tableString(t, hostileResult(), opts)
		checkNoControl(t, out)
		for _, want := range []string{`evil\x1b[2J\x1b]0;pwned\x07@1.0.0|x`, `\u202eevil`, `\x00\x7f\u0085`} {
			if !strings.Contains(out, want) {
				t.Errorf("output lacks the visible escape %q", want)
			}
		}
	}
}

func checkNoControl(t testing.TB, out string) {
	t.Helper()
	if !utf8.ValidString(out) {
		t.Errorf("output is not valid UTF-8: %q", out)
	}
	for i, r := range out {
		if (r < 0x20 && r != '\n') || r == 0x7f || (r >= 0x80 && r < 0xa0) || isBidiControl(r) {
			t.Errorf("control character %U at byte %d: %q", r, i, out[max(0, i-20):min(len(out), i+20)])
			return
		}
	}
}

func TestWrap(t *testing.T) {
	tests := []struct {
		in    string
		width int
		want  []string
	}{
		{"", 10, []string{""}},
		{"short", 10, []string{"short"}},
		{"a b c d e f", 5, []string{"a b c", "d e f"}},
		{"  spaced   out  ", 20, []string{"spaced out"}},
		{"abcdefghijkl", 5, []string{"abcde", "fghij", "kl"}},
		{"go abcdefghij x", 4, []string{"go", "abcd", "efgh", "ij x"}},
		{"名前名前名前", 4, []string{"名前", "名前", "名前"}},
		{"名前名前", 3, []string{"名", "前", "名", "前"}},
		{"x 名", 1, []string{"x", "名"}},
		{"event-stream@3.3.6", 16, []string{"event-stream@", "3.3.6"}},
		{"https://registry.invalid/chalk/5.3.0", 20, []string{"https://registry.", "invalid/chalk/5.3.0"}},
		{"a-bcdefghijklmnop", 8, []string{"a-bcdefg", "hijklmno", "p"}},
		{"ab-cdefg", 4, []string{"ab-", "cdef", "g"}},
		{"a.b/c.defghij", 8, []string{"a.b/", "c.defghi", "j"}},
		{"abc.defg/hijk", 8, []string{"abc.", "defg/", "hijk"}},
	}
	for _, tt := range tests {
		got := wrap(tt.in, tt.width)
		if !slices.Equal(got, tt.want) {
			t.Errorf("wrap(%q, %d) = %q, want %q", tt.in, tt.width, got, tt.want)
		}
	}
}

func TestThousandsAndDuration(t *testing.T) {
	for n, want := range map[int]string{0: "0", 7: "7", 999: "999", 1000: "1,000", 1234567: "1,234,567", -1234: "-1,234"} {
		if got := thousands(n); got != want {
			t.Errorf("thousands(%d) = %q, want %q", n, got, want)
		}
	}
	for ms, want := range map[int64]string{-5: "0.0s", 0: "0.0s", 49: "0.0s", 1234: "1.2s", 59_940: "59.9s", 60_000: "1m00s", 83_600: "1m24s", 3_600_000: "60m00s"} {
		if got := duration(ms); got != want {
			t.Errorf("duration(%d) = %q, want %q", ms, got, want)
		}
	}
}

func TestPlainText(t *testing.T) {
	tests := []struct{ in, want string }{
		{"plain ascii", "plain ascii"},
		{"ünïcødé 名前 🙂", "ünïcødé 名前 🙂"},
		{"a\nb\r\nc\td", "a b  c d"},
		{"\x1b[31mred\x1b[0m", `\x1b[31mred\x1b[0m`},
		{"nul\x00del\x7f", `nul\x00del\x7f`},
		{"c1\u0085\u009b", `c1\u0085\u009b`},
		{"bidi\u202eevil\u2066", `bidi\u202eevil\u2066`},
		{"bad\xffutf8", "bad\uFFFDutf8"},
	}
	for _, tt := range tests {
		if got := plainText(tt.in); got != tt.want {
			t.Errorf("plainText(%q) = %q, want %q", tt.in, got, tt.want)
		}
		if got := plainText(plainText(tt.in)); got != plainText(tt.in) {
			t.Errorf("plainText not idempotent on %q", tt.in)
		}
	}
}

func TestShortening(t *testing.T) {
	if got := shortCommit("0123456789abcdef0123456789abcdef01234567"); got != "0123456" {
		t.Errorf("shortCommit = %q", got)
	}
	if got := shortCommit("not-a-commit-id"); got != "not-a-commit-id" {
		t.Errorf("shortCommit of a non-hex = %q", got)
	}
	for in, want := range map[string]string{
		"https://github.com/a/b":     "github.com/a/b",
		"git+https://github.com/a/b": "github.com/a/b",
		"gitlab.com/a/b":             "gitlab.com/a/b",
	} {
		if got := shortRepo(in); got != want {
			t.Errorf("shortRepo(%q) = %q, want %q", in, got, want)
		}
	}
	for _, tt := range []struct {
		pv   *audit.Provenance
		want string
	}{
		{nil, ""},
		{&audit.Provenance{}, ""},
		{&audit.Provenance{WorkflowPath: "w.yml"}, "w.yml"},
		{&audit.Provenance{WorkflowPath: "w.yml", WorkflowRef: "refs/tags/v1.2.3"}, "w.yml@v1.2.3"},
		{&audit.Provenance{WorkflowPath: "w.yml", WorkflowRef: "refs/pull/4/merge"}, "w.yml@refs/pull/4/merge"},
	} {
		if got := workflowOf(tt.pv); got != tt.want {
			t.Errorf("workflowOf(%+v) = %q, want %q", tt.pv, got, tt.want)
		}
	}
}

// TestPassedSaysSo: when the audit passes (findings below --fail-on), no
// format says the packages "need attention" or shows a failure mark; when
// it fails, they do.
func TestPassedSaysSo(t *testing.T) {
	r := mixedResult()
	passed := tableString(t, r, Options{Passed: true})
	if strings.Contains(passed, "need attention") || !strings.Contains(passed, "to review (none fails this audit):") {
		t.Errorf("passed table:\n%s", passed)
	}
	md := markdownString(t, r, Options{Passed: true})
	if strings.Contains(md, "need attention") || strings.Contains(md, "❌ provaudit") || !strings.HasPrefix(md, "## ⚠️ provaudit: passed, ") {
		t.Errorf("passed markdown:\n%s", md)
	}
	failed := tableString(t, r, Options{})
	if !strings.Contains(failed, "need attention:") {
		t.Errorf("failed table:\n%s", failed)
	}
	if md := markdownString(t, r, Options{}); !strings.HasPrefix(md, "## ❌ provaudit: ") {
		t.Errorf("failed markdown:\n%s", md)
	}
}

// TestProblemSaidOnce: a registry-wide problem is printed once, with its
// count, and the rows of its packages point at it instead of repeating it.
func TestProblemSaidOnce(t *testing.T) {
	r := incompleteResult()
	msg := r.Problems[0].Message
	for name, out := range map[string]string{
		"table":    tableString(t, r, Options{}),
		"markdown": markdownString(t, r, Options{}),
	} {
		if n := strings.Count(out, "answered HTTP 401"); n != 1 {
			t.Errorf("%s says the problem %d times:\n%s", name, n, out)
		}
		if n := strings.Count(out, "the registry problem above"); n != r.Problems[0].Packages {
			t.Errorf("%s: %d rows point at the problem, want %d", name, n, r.Problems[0].Packages)
		}
	}
	if !strings.Contains(tableString(t, r, Options{}), "2 packages could not be checked: "+msg) {
		t.Error("the table does not count the problem's packages")
	}
}
