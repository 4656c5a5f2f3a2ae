package main

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/provaudit/provaudit/internal/trustupdate"
	"github.com/provaudit/provaudit/verify"
)

func TestTrustSourceString(t *testing.T) {
	for _, c := range []struct {
		s    trustSource
		want string
	}{
		{trustSource{kind: sourceEmbedded}, "embedded"},
		{trustSource{kind: sourceTUF, fetched: time.Date(2026, 12, 1, 23, 0, 0, 0, time.FixedZone("x", -3600))}, "updated on 2026-12-02 via TUF"},
		{trustSource{kind: sourceFile, flag: "--trusted-root", file: "tr.json"}, "--trusted-root tr.json"},
		{trustSource{kind: sourceFile, flag: "--npm-keys", file: "k.json"}, "--npm-keys k.json"},
	} {
		if got := c.s.String(); got != c.want {
			t.Errorf("%+v: %q, want %q", c.s, got, c.want)
		}
	}
}

func TestResolveTrustSources(t *testing.T) {
	cache := t.TempDir()
	m, err := resolveTrust(trustFlags{cacheDir: cache})
	if err != nil {
		t.Fatal(err)
	}
	if m.trustedRoot.source.kind != sourceEmbedded || m.npmKeys.source.kind != sourceEmbedded ||
		!bytes.Equal(m.trustedRoot.data, verify.EmbeddedTrustedRoot()) || !m.trustedRoot.asOf.Equal(trustupdate.EmbeddedAsOf) {
		t.Fatalf("nothing updated: %+v", m)
	}
	keys := filepath.Join(t.TempDir(), "keys.json")
	if err := os.WriteFile(keys, verify.EmbeddedNpmKeys(), 0o644); err != nil {
		t.Fatal(err)
	}
	m, err = resolveTrust(trustFlags{cacheDir: cache, npmKeys: keys})
	if err != nil {
		t.Fatal(err)
	}
	if m.trustedRoot.source.kind != sourceEmbedded || m.npmKeys.source.String() != "--npm-keys "+keys || m.npmKeys.asOf.IsZero() {
		t.Fatalf("--npm-keys: %+v", m.npmKeys)
	}
	var ie inputError
	if _, err := resolveTrust(trustFlags{cacheDir: cache, trustedRoot: filepath.Join(cache, "missing.json")}); !errors.As(err, &ie) {
		t.Fatalf("missing --trusted-root: %v", err)
	}
	if _, err := resolveTrust(trustFlags{cacheDir: cache, tufRoot: filepath.Join(cache, "missing.json")}); !errors.As(err, &ie) {
		t.Fatalf("missing --tuf-root: %v", err)
	}
	var ue usageError
	if _, err := resolveTrust(trustFlags{tufRoot: keys, noCache: true}); !errors.As(err, &ue) {
		t.Fatalf("--tuf-root with --no-cache: %v", err)
	}
}

func TestTrustShowReportWarnings(t *testing.T) {
	m, err := resolveTrust(trustFlags{cacheDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	// Ten days before the old npm key ended (the embedded material is dated
	// later, so it is not stale then).
	rep, err := m.report(time.Date(2025, 1, 19, 0, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Warnings) != 2 || !strings.Contains(rep.Warnings[0], "npm keys: npm key SHA256:jl3bwswu80PjjokCgh0o2w5c2U4LhQAE57gj9cz1kzA (npm:") {
		t.Fatalf("warnings %q", rep.Warnings)
	}
	if rep.NpmKeys.Entries[0].Status != "valid" || rep.TrustedRoot.Entries[0].Status != "ended" {
		t.Fatalf("statuses %s, %s", rep.NpmKeys.Entries[0].Status, rep.TrustedRoot.Entries[0].Status)
	}
	// Four months after the embedded material was taken: both pieces are
	// stale.
	now := trustupdate.EmbeddedAsOf.AddDate(0, 4, 0)
	rep, err = m.report(now)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Warnings) != 2 || !strings.Contains(rep.Warnings[0], "trusted root is 120 days old (as of 2026-11-24), more than 90: run provaudit trust update") ||
		!strings.HasPrefix(rep.Warnings[1], "npm keys is 120 days old") {
		t.Fatalf("warnings %q", rep.Warnings)
	}
	var out bytes.Buffer
	if err := writeShowText(&out, rep, now); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"Trusted root: embedded\n  as of 2026-11-24 (120 days ago), sha256 6494e21e",
		"npm registry keys: embedded\n",
		"Warnings:\n  trusted root is 120 days old",
	} {
		if !strings.Contains(out.String(), want) {
			t.Fatalf("text output lacks %q:\n%s", want, out.String())
		}
	}

	m.ignored = errors.New("broken")
	rep, err = m.report(now)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Warnings[0] != "ignoring the stored trust update: broken; using the embedded trust material" {
		t.Fatalf("warnings %q", rep.Warnings)
	}
}
