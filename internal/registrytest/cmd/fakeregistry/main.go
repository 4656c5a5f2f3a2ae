// Command fakeregistry serves a generated fake npm registry for the packages
// of a lockfile, for benchmark scripts and manual runs. It prints the
// registry URL on stdout, then serves until interrupted.
//
// Usage:
//
//	fakeregistry -lockfile DIR|package-lock.json [-addr 127.0.0.1:0]
//	    [-latency 20ms] [-attested 0.33] [-versions 0] [-published now|spread|RFC3339]
//	    [-keys single|rotated] [-tls] [-write-trust DIR]
//
// Every registry unit of the lockfile is served with its lockfile integrity,
// a registry signature and, for a deterministic fraction of the names
// (-attested), publish and SLSA provenance attestations from a fake
// Sigstore. -write-trust writes what provaudit needs to trust that data:
//
//	trusted_root.json   for --trusted-root
//	npm-keys.json       the /-/npm/v1/keys body, for --npm-keys
//	keys.json           the same keys in the Sigstore TUF target form
//	registry-cert.pem   the server certificate (with -tls)
//
// -published spread dates each version between 2019-01-01 and yesterday
// (by a hash of name@version), so most predate 2025 as in real lockfiles;
// with -keys rotated the registry has two keys shaped like npm's (the first
// expired on 2025-01-29, the second valid from 2025-01-13) and each version
// is signed by the key valid when it was published, so a client has to
// establish publish times (the full packument) as it does against the real
// registry. -versions pads every packument with that many extra versions of
// realistic size.
//
// GET /-/registrytest/stats on the server reports the request count and
// the maximum number of requests in flight; POST /-/registrytest/reset
// zeroes them. The final statistics are printed on stderr at exit.
//
// Exit codes: 0 after an interrupt, 1 when the registry cannot be built,
// 2 for usage errors.
package main

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/provaudit/provaudit/internal/registrytest"
	"github.com/provaudit/provaudit/internal/registrytest/fakesigstore"
	"github.com/provaudit/provaudit/lockfile"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// errUsage marks command-line errors (exit 2).
var errUsage = errors.New("usage")

type config struct {
	lockfile   string
	addr       string
	latency    time.Duration
	attested   float64
	versions   int
	published  string
	keys       string
	tls        bool
	writeTrust string
}

func parseFlags(args []string, stderr io.Writer) (*config, error) {
	fs := flag.NewFlagSet(filepath.Base(args[0]), flag.ContinueOnError)
	fs.SetOutput(stderr)
	c := &config{}
	fs.StringVar(&c.lockfile, "lockfile", "", "project directory or package-lock.json / npm-shrinkwrap.json (required)")
	fs.StringVar(&c.addr, "addr", "127.0.0.1:0", "address to listen on")
	fs.DurationVar(&c.latency, "latency", 0, "latency injected before every response")
	fs.Float64Var(&c.attested, "attested", 0.33, "fraction of package names with attestations (0..1)")
	fs.IntVar(&c.versions, "versions", 0, "extra versions padding every packument")
	fs.StringVar(&c.published, "published", "now", `publish times: "now", "spread" (2019..yesterday by name@version) or an RFC 3339 time`)
	fs.StringVar(&c.keys, "keys", "single", `npm keys: "single" (one current key) or "rotated" (npm-like: expired + current)`)
	fs.BoolVar(&c.tls, "tls", false, "serve HTTPS (HTTP/2); the certificate goes to -write-trust")
	fs.StringVar(&c.writeTrust, "write-trust", "", "directory to write trusted_root.json, npm-keys.json, keys.json (and registry-cert.pem) into")
	if err := fs.Parse(args[1:]); err != nil {
		return nil, fmt.Errorf("%w: %w", errUsage, err)
	}
	switch {
	case fs.NArg() > 0:
		return nil, fmt.Errorf("%w: unexpected arguments %q", errUsage, fs.Args())
	case c.lockfile == "":
		return nil, fmt.Errorf("%w: -lockfile is required", errUsage)
	case c.attested < 0 || c.attested > 1:
		return nil, fmt.Errorf("%w: -attested %v is not in 0..1", errUsage, c.attested)
	case c.versions < 0:
		return nil, fmt.Errorf("%w: -versions %d is negative", errUsage, c.versions)
	case c.keys != "single" && c.keys != "rotated":
		return nil, fmt.Errorf("%w: -keys %q: want single or rotated", errUsage, c.keys)
	}
	if c.published != "now" && c.published != "spread" {
		if _, err := time.Parse(time.RFC3339, c.published); err != nil {
			return nil, fmt.Errorf("%w: -published %q: want now, spread or an RFC 3339 time", errUsage, c.published)
		}
	}
	return c, nil
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	c, err := parseFlags(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "fakeregistry: %v\n", err)
		return 2
	}
	reg, summary, err := build(c)
	if err != nil {
		fmt.Fprintf(stderr, "fakeregistry: %v\n", err)
		return 1
	}
	defer reg.Close()
	fmt.Fprintf(stderr, "fakeregistry: %s; serving %s\n", summary, reg.URL())
	fmt.Fprintln(stdout, reg.URL())
	<-ctx.Done()
	st, _ := json.Marshal(reg.Stats())
	fmt.Fprintf(stderr, "fakeregistry: stats %s\n", st)
	return 0
}

// Key windows shaped like the npm registry's two public keys.
var (
	rotatedEnd   = time.Date(2025, 1, 29, 0, 0, 0, 0, time.UTC)
	rotatedStart = time.Date(2025, 1, 13, 0, 0, 0, 0, time.UTC)
	spreadFrom   = time.Date(2019, 1, 1, 0, 0, 0, 0, time.UTC)
)

// build loads the lockfile, generates the registry and writes the trust files.
func build(c *config) (*registrytest.Registry, string, error) {
	lf, err := lockfile.Load(c.lockfile)
	if err != nil {
		return nil, "", err
	}
	var locked []registrytest.Locked
	for _, u := range lockfile.Units(lf) {
		if u.Kind == lockfile.KindRegistry {
			locked = append(locked, registrytest.Locked{Name: u.Name, Version: u.Version, Integrity: u.Integrity})
		}
	}
	if len(locked) == 0 {
		return nil, "", fmt.Errorf("%s has no registry packages", c.lockfile)
	}

	now := time.Now().UTC().Truncate(time.Second)
	ssOpts := fakesigstore.Options{Now: now, NpmKeys: []fakesigstore.KeySpec{{Start: now.AddDate(-9, 0, 0)}}}
	if c.keys == "rotated" {
		ssOpts.NpmKeys = []fakesigstore.KeySpec{
			{Start: now.AddDate(-9, 0, 0), End: rotatedEnd},
			{Start: rotatedStart},
		}
	}
	ss, err := fakesigstore.New(ssOpts)
	if err != nil {
		return nil, "", err
	}

	pkgs := registrytest.Packages(locked, c.attested, now)
	attested := 0
	for i := range pkgs {
		p := &pkgs[i]
		p.PublishTime = publishTime(c.published, now, p.Name+"@"+p.Version)
		p.Versions = c.versions
		if c.keys == "rotated" && p.PublishTime.Before(rotatedStart) {
			p.SignKey = 0
		} else if c.keys == "rotated" {
			p.SignKey = 1
		}
		if p.Attested {
			attested++
		}
	}

	reg := registrytest.New(registrytest.Options{Sigstore: ss, Latency: c.latency, TLS: c.tls, Addr: c.addr, Now: now})
	start := time.Now()
	if err := reg.Add(pkgs...); err != nil {
		reg.Close()
		return nil, "", err
	}
	took := time.Since(start)
	if c.writeTrust != "" {
		if err := writeTrust(c.writeTrust, reg); err != nil {
			reg.Close()
			return nil, "", err
		}
	}
	summary := fmt.Sprintf("%d packages (%d attested) from %s generated in %s", len(pkgs), attested, c.lockfile, took.Round(time.Millisecond))
	return reg, summary, nil
}

// publishTime is the publish time of one version under the -published mode.
func publishTime(mode string, now time.Time, id string) time.Time {
	switch mode {
	case "now":
		return now
	case "spread":
		sum := sha256.Sum256([]byte(id))
		span := now.Add(-24*time.Hour).Sub(spreadFrom) / time.Second
		off := time.Duration(binary.BigEndian.Uint64(sum[:8])%uint64(span)) * time.Second
		return spreadFrom.Add(off)
	default:
		t, _ := time.Parse(time.RFC3339, mode) // checked in parseFlags
		return t.UTC()
	}
}

func writeTrust(dir string, reg *registrytest.Registry) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	files := map[string][]byte{
		"trusted_root.json": reg.Sigstore().TrustedRoot(),
		"npm-keys.json":     reg.Sigstore().NpmKeys(),
		"keys.json":         reg.Sigstore().NpmKeysTUF(),
	}
	if der := reg.Certificate(); der != nil {
		files["registry-cert.pem"] = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			return err
		}
	}
	return nil
}
