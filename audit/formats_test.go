package audit

import (
	"context"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/provaudit/provaudit/internal/registrytest"
	"github.com/provaudit/provaudit/lockfile"
)

// One project (slsa-verifier's actions/installer) locked by npm, and by
// pnpm 9 and 8, yarn 1, yarn 4 and bun from npm's lockfile (see
// testdata/MANIFEST.md, section "Lockfiles of other package managers").
const (
	formatsNpm = "../testdata/lockfiles/real-projects/slsa-verifier-actions-installer/package-lock.json"
	formatsDir = "../testdata/pm-lockfiles/slsa-verifier-actions-installer/"
)

var formatFiles = []struct {
	file   string
	format lockfile.Format
}{
	{formatsNpm, lockfile.FormatNpm},
	{formatsDir + "pnpm-v9/pnpm-lock.yaml", lockfile.FormatPnpm},
	{formatsDir + "pnpm-v6/pnpm-lock.yaml", lockfile.FormatPnpm},
	{formatsDir + "yarn-v1/yarn.lock", lockfile.FormatYarnV1},
	{formatsDir + "yarn-berry/yarn.lock", lockfile.FormatYarnBerry},
	{formatsDir + "bun/bun.lock", lockfile.FormatBun},
}

// TestFormatsSameResults audits the project through each of its lockfiles
// against one fake registry and checks that every package gets the same
// result whichever lockfile named it: status, reason, both sub-results and
// findings. yarn berry pins no tarball integrity: its packages are the
// same but unpinned, bound to the registry's signed integrity, and say
// why.
func TestFormatsSameResults(t *testing.T) {
	reg := registrytest.New(registrytest.Options{})
	t.Cleanup(reg.Close)
	lfs := make([]*lockfile.Lockfile, len(formatFiles))
	var locked []registrytest.Locked
	for i, f := range formatFiles {
		lf, err := lockfile.Load(f.file)
		if err != nil {
			t.Fatal(err)
		}
		if lf.Format != f.format {
			t.Fatalf("%s: format %q, want %q", f.file, lf.Format, f.format)
		}
		lfs[i] = lf
		for _, u := range lockfile.Units(lf) {
			if u.Kind == lockfile.KindRegistry {
				locked = append(locked, registrytest.Locked{Name: u.Name, Version: u.Version, Integrity: u.Integrity})
			}
		}
	}
	pkgs := registrytest.Packages(locked, 0.15, time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC))
	s := newSetupOn(t, reg, lfs[0], pkgs...)

	type result struct {
		format lockfile.Format
		pkg    Package
	}
	byPkg := map[string][]result{} // name@version -> results
	for i, lf := range lfs {
		res, err := Run(context.Background(), Options{Lockfile: lf, Config: s.cfg, Client: s.client(t, ""), Trust: s.trust})
		if err != nil {
			t.Fatalf("%s: %v", formatFiles[i].file, err)
		}
		if res.Lockfile.Format != lf.Format || res.Lockfile.Path != lf.Path {
			t.Errorf("%s: result names lockfile %+v", lf.Path, res.Lockfile)
		}
		if res.Summary.Audited < 300 || res.Summary.Checked != res.Summary.Audited || res.Summary.Error+res.Summary.Invalid != 0 {
			t.Errorf("%s: summary %+v", lf.Path, res.Summary)
		}
		for _, p := range res.Packages {
			k := p.Name + "@" + p.Version
			byPkg[k] = append(byPkg[k], result{lf.Format, p})
		}
	}

	compared := 0
	for k, rs := range byPkg {
		npm := rs[0]
		if npm.format != lockfile.FormatNpm {
			// Not in npm's tree: yarn berry's node-gyp (see the lockfile
			// package's TestGeneratedSameUnits).
			continue
		}
		for _, r := range rs[1:] {
			if r.format == lockfile.FormatNpm {
				continue // a second npm unit of this name@version
			}
			compared++
			got, want := r.pkg, npm.pkg
			if r.format == lockfile.FormatYarnBerry {
				if !got.Unpinned || got.Integrity != "" || !strings.Contains(got.Reason, "yarn berry lockfile: its checksum") ||
					!strings.Contains(got.Reason, want.Integrity) {
					t.Errorf("%s (%s): unpinned %v, integrity %q, reason %q: want unpinned, bound to %s, saying why",
						k, r.format, got.Unpinned, got.Integrity, got.Reason, want.Integrity)
				}
				got.Reason, _, _ = strings.Cut(got.Reason, " (yarn berry lockfile")
				got.Integrity, got.Unpinned = want.Integrity, false
			}
			if got.Status != want.Status || got.Reason != want.Reason || got.Integrity != want.Integrity || got.Kind != want.Kind ||
				!sameCheck(got.RegistrySignature, want.RegistrySignature) || !sameAttestations(got.Attestations, want.Attestations) ||
				!slices.Equal(rules(got.Findings), rules(want.Findings)) {
				t.Errorf("%s through %s:\n got  %s %q sig %+v att %+v findings %v\n want %s %q sig %+v att %+v findings %v",
					k, r.format, got.Status, got.Reason, got.RegistrySignature, got.Attestations, rules(got.Findings),
					want.Status, want.Reason, want.RegistrySignature, want.Attestations, rules(want.Findings))
			}
		}
	}
	if compared < 5*290 {
		t.Errorf("compared %d results, want about 5 formats x 300 packages", compared)
	}
}

func sameCheck(a, b *SignatureCheck) bool {
	return (a == nil) == (b == nil) && (a == nil || a.Status == b.Status && a.KeyID == b.KeyID && a.Reason == b.Reason)
}

func sameAttestations(a, b *AttestationCheck) bool {
	return (a == nil) == (b == nil) && (a == nil || a.Status == b.Status && a.Reason == b.Reason && slices.Equal(a.PredicateTypes, b.PredicateTypes))
}

// TestFormatsTamperedTarball: a registry that serves another tarball
// (another integrity, validly signed and attested) is caught through every
// lockfile that pins the integrity, and cannot be through yarn berry's,
// which pins none: what the reason of its packages says.
func TestFormatsTamperedTarball(t *testing.T) {
	const name, version = "tunnel", "0.0.6"
	reg := registrytest.New(registrytest.Options{})
	t.Cleanup(reg.Close)
	var lfs []*lockfile.Lockfile
	var pinned string
	for _, f := range formatFiles {
		lf, err := lockfile.Load(f.file)
		if err != nil {
			t.Fatal(err)
		}
		for _, u := range lockfile.Units(lf) {
			if u.Name == name && u.Version == version && u.Integrity != "" {
				pinned = u.Integrity
			}
		}
		lfs = append(lfs, lf)
	}
	if pinned == "" {
		t.Fatalf("no lockfile pins %s@%s", name, version)
	}
	other := registrytestSRI("another tarball of " + name)
	s := newSetupOn(t, reg, lfs[0], registrytest.Package{Name: name, Version: version, Integrity: other, Signed: true, Attested: true})
	for _, lf := range lfs {
		res, err := Run(context.Background(), Options{Lockfile: lf, Config: s.cfg, Client: s.client(t, ""), Trust: s.trust})
		if err != nil {
			t.Fatal(err)
		}
		i := slices.IndexFunc(res.Packages, func(p Package) bool { return p.Name == name && p.Version == version })
		if i < 0 {
			t.Fatalf("%s: no %s@%s", filepath.Base(lf.Path), name, version)
		}
		p := res.Packages[i]
		if lf.Format == lockfile.FormatYarnBerry {
			if p.Status != StatusVerified || !p.Unpinned || !strings.Contains(p.Reason, "pins no tarball integrity") {
				t.Errorf("yarn berry: %s %q, want verified against the registry's integrity, unpinned, saying the lockfile pins none", p.Status, p.Reason)
			}
			continue
		}
		if p.Status != StatusInvalid || !slices.Contains(rules(p.Findings), RuleIntegrityMismatch) {
			t.Errorf("%s (%s): %s %q %v, want invalid with %s", lf.Path, lf.Format, p.Status, p.Reason, rules(p.Findings), RuleIntegrityMismatch)
		}
	}
}
