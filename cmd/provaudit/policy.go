package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/provaudit/provaudit/audit"
	"github.com/provaudit/provaudit/fetch"
	"github.com/provaudit/provaudit/internal/sourcecheck"
	"github.com/provaudit/provaudit/lockfile"
	"github.com/provaudit/provaudit/policy"
)

// This file wires the policy issue into the CLI: the policy file, the
// identity baseline (and the baseline command that writes it), diff mode
// and the source check.

func policyFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "policy", Usage: "policy `FILE` to apply; the project's own provaudit.yaml is then not read"},
		&cli.StringFlag{Name: "baseline", Usage: "diff mode: audit only the packages new or changed against this older lockfile `FILE`"},
		&cli.StringFlag{Name: "baseline-ref", Usage: "diff mode: the older lockfile is the lockfile at git `REF` (git show REF:./LOCKFILE)"},
		&cli.BoolFlag{Name: "check-source", Usage: "check that each provenance's commit exists in its GitHub or GitLab repository and a branch or tag reaches it (tokens: GITHUB_TOKEN, GH_TOKEN, GITLAB_TOKEN)"},
		&cli.StringFlag{Name: "github-api", EnvVars: []string{"PROVAUDIT_GITHUB_API"}, Value: sourcecheck.DefaultGitHubAPI, Usage: "GitHub REST API base `URL` for --check-source"},
		&cli.StringFlag{Name: "gitlab-api", EnvVars: []string{"PROVAUDIT_GITLAB_API"}, Value: sourcecheck.DefaultGitLabAPI, Usage: "GitLab REST API base `URL` for --check-source"},
	}
}

// auditFlags are the flags of an audit and of provaudit baseline.
func auditFlags() []cli.Flag {
	return append(append(append(append(flags(), tufRootFlag(), evidenceFlag()), signFlags()...), storeFlags()...), policyFlags()...)
}

// policySettings are the validated flags of policyFlags.
type policySettings struct {
	file                 string // --policy
	diffFile, diffRef    string // --baseline, --baseline-ref
	checkSource          bool
	githubAPI, gitlabAPI string
}

func parsePolicySettings(c *cli.Context, s *settings) (policySettings, error) {
	ps := policySettings{
		file:        c.String("policy"),
		diffFile:    c.String("baseline"),
		diffRef:     c.String("baseline-ref"),
		checkSource: c.Bool("check-source"),
		githubAPI:   c.String("github-api"),
		gitlabAPI:   c.String("gitlab-api"),
	}
	if ps.diffFile != "" && ps.diffRef != "" {
		return ps, usagef("--baseline and --baseline-ref both name the older lockfile: give one")
	}
	if ps.diffRef != "" {
		if err := checkRef(ps.diffRef); err != nil {
			return ps, err
		}
	}
	if ps.checkSource && s.evidence != "" {
		return ps, usagef("--check-source asks the GitHub and GitLab APIs, and an audit with --evidence makes no request: drop one of them")
	}
	for _, f := range []struct{ flag, v string }{{"--github-api", ps.githubAPI}, {"--gitlab-api", ps.gitlabAPI}} {
		if _, err := sourcecheck.ParseAPIURL(f.v); err != nil {
			return ps, usagef("%s: %v", f.flag, err)
		}
	}
	return ps, nil
}

// checkRef refuses refs git would read as an option or a path.
func checkRef(ref string) error {
	if strings.HasPrefix(ref, "-") || strings.ContainsAny(ref, ":\x00\n\r") || strings.TrimSpace(ref) != ref {
		return usagef("--baseline-ref %q is not a git ref (a branch, tag, commit or expression such as origin/main or HEAD~1)", ref)
	}
	return nil
}

// policyInput is what an audit reads besides the lockfile: the policy,
// the identity baseline and, in diff mode, the older lockfile.
type policyInput struct {
	pol       *policy.Policy
	ids       *policy.Baseline
	diff      *lockfile.Lockfile
	diffLabel string
}

// loadPolicyInput reads the policy (--policy FILE, else the project's
// provaudit.yaml), the identity baseline beside the lockfile (not when
// recording a new one) and the diff-mode lockfile. Anything it cannot use
// is an input error: nothing is audited.
func loadPolicyInput(ctx context.Context, s *settings, lf *lockfile.Lockfile, recording bool, stderr io.Writer) (*policyInput, error) {
	in := &policyInput{}
	dir := filepath.Dir(lf.Path)
	found, err := policy.Find(dir)
	if err != nil {
		return nil, inputError{err}
	}
	switch {
	case s.pol.file != "":
		if in.pol, err = policy.Load(s.pol.file, audit.NamedByUser); err != nil {
			return nil, inputError{err}
		}
		if found != "" && !s.quiet {
			fmt.Fprintf(stderr, "provaudit: note: --policy %s is applied; the project's own %s is not read\n", s.pol.file, found)
		}
	case found != "":
		if in.pol, err = policy.Load(found, audit.NamedByProject); err != nil {
			return nil, inputError{err}
		}
	}
	if !recording {
		file, err := policy.FindBaseline(dir)
		if err != nil {
			return nil, inputError{err}
		}
		if file != "" {
			if in.ids, err = policy.LoadBaseline(file); err != nil {
				return nil, inputError{err}
			}
		}
	}
	switch {
	case recording && (s.pol.diffFile != "" || s.pol.diffRef != ""):
		return nil, usagef("provaudit baseline records every package: --baseline and --baseline-ref (diff mode) do not apply")
	case s.pol.diffFile != "":
		if filepath.Base(s.pol.diffFile) == policy.BaselineFileName {
			return nil, usagef("--baseline takes the older lockfile to compare with; %s is the identity baseline, which is read by itself from beside the lockfile", s.pol.diffFile)
		}
		if in.diff, err = lockfile.Load(s.pol.diffFile); err != nil {
			return nil, inputError{fmt.Errorf("--baseline: %w", err)}
		}
		in.diffLabel = filepath.ToSlash(s.pol.diffFile)
	case s.pol.diffRef != "":
		if in.diff, in.diffLabel, err = lockfileAtRef(ctx, s.pol.diffRef, lf.Path); err != nil {
			return nil, inputError{err}
		}
	}
	return in, nil
}

// lockfileAtRef reads the lockfile at path as it is at the git ref ref:
// git show REF:./NAME, run in the lockfile's folder. It returns the parsed
// lockfile and its label REF:PATH (PATH from the repository's root).
func lockfileAtRef(ctx context.Context, ref, path string) (*lockfile.Lockfile, string, error) {
	dir, name := filepath.Dir(path), filepath.Base(path)
	if _, err := exec.LookPath("git"); err != nil {
		return nil, "", fmt.Errorf("--baseline-ref needs git, which is not on PATH (give the older lockfile with --baseline FILE): %w", err)
	}
	prefix, err := git(ctx, dir, 4096, "rev-parse", "--show-prefix")
	if err != nil {
		return nil, "", fmt.Errorf("--baseline-ref %s: %s is not in a git repository: %w", ref, dir, err)
	}
	label := ref + ":" + strings.TrimSpace(string(prefix)) + name
	data, err := git(ctx, dir, lockfile.MaxSize, "show", "--no-textconv", ref+":./"+name)
	if err != nil {
		return nil, "", fmt.Errorf("--baseline-ref: reading %s: %w (in a shallow clone, fetch the ref first: git fetch --depth=1 origin REF)", label, err)
	}
	lf, err := lockfile.Parse(label, data)
	if err != nil {
		return nil, "", fmt.Errorf("--baseline-ref: %w", err)
	}
	return lf, label, nil
}

// git runs git with args in dir and returns its standard output, at most
// limit bytes (more is an error); a failure carries git's own message.
func git(ctx context.Context, dir string, limit int64, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, "git", append([]string{"-C", dir}, args...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &limitedBuffer{buf: &stderr, left: 4096}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	data, rerr := io.ReadAll(io.LimitReader(out, limit+1))
	if int64(len(data)) > limit {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		return nil, fmt.Errorf("git %s: more than %d bytes", strings.Join(args, " "), limit)
	}
	if err := cmd.Wait(); err != nil {
		if msg := strings.TrimSpace(stderr.String()); msg != "" {
			return nil, errors.New(msg)
		}
		return nil, err
	}
	return data, rerr
}

// limitedBuffer keeps the first bytes written to it.
type limitedBuffer struct {
	buf  *bytes.Buffer
	left int
}

func (l *limitedBuffer) Write(p []byte) (int, error) {
	if l.left > 0 {
		n := min(len(p), l.left)
		l.buf.Write(p[:n])
		l.left -= n
	}
	return len(p), nil
}

// configure puts the policy's and diff mode's settings into the audit's
// options.
func (in *policyInput) configure(o *audit.Options) {
	in.pol.Configure(o)
	o.DiffBase, o.DiffLabel = in.diff, in.diffLabel
}

// finish completes a result after the audit: the source check
// (--check-source), then the policy and the identity baseline; warnings
// about the policy itself go to stderr.
func (in *policyInput) finish(ctx context.Context, s *settings, opts *audit.Options, res *audit.Result, stderr io.Writer) error {
	if res == nil {
		return nil
	}
	if s.pol.checkSource {
		sc := sourcecheck.Options{
			GitHubAPI:   s.pol.githubAPI,
			GitLabAPI:   s.pol.gitlabAPI,
			GitHubToken: firstEnv("GITHUB_TOKEN", "GH_TOKEN"),
			GitLabToken: firstEnv("GITLAB_TOKEN"),
			Offline:     s.offline,
			UserAgent:   "provaudit/" + toolVersion(),
		}
		if c, ok := opts.Client.(*fetch.Client); ok {
			sc.Cache = c.Cache()
		}
		checker, err := sourcecheck.New(sc)
		if err != nil {
			return err // the flags were checked before anything was fetched
		}
		checker.CheckResult(ctx, res)
		audit.Recount(res)
	}
	for _, w := range policy.Apply(res, in.pol, in.ids, time.Now()) {
		if !s.quiet {
			fmt.Fprintln(stderr, "provaudit: warning:", w)
		}
	}
	return nil
}

func firstEnv(names ...string) string {
	for _, n := range names {
		if v := os.Getenv(n); v != "" {
			return v
		}
	}
	return ""
}

func baselineCommand() *cli.Command {
	return &cli.Command{
		Name:  "baseline",
		Usage: "audit the lockfile and record its packages' verified identities and trust levels in " + policy.BaselineFileName + " beside it",
		UsageText: "provaudit baseline [flags] [PATH]\n\n" +
			"Audits PATH as provaudit [flags] [PATH] does and writes, beside the lockfile, the\n" +
			"identity baseline (trust on first use): per package name the verified identities that\n" +
			"built the locked versions and the trust level of each release line. Commit it; later\n" +
			"audits report identity-drift and provenance-regression findings against it. Run it again\n" +
			"to accept a change on purpose (the file's diff shows what changed).",
		HideHelpCommand: true,
		OnUsageError:    onUsageError,
		Flags:           auditFlags(),
		Action:          func(c *cli.Context) error { return runAudit(c, writeBaseline) },
	}
}

// writeBaseline records res in the baseline file beside lf (atomically)
// and says on stderr what it recorded and what changed.
func writeBaseline(stderr io.Writer, s *settings, lf *lockfile.Lockfile, res *audit.Result) error {
	b := policy.Record(res)
	data, err := b.Marshal()
	if err != nil {
		return fmt.Errorf("identity baseline: %w", err)
	}
	file := filepath.Join(filepath.Dir(lf.Path), policy.BaselineFileName)
	var change string
	switch old, err := policy.LoadBaseline(file); {
	case err == nil:
		change = "; " + baselineChanges(old, b)
	case !errors.Is(err, os.ErrNotExist):
		change = fmt.Sprintf("; replaced an unreadable one (%v)", err)
	}
	if err := writeFileAtomic(file, data); err != nil {
		return fmt.Errorf("writing %s: %w", file, err)
	}
	if !s.quiet {
		ids := 0
		for _, p := range b.Packages {
			if len(p.Identities) > 0 {
				ids++
			}
		}
		fmt.Fprintf(stderr, "provaudit: recorded %s (%d with verified provenance) in %s%s\n", plural(len(b.Packages), "package", "packages"), ids, file, change)
	}
	return nil
}

// baselineChanges says how many names a new baseline adds, changes and
// drops against the old one.
func baselineChanges(old, cur *policy.Baseline) string {
	var added, changed, dropped int
	for name, p := range cur.Packages {
		o, ok := old.Packages[name]
		switch {
		case !ok:
			added++
		case !samePackage(o, p):
			changed++
		}
	}
	for name := range old.Packages {
		if _, ok := cur.Packages[name]; !ok {
			dropped++
		}
	}
	return fmt.Sprintf("against the previous baseline: %d added, %d changed, %d dropped", added, changed, dropped)
}

func samePackage(a, b *policy.BaselinePackage) bool {
	x, _ := (&policy.Baseline{Packages: map[string]*policy.BaselinePackage{"p": a}}).Marshal()
	y, _ := (&policy.Baseline{Packages: map[string]*policy.BaselinePackage{"p": b}}).Marshal()
	return bytes.Equal(x, y)
}

// sourceIncomplete is the exit message when only source checks were left
// incomplete.
func sourceIncomplete(res *audit.Result) string {
	if res.Summary.SourceUnchecked == 0 {
		return ""
	}
	return "audit incomplete: the source of " + plural(res.Summary.SourceUnchecked, "package", "packages") + " could not be checked (--check-source)"
}
