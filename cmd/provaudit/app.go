package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/provaudit/provaudit/audit"
	"github.com/provaudit/provaudit/fetch"
	"github.com/provaudit/provaudit/internal/verdictstore"
	"github.com/provaudit/provaudit/lockfile"
	"github.com/provaudit/provaudit/report"
	"github.com/provaudit/provaudit/verify"
)

// defaultTimeout bounds a whole audit (--timeout). A cold audit of 10,000
// packages takes seconds; five minutes leaves room for slow registries and
// proxies while a registry that stalls cannot hold a CI job for hours.
const defaultTimeout = 5 * time.Minute

// version is set at build time with -ldflags "-X main.version=v1.2.3";
// otherwise it comes from the module's build information.
var version = ""

func toolVersion() string {
	if version != "" {
		return version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" {
		return bi.Main.Version
	}
	return "(devel)"
}

// run is the whole program: it parses args, audits, writes the report to
// stdout (or --output) and everything else to stderr, and returns the exit
// code. It never calls os.Exit.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	app := newApp(stdout, stderr)
	err := app.RunContext(ctx, args)
	code := exitCode(err)
	if err != nil {
		var oe outcomeError
		switch {
		case errors.As(err, &oe):
			if oe.msg != "" {
				fmt.Fprintln(stderr, "provaudit:", oe.msg)
			}
		case code == exitUsage && isUsage(err):
			fmt.Fprintf(stderr, "provaudit: %v\nRun 'provaudit --help' for usage.\n", err)
		default:
			fmt.Fprintln(stderr, "provaudit:", err)
		}
	}
	return code
}

func isUsage(err error) bool {
	var ue usageError
	return errors.As(err, &ue)
}

const helpExamples = `Examples:
   provaudit                         audit the project here, locally
   provaudit --format sarif -o provaudit.sarif --fail-on high .
                                     CI gate: exit 1 on high or critical
                                     findings, SARIF for code scanning
   provaudit --offline               audit from the cache only, no network
   provaudit path/to/project         audit another project
   provaudit --json . | jq '.packages[] | select(.status != "verified")'
   provaudit --require-provenance    every package must have provenance`

func newApp(stdout, stderr io.Writer) *cli.App {
	return &cli.App{
		Name:      "provaudit",
		Usage:     "verify the registry signatures and Sigstore provenance of every package an npm lockfile pins",
		UsageText: "provaudit [flags] [PATH]\n" + trustUsage + "\n" + fetchUsage + "\n\nPATH is a project directory or a lockfile (default: the current directory).\n\n" + helpExamples + trustExamples + fetchExamples,
		Version:   toolVersion(),
		Writer:    stdout,
		ErrWriter: stderr,
		// Own the exit path: actions return errors, run maps them to codes.
		ExitErrHandler:        func(*cli.Context, error) {},
		HideHelpCommand:       true,
		Suggest:               true,
		EnableBashCompletion:  true,
		CustomAppHelpTemplate: helpTemplate,
		OnUsageError: func(c *cli.Context, err error, _ bool) error {
			return usageError{withSuggestion(err, c.App.Flags)}
		},
		Flags:    auditFlags(),
		Action:   auditAction,
		Commands: []*cli.Command{trustCommand(), verifySummaryCommand(), fetchCommand(), baselineCommand(), completionCommand()},
	}
}

func flags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "format", Aliases: []string{"f"}, Value: "table", Usage: "report format: " + strings.Join(report.Formats, ", ")},
		&cli.BoolFlag{Name: "json", Usage: "short for --format json"},
		&cli.StringFlag{Name: "output", Aliases: []string{"o"}, Usage: "write the report to `FILE` instead of stdout"},
		&cli.BoolFlag{Name: "all", Usage: "table and markdown: list every package with its source repository and commit"},
		&cli.StringFlag{Name: "registry", Usage: "registry `URL`, whose listed keys you trust (default: npm configuration, then the lockfile's resolved URLs, whose keys are not trusted)"},
		&cli.IntFlag{Name: "concurrency", Value: fetch.DefaultConcurrency, Usage: "requests in flight (and packages fetched at once)"},
		&cli.DurationFlag{Name: "timeout", Value: defaultTimeout, Usage: "give up on the packages not checked after `DURATION`: they end with status error (exit 3)"},
		&cli.BoolFlag{Name: "offline", Usage: "use only the cache; packages not in it end with status error"},
		&cli.StringFlag{Name: "cache-dir", Usage: "cache `DIR` (default: the user cache directory/provaudit)"},
		&cli.BoolFlag{Name: "no-cache", Usage: "neither read nor write the cache"},
		&cli.StringSliceFlag{Name: "omit", Usage: "skip `dev`, optional or peer packages, as npm --omit"},
		&cli.BoolFlag{Name: "require-provenance", Usage: "a package without verified SLSA provenance is a finding"},
		&cli.BoolFlag{Name: "require-signatures", Usage: "a package from a registry without signing keys and without attestations is a finding"},
		&cli.BoolFlag{Name: "no-history", Usage: "skip the release-history rules (provenance-regression, identity-drift, install-script-added, publisher-changed): fetch no packuments for them"},
		&cli.StringFlag{Name: "fail-on", Value: "low", Usage: "lowest finding `SEVERITY` that fails the run: critical, high, medium, low"},
		&cli.StringFlag{Name: "trusted-root", Usage: "Sigstore trusted_root.json `FILE` to use instead of the embedded public-good root"},
		&cli.StringFlag{Name: "npm-keys", Usage: "npm registry keys `FILE` (keys.json or /-/npm/v1/keys form) to use instead of the embedded keys and the registries' key endpoints"},
		&cli.BoolFlag{Name: "quiet", Aliases: []string{"q"}, Usage: "print nothing on stderr but errors"},
		&cli.BoolFlag{Name: "no-progress", Usage: "no progress display on stderr"},
		&cli.StringFlag{Name: "color", Value: "auto", Usage: "colour in the table: auto, always, never (NO_COLOR is honoured)"},
	}
}

// settings are the validated flags.
type settings struct {
	path        string
	format      string
	output      string
	all         bool
	registry    string
	concurrency int
	timeout     time.Duration
	offline     bool
	cacheDir    string
	noCache     bool
	omit        lockfile.Omit
	requireProv bool
	requireSigs bool
	noHistory   bool
	failOn      audit.Severity
	trustedRoot string
	npmKeys     string
	tufRoot     string
	quiet       bool
	progress    bool
	color       bool
	sign        signSettings
	evidence    string // --evidence: audit from this bundle
	store       storeSettings
	pol         policySettings
}

func parseSettings(c *cli.Context, stderr io.Writer) (*settings, error) {
	s := &settings{
		format:      c.String("format"),
		output:      c.String("output"),
		all:         c.Bool("all"),
		registry:    c.String("registry"),
		concurrency: c.Int("concurrency"),
		timeout:     c.Duration("timeout"),
		offline:     c.Bool("offline"),
		cacheDir:    c.String("cache-dir"),
		noCache:     c.Bool("no-cache"),
		requireProv: c.Bool("require-provenance"),
		requireSigs: c.Bool("require-signatures"),
		noHistory:   c.Bool("no-history"),
		trustedRoot: c.String("trusted-root"),
		npmKeys:     c.String("npm-keys"),
		tufRoot:     c.String("tuf-root"),
		quiet:       c.Bool("quiet"),
		evidence:    c.String("evidence"),
	}
	switch c.NArg() {
	case 0:
		s.path = "."
	case 1:
		s.path = c.Args().First()
	default:
		return nil, usagef("expected at most one PATH, got %d: %s", c.NArg(), strings.Join(c.Args().Slice(), " "))
	}
	if c.Bool("json") {
		if c.IsSet("format") && s.format != "json" {
			return nil, usagef("--json is short for --format json; it cannot be combined with --format %s", s.format)
		}
		s.format = "json"
	}
	if !slices.Contains(report.Formats, s.format) {
		return nil, usagef("unknown --format %q: use one of %s", s.format, strings.Join(report.Formats, ", "))
	}
	if s.concurrency < 1 || s.concurrency > 1024 {
		return nil, usagef("--concurrency must be between 1 and 1024, got %d", s.concurrency)
	}
	if s.timeout <= 0 {
		return nil, usagef("--timeout must be positive, got %s", s.timeout)
	}
	if s.offline && s.noCache {
		return nil, usagef("--offline reads only the cache, so it cannot be combined with --no-cache")
	}
	if err := s.checkEvidence(c); err != nil {
		return nil, err
	}
	for _, v := range c.StringSlice("omit") {
		for _, o := range strings.Split(v, ",") {
			switch strings.TrimSpace(o) {
			case "dev":
				s.omit.Dev = true
			case "optional":
				s.omit.Optional = true
			case "peer":
				s.omit.Peer = true
			default:
				return nil, usagef("unknown --omit %q: use dev, optional or peer", o)
			}
		}
	}
	sev, err := audit.ParseSeverity(c.String("fail-on"))
	if err != nil {
		return nil, usagef("unknown --fail-on %q: use critical, high, medium or low", c.String("fail-on"))
	}
	s.failOn = sev
	if s.sign, err = parseSignSettings(c, s.output); err != nil {
		return nil, err
	}
	if s.store, err = parseStoreSettings(c, s.offline); err != nil {
		return nil, err
	}
	if s.pol, err = parsePolicySettings(c, s); err != nil {
		return nil, err
	}
	tty := isTerminal(stderr)
	s.progress = tty && !s.quiet && !c.Bool("no-progress")
	switch c.String("color") {
	case "always":
		s.color = true
	case "never":
	case "auto":
		_, noColor := os.LookupEnv("NO_COLOR")
		s.color = !noColor && s.output == "" && isTerminal(c.App.Writer)
	default:
		return nil, usagef("unknown --color %q: use auto, always or never", c.String("color"))
	}
	return s, nil
}

func auditAction(c *cli.Context) error { return runAudit(c, nil) }

// runAudit audits, writes the report and returns the outcome; record, when
// set (provaudit baseline), is given the result after the report.
func runAudit(c *cli.Context, record func(io.Writer, *settings, *lockfile.Lockfile, *audit.Result) error) error {
	stdout, stderr := c.App.Writer, c.App.ErrWriter
	s, err := parseSettings(c, stderr)
	if err != nil {
		return err
	}

	if s.output != "" {
		// Before anything is read or fetched: a report that cannot be
		// written must not cost an audit.
		if err := checkOutput("--output", s.output); err != nil {
			return inputError{err}
		}
	}
	lf, err := lockfile.Load(s.path)
	if err != nil {
		return inputError{err}
	}
	in, err := loadPolicyInput(c.Context, s, lf, record != nil, stderr)
	if err != nil {
		return err
	}
	ev, err := openEvidence(s, lf, stderr)
	if err != nil {
		return err
	}
	trust, trustInfo, err := ev.loadTrust(s, stderr)
	if err != nil {
		return inputError{err}
	}

	opts := audit.Options{
		Lockfile:          lf,
		DisplayPath:       filepath.ToSlash(filepath.Clean(lf.Path)),
		Trust:             trust,
		TrustInfo:         trustInfo,
		PinnedKeysOnly:    s.npmKeys != "",
		Omit:              s.omit,
		ReadOnlyCache:     s.offline,
		RequireProvenance: s.requireProv,
		RequireSignatures: s.requireSigs,
		NoHistory:         s.noHistory || ev.withoutHistory(),
		Concurrency:       s.concurrency,
		Tool:              audit.Tool{Name: "provaudit", Version: toolVersion()},
	}
	opts.JudgeAt = ev.recorded()
	in.configure(&opts)
	var store *verdictstore.Store
	var client *fetch.Client
	if needsRegistry(lf) {
		cfg, err := loadConfig(c.Context, s, lf)
		if err != nil {
			return inputError{err}
		}
		if client, err = ev.newClient(s, cfg, lf); err != nil {
			return inputError{err}
		}
		opts.Config, opts.Client = cfg, client
		if store, err = openStore(c.Context, s, stderr); err != nil {
			return err
		}
		if store != nil {
			opts.VerdictStore = store
		}
	}

	var prog *progress
	if s.progress {
		prog = newProgress(stderr)
		opts.Progress = prog.update
	}
	actx, cancel := context.WithTimeoutCause(c.Context, s.timeout, fmt.Errorf("--timeout %s reached (%w)", s.timeout, context.DeadlineExceeded))
	defer cancel()
	res, runErr := audit.Run(actx, opts)
	if prog != nil {
		prog.done()
	}
	if err := in.finish(actx, s, &opts, res, stderr); err != nil {
		return err
	}
	closeStore(stderr, s, store)
	if client != nil {
		// Waits for queued cache writes; a failed write only costs time on
		// the next run, so it is worth a warning, not a failure.
		if err := client.Close(); err != nil && !s.quiet {
			fmt.Fprintln(stderr, "provaudit: warning: cache:", err)
		}
	}
	if c.Context.Err() != nil {
		// A signal: the run stops here, and writes no report, not even a
		// partial one to --output, which a reader could take as complete.
		return interruptedError{context.Cause(c.Context)}
	}
	if res == nil {
		return runErr
	}

	oerr := outcome(res, s, runErr)
	if err := writeReport(stdout, s, res, oerr == nil); err != nil {
		return err
	}
	if record != nil {
		if err := record(stderr, s, lf, res); err != nil {
			return err
		}
	}
	return signOutcome(stderr, s, &opts, lf, res, oerr)
}

// loadConfig reads the npm configuration that decides the registries of
// lf's packages.
func loadConfig(ctx context.Context, s *settings, lf *lockfile.Lockfile) (*fetch.Config, error) {
	return fetch.LoadConfig(fetch.ConfigOptions{
		ProjectDir:   filepath.Dir(lf.Path),
		Registry:     s.registry,
		Env:          os.Environ(),
		ResolvedURLs: resolvedURLs(lf),
		NpmRegistry:  npmRegistryIn(ctx),
	})
}

// newClient is the registry client of a live (or --offline) audit.
func newClient(s *settings, cfg *fetch.Config) (*fetch.Client, error) {
	secret, err := cacheSecret(s)
	if err != nil {
		return nil, err
	}
	return fetch.NewClient(cfg, fetch.Options{
		Concurrency: s.concurrency,
		CacheDir:    s.cacheDir,
		NoCache:     s.noCache,
		Offline:     s.offline,
		CacheSecret: secret,
		UserAgent:   "provaudit/" + toolVersion(),
	})
}

// needsRegistry reports whether any package will be fetched: a lockfile of
// only workspaces, links and local folders needs no registry configured.
func needsRegistry(lf *lockfile.Lockfile) bool {
	for i := range lf.Entries {
		if lf.Entries[i].Kind == lockfile.KindRegistry {
			return true
		}
	}
	return false
}

func resolvedURLs(lf *lockfile.Lockfile) []string {
	var out []string
	for i := range lf.Entries {
		if r := lf.Entries[i].Resolved; r != "" {
			out = append(out, r)
		}
	}
	return out
}

// loadTrust builds the trust material resolveTrust chooses (see trust.go).
func loadTrust(s *settings, stderr io.Writer) (*verify.Trust, audit.TrustInfo, error) {
	m, err := resolveTrust(s.trustFlags())
	if err != nil {
		return nil, audit.TrustInfo{}, err
	}
	if w := m.ignoredWarning(); w != "" && !s.quiet {
		fmt.Fprintln(stderr, "provaudit: warning:", w)
	}
	t, err := verify.NewTrust(m.options())
	if err != nil {
		return nil, audit.TrustInfo{}, fmt.Errorf("trust material: %w", err)
	}
	return t, audit.TrustInfo{TrustedRoot: m.trustedRoot.source.String(), NpmKeys: m.npmKeys.source.String()}, nil
}

// writeReport renders the report to stdout, or atomically to --output;
// passed says the audit exits 0 (the report must not say otherwise).
func writeReport(stdout io.Writer, s *settings, res *audit.Result, passed bool) error {
	ropts := report.Options{All: s.all, Color: s.color, Passed: passed}
	if s.output == "" {
		ropts.Width = terminalWidth(stdout)
		if err := report.Render(stdout, s.format, res, ropts); err != nil {
			return fmt.Errorf("writing the report: %w", err)
		}
		return nil
	}
	dir := filepath.Dir(s.output)
	f, err := os.CreateTemp(dir, ".provaudit-report-*")
	if err != nil {
		return inputError{fmt.Errorf("--output %s: %w", s.output, err)}
	}
	tmp := f.Name()
	defer os.Remove(tmp) // no-op after a successful rename
	if err := report.Render(f, s.format, res, ropts); err != nil {
		f.Close()
		return fmt.Errorf("writing the report to %s: %w", s.output, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("writing the report to %s: %w", s.output, err)
	}
	if err := os.Chmod(tmp, 0o644); err != nil {
		return fmt.Errorf("writing the report to %s: %w", s.output, err)
	}
	if err := os.Rename(tmp, s.output); err != nil {
		return fmt.Errorf("writing the report to %s: %w", s.output, err)
	}
	return nil
}

// outcome turns a finished audit into the exit decision: findings at or
// above --fail-on give 1; otherwise any package that could not be checked
// (or an interrupted run) gives 3.
func outcome(res *audit.Result, s *settings, runErr error) error {
	failing := 0
	for i := range res.Packages {
		for _, f := range res.Packages[i].Findings {
			if f.Severity.AtLeast(s.failOn) {
				failing++
			}
		}
	}
	switch {
	case failing > 0:
		return outcomeError{exitFindings, plural(failing, "finding", "findings") + " at or above severity " + string(s.failOn) + incompleteNote(res, runErr)}
	case runErr != nil:
		return outcomeError{exitIncomplete, fmt.Sprintf("audit interrupted (%v): %s left unchecked", runErr, plural(res.Summary.Error, "package", "packages"))}
	case res.Summary.Error > 0:
		msg := "audit incomplete: " + plural(res.Summary.Error, "package", "packages") + " could not be checked"
		if len(res.Problems) > 0 {
			// The registry-wide cause of most of them, once.
			pr := res.Problems[0]
			if pr.Packages == res.Summary.Error {
				msg += ": " + pr.Message
			} else {
				msg += "; " + strconv.Itoa(pr.Packages) + " because " + pr.Message
			}
		}
		return outcomeError{exitIncomplete, msg}
	case res.Summary.SourceUnchecked > 0:
		return outcomeError{exitIncomplete, sourceIncomplete(res)}
	}
	if msg := audit.NothingVerified(res); msg != "" {
		return outcomeError{exitIncomplete, msg}
	}
	return nil
}

func incompleteNote(res *audit.Result, runErr error) string {
	if res.Summary.Error == 0 && runErr == nil {
		return ""
	}
	return "; " + plural(res.Summary.Error, "package", "packages") + " could not be checked"
}

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}
