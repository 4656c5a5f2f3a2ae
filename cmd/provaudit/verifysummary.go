package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/provaudit/provaudit/internal/localfile"
	"github.com/provaudit/provaudit/lockfile"
	"github.com/provaudit/provaudit/summary"
)

const verifySummaryUsage = `provaudit verify-summary --key PUBKEY.pem --lockfile FILE ENVELOPE

Checks a verification summary that provaudit --sign-summary signed: the DSSE
signature by the Ed25519 public key in PUBKEY.pem (SubjectPublicKeyInfo PEM,
as openssl pkey -pubout writes it), that the envelope holds a provaudit
summary statement, and that the lockfile it names has the bytes FILE has now.
It then prints the summary.

Exit codes:
   0  the summary verifies and the audit it records passed
   1  the signature or the lockfile does not verify (another key, an altered
      envelope, another lockfile), or the audit it records had findings
   2  usage or input error: bad flags, unreadable or malformed envelope, key
      or lockfile, a payload that is not a provaudit summary
   3  the summary verifies and the audit it records was incomplete`

func verifySummaryCommand() *cli.Command {
	return &cli.Command{
		Name:      "verify-summary",
		Usage:     "verify a signed verification summary against a public key and the lockfile",
		UsageText: verifySummaryUsage,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "key", Usage: "Ed25519 public key `PUBKEY.pem` the summary must be signed with"},
			&cli.StringFlag{Name: "lockfile", Usage: "the lockfile `FILE` the summary must be about"},
			&cli.BoolFlag{Name: "json", Usage: "print the signed predicate as JSON instead of text"},
		},
		OnUsageError: func(c *cli.Context, err error, _ bool) error {
			return usageError{err}
		},
		Action: verifySummaryAction,
	}
}

func verifySummaryAction(c *cli.Context) error {
	keyFile, lockFile := c.String("key"), c.String("lockfile")
	switch {
	case keyFile == "":
		return usagef("verify-summary needs --key PUBKEY.pem")
	case lockFile == "":
		return usagef("verify-summary needs --lockfile FILE")
	case c.NArg() != 1:
		return usagef("verify-summary needs exactly one ENVELOPE file, got %d arguments", c.NArg())
	}
	envFile := c.Args().First()

	keyPEM, err := localfile.Read(keyFile, maxTrustFile)
	if err != nil {
		return inputError{fmt.Errorf("reading --key: %w", err)}
	}
	pub, err := summary.ParsePublicKey(keyPEM)
	if err != nil {
		return inputError{fmt.Errorf("--key %s: %w", keyFile, err)}
	}
	lock, err := localfile.Read(lockFile, lockfile.MaxSize)
	if err != nil {
		return inputError{fmt.Errorf("reading --lockfile: %w", err)}
	}
	env, err := localfile.Read(envFile, summary.MaxEnvelopeSize)
	if err != nil {
		return inputError{fmt.Errorf("reading the envelope: %w", err)}
	}

	v, err := summary.Verify(env, pub, lock)
	switch {
	case errors.Is(err, summary.ErrSignature), errors.Is(err, summary.ErrSubject):
		return outcomeError{exitFindings, fmt.Sprintf("%s does not verify: %v", envFile, err)}
	case err != nil:
		return inputError{fmt.Errorf("%s: %w", envFile, err)}
	}

	if c.Bool("json") {
		enc := json.NewEncoder(c.App.Writer)
		enc.SetIndent("", "  ")
		if err := enc.Encode(v.Predicate); err != nil {
			return err
		}
	} else if err := printSummary(c.App.Writer, lockFile, v); err != nil {
		return err
	}

	o := v.Predicate.Outcome
	if o.Result == summary.ResultPass {
		return nil
	}
	return outcomeError{o.ExitCode, fmt.Sprintf("the signed summary verifies, but the audit it records did not pass: %s (exit %d): %s", o.Result, o.ExitCode, o.Message)}
}

// printSummary writes what a verified summary says, for people.
func printSummary(w io.Writer, lockFile string, v *summary.Verified) error {
	p := v.Predicate
	var b bytes.Buffer
	fmt.Fprintf(&b, "signed summary verified: signed by %s\n", v.KeyID)
	fmt.Fprintf(&b, "lockfile: %s (sha256 %x) is %s as audited\n", plainText(lockFile), v.Subject.SHA256, plainText(v.Subject.Name))
	fmt.Fprintf(&b, "audit:    %s %s, lockfileVersion %d, registry %s\n",
		plainText(p.Tool.Name), plainText(p.Tool.Version), p.Lockfile.LockfileVersion, plainText(p.Lockfile.Registry))
	policy := []string{"fail-on " + plainText(p.Policy.FailOn)}
	if p.Policy.RequireProvenance {
		policy = append(policy, "require-provenance")
	}
	if p.Policy.RequireSignatures {
		policy = append(policy, "require-signatures")
	}
	if len(p.Policy.Omit) > 0 {
		policy = append(policy, "omit "+plainText(strings.Join(p.Policy.Omit, ",")))
	}
	if !p.Policy.History {
		policy = append(policy, "release-history rules off")
	}
	if len(p.Policy.DisabledRules) > 0 {
		policy = append(policy, "rules off "+plainText(strings.Join(p.Policy.DisabledRules, ",")))
	}
	if p.Policy.MinimumReleaseAge != "" {
		policy = append(policy, "minimum release age "+plainText(p.Policy.MinimumReleaseAge))
	}
	if f := p.Policy.File; f != nil && f.File != "" {
		policy = append(policy, fmt.Sprintf("policy file %s (named by %s)", plainText(f.File), plainText(f.NamedBy)))
	}
	if f := p.Policy.File; f != nil && f.Baseline != "" {
		policy = append(policy, "identity baseline "+plainText(f.Baseline))
	}
	fmt.Fprintf(&b, "policy:   %s\n", strings.Join(policy, ", "))
	if d := p.Policy.Diff; d != nil {
		fmt.Fprintf(&b, "covered:  only the packages new or changed against %s: %d new, %d changed; %d unchanged were not audited\n",
			plainText(d.Baseline), d.New, d.Changed, d.Unchanged)
	}
	outcome := fmt.Sprintf("%s (exit %d)", p.Outcome.Result, p.Outcome.ExitCode)
	if p.Outcome.Message != "" {
		outcome += ": " + plainText(p.Outcome.Message)
	}
	fmt.Fprintf(&b, "outcome:  %s\n", outcome)
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(p.Summary, &fields); err != nil {
		return fmt.Errorf("the signed summary: %w", err)
	}
	b.WriteString("summary:\n")
	for _, k := range slices.Sorted(maps.Keys(fields)) {
		val := string(fields[k])
		var s string
		if json.Unmarshal(fields[k], &s) == nil {
			val = s
		}
		fmt.Fprintf(&b, "  %s: %s\n", plainText(k), plainText(val))
	}
	_, err := w.Write(b.Bytes())
	return err
}

// plainText keeps terminal control out of what verify-summary prints: the
// summary is signed, but its paths and messages came from the audited
// project and its registry. Control characters and bidirectional
// overrides become "?".
func plainText(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r < 0x20, r == 0x7f, r >= 0x80 && r < 0xa0,
			r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069:
			return '?'
		}
		return r
	}, s)
}
