package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/provaudit/provaudit/bench/lockgen"
	"github.com/provaudit/provaudit/bench/npmrig"
	"github.com/provaudit/provaudit/bench/rig"
	"github.com/provaudit/provaudit/lockfile"
)

// bench runs one benchmark session.
type bench struct {
	cfg         *config
	log         io.Writer
	moduleDir   string
	work        string
	home        string
	concurrency int    // provaudit's concurrency in effect
	self        string // this executable: the launcher of measured runs
	rep         *report
}

// run measures everything the configuration asks for. It returns the
// report so far together with an error when the session had to stop.
func (b *bench) run(ctx context.Context) (*report, error) {
	c := b.cfg
	b.rep = &report{
		date:     time.Now().UTC(),
		command:  c.command,
		cores:    runtime.NumCPU(),
		runs:     c.runs,
		attested: c.attested,
		seed:     c.seed,
	}
	var err error
	if b.moduleDir, err = moduleRoot(); err != nil {
		return nil, err
	}
	if err := b.setupWork(); err != nil {
		return nil, err
	}
	defer b.cleanWork()
	if err := b.describeTools(ctx); err != nil {
		return nil, err
	}
	if b.self, err = os.Executable(); err != nil {
		return nil, err
	}
	b.rep.loadStart = loadAverage()

	if c.floor {
		b.logf("measuring the CPU floor: go test -run '^$' -bench %s -cpu 1 ./verify", rig.FloorBench)
		f, err := rig.MeasureFloor(ctx, "go", b.moduleDir)
		if err != nil {
			return b.rep, err
		}
		b.rep.floor = f
	}

	if len(c.sizes) > 0 {
		files, err := filepath.Glob(b.abs(c.sources))
		if err != nil || len(files) == 0 {
			return b.rep, fmt.Errorf("-sources %s matches no file", c.sources)
		}
		srcs, err := lockgen.LoadSources(files...)
		if err != nil {
			return b.rep, err
		}
		for _, f := range files {
			rel, _ := filepath.Rel(b.moduleDir, f)
			b.rep.sources = append(b.rep.sources, filepath.ToSlash(rel))
		}
		for _, n := range c.sizes {
			b.logf("generating a lockfile of %d packages", n)
			start := time.Now()
			lf, err := lockgen.Generate(lockgen.Options{Sources: srcs, Packages: n, Seed: c.seed})
			if err != nil {
				return b.rep, err
			}
			dir := filepath.Join(b.work, fmt.Sprintf("gen-%d", n))
			path := filepath.Join(dir, "package-lock.json")
			if err := os.MkdirAll(dir, 0o755); err != nil {
				return b.rep, err
			}
			if err := os.WriteFile(path, lf.JSON, 0o644); err != nil {
				return b.rep, err
			}
			d := &dataset{label: fmt.Sprintf("generated %s", thousands(n)), path: path, gen: &lf.Stats, genTime: time.Since(start)}
			if err := b.measure(ctx, d); err != nil {
				return b.rep, err
			}
		}
	}
	for _, f := range c.realFiles {
		path := b.abs(f)
		d := &dataset{label: filepath.Base(filepath.Dir(path)) + " (real)", path: path, real: true}
		if err := b.measure(ctx, d); err != nil {
			return b.rep, err
		}
	}
	b.rep.loadEnd = loadAverage()
	return b.rep, nil
}

func (b *bench) logf(format string, args ...any) {
	fmt.Fprintf(b.log, "benchrig: "+format+"\n", args...)
}

// abs resolves a path given relative to the module root.
func (b *bench) abs(p string) string {
	if filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(b.moduleDir, p)
}

func (b *bench) setupWork() error {
	if b.cfg.work != "" {
		b.work = b.cfg.work
		if err := os.MkdirAll(b.work, 0o755); err != nil {
			return err
		}
	} else {
		// Scratch (and so provaudit's --cache-dir and npm's cache) lives
		// where provaudit's cache lives by default, the user cache
		// directory, not in /tmp: on these machines /tmp creates files
		// about 8 times slower (0.31 ms against 0.04 ms per file, measured
		// on 2026-11-26), which would charge the cold runs for the
		// machine's /tmp instead of for provaudit's cache.
		base, err := os.UserCacheDir()
		if err != nil {
			return err
		}
		if err := os.MkdirAll(base, 0o700); err != nil {
			return err
		}
		dir, err := os.MkdirTemp(base, "provaudit-bench-")
		if err != nil {
			return err
		}
		b.work = dir
	}
	b.home = filepath.Join(b.work, "home")
	return os.MkdirAll(b.home, 0o755)
}

func (b *bench) cleanWork() {
	if b.cfg.keep || b.cfg.work != "" {
		b.logf("scratch files kept in %s", b.work)
		return
	}
	_ = os.RemoveAll(b.work)
}

// moduleRoot finds the directory of go.mod from the working directory.
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("not inside the provaudit module (no go.mod above the working directory): run from the repository")
		}
		dir = parent
	}
}

var defaultConcurrencyRE = regexp.MustCompile(`--concurrency value\s+.*\(default: (\d+)\)`)

// describeTools records the versions of provaudit, Go and npm, and the
// concurrency provaudit runs with.
func (b *bench) describeTools(ctx context.Context) error {
	out, err := exec.CommandContext(ctx, b.cfg.provaudit, "--version").Output()
	if err != nil {
		return fmt.Errorf("-provaudit %s --version: %w", b.cfg.provaudit, err)
	}
	b.rep.provaudit = strings.TrimSpace(string(out))
	b.concurrency = b.cfg.concurrency
	if b.concurrency == 0 {
		help, err := exec.CommandContext(ctx, b.cfg.provaudit, "--help").Output()
		if err != nil {
			return fmt.Errorf("-provaudit %s --help: %w", b.cfg.provaudit, err)
		}
		m := defaultConcurrencyRE.FindSubmatch(help)
		if m == nil {
			return errors.New("cannot read the default --concurrency from provaudit --help: give -concurrency")
		}
		b.concurrency, _ = strconv.Atoi(string(m[1]))
		b.rep.concurrencyNote = "its default"
	}
	b.rep.concurrency = b.concurrency
	b.rep.goVersion = runtime.Version()
	b.rep.cpuModel = cpuModel()
	if b.cfg.npm {
		npm := b.cfg.npmBin
		if npm == "" {
			npm = "npm"
		}
		v, err := exec.CommandContext(ctx, npm, "--version").Output()
		if err != nil {
			return fmt.Errorf("npm --version: %w (is npm installed?)", err)
		}
		nv, _ := exec.CommandContext(ctx, "node", "--version").Output()
		b.rep.npmVersion = "npm " + strings.TrimSpace(string(v)) + ", node " + strings.TrimSpace(string(nv))
	}
	return nil
}

// dataset is one lockfile to measure.
type dataset struct {
	label   string
	path    string
	real    bool
	gen     *lockgen.Stats
	genTime time.Duration

	packages, entries, names int
	served                   *rig.Served
	serveTime                time.Duration
	servedProv, servedPub    time.Duration // floor on the served bundles
	rows                     []*row
}

// row is one dataset at one latency.
type row struct {
	ds      *dataset
	latency time.Duration
	cold    []*sample
	warm    []*sample
	npm     *npmSample
}

// sample is one provaudit run with the registry's view of it.
type sample struct {
	run         *rig.Run
	requests    int64
	maxInFlight int64
	attReqs     int64
	registryCPU time.Duration
	clean       bool
}

// npmSample is one npm audit signatures run.
type npmSample struct {
	res         *npmrig.Result
	err         error
	requests    int64
	maxInFlight int64
	registryCPU time.Duration
	rssFloorKB  int64 // the npm helper's peak: npm's RSS cannot read lower
}

// measure serves one lockfile and runs everything on it.
func (b *bench) measure(ctx context.Context, d *dataset) error {
	lf, err := lockfile.Load(d.path)
	if err != nil {
		return err
	}
	d.entries = 0
	for i := range lf.Entries {
		if lf.Entries[i].Kind == lockfile.KindRegistry {
			d.entries++
		}
	}
	b.logf("%s: generating the registry (signatures, attestations, packuments)", d.label)
	start := time.Now()
	served, err := rig.Serve(ctx, rig.ServeOptions{Lockfile: lf, Attested: b.cfg.attested})
	if err != nil {
		return err
	}
	defer served.Close()
	d.serveTime = time.Since(start)
	d.served = served
	d.packages, d.names = served.Expect.Audited, served.Names
	b.rep.datasets = append(b.rep.datasets, d)

	if served.Attested > 0 {
		if d.servedProv, d.servedPub, err = served.ServedFloor(ctx, 40, 3); err != nil {
			return err
		}
	}
	// Trust files go to the scratch directory: the real lockfiles live in
	// the repository's testdata, which a benchmark must not write into.
	trust, err := served.WriteTrust(filepath.Join(b.work, "trust-"+safeName(d.label)))
	if err != nil {
		return err
	}

	var npm *npmProc
	if b.cfg.npm {
		b.logf("%s: laying out the installed tree for npm", d.label)
		keysTUF := filepath.Join(filepath.Dir(trust.NpmKeys), "keys.json")
		if err := os.WriteFile(keysTUF, served.KeysTUF, 0o644); err != nil {
			return err
		}
		npm, err = startNPM(ctx, npmConfig{
			RegistryURL:     served.Registry.URL(),
			Lockfile:        d.path,
			TrustedRootFile: trust.TrustedRoot,
			KeysTUFFile:     keysTUF,
			WorkDir:         b.work,
			NPM:             b.cfg.npmBin,
			Timeout:         b.cfg.npmTimeout,
		}, b.log)
		if err != nil {
			return err
		}
		defer npm.close()
	}

	reg := served.Registry
	for _, lat := range b.cfg.latencies {
		r := &row{ds: d, latency: lat}
		d.rows = append(d.rows, r)
		reg.SetLatency(lat)
		for i := range b.cfg.runs {
			cache := filepath.Join(b.work, "cache", fmt.Sprintf("%s-%s-%d", safeName(d.label), lat, i))
			for _, warm := range []bool{false, true} {
				s, err := b.provaudit(ctx, served, d.path, trust, cache)
				if err != nil {
					return err
				}
				kind := "cold"
				if warm {
					kind = "warm"
					r.warm = append(r.warm, s)
				} else {
					r.cold = append(r.cold, s)
				}
				b.logf("%s, latency %s, %s %d/%d: wall %.2fs, CPU %.2fs, RSS %d MB, %d requests, exit %d%s",
					d.label, lat, kind, i+1, b.cfg.runs, s.run.Wall.Seconds(), s.run.CPU().Seconds(), s.run.MaxRSSKB>>10,
					s.requests, s.run.ExitCode, map[bool]string{true: "", false: " NOT CLEAN"}[s.clean])
				if err := ctx.Err(); err != nil {
					return err
				}
			}
		}
		if npm != nil {
			b.logf("%s, latency %s: npm audit signatures (up to %s)", d.label, lat, b.cfg.npmTimeout)
			reg.ResetStats()
			cpu0 := rig.SelfCPU()
			res, floor, err := npm.run()
			r.npm = &npmSample{res: res, err: err, requests: reg.Stats().Requests, maxInFlight: reg.MaxInFlight(), registryCPU: rig.SelfCPU() - cpu0, rssFloorKB: floor}
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if res != nil {
				b.logf("%s, latency %s: npm wall %.1fs, CPU %.1fs, RSS %d MB, exit %d, timed out %t, err %v", d.label, lat, res.Wall.Seconds(), (res.User + res.Sys).Seconds(), res.MaxRSSKB>>10, res.ExitCode, res.TimedOut, err)
			} else {
				b.logf("%s, latency %s: npm failed: %v", d.label, lat, err)
			}
		}
	}
	return nil
}

// provaudit runs provaudit once and reads the registry's statistics.
func (b *bench) provaudit(ctx context.Context, served *rig.Served, lockPath string, trust rig.TrustFiles, cache string) (*sample, error) {
	reg := served.Registry
	reg.ResetStats()
	cpu0 := rig.SelfCPU()
	run, err := rig.RunProvaudit(ctx, rig.RunOptions{
		Binary:      b.cfg.provaudit,
		Lockfile:    lockPath,
		Registry:    reg.URL(),
		Trust:       trust,
		CacheDir:    cache,
		Concurrency: b.cfg.concurrency,
		Home:        b.home,
		Timeout:     b.cfg.timeout,
		Launcher:    b.self,
	})
	cpu := rig.SelfCPU() - cpu0
	if err != nil {
		return nil, err
	}
	return &sample{
		run:         run,
		requests:    reg.Requests(),
		maxInFlight: reg.MaxInFlight(),
		attReqs:     reg.RequestsFor("/-/npm/v1/attestations/"),
		registryCPU: cpu,
		clean:       run.Clean(served.Expect),
	}, nil
}

// safeName makes a label usable in a file name.
func safeName(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '.' {
			return r
		}
		return '_'
	}, s)
}

// loadAverage is the 1, 5 and 15 minute load average ("" when unknown).
func loadAverage() string {
	data, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return ""
	}
	f := strings.Fields(string(data))
	if len(f) < 3 {
		return ""
	}
	return strings.Join(f[:3], " ")
}

// cpuModel is the processor's model name ("" when unknown).
func cpuModel() string {
	f, err := os.Open("/proc/cpuinfo")
	if err != nil {
		return ""
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return ""
}
