package report

import (
	"bytes"
	"slices"
	"strings"
	"testing"

	"github.com/provaudit/provaudit/audit"
)

func markdownString(t testing.TB, r *audit.Result, opts Options) string {
	t.Helper()
	var buf bytes.Buffer
	if err := Markdown(&buf, r, opts); err != nil {
		t.Fatalf("Markdown: %v", err)
	}
	return buf.String()
}

// gfmCells splits a GFM table row into cells as GitHub does: on every |
// that a backslash does not escape, ignoring the leading and trailing one.
func gfmCells(row string) []string {
	row = strings.TrimSpace(row)
	var cells []string
	var cur strings.Builder
	for i := 0; i < len(row); i++ {
		switch c := row[i]; {
		case c == '\\' && i+1 < len(row):
			cur.WriteByte(c)
			cur.WriteByte(row[i+1])
			i++
		case c == '|':
			cells = append(cells, cur.String())
			cur.Reset()
		default:
			cur.WriteByte(c)
		}
	}
	cells = append(cells, cur.String())
	if len(cells) > 0 && strings.TrimSpace(cells[0]) == "" {
		cells = cells[1:]
	}
	if len(cells) > 0 && strings.TrimSpace(cells[len(cells)-1]) == "" {
		cells = cells[:len(cells)-1]
	}
	return cells
}

// checkMarkdownTables checks that every table row has as many cells as its
// header, that no raw HTML from the input survives, and that <details> is
// balanced.
func checkMarkdownTables(t testing.TB, md string) {
	t.Helper()
	want := 0
	for i, l := range strings.Split(md, "\n") {
		if !strings.HasPrefix(l, "|") {
			want = 0
			continue
		}
		n := len(gfmCells(l))
		if want == 0 {
			want = n
			continue
		}
		if n != want {
			t.Errorf("line %d has %d cells, its table %d: %q", i+1, n, want, l)
		}
	}
	if strings.Count(md, "<details>") != strings.Count(md, "</details>") {
		t.Errorf("unbalanced <details>:\n%s", md)
	}
	allowed := strings.NewReplacer("<details>", "", "</details>", "", "<summary>", "", "</summary>", "", "<sub>", "", "</sub>", "", "<br>", "")
	if rest := allowed.Replace(md); strings.ContainsAny(rest, "<>") {
		i := strings.IndexAny(rest, "<>")
		t.Errorf("raw markup in output near %q", rest[max(0, i-30):min(len(rest), i+30)])
	}
}

func TestMarkdownTables(t *testing.T) {
	for _, fx := range fixtures {
		for _, all := range []bool{false, true} {
			md := markdownString(t, fx.result(), Options{All: all})
			checkMarkdownTables(t, md)
			checkNoControl(t, md)
		}
	}
}

// TestMarkdownCheckCatches proves the table check can fail.
func TestMarkdownCheckCatches(t *testing.T) {
	for _, md := range []string{
		"| a | b |\n|---|---|\n| x | y | z |\n",
		"| a | b |\n|---|---|\n| x | y \\\\| z |\n", // an escaped backslash does not escape the pipe
		"| a |\n|---|\n| <script> |\n",
		"<details>\n",
	} {
		rec := &recorder{}
		rec.run(func() { checkMarkdownTables(rec, md) })
		if !rec.failed {
			t.Errorf("check accepted %q", md)
		}
	}
}

func TestMarkdownHeading(t *testing.T) {
	tests := []struct {
		name   string
		result func() *audit.Result
		want   string
	}{
		{"findings", mixedResult, "## ❌ provaudit: 7 findings in 6 packages\n"},
		{"one finding", hostileResult, "## ❌ provaudit: 3 findings in 1 package\n"},
		{"incomplete", incompleteResult, "## ❗ provaudit: audit incomplete, 4 packages could not be checked\n"},
		{"clean", cleanResult, "## ✅ provaudit: checked 2 of 2 audited packages, no findings\n"},
		{"nothing checked", uncheckedResult, "## ❗ provaudit: nothing verified, checked 0 of 2 audited packages against trusted keys and attestations\n"},
		{"not everything checked", func() *audit.Result {
			r := cleanResult()
			r.Summary.Checked--
			return r
		}, "## ⚠️ provaudit: checked 1 of 2 audited packages against trusted keys and attestations\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			md := markdownString(t, tt.result(), Options{})
			if !strings.HasPrefix(md, tt.want) {
				t.Errorf("heading %q, want %q", strings.SplitN(md, "\n", 2)[0], tt.want)
			}
		})
	}
}

func TestMarkdownDetailsOnlyWithAll(t *testing.T) {
	short := markdownString(t, mixedResult(), Options{})
	all := markdownString(t, mixedResult(), Options{All: true})
	if strings.Contains(short, "<details>") || strings.Contains(short, "ms@2.1.3") {
		t.Error("short report lists every package")
	}
	if !strings.Contains(all, "<details>\n<summary>All 14 packages</summary>") || !strings.Contains(all, "`ms@2.1.3`") {
		t.Errorf("--all report lacks the details block:\n%s", all)
	}
}

func TestMdText(t *testing.T) {
	tests := []struct{ in, want string }{
		{"plain words", "plain words"},
		{"a|b", `a\|b`},
		{`back\slash`, `back\\slash`},
		{"line\nbreak", "line break"},
		{"</details><script>", "&lt;/details&gt;&lt;script&gt;"},
		{"@octocat #12 *x* _y_ [l](u) ~z~ `c`", "\\@octocat \\#12 \\*x\\* \\_y\\_ \\[l\\](u) \\~z\\~ \\`c\\`"},
		{"\x1b[1m", `\\x1b\[1m`},
	}
	for _, tt := range tests {
		if got := mdText(tt.in); got != tt.want {
			t.Errorf("mdText(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestMdCode(t *testing.T) {
	tests := []struct{ in, want string }{
		{"lodash@4.17.21", "`lodash@4.17.21`"},
		{"", ""},
		{"a`b", "``a`b``"},
		{"`edge`", "`` `edge` ``"},
		{"a|b", `a\|b`},
		{`dir\package-lock.json`, "`dir\\package-lock.json`"},
	}
	for _, tt := range tests {
		if got := mdCode(tt.in); got != tt.want {
			t.Errorf("mdCode(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	if got := gfmCells("| " + mdCode("x|y") + " | b |"); !slices.Equal(got, []string{` x\|y `, " b "}) {
		t.Errorf("pipe in a name splits the cell: %q", got)
	}
}
