package report

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/Masterminds/semver/v3"

	"github.com/provaudit/provaudit/audit"
	"github.com/provaudit/provaudit/lockfile"
)

// Errors returned by the renderers.
var (
	// ErrUnknownFormat: [Render] was asked for a format not in [Formats].
	ErrUnknownFormat = errors.New("unknown report format")
	// ErrInvalidResult: the result breaks the contract of [audit.Result]
	// (nil, another schemaVersion, a status outside its enum, a line below 1,
	// ...). Renderers refuse it rather than write a report that lies.
	ErrInvalidResult = errors.New("invalid audit result")
)

// Formats lists the names [Render] accepts, in the order the CLI's help
// shows them.
var Formats = []string{"table", "json", "sarif", "markdown", "cyclonedx", "spdx"}

// DefaultWidth is the line width the table wraps reasons to when
// [Options].Width is 0.
const DefaultWidth = 100

// minWidth is the narrowest width the table honours; narrower requests are
// raised to it so that reasons stay readable.
const minWidth = 60

// Options tune the human-readable formats. JSON and SARIF ignore them: their
// content never depends on how a terminal looks.
type Options struct {
	// All lists every package (table and markdown), with its source
	// repository, commit and workflow, not only those needing attention.
	All bool
	// Color writes ANSI colours for statuses (table only). The CLI decides
	// it (--color auto|always|never, NO_COLOR); renderers never look at the
	// terminal.
	Color bool
	// Width is the line width, in terminal columns, that the table wraps
	// long reasons to (table only). 0 means DefaultWidth; values below 60
	// are raised to 60. The CLI passes the terminal's width when stdout is
	// a terminal.
	Width int
	// Passed says the audit passes (the CLI exits 0). Packages listed for
	// attention then do not fail it, and the heading over them says so
	// instead of "need attention" (table and markdown).
	Passed bool
}

// Render writes r to w in format, one of [Formats]. An unknown format is
// ErrUnknownFormat; a result that breaks its contract is ErrInvalidResult.
// Nothing is written to w unless the whole report rendered.
func Render(w io.Writer, format string, r *audit.Result, opts Options) error {
	switch format {
	case "table":
		return Table(w, r, opts)
	case "json":
		return JSON(w, r)
	case "sarif":
		return SARIF(w, r)
	case "markdown":
		return Markdown(w, r, opts)
	case "cyclonedx":
		return CycloneDX(w, r)
	case "spdx":
		return SPDX(w, r)
	}
	return fmt.Errorf("%w: %q (want one of %s)", ErrUnknownFormat, format, strings.Join(Formats, ", "))
}

// emit validates r, renders it into a buffer with render and writes the
// buffer to w in one call, so that a failed render writes nothing.
func emit(w io.Writer, format string, r *audit.Result, render func(*bytes.Buffer, *audit.Result) error) error {
	if err := validate(r); err != nil {
		return err
	}
	var buf bytes.Buffer
	if err := render(&buf, r); err != nil {
		return fmt.Errorf("report: rendering %s: %w", format, err)
	}
	if _, err := w.Write(buf.Bytes()); err != nil {
		return fmt.Errorf("report: writing %s: %w", format, err)
	}
	return nil
}

// validate checks the parts of the contract the renderers rely on.
func validate(r *audit.Result) error {
	if r == nil {
		return fmt.Errorf("%w: nil result", ErrInvalidResult)
	}
	if r.SchemaVersion != audit.SchemaVersion {
		return fmt.Errorf("%w: schemaVersion %d, this renderer writes %d", ErrInvalidResult, r.SchemaVersion, audit.SchemaVersion)
	}
	var errs []error
	for i := range r.Packages {
		p := &r.Packages[i]
		bad := func(format string, args ...any) {
			errs = append(errs, fmt.Errorf("%w: package %d (%s): %s", ErrInvalidResult, i, pkgID(p), fmt.Sprintf(format, args...)))
		}
		if !slices.Contains(audit.Statuses, p.Status) {
			bad("status %q is not one of %v", p.Status, audit.Statuses)
		}
		if p.Line < 1 {
			bad("line %d, want the 1-based line of its lockfile entry", p.Line)
		}
		if s := p.RegistrySignature; s != nil && !slices.Contains(audit.SignatureStatuses, s.Status) {
			bad("registrySignature.status %q is not one of %v", s.Status, audit.SignatureStatuses)
		}
		if a := p.Attestations; a != nil && !slices.Contains(audit.AttestationStatuses, a.Status) {
			bad("attestations.status %q is not one of %v", a.Status, audit.AttestationStatuses)
		}
		for j, f := range p.Findings {
			switch {
			case f.Rule == "":
				bad("finding %d has no rule", j)
			case !utf8.ValidString(string(f.Rule)):
				// Rule ids are provaudit's own identifiers, never text
				// from a lockfile or registry. JSON cannot carry invalid
				// UTF-8: two such ids would both print as U+FFFD and SARIF
				// would list one rule twice.
				bad("finding %d has a rule id that is not valid UTF-8: %q", j, f.Rule)
			}
			if f.Severity.Rank() == 0 {
				bad("finding %d (%s) has severity %q, want critical, high, medium or low", j, f.Rule, f.Severity)
			}
		}
		if len(errs) >= 10 {
			errs = append(errs, fmt.Errorf("%w: further packages not checked", ErrInvalidResult))
			break
		}
	}
	return errors.Join(errs...)
}

// statusRank orders statuses for the "needs attention" lists: possible
// tampering first, then findings, then what could not be checked.
func statusRank(s audit.Status) int {
	switch s {
	case audit.StatusInvalid:
		return 0
	case audit.StatusUnsigned:
		return 1
	case audit.StatusError:
		return 2
	case audit.StatusSigned:
		return 3
	case audit.StatusVerified:
		return 4
	case audit.StatusSkipped:
		return 5
	}
	return 6
}

// needsAttention reports whether a package belongs in the attention list:
// invalid, unsigned, not checked (its source check included), or carrying
// any finding.
func needsAttention(p *audit.Package) bool {
	switch p.Status {
	case audit.StatusInvalid, audit.StatusUnsigned, audit.StatusError:
		return true
	}
	return len(p.Findings) > 0 || sourceIncomplete(p)
}

// attention returns the packages needing attention, most severe status
// first, then by name, version and integrity.
func attention(r *audit.Result) []*audit.Package {
	var out []*audit.Package
	for i := range r.Packages {
		if needsAttention(&r.Packages[i]) {
			out = append(out, &r.Packages[i])
		}
	}
	slices.SortStableFunc(out, func(a, b *audit.Package) int {
		if d := statusRank(a.Status) - statusRank(b.Status); d != 0 {
			return d
		}
		return comparePackages(a, b)
	})
	return out
}

// byName returns every package ordered by name, version and integrity.
func byName(r *audit.Result) []*audit.Package {
	out := make([]*audit.Package, len(r.Packages))
	for i := range r.Packages {
		out[i] = &r.Packages[i]
	}
	slices.SortStableFunc(out, comparePackages)
	return out
}

func comparePackages(a, b *audit.Package) int {
	if c := strings.Compare(a.Name, b.Name); c != 0 {
		return c
	}
	if c := compareVersions(a.Version, b.Version); c != 0 {
		return c
	}
	return strings.Compare(a.Integrity, b.Integrity)
}

// compareVersions orders versions by semantic version precedence (1.9.0
// before 1.10.0, prereleases before their release), with versions that are
// not semver after those that are, in string order.
func compareVersions(a, b string) int {
	va, errA := semver.StrictNewVersion(a)
	vb, errB := semver.StrictNewVersion(b)
	switch {
	case errA == nil && errB == nil:
		if c := va.Compare(vb); c != 0 {
			return c
		}
	case errA == nil:
		return -1
	case errB == nil:
		return 1
	}
	return strings.Compare(a, b)
}

// pkgID is name@version, or the name alone when there is no version (links
// and workspaces may have none).
func pkgID(p *audit.Package) string {
	if p.Version == "" {
		return p.Name
	}
	return p.Name + "@" + p.Version
}

// counts are the numbers the table and markdown summaries print, derived
// from the summary and, where the summary has no field, from the packages.
type counts struct {
	s audit.Summary
	// keyless: the registry publishes no signing keys.
	keyless int
	// skippedForeign: skipped and not from a registry; skippedOther:
	// registry packages skipped (omitted or bundled).
	skippedForeign, skippedOther int
	// Reasons for invalid packages; a package may count in several.
	sigInvalid, attInvalid, otherInvalid int
	// Reasons for unsigned packages.
	sigMissing, sigUntrusted, unsignedKeyless int
	// attUntrusted counts packages whose attestations are signed by a key
	// nothing trusts.
	attUntrusted int
	// withFindings counts packages with at least one finding.
	withFindings int
	// problems are the registry-wide failures, each said once (see
	// problemLines); otherErrors counts the errors they do not explain.
	problems    []string
	otherErrors int
}

func countResult(r *audit.Result) counts {
	c := counts{s: r.Summary, problems: problemLines(r), otherErrors: r.Summary.Error}
	for _, pr := range r.Problems {
		c.otherErrors -= pr.Packages
	}
	if len(r.Problems) == 0 || c.otherErrors < 0 {
		c.otherErrors = r.Summary.Error
	}
	for i := range r.Packages {
		p := &r.Packages[i]
		var sig, att audit.CheckStatus
		if p.RegistrySignature != nil {
			sig = p.RegistrySignature.Status
		}
		if p.Attestations != nil {
			att = p.Attestations.Status
		}
		if sig == audit.CheckUnsupported {
			c.keyless++
		}
		if len(p.Findings) > 0 {
			c.withFindings++
		}
		if att == audit.CheckUntrusted && p.Status != audit.StatusInvalid {
			c.attUntrusted++
		}
		switch p.Status {
		case audit.StatusSkipped:
			switch {
			case p.Kind != lockfile.KindRegistry:
				c.skippedForeign++
			case p.Change != lockfile.ChangeUnchanged: // diff mode's unchanged ones: see policyLines
				c.skippedOther++
			}
		case audit.StatusInvalid:
			if sig == audit.CheckInvalid {
				c.sigInvalid++
			}
			if att == audit.CheckInvalid {
				c.attInvalid++
			}
			if sig != audit.CheckInvalid && att != audit.CheckInvalid {
				c.otherInvalid++
			}
		case audit.StatusUnsigned:
			switch sig {
			case audit.CheckMissing:
				c.sigMissing++
			case audit.CheckUntrusted:
				c.sigUntrusted++
			default:
				c.unsignedKeyless++
			}
		}
	}
	return c
}

// summaryLine is one line of the summary: the count and its wording in the
// singular and the plural.
type summaryLine struct {
	n                int
	singular, plural string
}

func (l summaryLine) String() string {
	if l.n == 1 {
		return "1 " + l.singular
	}
	return thousands(l.n) + " " + l.plural
}

// summaryBlocks returns the summary in the spirit of `npm audit
// signatures`: what was checked, what is fine, what is not. Lines with a
// zero count are left out, and so are empty blocks.
func summaryBlocks(c counts) [][]string {
	good := []summaryLine{
		{c.s.SignaturesVerified, "package has a verified registry signature", "packages have verified registry signatures"},
		{c.s.AttestationsVerified, "package has verified attestations", "packages have verified attestations"},
		{c.keyless, "package is from a registry that publishes no signing keys", "packages are from a registry that publishes no signing keys"},
		{c.skippedForeign, "package was skipped (not from a registry)", "packages were skipped (not from a registry)"},
		{c.skippedOther, "registry package was skipped (omitted or bundled)", "registry packages were skipped (omitted or bundled)"},
	}
	bad := []summaryLine{
		{c.sigInvalid, "package has an invalid registry signature", "packages have invalid registry signatures"},
		{c.attInvalid, "package has invalid attestations", "packages have invalid attestations"},
		{c.otherInvalid, "package has registry data that disagrees with the lockfile", "packages have registry data that disagrees with the lockfile"},
		{c.sigMissing, "package has a missing registry signature", "packages have missing registry signatures"},
		{c.sigUntrusted, "package has a registry signature by a key nothing trusts", "packages have registry signatures by keys nothing trusts"},
		{c.attUntrusted, "package has attestations signed by a key nothing trusts", "packages have attestations signed by keys nothing trusts"},
		{c.unsignedKeyless, "package has neither a registry signature nor attestations", "packages have neither registry signatures nor attestations"},
		{c.otherErrors, "package could not be checked", "packages could not be checked"},
	}
	if len(c.problems) > 0 {
		bad[len(bad)-1].singular = "package could not be checked for another reason"
		bad[len(bad)-1].plural = "packages could not be checked for other reasons"
	}
	var blocks [][]string
	for _, ls := range [][]summaryLine{good, bad} {
		var b []string
		for _, l := range ls {
			if l.n > 0 {
				b = append(b, l.String())
			}
		}
		if &ls[0] == &bad[0] {
			// Each registry-wide problem once, before the other errors.
			n := len(b)
			if c.otherErrors > 0 {
				n--
			}
			b = slices.Insert(b, n, c.problems...)
		}
		if len(b) > 0 {
			blocks = append(blocks, b)
		}
	}
	if c.s.Findings > 0 {
		line := summaryLine{c.s.Findings, "finding", "findings"}.String() + " in " +
			summaryLine{c.withFindings, "package", "packages"}.String()
		blocks = append(blocks, []string{line})
	}
	return blocks
}

// auditedLine is the summary's first line: "audited N packages in 1.2s",
// with the kind of lockfile when the result names it: "audited N packages
// (pnpm lockfile) in 1.2s". When nothing could be checked it leads with
// that instead: "checked 0 of N packages (npm lockfile) in 1.2s", and
// checkedLine is not printed after it.
func auditedLine(r *audit.Result) string {
	s := r.Summary
	verb := "audited "
	if nothingChecked(s) {
		verb = "checked 0 of "
	}
	return verb + summaryLine{s.Audited, "package", "packages"}.String() + lockfileKind(r.Lockfile) + " in " + duration(s.DurationMS)
}

// attentionHeading is the heading over the packages needing attention: "N
// packages need attention", or, when the audit passes anyway (their
// findings are below --fail-on), "N packages to review (none fails this
// audit)".
func attentionHeading(n int, passed bool) string {
	if passed {
		return summaryLine{n, "package", "packages"}.String() + " to review (none fails this audit)"
	}
	return summaryLine{n, "package needs attention", "packages need attention"}.String()
}

// problemLines says each registry-wide problem once with the number of
// packages it left unchecked: "1,178 packages could not be checked:
// https://r.example refused the connection (...)", numbered when there
// are several.
func problemLines(r *audit.Result) []string {
	out := make([]string, 0, len(r.Problems))
	for i, p := range r.Problems {
		l := summaryLine{p.Packages, "package", "packages"}.String() + " could not be checked: " + plainText(p.Message)
		if len(r.Problems) > 1 {
			l = "(" + strconv.Itoa(i+1) + ") " + l
		}
		out = append(out, l)
	}
	return out
}

// problemReason is what the attention table says of a package left
// unchecked by a registry-wide problem, printed once above it: a reference
// to that problem instead of the same sentence on every row. ok is false
// for any other package.
func problemReason(r *audit.Result, p *audit.Package) (string, bool) {
	if p.Status != audit.StatusError {
		return "", false
	}
	for i, pr := range r.Problems {
		if pr.Message != p.Reason {
			continue
		}
		if len(r.Problems) == 1 {
			return "the registry problem above", true
		}
		return "registry problem (" + strconv.Itoa(i+1) + ") above", true
	}
	return "", false
}

// lockfileKind is " (FORMAT lockfile)", or "" when the format is not
// known.
func lockfileKind(l audit.LockfileInfo) string {
	if l.Format == "" {
		return ""
	}
	return " (" + string(l.Format) + " lockfile)"
}

// checkedLine says how many audited packages a trusted key or a verified
// attestation vouches for: "checked 7 of 8 packages against trusted keys
// and attestations"; "" when nothing was audited or nothing checked (the
// first line then says so).
func checkedLine(s audit.Summary) string {
	if s.Audited == 0 || nothingChecked(s) {
		return ""
	}
	return "checked " + thousands(s.Checked) + " of " + summaryLine{s.Audited, "package", "packages"}.String() + " against trusted keys and attestations"
}

// nothingChecked reports an audit that audited packages and checked none:
// never a pass, whatever else it says.
func nothingChecked(s audit.Summary) bool { return s.Audited > 0 && s.Checked == 0 }

// registryLines says, per registry packages were audited from, where it
// came from and what its keys are: "registry https://r.example/ (from
// --registry)", with a note when only the audited project named it or its
// keys are not listed.
func registryLines(r *audit.Result) []string {
	var out []string
	for _, reg := range r.Registries {
		if reg.Packages == 0 {
			continue
		}
		l := "registry " + plainText(reg.URL) + " (from " + plainText(reg.Source) + ")"
		var notes []string
		if reg.NamedBy == audit.NamedByProject {
			notes = append(notes, "named only by the audited project: only pinned keys are trusted")
		}
		switch reg.Keys {
		case "none":
			notes = append(notes, "publishes no signing keys")
		case "unknown":
			if slices.ContainsFunc(r.Problems, func(p audit.Problem) bool { return p.Message == reg.KeysReason }) {
				notes = append(notes, "signing keys unknown (see below)")
			} else {
				notes = append(notes, "signing keys unknown: "+plainText(reg.KeysReason))
			}
		case "pinned":
			notes = append(notes, "keys pinned with --npm-keys")
		}
		if len(notes) > 0 {
			l += ": " + strings.Join(notes, "; ")
		}
		out = append(out, l)
	}
	return out
}

// thousands formats n with commas between groups of three digits.
func thousands(n int) string {
	s := strconv.Itoa(n)
	neg := strings.HasPrefix(s, "-")
	if neg {
		s = s[1:]
	}
	var b strings.Builder
	if neg {
		b.WriteByte('-')
	}
	for i, d := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(d)
	}
	return b.String()
}

// duration formats milliseconds like npm does: tenths of a second below a
// minute, then minutes and seconds.
func duration(ms int64) string {
	if ms < 0 {
		ms = 0
	}
	if ms < 60_000 {
		return strconv.FormatFloat(float64(ms)/1000, 'f', 1, 64) + "s"
	}
	s := (ms + 500) / 1000
	return fmt.Sprintf("%dm%02ds", s/60, s%60)
}

// findingLines describes the findings of p for a reason cell: the rule and
// severity of each, and its message when the reason does not already say
// it; then why its source check is incomplete, when it is.
func findingLines(p *audit.Package) []string {
	out := make([]string, 0, len(p.Findings))
	for _, f := range p.Findings {
		l := fmt.Sprintf("%s (%s)", f.Rule, f.Severity)
		if f.Message != "" && !strings.Contains(p.Reason, f.Message) {
			l += ": " + f.Message
		}
		out = append(out, l)
	}
	if sourceIncomplete(p) {
		out = append(out, "source check incomplete: "+p.SourceCheck.Reason)
	}
	return out
}

// provenanceOf returns the verified provenance facts of p, if any.
func provenanceOf(p *audit.Package) *audit.Provenance {
	if p.Attestations == nil {
		return nil
	}
	return p.Attestations.Provenance
}

// shortRepo drops the URL scheme from a source repository.
func shortRepo(s string) string {
	s = strings.TrimPrefix(s, "git+")
	for _, scheme := range []string{"https://", "http://"} {
		if rest, ok := strings.CutPrefix(s, scheme); ok {
			return rest
		}
	}
	return s
}

// shortCommit abbreviates a hex commit id as git does.
func shortCommit(s string) string {
	if len(s) > 7 && isHex(s) {
		return s[:7]
	}
	return s
}

func isHex(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}

// workflowOf is the workflow path with its ref, refs/heads/ and refs/tags/
// dropped: ".github/workflows/release.yml@v1.2.3".
func workflowOf(pv *audit.Provenance) string {
	if pv == nil || pv.WorkflowPath == "" {
		return ""
	}
	ref := pv.WorkflowRef
	for _, p := range []string{"refs/heads/", "refs/tags/"} {
		if rest, ok := strings.CutPrefix(ref, p); ok {
			ref = rest
			break
		}
	}
	if ref == "" {
		return pv.WorkflowPath
	}
	return pv.WorkflowPath + "@" + ref
}

// plainText makes untrusted text (names, reasons and messages come from
// lockfiles and registries) safe to print on a terminal or in markdown:
// invalid UTF-8 becomes U+FFFD, line breaks and tabs become spaces, and
// control characters and bidirectional overrides become visible escapes
// (\x1b, \u202e), so that no escape sequence reaches the terminal.
func plainText(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		i += size
		switch {
		case r == utf8.RuneError && size == 1:
			b.WriteRune(utf8.RuneError)
		case r == '\n' || r == '\r' || r == '\t':
			b.WriteByte(' ')
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, `\x%02x`, r)
		case r >= 0x80 && r < 0xa0, isBidiControl(r), r == 0x2028 || r == 0x2029, r == 0xfeff:
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// isBidiControl reports the explicit directional formatting characters that
// can make text display differently from what it is.
func isBidiControl(r rune) bool {
	return r >= 0x202a && r <= 0x202e || r >= 0x2066 && r <= 0x2069 || r == 0x200e || r == 0x200f || r == 0x061c
}
