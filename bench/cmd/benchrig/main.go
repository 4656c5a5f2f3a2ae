// Command benchrig is provaudit's benchmark driver: it generates lockfiles
// of the sizes asked for, serves each from a fake registry shaped like the
// npm registry (rotated keys, spread publish times, a third of the names
// attested, megabyte packuments for popular names), runs the provaudit
// binary on it with a cold and a warm cache, measures the CPU floor and the
// network bound of the same work in the same run, optionally runs the real
// `npm audit signatures` on the same tree, and prints a markdown table.
//
// Use bench/run.sh, which builds provaudit first:
//
//	bench/run.sh [-sizes 1000,5000,10000] [-latency 0,20ms] [-runs 3]
//	    [-npm] [-npm-timeout 600s] [-real] [-out bench/results/DATE.md]
//
// or directly, from the repository root (bench/ is a module of its own;
// the default paths of -sources and -real-lockfiles are relative to the
// repository root):
//
//	go build -o /tmp/provaudit ./cmd/provaudit
//	(cd bench && go build -o /tmp/benchrig ./cmd/benchrig)
//	/tmp/benchrig -provaudit /tmp/provaudit [flags]
//
// Everything is generated before any timing starts. Per lockfile and
// latency it runs provaudit -runs times with a fresh cache directory
// (cold), each followed by a run on the same directory (warm), and reports
// the median and range. The fake registry runs in this process: its CPU
// time is not in provaudit's rusage but shares the machine's cores, and
// is reported per run.
//
// Exit codes: 0 when every run finished and reported the clean result the
// generated data must give, 1 when a run reported anything else (the table
// shows it), 2 for usage errors, 3 when the benchmark could not run.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/provaudit/provaudit/internal/launcher"
)

func main() {
	// Helper modes: this executable is also the launcher of measured
	// provaudit runs (see package internal/launcher) and the host of npm
	// runs (npmMain).
	if len(os.Args) > 1 {
		switch os.Args[1] {
		case launcher.Arg:
			os.Exit(launcher.Main(os.Args[1:], os.Stderr))
		case npmArg:
			os.Exit(npmMain(os.Stdin, os.Stdout))
		}
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// errUsage marks command-line errors (exit 2).
var errUsage = errors.New("usage")

// config is the validated command line.
type config struct {
	provaudit   string
	sizes       []int
	latencies   []time.Duration
	runs        int
	npm         bool
	npmBin      string
	npmTimeout  time.Duration
	real        bool
	realFiles   []string
	sources     string
	seed        uint64
	attested    float64
	concurrency int
	out         string
	work        string
	keep        bool
	floor       bool
	command     string
	timeout     time.Duration
}

func parseFlags(args []string, stderr io.Writer) (*config, error) {
	fs := flag.NewFlagSet(filepath.Base(args[0]), flag.ContinueOnError)
	fs.SetOutput(stderr)
	c := &config{}
	var sizes, latencies, realFiles string
	fs.StringVar(&c.provaudit, "provaudit", "", "provaudit binary to measure (required; bench/run.sh builds it)")
	fs.StringVar(&sizes, "sizes", "1000,5000,10000", "generated lockfile sizes: unique registry packages, comma separated (empty: none)")
	fs.StringVar(&latencies, "latency", "0,20ms", "registry latencies, comma separated")
	fs.IntVar(&c.runs, "runs", 3, "cold runs per lockfile and latency (each followed by a warm run)")
	fs.BoolVar(&c.npm, "npm", false, "also run npm audit signatures on the same tree (bench/npmrig)")
	fs.StringVar(&c.npmBin, "npm-bin", "", `npm binary (default "npm" on PATH)`)
	fs.DurationVar(&c.npmTimeout, "npm-timeout", 600*time.Second, "stop npm after this long")
	fs.BoolVar(&c.real, "real", false, "also benchmark the real lockfiles of -real-lockfiles, a third of their names attested")
	fs.StringVar(&realFiles, "real-lockfiles", "testdata/lockfiles/real-projects/npm-cli-v10.9.0/package-lock.json,testdata/lockfiles/real-projects/npm-cli-smoke-large-install/package-lock.json", "real lockfiles for -real, comma separated")
	fs.StringVar(&c.sources, "sources", "testdata/lockfiles/real-projects/*/package-lock.json", "glob of the real lockfiles generated ones take names, versions and integrities from")
	fs.Uint64Var(&c.seed, "seed", 1, "generator seed")
	fs.Float64Var(&c.attested, "attested", 0.33, "fraction of package names with attestations")
	fs.IntVar(&c.concurrency, "concurrency", 0, "provaudit --concurrency (0: its default)")
	fs.StringVar(&c.out, "out", "", "also write the report to this file")
	fs.StringVar(&c.work, "work", "", "scratch directory (default: a new one in the user cache directory, where provaudit's cache lives by default; removed at the end)")
	fs.BoolVar(&c.keep, "keep", false, "keep the scratch directory")
	fs.BoolVar(&c.floor, "floor", true, "measure the CPU floor with the verify package's floor benchmarks")
	fs.StringVar(&c.command, "command", "", "the command line to print in the report (default: this one)")
	fs.DurationVar(&c.timeout, "timeout", 15*time.Minute, "stop one provaudit run after this long")
	if err := fs.Parse(args[1:]); err != nil {
		return nil, fmt.Errorf("%w: %w", errUsage, err)
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("%w: unexpected arguments %q", errUsage, fs.Args())
	}
	var err error
	if c.sizes, err = parseSizes(sizes); err != nil {
		return nil, err
	}
	if c.latencies, err = parseLatencies(latencies); err != nil {
		return nil, err
	}
	if c.real {
		for _, f := range strings.Split(realFiles, ",") {
			if f = strings.TrimSpace(f); f != "" {
				c.realFiles = append(c.realFiles, f)
			}
		}
	}
	switch {
	case c.provaudit == "":
		return nil, fmt.Errorf("%w: -provaudit is required (bench/run.sh builds it)", errUsage)
	case len(c.sizes) == 0 && len(c.realFiles) == 0:
		return nil, fmt.Errorf("%w: nothing to benchmark: give -sizes or -real", errUsage)
	case c.runs < 1 || c.runs > 100:
		return nil, fmt.Errorf("%w: -runs %d not in 1..100", errUsage, c.runs)
	case c.attested < 0 || c.attested > 1:
		return nil, fmt.Errorf("%w: -attested %v not in 0..1", errUsage, c.attested)
	case c.concurrency < 0:
		return nil, fmt.Errorf("%w: -concurrency %d is negative", errUsage, c.concurrency)
	case c.npmTimeout <= 0 || c.timeout <= 0:
		return nil, fmt.Errorf("%w: timeouts must be positive", errUsage)
	}
	if c.command == "" {
		c.command = strings.Join(args, " ")
	}
	return c, nil
}

// parseSizes parses "1000,5000,10000" (k suffix allowed: "10k").
func parseSizes(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		mul := 1
		if t, ok := strings.CutSuffix(strings.ToLower(f), "k"); ok {
			f, mul = t, 1000
		}
		n, err := strconv.Atoi(f)
		if err != nil || n < 1 || n > 1_000_000/mul {
			return nil, fmt.Errorf("%w: -sizes: %q is not a size between 1 and 1000000", errUsage, f)
		}
		out = append(out, n*mul)
	}
	return out, nil
}

// parseLatencies parses "0,20ms" (a bare number is milliseconds).
func parseLatencies(s string) ([]time.Duration, error) {
	var out []time.Duration
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		d, err := time.ParseDuration(f)
		if err != nil {
			ms, err2 := strconv.Atoi(f)
			if err2 != nil {
				return nil, fmt.Errorf("%w: -latency: %q is not a duration", errUsage, f)
			}
			d = time.Duration(ms) * time.Millisecond
		}
		if d < 0 || d > time.Minute {
			return nil, fmt.Errorf("%w: -latency: %v not in 0..1m", errUsage, d)
		}
		out = append(out, d)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%w: -latency: no latency", errUsage)
	}
	return out, nil
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	c, err := parseFlags(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "benchrig: %v\n", err)
		return 2
	}
	b := &bench{cfg: c, log: stderr}
	rep, err := b.run(ctx)
	if rep != nil {
		text := rep.markdown()
		fmt.Fprint(stdout, text)
		if c.out != "" {
			if werr := writeFile(c.out, text); werr != nil {
				fmt.Fprintf(stderr, "benchrig: %v\n", werr)
				return 3
			}
		}
	}
	if err != nil {
		fmt.Fprintf(stderr, "benchrig: %v\n", err)
		return 3
	}
	if !rep.allClean() {
		fmt.Fprintln(stderr, "benchrig: some runs did not report the clean result the generated data must give (see the table)")
		return 1
	}
	return 0
}

func writeFile(path, text string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.WriteFile(path, []byte(text), 0o644)
}
