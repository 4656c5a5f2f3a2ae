package main

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/provaudit/provaudit/bench/npmrig"
	"github.com/provaudit/provaudit/bench/rig"
)

// report is everything one session measured.
type report struct {
	date            time.Time
	command         string
	cores           int
	cpuModel        string
	goVersion       string
	provaudit       string
	npmVersion      string
	concurrency     int
	concurrencyNote string
	loadStart       string
	loadEnd         string
	runs            int
	attested        float64
	seed            uint64
	sources         []string
	floor           *rig.Floor
	datasets        []*dataset
}

// allClean reports whether every provaudit run gave the expected result.
func (r *report) allClean() bool {
	for _, d := range r.datasets {
		for _, row := range d.rows {
			for _, s := range append(slices.Clone(row.cold), row.warm...) {
				if !s.clean {
					return false
				}
			}
		}
	}
	return true
}

// cpuFloor is the CPU floor of a dataset from the verify benchmarks.
func (r *report) cpuFloor(d *dataset) (time.Duration, bool) {
	if r.floor == nil {
		return 0, false
	}
	e := d.served.Expect
	return r.floor.Total(e.Verified, e.Verified, e.Audited, r.cores), true
}

// servedFloor is the CPU floor with the bundle costs measured on the
// bundles this dataset serves (the signature cost from the benchmarks).
func (r *report) servedFloor(d *dataset) (time.Duration, bool) {
	if r.floor == nil || d.servedProv == 0 {
		return 0, false
	}
	e := d.served.Expect
	f := rig.Floor{Provenance: d.servedProv, Publish: d.servedPub, Signature: r.floor.Signature}
	return f.Total(e.Verified, e.Verified, e.Audited, r.cores), true
}

// networkBound is requests × latency / concurrency.
func (r *report) networkBound(requests int64, latency time.Duration) time.Duration {
	return time.Duration(requests) * latency / time.Duration(max(r.concurrency, 1))
}

func (r *report) markdown() string {
	var b strings.Builder
	w := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	w("# provaudit benchmark, %s\n\n", r.date.Format("2006-01-02 15:04 MST"))
	w("Command: `%s`\n\n", r.command)
	w("- Machine: %d cores%s; load average %s at the start, %s at the end\n", r.cores, paren(r.cpuModel), orDash(r.loadStart), orDash(r.loadEnd))
	w("- %s (built with %s), --concurrency %d%s\n", r.provaudit, r.goVersion, r.concurrency, commaNote(r.concurrencyNote))
	if r.npmVersion != "" {
		w("- %s\n", r.npmVersion)
	}
	w("- Each lockfile and latency: %d cold runs (fresh --cache-dir), each followed by a warm run (same directory); figures are medians with the range in parentheses.\n", r.runs)
	w("- Registry: in-process fake (internal/registrytest), keys rotated like npm's (expired 2025-01-29 / valid from 2025-01-13), publish times spread 2019..yesterday, %.0f%% of names attested, packuments log-normal 40 versions median (σ 1.2, max 3,000, about 3.5 kB per version). \"registry CPU\" is the fake registry's own CPU time during a run: it shares the cores with provaudit.\n", r.attested*100)
	if r.floor != nil {
		w("- CPU floor per operation, same run (`go test -run '^$' -bench %s -cpu 1 ./verify`, %s, bare sigstore-go / ECDSA loops on real public-good data): provenance bundle %s, publish bundle %s, registry signature %s. CPU floor = (provenance + publish bundles × their cost + signatures × theirs) / %d cores. Network bound = requests × latency / concurrency.\n",
			rig.FloorBench, r.floor.Metric, ms(r.floor.Provenance), ms(r.floor.Publish), ms(r.floor.Signature), r.cores)
	}
	if pa, npm := r.rssFloors(); pa > 0 || npm > 0 {
		w("- Peak RSS is the child's rusage maxrss. Go starts children on the parent's memory and Linux charges the parent's peak to the child at exec, so provaudit runs go through a small launcher process and npm runs in a small helper process: their own peaks (%.0f MB and %.0f MB) are the lowest the RSS columns can read.\n", float64(pa)/1024, float64(npm)/1024)
	}
	if len(r.sources) > 0 {
		w("- Generated lockfiles (seed %d) take names, versions and integrities from %s.\n", r.seed, strings.Join(r.sources, ", "))
	}
	w("\n## Data\n\n")
	w("| lockfile | packages audited | entries | names | attested | expired-key only (need the packument) | full packuments: names, MB needed / MB all | requests needed | generated in |\n")
	w("|---|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, d := range r.datasets {
		s := d.served
		gen := d.serveTime + d.genTime
		w("| %s | %s | %s | %s | %s | %s | %s, %.0f / %.0f | %s | %.1f s |\n", d.label, thousands(s.Expect.Audited), thousands(d.entries), thousands(s.Names),
			thousands(s.Expect.Verified), thousands(s.ExpiredKey), thousands(s.PackumentNames), mb(s.PackumentBytes), mb(s.PackumentBytesAll),
			thousands(s.Expect.Audited+s.Expect.Verified+s.PackumentNames), gen.Seconds())
	}
	w("\n\"requests needed\": one version document per package, one attestations document per attested package, one full packument per name with an expired-key-only version: what provaudit's protocol needs at least.\n")
	for _, d := range r.datasets {
		if g := d.gen; g != nil {
			w("\n%s: %s entries for %s packages (%s from the sources with real integrities, %s generated versions), %s scoped, %s aliased, %s nested (max depth %d), %s packages at several locations, %s dev / %s optional / %s devOptional entries, %d root dependencies.",
				d.label, thousands(g.Entries), thousands(g.Packages), thousands(g.Real), thousands(g.Generated), thousands(g.Scoped), thousands(g.Aliased),
				thousands(g.Nested), g.MaxDepth, thousands(g.Duplicated), thousands(g.Dev), thousands(g.Optional), thousands(g.DevOptional), g.DirectDeps)
		}
	}
	w("\n")
	if withServed := r.anyServedFloor(); withServed {
		w("\nThe same floor loop on the bundles the fake registry serves (40 attested packages × 3):")
		for _, d := range r.datasets {
			if d.servedProv > 0 {
				w(" %s: provenance %s, publish %s;", d.label, ms(d.servedProv), ms(d.servedPub))
			}
		}
		w(" the \"served floor\" column uses these.\n")
	}

	w("\n## provaudit\n\n")
	w("| lockfile | latency | cache | wall s | CPU s | peak RSS MB | requests | max in flight | registry CPU s | CPU floor s (served) | network bound s | wall ÷ max(floor, network) | result |\n")
	w("|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|\n")
	for _, d := range r.datasets {
		for _, row := range d.rows {
			for _, kind := range []string{"cold", "warm"} {
				ss := row.cold
				if kind == "warm" {
					ss = row.warm
				}
				if len(ss) == 0 {
					continue
				}
				req := medianInt(ss, func(s *sample) int64 { return s.requests })
				floorCell, netCell, ratioCell := "-", "-", "-"
				floor, okF := r.cpuFloor(d)
				served, okS := r.servedFloor(d)
				net := r.networkBound(req, row.latency)
				if kind == "cold" {
					netCell = secs(net)
					if okF {
						floorCell = secs(floor)
						if okS {
							floorCell += " (" + secs(served) + ")"
						}
						bound := max(floor, net)
						wall := medianDur(ss, func(s *sample) time.Duration { return s.run.Wall })
						if bound > 0 {
							ratioCell = fmt.Sprintf("%.2f", wall.Seconds()/bound.Seconds())
							if okS {
								ratioCell += fmt.Sprintf(" (%.2f)", wall.Seconds()/max(served, net).Seconds())
							}
						}
					}
				}
				w("| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n",
					d.label, latencyLabel(row.latency), kind,
					spread(ss, func(s *sample) float64 { return s.run.Wall.Seconds() }, 2),
					spread(ss, func(s *sample) float64 { return s.run.CPU().Seconds() }, 2),
					spread(ss, func(s *sample) float64 { return float64(s.run.MaxRSSKB) / 1024 }, 0),
					thousands(int(req)),
					strconv.FormatInt(medianInt(ss, func(s *sample) int64 { return s.maxInFlight }), 10),
					spread(ss, func(s *sample) float64 { return s.registryCPU.Seconds() }, 2),
					floorCell, netCell, ratioCell, resultCell(d, ss))
			}
		}
	}

	r.linearity(w)
	r.npmTable(w)
	r.targets(w)
	r.problems(w)
	return b.String()
}

// rssFloors are the largest launcher and npm helper peaks (KiB).
func (r *report) rssFloors() (provaudit, npm int64) {
	for _, d := range r.datasets {
		for _, row := range d.rows {
			for _, s := range append(slices.Clone(row.cold), row.warm...) {
				provaudit = max(provaudit, s.run.RSSFloorKB)
			}
			if row.npm != nil {
				npm = max(npm, row.npm.rssFloorKB)
			}
		}
	}
	return provaudit, npm
}

func (r *report) anyServedFloor() bool {
	for _, d := range r.datasets {
		if d.servedProv > 0 {
			return true
		}
	}
	return false
}

// resultCell is "clean (V verified, S signed)" or a loud NOT CLEAN.
func resultCell(d *dataset, ss []*sample) string {
	bad := 0
	var codes []string
	for _, s := range ss {
		if !s.clean {
			bad++
		}
		codes = append(codes, strconv.Itoa(s.run.ExitCode))
	}
	sum := ss[0].run.Summary
	for _, s := range ss {
		if !s.clean {
			sum = s.run.Summary
			break
		}
	}
	counts := fmt.Sprintf("%s verified, %s signed", thousands(sum.Verified), thousands(sum.Signed))
	if bad == 0 {
		return "clean (" + counts + ")"
	}
	return fmt.Sprintf("**NOT CLEAN in %d of %d runs**: %s, %d unsigned, %d invalid, %d error, %d findings (expected %s verified, %s signed); exit %s",
		bad, len(ss), counts, sum.Unsigned, sum.Invalid, sum.Error, sum.Findings, thousands(d.served.Expect.Verified), thousands(d.served.Expect.Signed), strings.Join(codes, ","))
}

// linearity shows the cold wall and CPU time per 1,000 packages by size.
func (r *report) linearity(w func(string, ...any)) {
	var gen []*dataset
	for _, d := range r.datasets {
		if d.gen != nil {
			gen = append(gen, d)
		}
	}
	if len(gen) < 2 {
		return
	}
	slices.SortFunc(gen, func(a, b *dataset) int { return cmp.Compare(a.packages, b.packages) })
	w("\n## Growth with size (cold, median)\n\n")
	w("| latency |")
	for _, d := range gen {
		w(" %s: wall s (per 1,000) | CPU s (per 1,000) |", thousands(d.packages))
	}
	w("\n|---|" + strings.Repeat("---:|---:|", len(gen)) + "\n")
	for li := range gen[0].rows {
		w("| %s |", latencyLabel(gen[0].rows[li].latency))
		for _, d := range gen {
			if li >= len(d.rows) || len(d.rows[li].cold) == 0 {
				w(" - | - |")
				continue
			}
			ss := d.rows[li].cold
			wall := medianDur(ss, func(s *sample) time.Duration { return s.run.Wall })
			cpu := medianDur(ss, func(s *sample) time.Duration { return s.run.CPU() })
			k := float64(d.packages) / 1000
			w(" %.2f (%.3f) | %.2f (%.3f) |", wall.Seconds(), wall.Seconds()/k, cpu.Seconds(), cpu.Seconds()/k)
		}
		w("\n")
	}
}

// npmTable compares npm audit signatures with provaudit on the same trees.
func (r *report) npmTable(w func(string, ...any)) {
	any := false
	for _, d := range r.datasets {
		for _, row := range d.rows {
			any = any || row.npm != nil
		}
	}
	if !any {
		return
	}
	w("\n## npm audit signatures, same registry, same tree\n\n")
	w("npm counts install locations reached by a dependency edge; the provaudit figures here are its per-package results counted over their install locations (paths). Verdict columns read npm / provaudit / expected.\n\n")
	w("| lockfile | latency | npm wall s | npm CPU s | npm peak RSS MB | requests | max in flight | npm ÷ provaudit (cold wall) | audited | signatures verified | attestations verified | invalid | missing | verdicts |\n")
	w("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|\n")
	for _, d := range r.datasets {
		for _, row := range d.rows {
			n := row.npm
			if n == nil {
				continue
			}
			lat := latencyLabel(row.latency)
			res := n.res
			switch {
			case res == nil:
				w("| %s | %s | npm failed: %s | | | | | | | | | | | |\n", d.label, lat, oneLine(n.err))
				continue
			case res.TimedOut:
				w("| %s | %s | npm: >%.0fs (stopped) | %.1f | %d | %s | %d | > %.0f | | | | | | not compared |\n", d.label, lat, res.Wall.Seconds(),
					(res.User + res.Sys).Seconds(), res.MaxRSSKB>>10, thousands(int(n.requests)), n.maxInFlight, res.Wall.Seconds()/coldWall(row).Seconds())
				continue
			}
			e := d.served.Expect
			pa := row.cold[0].run
			verdict := npmVerdict(res, pa, e)
			if n.err != nil {
				verdict = "**npm error**: " + oneLine(n.err)
			}
			bundled := ""
			if e.BundledLocations > 0 {
				bundled = " (+" + thousands(e.BundledLocations) + " bundled)"
			}
			w("| %s | %s | %.1f | %.1f | %d | %s | %d | %.1f | %s / %s%s | %s / %s / %s | %s / %s / %s | %d / %d / 0 | %d / %d / 0 | %s |\n",
				d.label, lat, res.Wall.Seconds(), (res.User + res.Sys).Seconds(), res.MaxRSSKB>>10, thousands(int(n.requests)), n.maxInFlight,
				res.Wall.Seconds()/coldWall(row).Seconds(),
				thousands(res.Audited), thousands(e.Locations), bundled,
				thousands(res.VerifiedSignatures), thousands(pa.SignatureLocations), thousands(e.Locations),
				thousands(res.VerifiedAttestations), thousands(pa.AttestationLocations), thousands(e.LocationsAttested),
				res.Invalid, pa.InvalidLocations, res.Missing, pa.MissingLocations, verdict)
		}
	}
}

// npmVerdict compares npm's counts with provaudit's and the expected ones.
// npm checks packages bundled in their parent's tarball against the
// registry; provaudit skips them (the parent's integrity covers their
// bytes), so those locations are the one known, explained difference.
func npmVerdict(res *npmrig.Result, pa *rig.Run, e rig.Expect) string {
	same := res.Invalid == pa.InvalidLocations && res.Missing == pa.MissingLocations
	switch {
	case same && res.VerifiedSignatures == pa.SignatureLocations && res.VerifiedAttestations == pa.AttestationLocations:
		if res.Audited != e.Locations || pa.SignatureLocations != e.Locations || pa.AttestationLocations != e.LocationsAttested {
			return "agree with each other, **not with the expected counts**"
		}
		return "agree"
	case same && e.BundledLocations > 0 && res.Audited == e.Locations+e.BundledLocations &&
		res.VerifiedSignatures == pa.SignatureLocations+e.BundledLocations &&
		res.VerifiedAttestations == pa.AttestationLocations+e.BundledAttestedLocations:
		return fmt.Sprintf("**differ only by bundled packages**: npm also checks the %s install locations bundled in their parent's tarball (%s with attestations), which provaudit skips as covered by the parent's integrity; on every other location they agree",
			thousands(e.BundledLocations), thousands(e.BundledAttestedLocations))
	}
	return "**DIFFER**"
}

func coldWall(row *row) time.Duration {
	return max(medianDur(row.cold, func(s *sample) time.Duration { return s.run.Wall }), time.Millisecond)
}

// targets compares the figures with the targets of issues 6 and 7; the
// benchmark reports them, it asserts nothing.
func (r *report) targets(w func(string, ...any)) {
	type target struct{ what, measured, goal, met string }
	var ts []target
	yes := func(ok bool) string {
		if ok {
			return "yes"
		}
		return "**no**"
	}
	for _, d := range r.datasets {
		for _, row := range d.rows {
			if len(row.cold) == 0 {
				continue
			}
			cw := medianDur(row.cold, func(s *sample) time.Duration { return s.run.Wall })
			ww := medianDur(row.warm, func(s *sample) time.Duration { return s.run.Wall })
			rss := int((float64(medianInt(row.cold, func(s *sample) int64 { return s.run.MaxRSSKB })) / 1024) + 0.5) // MB, rounded as in the table
			lat := latencyLabel(row.latency)
			switch {
			case d.gen != nil && d.packages == 10000 && row.latency == 20*time.Millisecond:
				if floor, ok := r.cpuFloor(d); ok {
					req := medianInt(row.cold, func(s *sample) int64 { return s.requests })
					ratio := cw.Seconds() / max(floor, r.networkBound(req, row.latency)).Seconds()
					ts = append(ts, target{"10,000 packages, 20 ms, cold: wall ÷ max(CPU floor, network bound)", fmt.Sprintf("%.2f", ratio), "≤ 1.3", yes(ratio <= 1.3)})
				}
				ts = append(ts, target{"10,000 packages, 20 ms, cold: peak RSS", fmt.Sprintf("%d MB", rss), "< 300 MB", yes(rss < 300)})
			case d.real && row.latency == 20*time.Millisecond:
				ts = append(ts,
					target{d.label + ", 20 ms, cold wall", secs(cw) + " s", "< 3 s", yes(cw < 3*time.Second)},
					target{d.label + ", 20 ms, warm wall", secs(ww) + " s", "< 0.5 s", yes(ww < 500*time.Millisecond)},
					target{d.label + ", 20 ms, cold peak RSS", fmt.Sprintf("%d MB", rss), "< 150 MB", yes(rss < 150)})
			}
			if d.gen != nil && d.packages == 10000 {
				ts = append(ts, target{"10,000 packages, " + lat + ", warm wall", secs(ww) + " s", "< 1 s", yes(ww < time.Second)})
			}
			if d.gen != nil && d.packages == 1000 && row.npm != nil && row.npm.res != nil {
				x := row.npm.res.Wall.Seconds() / coldWall(row).Seconds()
				ts = append(ts, target{"1,000 packages, " + lat + ": npm wall ÷ provaudit cold wall", fmt.Sprintf("%.1f", x), "≥ 20", yes(x >= 20)})
			}
		}
	}
	if len(ts) == 0 {
		return
	}
	w("\n## Targets (issues 6 and 7; reported, not asserted)\n\n| target | measured | goal | met |\n|---|---:|---:|---|\n")
	for _, t := range ts {
		w("| %s | %s | %s | %s |\n", t.what, t.measured, t.goal, t.met)
	}
}

// problems lists, loudly, what the runs that were not clean reported.
func (r *report) problems(w func(string, ...any)) {
	first := true
	for _, d := range r.datasets {
		for _, row := range d.rows {
			for i, s := range append(slices.Clone(row.cold), row.warm...) {
				if s.clean {
					continue
				}
				if first {
					w("\n## NOT CLEAN: runs on valid generated data that reported anything but verified/signed\n\n")
					first = false
				}
				kind := "cold"
				if i >= len(row.cold) {
					kind, i = "warm", i-len(row.cold)
				}
				sum := s.run.Summary
				w("- %s, latency %s, %s run %d: exit %d, %d audited (expected %d), %d verified (expected %d), %d signed (expected %d), %d unsigned, %d invalid, %d error, %d findings\n",
					d.label, latencyLabel(row.latency), kind, i+1, s.run.ExitCode, sum.Audited, d.served.Expect.Audited, sum.Verified, d.served.Expect.Verified,
					sum.Signed, d.served.Expect.Signed, sum.Unsigned, sum.Invalid, sum.Error, sum.Findings)
				for _, u := range s.run.Unclean {
					w("  - %s\n", u)
				}
				if len(s.run.Stderr) > 0 {
					w("  - stderr: %s\n", oneLine(fmt.Errorf("%s", clipString(string(s.run.Stderr), 500))))
				}
			}
		}
	}
}

func medianDur[T any](xs []T, f func(T) time.Duration) time.Duration {
	if len(xs) == 0 {
		return 0
	}
	v := make([]time.Duration, len(xs))
	for i, x := range xs {
		v[i] = f(x)
	}
	slices.Sort(v)
	return v[len(v)/2]
}

func medianInt[T any](xs []T, f func(T) int64) int64 {
	if len(xs) == 0 {
		return 0
	}
	v := make([]int64, len(xs))
	for i, x := range xs {
		v[i] = f(x)
	}
	slices.Sort(v)
	return v[len(v)/2]
}

// spread is "median (min-max)" with prec decimals, or the value alone for
// one sample.
func spread[T any](xs []T, f func(T) float64, prec int) string {
	v := make([]float64, len(xs))
	for i, x := range xs {
		v[i] = f(x)
	}
	slices.Sort(v)
	med := strconv.FormatFloat(v[len(v)/2], 'f', prec, 64)
	if len(v) == 1 {
		return med
	}
	return fmt.Sprintf("%s (%s-%s)", med, strconv.FormatFloat(v[0], 'f', prec, 64), strconv.FormatFloat(v[len(v)-1], 'f', prec, 64))
}

func secs(d time.Duration) string { return strconv.FormatFloat(d.Seconds(), 'f', 2, 64) }

func ms(d time.Duration) string {
	return strconv.FormatFloat(float64(d)/float64(time.Millisecond), 'f', 3, 64) + " ms"
}

func mb(n int64) float64 { return float64(n) / (1 << 20) }

func latencyLabel(d time.Duration) string {
	if d == 0 {
		return "0 ms"
	}
	return strconv.FormatFloat(float64(d)/float64(time.Millisecond), 'f', -1, 64) + " ms"
}

// thousands formats n with comma separators.
func thousands(n int) string {
	s := strconv.Itoa(n)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var out []byte
	for i := range len(s) {
		if i > 0 && (len(s)-i)%3 == 0 {
			out = append(out, ',')
		}
		out = append(out, s[i])
	}
	if neg {
		return "-" + string(out)
	}
	return string(out)
}

func paren(s string) string {
	if s == "" {
		return ""
	}
	return " (" + s + ")"
}

func commaNote(s string) string {
	if s == "" {
		return ""
	}
	return " (" + s + ")"
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func oneLine(err error) string {
	if err == nil {
		return ""
	}
	s := strings.Join(strings.Fields(err.Error()), " ")
	s = strings.ReplaceAll(s, "|", "\\|")
	return clipString(s, 300)
}

func clipString(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}
