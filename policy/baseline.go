package policy

import (
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"

	"github.com/Masterminds/semver/v3"

	"github.com/provaudit/provaudit/audit"
	"github.com/provaudit/provaudit/internal/localfile"
	"github.com/provaudit/provaudit/internal/npmspec"
)

// BaselineFileName is the name of a project's identity baseline, written
// by `provaudit baseline` and read beside the lockfile.
const BaselineFileName = "provaudit-baseline.json"

// BaselineFormat is the format version a baseline file declares in its
// "provauditBaseline" key.
const BaselineFormat = 1

// MaxBaselineSize caps a baseline file: one of a 10,000-package lockfile
// has a few megabytes.
const MaxBaselineSize = 64 << 20

// maxField bounds every string of a baseline file.
const maxField = 4096

// ErrMalformedBaseline reports a baseline file that cannot be used.
var ErrMalformedBaseline = errors.New("malformed identity baseline")

// Baseline is the identity baseline of a project (trust on first use):
// per package name, the verified identities that built its locked
// versions and the trust level of each release line when it was recorded.
// It is the project's input: it can add findings, never remove any.
type Baseline struct {
	// File is where it was read from (not part of the file).
	File string `json:"-"`
	// Format is BaselineFormat.
	Format int `json:"provauditBaseline"`
	// Packages maps package names to what was recorded for them.
	Packages map[string]*BaselinePackage `json:"packages"`
}

// BaselinePackage is what a baseline recorded for one package name.
type BaselinePackage struct {
	// Lines maps each release line ("2.x", "0.3.x") of the locked versions
	// to the weakest trust level among them.
	Lines map[string]audit.TrustLevel `json:"lines,omitempty"`
	// Identities are the distinct verified identities of the locked
	// versions with provenance.
	Identities []BaselineIdentity `json:"identities,omitempty"`
}

// BaselineIdentity is a verified identity as a baseline records it, with
// the version it was seen on.
type BaselineIdentity struct {
	Version           string `json:"version"`
	Repository        string `json:"repository"`
	RepositoryID      string `json:"repositoryId,omitempty"`
	Owner             string `json:"owner,omitempty"`
	OwnerID           string `json:"ownerId,omitempty"`
	WorkflowPath      string `json:"workflowPath,omitempty"`
	Issuer            string `json:"issuer"`
	RunnerEnvironment string `json:"runnerEnvironment,omitempty"`
	BuilderID         string `json:"builderId,omitempty"`
}

// Record builds the baseline of an audit result: every package whose
// registry signature or attestations a trusted key verified (status
// verified or signed) and that has no finding but of a policy rule.
func Record(r *audit.Result) *Baseline {
	b := &Baseline{Format: BaselineFormat, Packages: map[string]*BaselinePackage{}}
	for i := range r.Packages {
		pk := &r.Packages[i]
		if !recordable(pk) {
			continue
		}
		bp := b.Packages[pk.Name]
		if bp == nil {
			bp = &BaselinePackage{}
			b.Packages[pk.Name] = bp
		}
		if line := ReleaseLine(pk.Version); line != "" {
			lvl := levelOf(pk)
			if bp.Lines == nil {
				bp.Lines = map[string]audit.TrustLevel{}
			}
			if old, ok := bp.Lines[line]; !ok || levelRank(lvl) < levelRank(old) {
				bp.Lines[line] = lvl
			}
		}
		if audit.HasProvenance(pk) {
			bp.Identities = append(bp.Identities, identityOf(pk))
		}
	}
	// Identities in order, then each dropped that an earlier one matches:
	// the lowest version of each identity is kept, whatever the order of
	// the packages.
	for _, bp := range b.Packages {
		slices.SortFunc(bp.Identities, compareIdentities)
		var kept []BaselineIdentity
		for _, id := range bp.Identities {
			if !slices.ContainsFunc(kept, func(o BaselineIdentity) bool { return len(differences(o, id)) == 0 }) {
				kept = append(kept, id)
			}
		}
		bp.Identities = kept
	}
	return b
}

func recordable(pk *audit.Package) bool {
	if pk.Status != audit.StatusVerified && pk.Status != audit.StatusSigned {
		return false
	}
	return !slices.ContainsFunc(pk.Findings, func(f audit.Finding) bool { return !audit.IsPolicyRule(f.Rule) })
}

func compareIdentities(a, b BaselineIdentity) int {
	va, errA := semver.NewVersion(a.Version)
	vb, errB := semver.NewVersion(b.Version)
	if errA == nil && errB == nil {
		if c := va.Compare(vb); c != 0 {
			return c
		}
	}
	return cmp.Or(strings.Compare(a.Version, b.Version), strings.Compare(a.Repository, b.Repository),
		strings.Compare(a.WorkflowPath, b.WorkflowPath), strings.Compare(a.Issuer, b.Issuer),
		strings.Compare(a.RunnerEnvironment, b.RunnerEnvironment), strings.Compare(a.BuilderID, b.BuilderID),
		strings.Compare(a.RepositoryID, b.RepositoryID), strings.Compare(a.OwnerID, b.OwnerID), strings.Compare(a.Owner, b.Owner))
}

// Marshal encodes the baseline deterministically (sorted keys, sorted
// identities, two-space indentation, a final newline): the same result
// always gives the same bytes, so that the committed file changes only
// when what it records does.
func (b *Baseline) Marshal() ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(b); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// FindBaseline returns the path of the baseline file in dir, "" when there
// is none.
func FindBaseline(dir string) (string, error) {
	file := filepath.Join(dir, BaselineFileName)
	if _, err := os.Stat(file); err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return "", nil
		}
		return "", fmt.Errorf("identity baseline: %w", err)
	}
	return file, nil
}

// LoadBaseline reads and parses the baseline file at file.
func LoadBaseline(file string) (*Baseline, error) {
	data, err := localfile.Read(file, MaxBaselineSize)
	if err != nil {
		return nil, fmt.Errorf("identity baseline: %w", err)
	}
	return ParseBaseline(file, data)
}

var lineRE = regexp.MustCompile(`^(?:0\.(?:0|[1-9][0-9]{0,15})|[1-9][0-9]{0,15})\.x$`)

// ParseBaseline parses a baseline file's content strictly: unknown keys,
// another format version, invalid names, versions, release lines or
// levels, missing or oversized fields are errors wrapping
// ErrMalformedBaseline that name the file (with line:column for JSON
// errors) and the package.
func ParseBaseline(file string, data []byte) (*Baseline, error) {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s: %s", ErrMalformedBaseline, file, fmt.Sprintf(format, args...))
	}
	if len(data) > MaxBaselineSize {
		return nil, bad("%d bytes, more than the %d a baseline may have", len(data), MaxBaselineSize)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var b Baseline
	if err := dec.Decode(&b); err != nil {
		return nil, jsonError(file, data, err)
	}
	if end := dec.InputOffset(); len(bytes.TrimSpace(data[end:])) > 0 {
		trailing := end + int64(len(data[end:])-len(bytes.TrimLeft(data[end:], " \t\r\n")))
		return nil, fmt.Errorf("%w: %s:%s: data after the JSON document", ErrMalformedBaseline, file, position(data, trailing))
	}
	if b.Format != BaselineFormat {
		return nil, bad("provauditBaseline is %d, want %d (a baseline file written by provaudit baseline)", b.Format, BaselineFormat)
	}
	if b.Packages == nil {
		return nil, bad("packages is missing")
	}
	names := make([]string, 0, len(b.Packages))
	for name := range b.Packages {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		bp := b.Packages[name]
		if err := npmspec.ValidName(name); err != nil {
			return nil, bad("packages: %v", err)
		}
		if bp == nil {
			return nil, bad("packages.%s is null", name)
		}
		for line, lvl := range bp.Lines {
			if !lineRE.MatchString(line) {
				return nil, bad("packages.%s.lines: %q is not a release line (N.x, or 0.N.x)", name, line)
			}
			if lvl.Rank() == 0 {
				return nil, bad("packages.%s.lines.%s: unknown trust level %q", name, line, lvl)
			}
		}
		for i, id := range bp.Identities {
			if msg := id.check(); msg != "" {
				return nil, bad("packages.%s.identities[%d]: %s", name, i, msg)
			}
		}
	}
	b.File = file
	return &b, nil
}

func (id *BaselineIdentity) check() string {
	if err := npmspec.ValidVersion(id.Version); err != nil {
		return err.Error()
	}
	if id.Repository == "" || id.Issuer == "" {
		return "repository and issuer are required"
	}
	for _, s := range []string{id.Repository, id.RepositoryID, id.Owner, id.OwnerID, id.WorkflowPath, id.Issuer, id.RunnerEnvironment, id.BuilderID} {
		if len(s) > maxField {
			return fmt.Sprintf("a field of %d bytes, more than %d", len(s), maxField)
		}
	}
	return ""
}

// jsonError names the file and the line:column of a JSON decoding error.
func jsonError(file string, data []byte, err error) error {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		return fmt.Errorf("%w: %s:%s: %v", ErrMalformedBaseline, file, position(data, se.Offset-1), err)
	case errors.As(err, &te):
		return fmt.Errorf("%w: %s:%s: %s: want %s, got a JSON %s", ErrMalformedBaseline, file, position(data, te.Offset-1), te.Field, jsonKind(te.Type), te.Value)
	case errors.Is(err, io.EOF):
		return fmt.Errorf("%w: %s: the file is empty", ErrMalformedBaseline, file)
	}
	return fmt.Errorf("%w: %s: %v", ErrMalformedBaseline, file, err)
}

// jsonKind names what a Go type is in JSON, for messages.
func jsonKind(t reflect.Type) string {
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Int, reflect.Int64:
		return "a number"
	case reflect.Map, reflect.Struct, reflect.Pointer:
		return "an object"
	case reflect.Slice:
		return "an array"
	}
	return t.String()
}

// position is the 1-based line:column of byte offset off in data.
func position(data []byte, off int64) string {
	off = min(max(off, 0), int64(len(data)))
	before := data[:off]
	line := bytes.Count(before, []byte("\n")) + 1
	col := int(off) - (bytes.LastIndexByte(before, '\n') + 1) + 1
	return fmt.Sprintf("%d:%d", line, col)
}

// ReleaseLine is the release line of a version: "2.x" (same major), "0.3.x"
// (same minor for 0.x), "" for a prerelease or a version that is not
// semver (a prerelease is never a baseline).
func ReleaseLine(version string) string {
	v, err := semver.StrictNewVersion(version)
	if err != nil || v.Prerelease() != "" {
		return ""
	}
	if v.Major() == 0 {
		return fmt.Sprintf("0.%d.x", v.Minor())
	}
	return fmt.Sprintf("%d.x", v.Major())
}

// levelOf is a package's trust level: the audit's, when it looked at the
// version's publication, else what its verified evidence shows
// (provenance, a registry signature, nothing).
func levelOf(pk *audit.Package) audit.TrustLevel {
	if pk.Publication != nil && pk.Publication.Level != "" {
		return pk.Publication.Level
	}
	switch {
	case audit.HasProvenance(pk):
		return audit.LevelProvenance
	case pk.RegistrySignature != nil && pk.RegistrySignature.Status == audit.CheckVerified:
		return audit.LevelSignature
	}
	return audit.LevelNone
}

// levelRank orders levels for the baseline: an approval (staged
// publishing) is not part of it, so that a release without one is not a
// drop.
func levelRank(l audit.TrustLevel) int {
	switch l {
	case audit.LevelApprovedTrustedPublishing, audit.LevelTrustedPublishing:
		return 3
	case audit.LevelProvenance:
		return 2
	case audit.LevelSignature:
		return 1
	}
	return 0
}

func identityOf(pk *audit.Package) BaselineIdentity {
	pv := pk.Attestations.Provenance
	return BaselineIdentity{
		Version:           pk.Version,
		Repository:        pv.SourceRepository,
		RepositoryID:      pv.RepositoryID,
		Owner:             pv.Owner,
		OwnerID:           pv.OwnerID,
		WorkflowPath:      pv.WorkflowPath,
		Issuer:            pv.Issuer,
		RunnerEnvironment: pv.RunnerEnvironment,
		BuilderID:         pv.BuilderID,
	}
}

// differences lists how identity cur differs from the recorded rec, as
// "what old → new". Repository and owner compare by their numeric ids when
// both sides have them (a rename keeps the id), else by URL; other facts
// compare when both sides carry them.
func differences(rec, cur BaselineIdentity) []string {
	var out []string
	if rec.RepositoryID != "" && cur.RepositoryID != "" {
		if rec.RepositoryID != cur.RepositoryID {
			out = append(out, fmt.Sprintf("repository %s (id %s) → %s (id %s)", rec.Repository, rec.RepositoryID, cur.Repository, cur.RepositoryID))
		}
	} else if NormalizeRepository(rec.Repository) != NormalizeRepository(cur.Repository) {
		out = append(out, fmt.Sprintf("repository %s → %s", rec.Repository, cur.Repository))
	}
	if rec.OwnerID != "" && cur.OwnerID != "" {
		if rec.OwnerID != cur.OwnerID {
			out = append(out, fmt.Sprintf("owner %s (id %s) → %s (id %s)", orNone(rec.Owner), rec.OwnerID, orNone(cur.Owner), cur.OwnerID))
		}
	} else if rec.Owner != "" && cur.Owner != "" && NormalizeRepository(rec.Owner) != NormalizeRepository(cur.Owner) {
		out = append(out, fmt.Sprintf("owner %s → %s", rec.Owner, cur.Owner))
	}
	for _, f := range []struct{ what, a, b string }{
		{"workflow", rec.WorkflowPath, cur.WorkflowPath},
		{"issuer", rec.Issuer, cur.Issuer},
		{"runner", rec.RunnerEnvironment, cur.RunnerEnvironment},
		{"builder", rec.BuilderID, cur.BuilderID},
	} {
		if f.a != "" && f.b != "" && f.a != f.b {
			out = append(out, fmt.Sprintf("%s %s → %s", f.what, f.a, f.b))
		}
	}
	return out
}

// Check returns the findings of pk against the baseline: provenance-
// regression when its trust level is below what the baseline recorded for
// its release line, identity-drift when its verified identity is none of
// those recorded for its name. Names the baseline does not know get none.
func (b *Baseline) Check(pk *audit.Package) []audit.Finding {
	bp := b.Packages[pk.Name]
	if bp == nil {
		return nil
	}
	var out []audit.Finding
	if line := ReleaseLine(pk.Version); line != "" {
		if want, ok := bp.Lines[line]; ok {
			cur, wantRank := levelOf(pk), levelRank(want)
			if pk.Publication == nil || pk.Publication.Level == "" {
				// Without the version's publication only the evidence is
				// known: trusted publishing cannot be told from provenance.
				wantRank = min(wantRank, levelRank(audit.LevelProvenance))
			}
			if levelRank(cur) < wantRank {
				out = append(out, audit.Finding{Rule: audit.RuleProvenanceRegression, Severity: audit.SeverityHigh,
					Message: fmt.Sprintf("trust level dropped against the baseline (%s): %s@%s has %s, the baseline recorded %s for its release line %s", b.File, pk.Name, pk.Version, cur, want, line)})
			}
		}
	}
	if audit.HasProvenance(pk) && len(bp.Identities) > 0 {
		cur := identityOf(pk)
		var closest []string
		var from string
		for _, rec := range bp.Identities {
			d := differences(rec, cur)
			if len(d) == 0 {
				return out
			}
			if closest == nil || len(d) < len(closest) {
				closest, from = d, rec.Version
			}
		}
		out = append(out, audit.Finding{Rule: audit.RuleIdentityDrift, Severity: audit.SeverityHigh,
			Message: fmt.Sprintf("verified identity drifted against the baseline (%s, recorded from %s@%s): %s", b.File, pk.Name, from, strings.Join(closest, "; "))})
	}
	return out
}
