package policy

import (
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/Masterminds/semver/v3"

	"github.com/provaudit/provaudit/audit"
	"github.com/provaudit/provaudit/internal/localfile"
)

// FileName is the name of a project's own policy file, read beside its
// lockfile.
const FileName = "provaudit.yaml"

// MaxSize caps a policy file: real ones are a few hundred bytes.
const MaxSize = 1 << 20

// ErrMalformed reports a policy file that cannot be used: every error of
// [Parse] and [Load] about the file's content wraps it, with
// file:line:column and what is wrong.
var ErrMalformed = errors.New("malformed policy")

// Error is one problem of a policy file, at a position.
type Error struct {
	File string
	// Line and Column are 1-based; Column is 0 when only the line is known
	// (YAML syntax errors).
	Line, Column int
	Msg          string
}

func (e *Error) Error() string {
	switch {
	case e.Line == 0:
		return fmt.Sprintf("%s: %s", e.File, e.Msg)
	case e.Column == 0:
		return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
	}
	return fmt.Sprintf("%s:%d:%d: %s", e.File, e.Line, e.Column, e.Msg)
}

// Unwrap makes every Error an ErrMalformed.
func (e *Error) Unwrap() error { return ErrMalformed }

// Policy is a parsed policy file. The zero Policy (and a nil one) asks for
// nothing.
type Policy struct {
	// File is the file's path as given, for messages and the Where of
	// exceptions.
	File string
	// NamedBy is audit.NamedByUser for a file the person running provaudit
	// gave (--policy), audit.NamedByProject for the project's own
	// provaudit.yaml.
	NamedBy string
	// RequireProvenance lists the packages that must have verified SLSA
	// provenance; RequireAll asks it of every package.
	RequireProvenance []Pattern
	RequireAll        bool
	requireWhere      string
	// Identity constrains the verified identity that built packages.
	Identity Identity
	// MinimumReleaseAge is the release-age rule's threshold (0: off).
	MinimumReleaseAge time.Duration
	// Rules turns rules off or sets their severity.
	Rules map[audit.Rule]RuleSetting
	// Exceptions waive findings of policy rules, in file order.
	Exceptions []Exception
}

// Pattern is a package name, or a glob of names in which * matches any
// run of characters but "/" (so "@myorg/*" is every package of a scope
// and "eslint-plugin-*" every unscoped name with that prefix).
type Pattern struct {
	Text  string
	Where string
}

// Match reports whether name matches the pattern.
func (p Pattern) Match(name string) bool {
	if !strings.ContainsAny(p.Text, "*?[") {
		return p.Text == name
	}
	ok, err := path.Match(p.Text, name)
	return ok && err == nil
}

// Constraints say what a verified provenance must name. Empty fields
// constrain nothing.
type Constraints struct {
	// Issuers are the allowed OIDC issuers (exact URLs).
	Issuers []string
	// Repository is the expected source repository, host/path without a
	// scheme (lower case), possibly with * globs: github.com/myorg/*.
	Repository string
	// Workflows are the allowed workflow paths (globs).
	Workflows []string
	// Refs are the allowed git refs built (globs of full refs:
	// refs/tags/v*).
	Refs []string
	// HostedRunnersOnly, when set and true, refuses builds on self-hosted
	// runners.
	HostedRunnersOnly *bool
	// Where is the file:line that declares these constraints.
	Where string
}

// Identity is the identity section: constraints for every package with
// provenance, and per package or scope.
type Identity struct {
	// Constraints apply to every package with verified provenance.
	Constraints
	// Packages hold the constraints of packages and scopes; for a package
	// the most specific entry applies (its exact name, else the longest
	// matching pattern), each field it sets overriding the one above. A
	// package that an entry names must have verified provenance.
	Packages []PackageIdentity
}

// PackageIdentity is one entry of identity.packages.
type PackageIdentity struct {
	Pattern Pattern
	Constraints
}

// RuleSetting is what the rules section says about one rule.
type RuleSetting struct {
	// Off: the rule's findings are not made.
	Off bool
	// Severity, when set, is the severity its findings get (in a project's
	// own file, the least severity they get: see the package
	// documentation).
	Severity audit.Severity
	Where    string
}

// Exception waives findings of one package.
type Exception struct {
	// Package is the package as written: NAME or NAME@RANGE.
	Package string
	// Name is the package name; Range the versions (nil: every version).
	Name  string
	Range *semver.Constraints
	// Rule is the rule it waives; "" waives every policy rule.
	Rule   audit.Rule
	Reason string
	// Expires is the day it stops applying (00:00 UTC), as written in
	// ExpiresText (YYYY-MM-DD).
	Expires     time.Time
	ExpiresText string
	Where       string
}

// Covers reports whether the exception names the package name@version.
func (e *Exception) Covers(name, version string) bool {
	if name != e.Name {
		return false
	}
	if e.Range == nil {
		return true
	}
	v, err := semver.NewVersion(version)
	return err == nil && e.Range.Check(v)
}

// ExpiredAt reports whether the exception no longer applies at now: from
// 00:00 UTC of its expiry day on.
func (e *Exception) ExpiredAt(now time.Time) bool { return !now.Before(e.Expires) }

// Load reads and parses the policy file at file (a regular file of at most
// MaxSize bytes). namedBy is audit.NamedByUser or audit.NamedByProject.
func Load(file, namedBy string) (*Policy, error) {
	data, err := localfile.Read(file, MaxSize)
	if err != nil {
		return nil, fmt.Errorf("policy file: %w", err)
	}
	return Parse(file, namedBy, data)
}

// Find returns the path of the project's own policy file in dir, "" when
// there is none. A provaudit.yml (which provaudit does not read) without a
// provaudit.yaml is an error, so that a misnamed policy is never silently
// ignored.
func Find(dir string) (string, error) {
	file := filepath.Join(dir, FileName)
	if _, err := os.Stat(file); err == nil {
		return file, nil
	} else if !errors.Is(err, os.ErrNotExist) {
		return "", fmt.Errorf("policy file: %w", err)
	}
	yml := filepath.Join(dir, "provaudit.yml")
	if _, err := os.Stat(yml); err == nil {
		return "", fmt.Errorf("%w: %s: provaudit reads its policy from %s: rename the file", ErrMalformed, yml, FileName)
	}
	return "", nil
}

// Configure sets the fields of audit options that the policy decides: the
// release-age threshold and the rules switched off. It is the one place
// where a policy reaches the audit.
func (p *Policy) Configure(o *audit.Options) {
	if p == nil {
		return
	}
	o.MinimumReleaseAge = p.MinimumReleaseAge
	for r, s := range p.Rules {
		if s.Off && !slices.Contains(o.DisabledRules, r) {
			o.DisabledRules = append(o.DisabledRules, r)
		}
	}
	slices.Sort(o.DisabledRules) // p.Rules is a map: keep the order stable
}
