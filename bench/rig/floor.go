package rig

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"time"
)

// Floor is the CPU cost of one verification of each kind, measured by the
// verify package's floor benchmarks: a bare sigstore-go loop for a real
// provenance bundle and a real publish bundle, and a bare ECDSA check for a
// registry signature, each on one core.
type Floor struct {
	// Provenance, Publish and Signature are the CPU time per operation.
	Provenance, Publish, Signature time.Duration
	// Metric is the benchmark metric they come from: "cpu-ns/op" (process
	// CPU time per operation, which a busy machine does not inflate) when
	// the benchmarks report it, else "ns/op".
	Metric string
	// Lines are the benchmark result lines used.
	Lines []string
}

// Total is the CPU floor of an audit: every provenance and publish bundle
// and every registry signature verified once, spread over cores.
func (f *Floor) Total(provenance, publish, signatures, cores int) time.Duration {
	cpu := time.Duration(provenance)*f.Provenance + time.Duration(publish)*f.Publish + time.Duration(signatures)*f.Signature
	return cpu / time.Duration(max(cores, 1))
}

// FloorBench is the -bench pattern of the floor benchmarks. ("Floor/default"
// would skip RegistrySignatureFloor, which has no sub-benchmarks.)
const FloorBench = "Floor"

// MeasureFloor runs the verify package's floor benchmarks on one core
// (go test -run '^$' -bench Floor -cpu 1 ./verify in moduleDir)
// and parses them.
func MeasureFloor(ctx context.Context, goBin, moduleDir string) (*Floor, error) {
	cmd := exec.CommandContext(ctx, goBin, "test", "-run", "^$", "-bench", FloorBench, "-cpu", "1", "-count", "1", "./verify")
	cmd.Dir = moduleDir
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("%w: go test -bench %s ./verify: %w\n%s", ErrBench, FloorBench, err, clip(out.String(), 4000))
	}
	return ParseFloor(out.Bytes())
}

// benchLine is one parsed result line of go test -bench.
type benchLine struct {
	name    string // without the Benchmark prefix and the -GOMAXPROCS suffix
	metrics map[string]float64
	raw     string
}

// parseBenchLines reads the result lines of go test -bench output.
func parseBenchLines(out []byte) ([]benchLine, error) {
	var lines []benchLine
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 4 || !strings.HasPrefix(f[0], "Benchmark") {
			continue
		}
		if _, err := strconv.ParseInt(f[1], 10, 64); err != nil {
			continue // not a result line (e.g. a log line starting with the name)
		}
		if len(f)%2 != 0 {
			return nil, fmt.Errorf("%w: odd number of fields in %q", ErrBench, sc.Text())
		}
		name := strings.TrimPrefix(f[0], "Benchmark")
		if i := strings.LastIndexByte(name, '-'); i > 0 {
			if _, err := strconv.Atoi(name[i+1:]); err == nil {
				name = name[:i]
			}
		}
		bl := benchLine{name: name, metrics: map[string]float64{}, raw: sc.Text()}
		for i := 2; i+1 < len(f); i += 2 {
			v, err := strconv.ParseFloat(f[i], 64)
			if err != nil {
				return nil, fmt.Errorf("%w: value %q in %q", ErrBench, f[i], sc.Text())
			}
			bl.metrics[f[i+1]] = v
		}
		lines = append(lines, bl)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBench, err)
	}
	return lines, nil
}

// ParseFloor reads the floor figures from go test -bench output: the
// provenance floor (a name containing ProvenanceFloor), the publish floor
// (PublishFloor) and the registry signature floor (RegistrySignatureFloor),
// preferring the "default" sub-benchmark. It fails when one is missing or
// not positive.
func ParseFloor(out []byte) (*Floor, error) {
	lines, err := parseBenchLines(out)
	if err != nil {
		return nil, err
	}
	f := &Floor{Metric: "ns/op"}
	for _, l := range lines {
		if _, ok := l.metrics["cpu-ns/op"]; ok {
			f.Metric = "cpu-ns/op"
		}
	}
	pick := func(kind string) (time.Duration, error) {
		var best *benchLine
		for i := range lines {
			l := &lines[i]
			base, sub, _ := strings.Cut(l.name, "/")
			if !strings.HasSuffix(base, kind) {
				continue
			}
			if best == nil || sub == "default" {
				best = l
			}
		}
		if best == nil {
			return 0, fmt.Errorf("%w: no %s benchmark in the output", ErrBench, kind)
		}
		v, ok := best.metrics[f.Metric]
		if !ok || v <= 0 {
			return 0, fmt.Errorf("%w: %s has no positive %s: %q", ErrBench, best.name, f.Metric, best.raw)
		}
		f.Lines = append(f.Lines, best.raw)
		return time.Duration(v), nil
	}
	if f.Provenance, err = pick("ProvenanceFloor"); err != nil {
		return nil, err
	}
	if f.Publish, err = pick("PublishFloor"); err != nil {
		return nil, err
	}
	if f.Signature, err = pick("RegistrySignatureFloor"); err != nil {
		return nil, err
	}
	return f, nil
}
