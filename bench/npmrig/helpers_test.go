package npmrig

import (
	"context"
	"crypto/sha512"
	"encoding/base64"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/provaudit/provaudit/internal/npmspec"
	"github.com/provaudit/provaudit/internal/registrytest"
	"github.com/provaudit/provaudit/lockfile"
)

// needNPM skips the test when npm is not installed, and in -short mode.
func needNPM(tb testing.TB) string {
	tb.Helper()
	if testing.Short() {
		tb.Skip("runs the real npm (seconds); skipped with -short")
	}
	npm, err := exec.LookPath("npm")
	if err != nil {
		tb.Skip("npm is not on PATH, so `npm audit signatures` cannot be run: " + err.Error())
	}
	return npm
}

// fakeIntegrity is a deterministic sha512 SRI for name@version.
func fakeIntegrity(name, version string) string {
	sum := sha512.Sum512([]byte("npmrig " + name + "@" + version))
	return "sha512-" + base64.StdEncoding.EncodeToString(sum[:])
}

// testPkg is one install location of a generated lockfile.
type testPkg struct {
	path, name, version string
	dev                 bool
	deps                map[string]string // dependencies it declares
}

// smallTree is a 20-location tree: top-level packages (two scoped, one dev),
// an alias, and a package nested under another one because it needs another
// version of a top-level name.
func smallTree() (rootDeps, rootDevDeps map[string]string, pkgs []testPkg) {
	rootDeps = map[string]string{}
	rootDevDeps = map[string]string{}
	names := []string{
		"left-pad", "right-pad", "chalkish", "debugger-lite", "ms-tiny", "semverish",
		"yargs-lite", "glob-lite", "minimatchish", "once-only", "wrappy-ish", "inherits-ish",
		"@rig/core", "@rig/util", "path-is-abs", "fs-realpathish",
	}
	for i, n := range names {
		p := testPkg{path: "node_modules/" + n, name: n, version: "1.0." + string(rune('0'+i%10))}
		if n == "ms-tiny" {
			p.dev = true
			rootDevDeps[n] = "^" + p.version
		} else {
			rootDeps[n] = "^" + p.version
		}
		pkgs = append(pkgs, p)
	}
	// chalkish needs ms-tiny@2, installed under it.
	pkgs[2].deps = map[string]string{"ms-tiny": "^2.0.0", "once-only": "^1.0.0"}
	pkgs = append(pkgs, testPkg{path: "node_modules/chalkish/node_modules/ms-tiny", name: "ms-tiny", version: "2.0.0"})
	// An alias: folder rig-alias, registry package real-thing.
	rootDeps["rig-alias"] = "npm:real-thing@^3.1.0"
	pkgs = append(pkgs, testPkg{path: "node_modules/rig-alias", name: "real-thing", version: "3.1.0"})
	// Two more scoped ones, one a dependency of @rig/core only.
	pkgs = append(pkgs, testPkg{path: "node_modules/@rig/cli", name: "@rig/cli", version: "0.4.2"})
	rootDeps["@rig/cli"] = "~0.4.0"
	pkgs[12].deps = map[string]string{"@rig/extra": "^5.0.0"}
	pkgs = append(pkgs, testPkg{path: "node_modules/@rig/extra", name: "@rig/extra", version: "5.0.1"})
	return rootDeps, rootDevDeps, pkgs
}

// writeLockfile writes a lockfileVersion 3 package-lock.json for pkgs into
// dir and returns its path.
func writeLockfile(tb testing.TB, dir string, rootDeps, rootDevDeps map[string]string, pkgs []testPkg) string {
	tb.Helper()
	packages := map[string]any{
		"": map[string]any{"name": "rig-project", "version": "1.0.0", "dependencies": rootDeps, "devDependencies": rootDevDeps},
	}
	for _, p := range pkgs {
		e := map[string]any{
			"version":   p.version,
			"resolved":  "https://registry.invalid/" + p.name + "/-/" + p.name[strings.LastIndex(p.name, "/")+1:] + "-" + p.version + ".tgz",
			"integrity": fakeIntegrity(p.name, p.version),
		}
		if folder := p.path[strings.LastIndex(p.path, "node_modules/")+len("node_modules/"):]; folder != p.name {
			e["name"] = p.name
		}
		if p.dev {
			e["dev"] = true
		}
		if p.deps != nil {
			e["dependencies"] = p.deps
		}
		packages[p.path] = e
	}
	doc := map[string]any{"name": "rig-project", "version": "1.0.0", "lockfileVersion": 3, "requires": true, "packages": packages}
	b, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		tb.Fatal(err)
	}
	file := filepath.Join(dir, "package-lock.json")
	if err := os.WriteFile(file, b, 0o644); err != nil {
		tb.Fatal(err)
	}
	return file
}

// registryFor starts a fake registry serving every registry unit of the
// lockfile, signed, with every attestEvery-th unit (by order) attested (0:
// none). It returns the registry and the number of attested units.
func registryFor(tb testing.TB, lockfilePath string, attestEvery int) (*registrytest.Registry, int) {
	tb.Helper()
	lf, err := lockfile.Load(lockfilePath)
	if err != nil {
		tb.Fatal(err)
	}
	now := time.Now().UTC().Truncate(time.Second)
	var pkgs []registrytest.Package
	attested := 0
	for _, u := range lockfile.Units(lf) {
		if u.Kind != lockfile.KindRegistry {
			continue
		}
		p := registrytest.Package{Name: u.Name, Version: u.Version, Integrity: u.Integrity, Signed: true, PublishTime: now}
		if attestEvery > 0 && len(pkgs)%attestEvery == 0 {
			if in, err := npmspec.ParseIntegrity(u.Integrity); err == nil && in.Has(npmspec.SHA512) {
				p.Attested = true
				attested++
			}
		}
		pkgs = append(pkgs, p)
	}
	reg := registrytest.New(registrytest.Options{Now: now})
	tb.Cleanup(reg.Close)
	if err := reg.Add(pkgs...); err != nil {
		tb.Fatal(err)
	}
	return reg, attested
}

// prepare prepares a rig for the lockfile against reg and closes it at the
// end of the test.
func prepare(tb testing.TB, reg *registrytest.Registry, lockfilePath string, timeout time.Duration) *Rig {
	tb.Helper()
	rig, err := Prepare(context.Background(), Options{
		RegistryURL: reg.URL(),
		Lockfile:    lockfilePath,
		TrustedRoot: reg.Sigstore().TrustedRoot(),
		KeysTUF:     reg.Sigstore().NpmKeysTUF(),
		WorkDir:     tb.TempDir(),
		Timeout:     timeout,
	})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		if err := rig.Close(); err != nil {
			tb.Error(err)
		}
	})
	return rig
}
