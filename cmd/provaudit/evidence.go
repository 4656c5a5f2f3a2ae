package main

import (
	"context"
	"encoding/hex"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/provaudit/provaudit/audit"
	"github.com/provaudit/provaudit/fetch"
	"github.com/provaudit/provaudit/internal/evidence"
	"github.com/provaudit/provaudit/internal/localfile"
	"github.com/provaudit/provaudit/lockfile"
	"github.com/provaudit/provaudit/verify"
)

// fetchUsage is added to the root command's usage text.
const fetchUsage = "provaudit fetch --evidence FILE [flags] [PATH]"

// fetchExamples are added to the root command's examples.
const fetchExamples = `
   provaudit fetch --evidence audit.tar.gz .
                                     record what an audit of . needs into one file
   provaudit --evidence audit.tar.gz .
                                     audit . from it, with no network at all
   provaudit ./fetch                 audit a project folder named "fetch"`

func evidenceFlag() cli.Flag {
	return &cli.StringFlag{Name: "evidence", Usage: "audit from the evidence bundle `FILE` (written by provaudit fetch --evidence), with no network at all"}
}

// fetchFlagNames are the audit flags that decide what a recording fetches.
var fetchFlagNames = []string{"registry", "concurrency", "trusted-root", "npm-keys", "no-cache", "no-history", "quiet", "no-progress"}

func fetchCommand() *cli.Command {
	fl := []cli.Flag{&cli.StringFlag{Name: "evidence", Usage: "write the evidence bundle to `FILE` (a gzipped tar)"}}
	for _, f := range flags() {
		if slices.Contains(fetchFlagNames, f.Names()[0]) {
			fl = append(fl, f)
		}
	}
	return &cli.Command{
		Name:  "fetch",
		Usage: "record everything an audit of a lockfile needs into an evidence bundle, to audit it later with no network",
		UsageText: "provaudit fetch --evidence FILE [flags] [PATH]\n\n" +
			"Runs the fetch stage of an audit of every registry package of the lockfile and writes\n" +
			"the registries' answers, the trust material in use and a manifest of SHA-256 digests\n" +
			"to FILE. provaudit --evidence FILE [PATH] then audits PATH from FILE alone, judging\n" +
			"signing keys at the recording time.",
		HideHelpCommand: true,
		OnUsageError:    onUsageError,
		Flags:           append(fl, tufRootFlag(), cacheDirFlag()),
		Action:          fetchEvidenceAction,
	}
}

// recordSettings are the validated flags of fetch --evidence.
type recordSettings struct {
	settings
	out string
}

func parseRecordSettings(c *cli.Context) (*recordSettings, error) {
	rs := &recordSettings{out: c.String("evidence"), settings: settings{
		registry:    c.String("registry"),
		concurrency: c.Int("concurrency"),
		cacheDir:    c.String("cache-dir"),
		noCache:     c.Bool("no-cache"),
		trustedRoot: c.String("trusted-root"),
		npmKeys:     c.String("npm-keys"),
		tufRoot:     c.String("tuf-root"),
		quiet:       c.Bool("quiet"),
		noHistory:   c.Bool("no-history"),
	}}
	switch c.NArg() {
	case 0:
		rs.path = "."
	case 1:
		rs.path = c.Args().First()
	default:
		return nil, usagef("expected at most one PATH, got %d: %s", c.NArg(), strings.Join(c.Args().Slice(), " "))
	}
	if rs.out == "" {
		return nil, usagef("fetch needs --evidence FILE: the bundle to write")
	}
	if rs.concurrency < 1 || rs.concurrency > 1024 {
		return nil, usagef("--concurrency must be between 1 and 1024, got %d", rs.concurrency)
	}
	rs.progress = isTerminal(c.App.ErrWriter) && !rs.quiet && !c.Bool("no-progress")
	return rs, nil
}

func fetchEvidenceAction(c *cli.Context) error {
	stdout, stderr := c.App.Writer, c.App.ErrWriter
	rs, err := parseRecordSettings(c)
	if err != nil {
		return err
	}
	rec, err := recordEvidence(c.Context, rs, time.Now(), stderr)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "Recorded %s (%s) for %s from %s into %s at %s.\n",
		plural(rec.answers, "answer", "answers"), byteSize(rec.size), plural(rec.result.Summary.Audited, "package", "packages"),
		strings.Join(registryURLs(rec.manifest.Registries), ", "), rs.out, rec.manifest.Recorded.Format(time.RFC3339))
	fmt.Fprintf(stdout, "Trust material: trusted root %s; npm keys %s.\n", rec.manifest.Trust.TrustedRoot.Source, rec.manifest.Trust.NpmKeys.Source)
	fmt.Fprintf(stdout, "Audit it with no network: provaudit --evidence %s %s\n", rs.out, rs.path)
	if n := rec.result.Summary.Error; n > 0 {
		them := "them"
		if n == 1 {
			them = "it"
		}
		return outcomeError{exitIncomplete, fmt.Sprintf("evidence incomplete: %s could not be fetched or checked (%s recorded without an answer); an audit from the bundle reports %s the same way",
			plural(n, "package", "packages"), plural(rec.failures, "request", "requests"), them)}
	}
	return nil
}

func registryURLs(rs evidence.Registries) []string {
	out := make([]string, len(rs.Used))
	for i, r := range rs.Used {
		out[i] = r.URL
	}
	return out
}

func byteSize(n int64) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d bytes", n)
}

// recording is what recordEvidence wrote.
type recording struct {
	manifest          *evidence.Manifest
	result            *audit.Result // the recording audit's result
	answers, failures int
	size              int64 // bytes written
}

// recordEvidence runs an audit of every registry package of the lockfile
// (the normal audit path, the cache disabled, keys judged at now) through
// a recorder, and writes the bundle atomically to rs.out. An interrupted
// recording writes nothing.
func recordEvidence(ctx context.Context, rs *recordSettings, now time.Time, stderr io.Writer) (*recording, error) {
	if err := checkOutput("--evidence", rs.out); err != nil {
		return nil, inputError{err}
	}
	lf, err := lockfile.Load(rs.path)
	if err != nil {
		return nil, inputError{err}
	}
	if !needsRegistry(lf) {
		return nil, inputError{fmt.Errorf("%s pins no registry package: there is nothing to record (an audit of it needs no network)", lf.Path)}
	}
	m, err := resolveTrust(rs.trustFlags())
	if err != nil {
		return nil, err
	}
	if w := m.ignoredWarning(); w != "" && !rs.quiet {
		fmt.Fprintln(stderr, "provaudit: warning:", w)
	}
	trust, err := verify.NewTrust(m.options())
	if err != nil {
		return nil, inputError{fmt.Errorf("trust material: %w", err)}
	}
	cfg, err := loadConfig(ctx, &rs.settings, lf)
	if err != nil {
		return nil, inputError{err}
	}
	versions := registryVersions(lf)
	spool, err := os.MkdirTemp("", "provaudit-evidence-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(spool)
	rec, err := evidence.NewRecorder(fetch.NewTransport(cfg, rs.concurrency), evidence.RecorderOptions{
		Dir:    spool,
		Reduce: fetch.NewPackumentReducer(cfg, versions).For,
	})
	if err != nil {
		return nil, err
	}
	client, err := fetch.NewClient(cfg, fetch.Options{
		Concurrency: rs.concurrency,
		NoCache:     true,
		Transport:   rec,
		UserAgent:   "provaudit/" + toolVersion(),
	})
	if err != nil {
		return nil, inputError{err}
	}
	now = now.UTC()
	display := filepath.ToSlash(filepath.Clean(lf.Path))
	opts := audit.Options{
		Lockfile:       lf,
		DisplayPath:    display,
		Config:         cfg,
		Client:         client,
		Trust:          trust,
		TrustInfo:      audit.TrustInfo{TrustedRoot: m.trustedRoot.source.String(), NpmKeys: m.npmKeys.source.String()},
		PinnedKeysOnly: rs.npmKeys != "",
		Concurrency:    rs.concurrency,
		NoHistory:      rs.noHistory,
		Tool:           audit.Tool{Name: "provaudit", Version: toolVersion()},
		JudgeAt:        now,
	}
	var prog *progress
	if rs.progress {
		prog = newProgress(stderr)
		opts.Progress = prog.update
	}
	res, err := audit.Run(ctx, opts)
	if prog != nil {
		prog.done()
	}
	client.Close()
	if err != nil {
		if res != nil {
			return nil, fmt.Errorf("recording interrupted (%w): nothing written", err)
		}
		return nil, err
	}

	man := &evidence.Manifest{
		Format:     evidence.Format,
		Tool:       toolName(),
		Recorded:   now,
		Lockfile:   evidence.Lockfile{Path: display, SHA256: hex.EncodeToString(lf.SHA256[:])},
		History:    !rs.noHistory,
		Registries: evidence.RegistriesOf(cfg, slices.Sorted(maps.Keys(versions))),
		Trust: evidence.Trust{
			TrustedRoot:    evidence.TrustPiece{Member: evidence.TrustedRootMember, Kind: m.trustedRoot.source.kind, Source: m.trustedRoot.source.String()},
			NpmKeys:        evidence.TrustPiece{Member: evidence.NpmKeysMember, Kind: m.npmKeys.source.kind, Source: m.npmKeys.source.String()},
			PinnedKeysOnly: rs.npmKeys != "",
		},
	}
	extra := map[string][]byte{evidence.TrustedRootMember: m.trustedRoot.data, evidence.NpmKeysMember: m.npmKeys.data}
	if m.trustedRoot.source.kind == sourceTUF || m.npmKeys.source.kind == sourceTUF {
		tuf, err := m.state.Encode()
		if err != nil {
			return nil, err
		}
		man.Trust.TUF, extra[evidence.TUFMember] = evidence.TUFMember, tuf
	}
	size, err := writeAtomic(rs.out, func(w io.Writer) (int64, error) { return rec.WriteBundle(w, man, extra) })
	if err != nil {
		return nil, fmt.Errorf("writing the evidence bundle %s: %w", rs.out, err)
	}
	answers, failures := rec.Recorded()
	return &recording{manifest: man, result: res, answers: answers, failures: failures, size: size}, nil
}

func toolName() string { return "provaudit " + toolVersion() }

// registryVersions maps each registry package name of lf to its versions.
func registryVersions(lf *lockfile.Lockfile) map[string][]string {
	out := map[string][]string{}
	for i := range lf.Entries {
		e := &lf.Entries[i]
		if e.Kind == lockfile.KindRegistry && !slices.Contains(out[e.Name], e.Version) {
			out[e.Name] = append(out[e.Name], e.Version)
		}
	}
	return out
}

// writeAtomic writes a file through write into a temporary file beside
// path and renames it into place.
func writeAtomic(path string, write func(io.Writer) (int64, error)) (int64, error) {
	f, err := os.CreateTemp(filepath.Dir(path), ".provaudit-evidence-*")
	if err != nil {
		return 0, err
	}
	tmp := f.Name()
	defer os.Remove(tmp) // no-op after the rename
	n, err := write(f)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(tmp, 0o644)
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	return n, err
}

// evidenceSource is the bundle an audit runs from (--evidence). Its methods
// work on a nil *evidenceSource too, for a live audit: then they do what a
// live audit does.
type evidenceSource struct {
	path   string
	bundle *evidence.Bundle
}

// checkEvidence refuses flags that make no sense with --evidence.
func (s *settings) checkEvidence(c *cli.Context) error {
	if s.evidence == "" {
		return nil
	}
	switch {
	case s.offline:
		return usagef("--evidence audits from the bundle alone; --offline reads the cache: use one of them")
	case c.IsSet("cache-dir"):
		return usagef("--evidence audits from the bundle alone and reads no cache: drop --cache-dir")
	case c.IsSet("verdict-store"):
		// A stored verdict was judged when it was written, not at the
		// bundle's recording time: an audit from evidence verifies all.
		return usagef("--evidence audits from the bundle alone; --verdict-store reads stored verdicts: use one of them")
	}
	return nil
}

// openEvidence reads and checks the bundle of --evidence (nil without it):
// every member against the manifest, and the lockfile against the one the
// bundle was recorded for.
func openEvidence(s *settings, lf *lockfile.Lockfile, stderr io.Writer) (*evidenceSource, error) {
	if s.evidence == "" {
		return nil, nil
	}
	b, err := evidence.Open(s.evidence, evidence.DefaultLimits)
	if err != nil {
		return nil, inputError{err}
	}
	m := b.Manifest
	if got := hex.EncodeToString(lf.SHA256[:]); got != m.Lockfile.SHA256 {
		return nil, inputError{fmt.Errorf("%s (sha256 %s) is not the lockfile the evidence bundle %s was recorded for (%s, sha256 %s)",
			lf.Path, got, s.evidence, m.Lockfile.Path, m.Lockfile.SHA256)}
	}
	if now := time.Now(); m.Recorded.After(now.Add(5 * time.Minute)) {
		return nil, inputError{fmt.Errorf("the evidence bundle %s says it was recorded at %s, in the future: it cannot be judged at that instant", s.evidence, m.Recorded.UTC().Format(time.RFC3339))}
	}
	if !s.quiet {
		fmt.Fprintf(stderr, "provaudit: auditing from the evidence recorded at %s by %s: signing keys are judged at that instant\n", m.Recorded.UTC().Format(time.RFC3339), m.Tool)
		if m.Tool != toolName() {
			fmt.Fprintf(stderr, "provaudit: warning: the bundle was recorded by %s and is audited by %s: verdicts may differ where the two versions differ\n", m.Tool, toolName())
		}
	}
	return &evidenceSource{path: s.evidence, bundle: b}, nil
}

// withoutHistory reports whether the audit runs from a bundle recorded
// without release histories, which it cannot replay.
func (ev *evidenceSource) withoutHistory() bool {
	return ev != nil && !ev.bundle.Manifest.History
}

// recorded is the instant to judge keys at: the recording time, or zero
// (the clock) for a live audit.
func (ev *evidenceSource) recorded() time.Time {
	if ev == nil {
		return time.Time{}
	}
	return ev.bundle.Manifest.Recorded
}

// loadTrust is the trust material of the audit: for a bundle, what
// evidence.Bundle.ChooseTrust confirms, with the person's files and TUF
// root; for a live audit, loadTrust.
func (ev *evidenceSource) loadTrust(s *settings, stderr io.Writer) (*verify.Trust, audit.TrustInfo, error) {
	if ev == nil {
		return loadTrust(s, stderr)
	}
	in := evidence.TrustInput{}
	var given [2]trustPiece
	for i, f := range []struct {
		flag, path string
		data       *[]byte
		name       *string
	}{{"--trusted-root", s.trustedRoot, &in.TrustedRoot, &in.TrustedRootName}, {"--npm-keys", s.npmKeys, &in.NpmKeys, &in.NpmKeysName}} {
		if f.path == "" {
			continue
		}
		p, err := filePiece(f.flag, f.path)
		if err != nil {
			return nil, audit.TrustInfo{}, err
		}
		given[i], *f.data, *f.name = p, p.data, p.source.String()
	}
	if s.tufRoot != "" {
		b, err := localfile.Read(s.tufRoot, maxTrustFile)
		if err != nil {
			return nil, audit.TrustInfo{}, fmt.Errorf("reading --tuf-root: %w", err)
		}
		in.TUFRoot = b
	}
	ct, err := ev.bundle.ChooseTrust(in)
	if err != nil {
		return nil, audit.TrustInfo{}, fmt.Errorf("%s: %w", ev.path, err)
	}
	if !s.quiet {
		for _, w := range ct.Warnings {
			fmt.Fprintln(stderr, "provaudit: warning:", w)
		}
	}
	piece := func(c evidence.ChosenPiece, given trustPiece) trustPiece {
		switch c.Origin {
		case evidence.TrustFile:
			return given
		case evidence.TrustTUF:
			return trustPiece{data: c.Data, source: trustSource{kind: sourceTUF, fetched: ct.TUF.Fetched}}
		}
		return trustPiece{data: c.Data, source: trustSource{kind: sourceEmbedded}}
	}
	m := &trustMaterial{trustedRoot: piece(ct.TrustedRoot, given[0]), npmKeys: piece(ct.NpmKeys, given[1])}
	t, err := verify.NewTrust(m.options())
	if err != nil {
		return nil, audit.TrustInfo{}, fmt.Errorf("trust material: %w", err)
	}
	return t, audit.TrustInfo{TrustedRoot: m.trustedRoot.source.String(), NpmKeys: m.npmKeys.source.String()}, nil
}

// newClient is the registry client of the audit: for a bundle, one that
// answers from it alone once the registry decisions agree with the
// recording's; for a live audit, newClient.
func (ev *evidenceSource) newClient(s *settings, cfg *fetch.Config, lf *lockfile.Lockfile) (*fetch.Client, error) {
	if ev == nil {
		return newClient(s, cfg)
	}
	names := slices.Sorted(maps.Keys(registryVersions(lf)))
	if err := ev.bundle.Manifest.CheckRegistries(cfg, names); err != nil {
		return nil, fmt.Errorf("%s: %w", ev.path, err)
	}
	return fetch.NewClient(cfg, fetch.Options{
		Concurrency: s.concurrency,
		NoCache:     true,
		Transport:   ev.bundle.Transport(),
		// A recorded 5xx answers every retry at once: nothing is gained
		// by waiting for it.
		RetryBackoff: time.Nanosecond,
		UserAgent:    "provaudit/" + toolVersion(),
	})
}
