package main

import (
	"crypto/ed25519"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/urfave/cli/v2"

	"github.com/provaudit/provaudit/audit"
	"github.com/provaudit/provaudit/internal/localfile"
	"github.com/provaudit/provaudit/lockfile"
	"github.com/provaudit/provaudit/summary"
)

// summarySuffix names the signed summary of --output FILE by default.
const summarySuffix = ".intoto.jsonl"

func signFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "sign-summary", Usage: "sign a verification summary with the Ed25519 private key in `KEYFILE` (PKCS #8 PEM, as openssl genpkey -algorithm ed25519 writes it)"},
		&cli.StringFlag{Name: "summary-out", Usage: "write the signed summary to `FILE` (default: the --output file with " + summarySuffix + " appended)"},
	}
}

// signSettings are the validated signing flags; key is nil without
// --sign-summary.
type signSettings struct {
	key ed25519.PrivateKey
	out string
}

// parseSignSettings validates --sign-summary and --summary-out and reads
// the key, so that a bad key stops the run before anything is audited.
func parseSignSettings(c *cli.Context, output string) (signSettings, error) {
	keyFile, out := c.String("sign-summary"), c.String("summary-out")
	switch {
	case keyFile == "" && out != "":
		return signSettings{}, usagef("--summary-out needs --sign-summary KEYFILE")
	case keyFile == "":
		return signSettings{}, nil
	case out == "" && output == "":
		return signSettings{}, usagef("--sign-summary writes the signed summary to a file: give --output FILE (the summary goes to FILE%s) or --summary-out FILE", summarySuffix)
	case out == "":
		out = output + summarySuffix
	}
	if output != "" && filepath.Clean(out) == filepath.Clean(output) {
		return signSettings{}, usagef("--summary-out %s is the --output file", out)
	}
	b, err := localfile.Read(keyFile, maxTrustFile)
	if err != nil {
		return signSettings{}, inputError{fmt.Errorf("reading --sign-summary: %w", err)}
	}
	key, err := summary.ParsePrivateKey(b)
	if err != nil {
		return signSettings{}, inputError{fmt.Errorf("--sign-summary %s: %w", keyFile, err)}
	}
	return signSettings{key: key, out: out}, nil
}

// signOutcome writes the signed summary of a finished audit when
// --sign-summary asks for it, and returns the audit's outcome. A summary
// that cannot be written fails the run: exit 3 when the audit passed (the
// run did not do all it was asked), the audit's own code otherwise.
func signOutcome(stderr io.Writer, s *settings, opts *audit.Options, lf *lockfile.Lockfile, res *audit.Result, oerr error) error {
	if s.sign.key == nil {
		return oerr
	}
	err := writeSummary(s, opts, lf, res, oerr)
	if err == nil {
		return oerr
	}
	err = fmt.Errorf("writing the signed summary to %s: %w", s.sign.out, err)
	if oerr == nil {
		return err
	}
	fmt.Fprintln(stderr, "provaudit:", err)
	return oerr
}

func writeSummary(s *settings, opts *audit.Options, lf *lockfile.Lockfile, res *audit.Result, oerr error) error {
	out := summary.Outcome{ExitCode: exitCode(oerr)}
	switch out.ExitCode {
	case exitOK:
		out.Result = summary.ResultPass
	case exitFindings:
		out.Result = summary.ResultFindings
	case exitIncomplete:
		out.Result = summary.ResultIncomplete
	default:
		return fmt.Errorf("no summary for exit code %d", out.ExitCode)
	}
	if oerr != nil {
		out.Message = oerr.Error()
	}
	policy := summary.Policy{FailOn: string(s.failOn), RequireProvenance: s.requireProv, RequireSignatures: s.requireSigs}
	for _, o := range []struct {
		set  bool
		name string
	}{{s.omit.Dev, "dev"}, {s.omit.Optional, "optional"}, {s.omit.Peer, "peer"}} {
		if o.set {
			policy.Omit = append(policy.Omit, o.name)
		}
	}
	policy.History = !opts.NoHistory
	for _, r := range opts.DisabledRules {
		policy.DisabledRules = append(policy.DisabledRules, string(r))
	}
	if opts.MinimumReleaseAge > 0 {
		policy.MinimumReleaseAge = opts.MinimumReleaseAge.String()
	}
	policy.File, policy.Diff = res.Policy, res.Diff
	pred, err := summary.NewPredicate(res, policy, out)
	if err != nil {
		return err
	}
	env, err := summary.Sign(s.sign.key, summary.Subject{Name: res.Lockfile.Path, SHA256: lf.SHA256}, pred)
	if err != nil {
		return err
	}
	return writeFileAtomic(s.sign.out, env)
}

// writeFileAtomic writes data to a temporary file beside path and renames
// it over path, so that path never holds a partial file.
func writeFileAtomic(path string, data []byte) error {
	f, err := os.CreateTemp(filepath.Dir(path), ".provaudit-summary-*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name()) // no-op after a successful rename
	_, err = f.Write(data)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(f.Name(), 0o644)
	}
	if err == nil {
		err = os.Rename(f.Name(), path)
	}
	return err
}
