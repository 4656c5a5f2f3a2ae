package rig

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/Masterminds/semver/v3"
	"golang.org/x/sync/errgroup"

	"github.com/provaudit/provaudit/internal/registrytest"
	"github.com/provaudit/provaudit/internal/registrytest/fakesigstore"
	"github.com/provaudit/provaudit/lockfile"
)

// Sentinel errors of package rig.
var (
	// ErrOptions reports invalid options.
	ErrOptions = errors.New("rig: invalid options")
	// ErrServe reports a registry that could not be built or measured.
	ErrServe = errors.New("rig: cannot serve")
	// ErrRun reports a provaudit run that could not be made or read.
	ErrRun = errors.New("rig: provaudit run failed")
	// ErrBench reports go test -bench output without the figures needed.
	ErrBench = errors.New("rig: bad benchmark output")
)

// spreadFrom is the earliest publish time PublishTime gives.
var spreadFrom = time.Date(2019, 1, 1, 0, 0, 0, 0, time.UTC)

// Packument size distribution (see PackumentVersions).
const (
	packumentMedian = 40
	packumentSigma  = 1.2
	packumentMax    = 3000
)

// PackumentVersions is the number of versions the full packument of name
// lists: log-normally distributed over names with median 40 and σ 1.2
// (about 10% of names above 186 versions, 1% above 650), at most 3,000, and
// never fewer than the versions actually served. It is a function of the
// name alone, so a name has the same packument in every lockfile size. At
// about 3.5 kB per version in the full packument, half the names are under
// 140 kB, one in ten above 650 kB and one in a hundred above 2.2 MB, like
// the popular names of the npm registry (hundreds to thousands of versions,
// megabytes of JSON).
func PackumentVersions(name string) int {
	sum := sha256.Sum256([]byte("packument-versions\x00" + name))
	u := (float64(binary.BigEndian.Uint64(sum[:8])>>11) + 0.5) / (1 << 53) // (0, 1)
	z := math.Sqrt2 * math.Erfinv(2*u-1)
	n := int(math.Round(packumentMedian * math.Exp(packumentSigma*z)))
	return min(max(n, 1), packumentMax)
}

// PublishTime is the publish time of name@version: between 2019-01-01 and
// the day before now, by a hash of name@version, so that about three in
// four versions predate the key rotation of January 2025, as in real
// lockfiles.
func PublishTime(now time.Time, name, version string) time.Time {
	sum := sha256.Sum256([]byte(name + "@" + version))
	span := now.Add(-24*time.Hour).Sub(spreadFrom) / time.Second
	if span <= 0 {
		return spreadFrom
	}
	off := time.Duration(binary.BigEndian.Uint64(sum[:8])%uint64(span)) * time.Second
	return spreadFrom.Add(off)
}

// ServeOptions configures Serve.
type ServeOptions struct {
	// Lockfile is the lockfile whose registry packages are served.
	Lockfile *lockfile.Lockfile
	// Attested is the fraction of package names with attestations (0..1).
	Attested float64
	// Latency is injected before every response.
	Latency time.Duration
	// Now is the base time (zero: the current time).
	Now time.Time
	// Baselines adds, for every attested version, an earlier attested
	// version of its release line (one patch below, else one minor
	// below), published 30 days before it, unless the lockfile locks it:
	// the newest earlier version with provenance whose identity an audit
	// with release histories verifies, as real attested packages have one.
	Baselines bool
}

// Served is a running fake registry for one lockfile, with what was served.
type Served struct {
	// Registry is the running registry; Close it.
	Registry *registrytest.Registry
	// TrustedRoot, NpmKeys and KeysTUF are the fake Sigstore's
	// trusted_root.json, the registry keys (/-/npm/v1/keys form) and the
	// same keys in the Sigstore TUF keys.json target form.
	TrustedRoot, NpmKeys, KeysTUF []byte
	// Packages and Attested count the served name@versions and those with
	// attestations; Names counts the package names.
	Packages, Attested, Names int
	// ExpiredKey counts versions without attestations signed only by the
	// expired key: an auditor needs their publish times (full packuments).
	ExpiredKey int
	// PackumentNames counts the names with such a version; PackumentBytes
	// is the size of their full packuments, PackumentBytesAll that of every
	// name's full packument.
	PackumentNames                    int
	PackumentBytes, PackumentBytesAll int64
	// Expect is the clean result an auditor must report for the lockfile.
	Expect Expect

	attested map[string]bool // name@version -> served with attestations
}

// Expect is what a correct audit of generated valid data reports.
type Expect struct {
	// Audited counts the unique name@version#integrity an auditor checks
	// (registry units not bundled in their parent); Verified those with
	// attestations, Signed the others.
	Audited, Verified, Signed int
	// Locations, LocationsAttested count the install locations of those
	// units, and of the attested ones (what npm counts).
	Locations, LocationsAttested int
	// BundledLocations, BundledAttestedLocations count the install
	// locations of registry units bundled in their parent's tarball, which
	// provaudit skips (the parent's integrity covers them) and npm audit
	// signatures checks against the registry like any other.
	BundledLocations, BundledAttestedLocations int
}

// Serve generates and starts a fake registry for every registry package of
// the lockfile, with everything generated before it returns: registry
// signatures by npm-like rotated keys (each version by the key valid when it
// was published, publish times spread by PublishTime), attestations for the
// Attested fraction of names, and full packuments padded to
// PackumentVersions versions. It then reads every full packument once to
// measure their sizes, and resets the registry's statistics.
func Serve(ctx context.Context, opts ServeOptions) (*Served, error) {
	if opts.Lockfile == nil {
		return nil, fmt.Errorf("%w: no lockfile", ErrOptions)
	}
	if opts.Attested < 0 || opts.Attested > 1 {
		return nil, fmt.Errorf("%w: attested fraction %v not in 0..1", ErrOptions, opts.Attested)
	}
	now := opts.Now
	if now.IsZero() {
		now = time.Now()
	}
	now = now.UTC().Truncate(time.Second)
	ss, err := fakesigstore.New(fakesigstore.Options{Now: now, NpmKeys: fakesigstore.RotatedKeys(now)})
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrServe, err)
	}

	units := lockfile.Units(opts.Lockfile)
	locked := lockedUnits(units)
	if len(locked) == 0 {
		return nil, fmt.Errorf("%w: %s has no registry packages", ErrOptions, opts.Lockfile.Path)
	}
	pkgs := registrytest.Packages(locked, opts.Attested, now)
	s := &Served{attested: make(map[string]bool, len(pkgs))}
	servedPerName := map[string]int{}
	needsPackument := map[string]bool{}
	for i := range pkgs {
		p := &pkgs[i]
		p.PublishTime = PublishTime(now, p.Name, p.Version)
		if p.PublishTime.Before(fakesigstore.RotatedStart) {
			p.SignKey = 0
		} else {
			p.SignKey = 1
		}
		servedPerName[p.Name]++
		s.attested[p.Name+"@"+p.Version] = p.Attested
		if p.Attested {
			s.Attested++
		} else if p.SignKey == 0 {
			s.ExpiredKey++
			needsPackument[p.Name] = true
		}
	}
	for i := range pkgs {
		p := &pkgs[i]
		p.Versions = max(0, PackumentVersions(p.Name)-servedPerName[p.Name])
	}
	s.Packages, s.Names, s.PackumentNames = len(pkgs), len(servedPerName), len(needsPackument)
	if opts.Baselines {
		pkgs = append(pkgs, baselines(pkgs)...)
	}

	reg := registrytest.New(registrytest.Options{Sigstore: ss, Now: now})
	if err := reg.Add(pkgs...); err != nil {
		reg.Close()
		return nil, fmt.Errorf("%w: %w", ErrServe, err)
	}
	s.Registry = reg
	s.TrustedRoot, s.NpmKeys, s.KeysTUF = ss.TrustedRoot(), ss.NpmKeys(), ss.NpmKeysTUF()
	s.Expect = s.expect(units)

	names := make([]string, 0, len(servedPerName))
	for n := range servedPerName {
		names = append(names, n)
	}
	slices.Sort(names)
	sizes, err := packumentSizes(ctx, reg, names)
	if err != nil {
		reg.Close()
		return nil, err
	}
	for i, n := range names {
		s.PackumentBytesAll += sizes[i]
		if needsPackument[n] {
			s.PackumentBytes += sizes[i]
		}
	}
	reg.SetLatency(opts.Latency)
	reg.ResetStats()
	return s, nil
}

// baselines makes the earlier attested version of every attested package
// (see ServeOptions.Baselines), each signed by the key valid when it was
// published.
func baselines(pkgs []registrytest.Package) []registrytest.Package {
	served := make(map[string]bool, len(pkgs))
	for _, p := range pkgs {
		served[p.Name+"@"+p.Version] = true
	}
	var out []registrytest.Package
	for _, p := range pkgs {
		v, err := semver.StrictNewVersion(p.Version)
		if !p.Attested || err != nil || v.Prerelease() != "" {
			continue
		}
		var prev string
		switch {
		case v.Patch() > 0:
			prev = fmt.Sprintf("%d.%d.%d", v.Major(), v.Minor(), v.Patch()-1)
		case v.Minor() > 0 && v.Major() > 0:
			prev = fmt.Sprintf("%d.%d.0", v.Major(), v.Minor()-1)
		default:
			continue // the first version of its line
		}
		if served[p.Name+"@"+prev] {
			continue
		}
		served[p.Name+"@"+prev] = true
		b := registrytest.Package{Name: p.Name, Version: prev, Signed: true, Attested: true, PublishTime: p.PublishTime.Add(-30 * 24 * time.Hour)}
		if !b.PublishTime.Before(fakesigstore.RotatedStart) {
			b.SignKey = 1
		}
		out = append(out, b)
	}
	return out
}

// Close stops the registry.
func (s *Served) Close() { s.Registry.Close() }

// lockedUnits lists the registry units to serve. registrytest.Packages keeps
// the first unit of each name@version that has an integrity, so units that
// are installed from the registry come first: a bundled copy (which came
// inside its parent's tarball, with its own integrity or none), listed
// earlier in path order, must not decide what is served.
func lockedUnits(units []lockfile.Unit) []registrytest.Locked {
	var first, later []registrytest.Locked
	for i := range units {
		u := &units[i]
		if u.Kind != lockfile.KindRegistry {
			continue
		}
		l := registrytest.Locked{Name: u.Name, Version: u.Version, Integrity: u.Integrity}
		if u.Integrity != "" && !u.Bundled() {
			first = append(first, l)
		} else {
			later = append(later, l)
		}
	}
	return append(first, later...)
}

// expect counts what a clean audit of units against s reports.
func (s *Served) expect(units []lockfile.Unit) Expect {
	var e Expect
	for i := range units {
		u := &units[i]
		if u.Kind != lockfile.KindRegistry {
			continue
		}
		if u.Bundled() {
			e.BundledLocations += len(u.Paths)
			if s.attested[u.Name+"@"+u.Version] {
				e.BundledAttestedLocations += len(u.Paths)
			}
			continue
		}
		e.Audited++
		e.Locations += len(u.Paths)
		if s.attested[u.Name+"@"+u.Version] {
			e.Verified++
			e.LocationsAttested += len(u.Paths)
		} else {
			e.Signed++
		}
	}
	return e
}

// packumentSizes reads the full packument of every name once (4 at a time)
// and returns the byte counts.
func packumentSizes(ctx context.Context, reg *registrytest.Registry, names []string) ([]int64, error) {
	sizes := make([]int64, len(names))
	client := reg.Client()
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(4)
	for i, n := range names {
		g.Go(func() error {
			u := reg.URL() + strings.Replace(url.PathEscape(n), "%2F", "%2f", 1)
			req, err := http.NewRequestWithContext(gctx, http.MethodGet, u, nil)
			if err != nil {
				return fmt.Errorf("%w: %w", ErrServe, err)
			}
			req.Header.Set("Accept", "application/json")
			resp, err := client.Do(req)
			if err != nil {
				return fmt.Errorf("%w: packument of %s: %w", ErrServe, n, err)
			}
			defer resp.Body.Close()
			nb, err := io.Copy(io.Discard, resp.Body)
			if err != nil || resp.StatusCode != http.StatusOK {
				return fmt.Errorf("%w: packument of %s: status %d: %v", ErrServe, n, resp.StatusCode, err)
			}
			sizes[i] = nb
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	return sizes, nil
}

// TrustFiles are the files provaudit is given to trust a Served registry.
type TrustFiles struct {
	// TrustedRoot is a trusted_root.json (--trusted-root), NpmKeys the
	// registry keys (--npm-keys).
	TrustedRoot, NpmKeys string
}

// WriteTrust writes the trusted root and the registry keys into dir.
func (s *Served) WriteTrust(dir string) (TrustFiles, error) {
	tf := TrustFiles{TrustedRoot: filepath.Join(dir, "trusted_root.json"), NpmKeys: filepath.Join(dir, "npm-keys.json")}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return TrustFiles{}, fmt.Errorf("%w: %w", ErrServe, err)
	}
	for path, data := range map[string][]byte{tf.TrustedRoot: s.TrustedRoot, tf.NpmKeys: s.NpmKeys} {
		if err := os.WriteFile(path, data, 0o644); err != nil {
			return TrustFiles{}, fmt.Errorf("%w: %w", ErrServe, err)
		}
	}
	return tf, nil
}
