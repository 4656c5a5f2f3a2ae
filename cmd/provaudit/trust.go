package main

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/provaudit/provaudit/fetch"
	"github.com/provaudit/provaudit/internal/localfile"
	"github.com/provaudit/provaudit/internal/trustupdate"
	"github.com/provaudit/provaudit/verify"
)

// trustUsage is added to the root command's usage text.
const trustUsage = "provaudit trust update|show [flags]"

// trustExamples are added to the root command's examples.
const trustExamples = `
   provaudit trust update            refresh the trusted root and npm keys through TUF
   provaudit trust show              the trust material audits use, and its validity
   provaudit ./trust                 audit a project folder named "trust"`

func tufRootFlag() cli.Flag {
	return &cli.StringFlag{Name: "tuf-root", Usage: "TUF root.json `FILE` that updated trust material must verify from, instead of the embedded Sigstore public-good root (private Sigstore deployments)"}
}

func cacheDirFlag() cli.Flag {
	return &cli.StringFlag{Name: "cache-dir", Usage: "cache `DIR` holding updated trust material (default: the user cache directory/provaudit)"}
}

func trustCommand() *cli.Command {
	return &cli.Command{
		Name:            "trust",
		Usage:           "update or show the trust material (Sigstore trusted root, npm registry keys)",
		UsageText:       "provaudit trust update [flags]\nprovaudit trust show [flags]",
		HideHelpCommand: true,
		OnUsageError:    onUsageError,
		Action: func(c *cli.Context) error {
			if c.NArg() == 0 {
				return usagef("trust: name a subcommand: update or show")
			}
			return usagef("unknown trust subcommand %q: use update or show", c.Args().First())
		},
		Subcommands: []*cli.Command{
			{
				Name:  "update",
				Usage: "fetch the current Sigstore trusted root and the registry's npm keys through TUF into the cache directory",
				UsageText: "provaudit trust update [flags]\n\n" +
					"Audits then use the newest valid material (embedded or updated); every audit verifies\n" +
					"the stored update again, offline. A failed update stores nothing and leaves the\n" +
					"previous trust material in use.",
				HideHelpCommand: true,
				OnUsageError:    onUsageError,
				Flags: []cli.Flag{
					&cli.StringFlag{Name: "registry", Usage: "registry `URL` whose keys to fetch (default: npm configuration: npm_config_registry, user and global npmrc)"},
					&cli.StringFlag{Name: "tuf-mirror", Usage: "TUF repository `URL` (default: sigstore-go's public-good mirror)"},
					tufRootFlag(),
					cacheDirFlag(),
					&cli.BoolFlag{Name: "quiet", Aliases: []string{"q"}, Usage: "print nothing on stderr but errors"},
				},
				Action: trustUpdateAction,
			},
			{
				Name:            "show",
				Usage:           "which trusted root and npm keys audits use, where they came from, their validity windows and warnings",
				UsageText:       "provaudit trust show [flags]",
				HideHelpCommand: true,
				OnUsageError:    onUsageError,
				Flags: []cli.Flag{
					&cli.StringFlag{Name: "format", Aliases: []string{"f"}, Value: "text", Usage: "output format: text or json"},
					&cli.StringFlag{Name: "trusted-root", Usage: "show this Sigstore trusted_root.json `FILE` as an audit given --trusted-root would use it"},
					&cli.StringFlag{Name: "npm-keys", Usage: "show this npm keys `FILE` as an audit given --npm-keys would use it"},
					tufRootFlag(),
					cacheDirFlag(),
				},
				Action: trustShowAction,
			},
		},
	}
}

func onUsageError(_ *cli.Context, err error, _ bool) error { return usageError{err} }

func noArgs(c *cli.Context) error {
	if c.NArg() > 0 {
		return usagef("%s takes no arguments, got %s", c.Command.FullName(), strings.Join(c.Args().Slice(), " "))
	}
	return nil
}

// Kinds of trust sources.
const (
	sourceEmbedded = "embedded"
	sourceTUF      = "tuf"
	sourceFile     = "file"
)

// trustSource says where one piece of trust material came from: "embedded",
// "updated on DATE via TUF", "--trusted-root FILE" or "--npm-keys FILE".
type trustSource struct {
	kind    string    // sourceEmbedded, sourceTUF or sourceFile
	flag    string    // sourceFile: the flag that named the file
	file    string    // sourceFile: the file
	fetched time.Time // sourceTUF: when the update ran
}

func (s trustSource) String() string {
	switch s.kind {
	case sourceTUF:
		return "updated on " + s.fetched.UTC().Format(time.DateOnly) + " via TUF"
	case sourceFile:
		return s.flag + " " + s.file
	}
	return sourceEmbedded
}

// trustPiece is the material chosen for one part of the trust.
type trustPiece struct {
	data   []byte
	source trustSource
	asOf   time.Time // when it was fetched, captured or written (zero: unknown)
	note   string    // why an update did not replace the embedded material
}

// trustMaterial is the trust an audit uses and where each piece came from.
type trustMaterial struct {
	trustedRoot, npmKeys trustPiece
	state                *trustupdate.State // the verified update, nil if none
	ignored              error              // a stored update that did not verify
}

// trustFlags are the flags that decide the trust material.
type trustFlags struct {
	trustedRoot, npmKeys string // --trusted-root, --npm-keys
	tufRoot              string // --tuf-root
	cacheDir             string // --cache-dir ("" = default)
	noCache              bool   // --no-cache: updated material is not read
}

func (s *settings) trustFlags() trustFlags {
	return trustFlags{trustedRoot: s.trustedRoot, npmKeys: s.npmKeys, tufRoot: s.tufRoot, cacheDir: s.cacheDir, noCache: s.noCache}
}

// resolveTrust decides the trust material: the newest valid of embedded and
// updated (verified again here), then --trusted-root and --npm-keys on top.
func resolveTrust(f trustFlags) (*trustMaterial, error) {
	embedded := trustSource{kind: sourceEmbedded}
	m := &trustMaterial{
		trustedRoot: trustPiece{data: verify.EmbeddedTrustedRoot(), source: embedded, asOf: trustupdate.EmbeddedAsOf},
		npmKeys:     trustPiece{data: verify.EmbeddedNpmKeys(), source: embedded, asOf: trustupdate.EmbeddedAsOf},
	}
	if f.tufRoot != "" && f.noCache {
		return nil, usagef("--tuf-root verifies the updated trust material kept in the cache, so it cannot be combined with --no-cache")
	}
	// A --tuf-root is always checked, even when both files override what
	// it would verify: an input that is given must be usable.
	if (f.trustedRoot == "" || f.npmKeys == "" || f.tufRoot != "") && !f.noCache {
		if err := m.loadUpdate(f); err != nil {
			return nil, err
		}
	}
	var err error
	if f.trustedRoot != "" {
		if m.trustedRoot, err = filePiece("--trusted-root", f.trustedRoot); err != nil {
			return nil, err
		}
	}
	if f.npmKeys != "" {
		if m.npmKeys, err = filePiece("--npm-keys", f.npmKeys); err != nil {
			return nil, err
		}
	}
	return m, nil
}

func (m *trustMaterial) loadUpdate(f trustFlags) error {
	var root []byte
	if f.tufRoot != "" {
		b, err := localfile.Read(f.tufRoot, maxTrustFile)
		if err != nil {
			return inputError{fmt.Errorf("reading --tuf-root: %w", err)}
		}
		root = b
	}
	dir, err := cacheDir(f.cacheDir)
	if err != nil {
		if root != nil {
			return inputError{fmt.Errorf("--tuf-root %s: %w", f.tufRoot, err)}
		}
		return nil // no cache directory, so nothing was ever stored
	}
	r, err := trustupdate.Resolve(trustupdate.LoadOptions{CacheDir: dir, Root: root})
	switch {
	case errors.Is(err, trustupdate.ErrNotStored) && root != nil:
		return inputError{fmt.Errorf("--tuf-root %s: no trust material updated from it in %s: run provaudit trust update --tuf-root %s --tuf-mirror URL first", f.tufRoot, dir, f.tufRoot)}
	case err != nil && root != nil:
		return inputError{fmt.Errorf("--tuf-root %s: %w", f.tufRoot, err)}
	case err != nil:
		return inputError{err}
	}
	m.state, m.ignored = r.State, r.Ignored
	m.trustedRoot = m.updatedPiece(r.TrustedRoot)
	m.npmKeys = m.updatedPiece(r.NpmKeys)
	return nil
}

func (m *trustMaterial) updatedPiece(p trustupdate.Piece) trustPiece {
	if !p.Updated {
		return trustPiece{data: p.Data, source: trustSource{kind: sourceEmbedded}, asOf: trustupdate.EmbeddedAsOf, note: p.Note}
	}
	return trustPiece{
		data:   p.Data,
		source: trustSource{kind: sourceTUF, fetched: m.state.Fetched},
		asOf:   m.state.Fetched,
	}
}

// maxTrustFile caps the trust files and keys provaudit is given
// (--trusted-root, --npm-keys, --tuf-root, --sign-summary, verify-summary
// --key): the public-good trusted_root.json is about 20 kB, a key a few
// hundred bytes. They are read as regular files only (internal/localfile).
const maxTrustFile = 16 << 20

func filePiece(flag, path string) (trustPiece, error) {
	b, err := localfile.Read(path, maxTrustFile)
	if err != nil {
		return trustPiece{}, inputError{fmt.Errorf("reading %s: %w", flag, err)}
	}
	p := trustPiece{data: b, source: trustSource{kind: sourceFile, flag: flag, file: path}}
	if fi, err := os.Stat(path); err == nil {
		p.asOf = fi.ModTime()
	}
	return p, nil
}

func (m *trustMaterial) options() verify.TrustOptions {
	return verify.TrustOptions{TrustedRoot: m.trustedRoot.data, NpmKeys: m.npmKeys.data}
}

// ignoredWarning is the warning for a stored update that did not verify.
func (m *trustMaterial) ignoredWarning() string {
	if m.ignored == nil {
		return ""
	}
	return fmt.Sprintf("ignoring the stored trust update: %v; using the embedded trust material", m.ignored)
}

// cacheDir is --cache-dir, or the default the fetch package uses.
func cacheDir(flag string) (string, error) {
	if flag != "" {
		return flag, nil
	}
	ucd, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("no user cache directory (pass --cache-dir DIR): %w", err)
	}
	return filepath.Join(ucd, "provaudit"), nil
}

func trustUpdateAction(c *cli.Context) error {
	if err := noArgs(c); err != nil {
		return err
	}
	stdout, stderr := c.App.Writer, c.App.ErrWriter
	dir, err := cacheDir(c.String("cache-dir"))
	if err != nil {
		return inputError{err}
	}
	var root []byte
	if p := c.String("tuf-root"); p != "" {
		if root, err = localfile.Read(p, maxTrustFile); err != nil {
			return inputError{fmt.Errorf("reading --tuf-root: %w", err)}
		}
	}
	// Only the person's own configuration names the registry: no project
	// folder is involved.
	cfg, err := fetch.LoadConfig(fetch.ConfigOptions{Registry: c.String("registry"), Env: os.Environ(), NpmRegistry: npmRegistryIn(c.Context)})
	if err != nil {
		return inputError{fmt.Errorf("trust update needs the registry whose keys to fetch: %w", err)}
	}
	res, err := trustupdate.Update(c.Context, trustupdate.UpdateOptions{
		CacheDir:  dir,
		Mirror:    c.String("tuf-mirror"),
		Root:      root,
		Registry:  cfg.DefaultRegistry(),
		UserAgent: "provaudit/" + toolVersion(),
	})
	if res != nil && res.Ignored != nil && !c.Bool("quiet") {
		fmt.Fprintf(stderr, "provaudit: warning: replacing a stored trust update that did not verify: %v\n", res.Ignored)
	}
	if err != nil {
		if errors.Is(err, trustupdate.ErrUpdate) {
			return fmt.Errorf("%w; the trust material in use is unchanged", err)
		}
		return inputError{err}
	}
	st := res.State
	fmt.Fprintf(stdout, "Updated through TUF from %s (root version %d, timestamp %d, snapshot %d, targets %d).\n",
		st.Mirror, st.RootVersion, st.TimestampVersion, st.SnapshotVersion, st.TargetsVersion)
	fmt.Fprintf(stdout, "  trusted root  trusted_root.json, sha256 %s\n", sha256Hex(st.TrustedRoot))
	if st.KeysTarget != "" {
		fmt.Fprintf(stdout, "  npm keys      %s, sha256 %s\n", st.KeysTarget, sha256Hex(st.NpmKeys))
	} else {
		fmt.Fprintf(stdout, "  npm keys      none: the repository has no keys target for %s\n", st.Registry)
	}
	fmt.Fprintf(stdout, "Stored in %s.\n", st.Path)

	m, err := resolveTrust(trustFlags{tufRoot: c.String("tuf-root"), cacheDir: dir})
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, "Audits now use:")
	for _, p := range []struct {
		what  string
		piece trustPiece
	}{{"trusted root", m.trustedRoot}, {"npm keys", m.npmKeys}} {
		fmt.Fprintf(stdout, "  %-13s %s", p.what, p.piece.source)
		if p.piece.note != "" {
			fmt.Fprintf(stdout, " (%s)", p.piece.note)
		}
		fmt.Fprintln(stdout)
	}
	return nil
}

func sha256Hex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// The JSON form of trust show (--format json).
type (
	showReport struct {
		SchemaVersion int       `json:"schemaVersion"`
		TrustedRoot   showPiece `json:"trustedRoot"`
		NpmKeys       showPiece `json:"npmKeys"`
		// Warnings need attention: a stored update that was ignored,
		// material older than 90 days, a key in use that ends within 30.
		Warnings []string `json:"warnings"`
	}
	showPiece struct {
		Source  showSource  `json:"source"`
		SHA256  string      `json:"sha256"`
		AsOf    *time.Time  `json:"asOf,omitempty"`
		Note    string      `json:"note,omitempty"`
		Entries []showEntry `json:"entries"`
	}
	showSource struct {
		Kind        string     `json:"kind"`
		Description string     `json:"description"`
		File        string     `json:"file,omitempty"`
		Fetched     *time.Time `json:"fetched,omitempty"`
		Mirror      string     `json:"mirror,omitempty"`
		Stored      string     `json:"stored,omitempty"`
		// Target is the TUF target; TUF the versions it was verified with.
		Target string   `json:"target,omitempty"`
		TUF    *showTUF `json:"tuf,omitempty"`
	}
	showTUF struct {
		RootVersion      int64     `json:"rootVersion"`
		TimestampVersion int64     `json:"timestampVersion"`
		SnapshotVersion  int64     `json:"snapshotVersion"`
		TargetsVersion   int64     `json:"targetsVersion"`
		Expires          time.Time `json:"expires"`
		Registry         string    `json:"registry,omitempty"`
	}
	showEntry struct {
		Kind   string     `json:"kind"`
		Name   string     `json:"name"`
		LogID  string     `json:"logId,omitempty"`
		Usage  string     `json:"usage,omitempty"`
		Start  *time.Time `json:"start,omitempty"`
		End    *time.Time `json:"end,omitempty"`
		Status string     `json:"status"`
	}
)

func trustShowAction(c *cli.Context) error {
	if err := noArgs(c); err != nil {
		return err
	}
	format := c.String("format")
	if format != "text" && format != "json" {
		return usagef("unknown --format %q: use text or json", format)
	}
	m, err := resolveTrust(trustFlags{
		trustedRoot: c.String("trusted-root"),
		npmKeys:     c.String("npm-keys"),
		tufRoot:     c.String("tuf-root"),
		cacheDir:    c.String("cache-dir"),
	})
	if err != nil {
		return err
	}
	if _, err := verify.NewTrust(m.options()); err != nil {
		return inputError{fmt.Errorf("trust material: %w", err)}
	}
	now := time.Now()
	rep, err := m.report(now)
	if err != nil {
		return inputError{err}
	}
	if format == "json" {
		enc := json.NewEncoder(c.App.Writer)
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	}
	return writeShowText(c.App.Writer, rep, now)
}

// report describes the material for trust show, judged at now.
func (m *trustMaterial) report(now time.Time) (*showReport, error) {
	rep := &showReport{SchemaVersion: 1, Warnings: []string{}}
	if w := m.ignoredWarning(); w != "" {
		rep.Warnings = append(rep.Warnings, w)
	}
	for _, p := range []struct {
		what     string
		piece    trustPiece
		describe func([]byte) ([]trustupdate.Entry, error)
		target   string
		dst      *showPiece
	}{
		{"trusted root", m.trustedRoot, trustupdate.DescribeTrustedRoot, "trusted_root.json", &rep.TrustedRoot},
		{"npm keys", m.npmKeys, trustupdate.DescribeNpmKeys, "", &rep.NpmKeys},
	} {
		entries, err := p.describe(p.piece.data)
		if err != nil {
			return nil, fmt.Errorf("%s (%s): %w", p.what, p.piece.source, err)
		}
		sp := showPiece{
			Source:  m.showSource(p.piece.source, p.target),
			SHA256:  sha256Hex(p.piece.data),
			AsOf:    timePtr(p.piece.asOf),
			Note:    p.piece.note,
			Entries: make([]showEntry, 0, len(entries)),
		}
		for i := range entries {
			e := &entries[i]
			sp.Entries = append(sp.Entries, showEntry{Kind: e.Kind, Name: e.Name, LogID: e.LogID, Usage: e.Usage,
				Start: timePtr(e.Start), End: timePtr(e.End), Status: e.Status(now)})
		}
		*p.dst = sp
		rep.Warnings = append(rep.Warnings, trustupdate.Warnings(p.what, entries, p.piece.asOf, now)...)
	}
	return rep, nil
}

func (m *trustMaterial) showSource(s trustSource, target string) showSource {
	out := showSource{Kind: s.kind, Description: s.String(), File: s.file}
	if s.kind == sourceTUF && m.state != nil {
		st := m.state
		if target == "" {
			target = st.KeysTarget
		}
		out.Fetched, out.Mirror, out.Stored, out.Target = timePtr(st.Fetched), st.Mirror, st.Path, target
		out.TUF = &showTUF{RootVersion: st.RootVersion, TimestampVersion: st.TimestampVersion,
			SnapshotVersion: st.SnapshotVersion, TargetsVersion: st.TargetsVersion, Expires: st.Expires}
		if target == st.KeysTarget {
			out.TUF.Registry = st.Registry
		}
	}
	return out
}

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	u := t.UTC()
	return &u
}

func writeShowText(w io.Writer, rep *showReport, now time.Time) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, p := range []struct {
		title string
		piece *showPiece
	}{{"Trusted root", &rep.TrustedRoot}, {"npm registry keys", &rep.NpmKeys}} {
		s := p.piece.Source
		fmt.Fprintf(tw, "%s: %s\n", p.title, s.Description)
		if s.TUF != nil {
			fmt.Fprintf(tw, "  target %s from %s, TUF root version %d, targets version %d; stored in %s\n",
				s.Target, s.Mirror, s.TUF.RootVersion, s.TUF.TargetsVersion, s.Stored)
		}
		if p.piece.Note != "" {
			fmt.Fprintf(tw, "  note: %s\n", p.piece.Note)
		}
		if p.piece.AsOf != nil {
			fmt.Fprintf(tw, "  as of %s (%d days ago), sha256 %s\n", p.piece.AsOf.Format(time.DateOnly), int(now.Sub(*p.piece.AsOf).Hours()/24), p.piece.SHA256)
		} else {
			fmt.Fprintf(tw, "  sha256 %s\n", p.piece.SHA256)
		}
		for _, e := range p.piece.Entries {
			name := e.Name
			if e.Usage != "" {
				name += " " + e.Usage
			}
			fmt.Fprintf(tw, "  %s\t%s\t%s → %s\t%s\n", e.Kind, name, dateOr(e.Start, "-"), dateOr(e.End, "(no end)"), e.Status)
		}
		fmt.Fprintln(tw)
	}
	if len(rep.Warnings) == 0 {
		fmt.Fprintln(tw, "No warnings.")
	} else {
		fmt.Fprintln(tw, "Warnings:")
		for _, w := range rep.Warnings {
			fmt.Fprintf(tw, "  %s\n", w)
		}
	}
	return tw.Flush()
}

func dateOr(t *time.Time, none string) string {
	if t == nil {
		return none
	}
	return t.Format(time.DateOnly)
}
