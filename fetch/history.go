package fetch

import (
	"context"
	"encoding/json/v2"
	"fmt"
	"io"
	"slices"
	"sort"
	"time"

	"github.com/provaudit/provaudit/internal/npmspec"
)

// Bounds of a release history.
const (
	// maxHistoryBytes bounds the facts kept of the versions on the release
	// lines of one packument (about 200 bytes a version: tens of thousands
	// of versions); the stream of a packument read for a history holds
	// that much more of the memory budget.
	maxHistoryBytes = 4 << 20
	// maxPublishers bounds the publishers a LineHistory lists.
	maxPublishers = 8
)

// VersionFacts is what the full packument says about one published
// version: registry metadata, which nothing signs.
type VersionFacts struct {
	Version string `json:"version"`
	// Time is time[version], zero when the packument has none (or an
	// unreadable one, for a version other than the one asked for).
	Time time.Time `json:"time,omitzero"`
	// Publisher is _npmUser.name; TrustedPublisher the trusted-publishing
	// provider id (see PublishInfo); Approver the name in
	// _npmUser.approver, which npm's staged publishing records for the
	// maintainer who approved the version with two-factor authentication.
	// Each is "" when absent or malformed: a malformed _npmUser is a fact
	// that is missing, never a failure.
	Publisher        string `json:"publisher,omitempty"`
	TrustedPublisher string `json:"trustedPublisher,omitempty"`
	Approver         string `json:"approver,omitempty"`
	// Provenance is the predicate type dist.attestations.provenance
	// announces ("" when none); Attestations tells that dist.attestations
	// is present at all; Signed that dist.signatures lists a signature.
	Provenance   string `json:"provenance,omitempty"`
	Attestations bool   `json:"attestations,omitempty"`
	Signed       bool   `json:"signed,omitempty"`
	// InstallScripts lists which of preinstall, install and postinstall
	// scripts declares, in the order npm runs them.
	InstallScripts []string `json:"installScripts,omitempty"`
	// Integrity is dist.integrity.
	Integrity string `json:"integrity,omitempty"`
}

// History is a version's own facts and those of the versions published
// before it on its release line.
type History struct {
	Name    string       `json:"name"`
	Version VersionFacts `json:"version"`
	// Line is the version's release line (npmspec.ReleaseLine): "2.x",
	// "0.3.x", or "" for a prerelease, which belongs to none and has no
	// earlier versions.
	Line    string      `json:"line,omitempty"`
	Earlier LineHistory `json:"earlier"`
}

// LineHistory summarises the versions of a release line published before
// a version, prereleases left out (they belong to no line).
//
// "Before" follows the packument's time map, not semver: v is before the
// version when both publish times are known and v's is earlier, with equal
// times broken by semver precedence; when either time is missing, by
// semver precedence alone. Among themselves, versions without a time come
// first (they predate the registry's recording of publish times, long
// before provenance existed), then by time, then by semver.
type LineHistory struct {
	// Versions counts them.
	Versions int `json:"versions"`
	// Provenance is the newest of them whose dist.attestations announce
	// provenance: the baseline an identity is compared with.
	Provenance *VersionFacts `json:"provenance,omitempty"`
	// TrustedPublishing, Approved and InstallScripts name the newest of
	// them published by a trusted publisher, approved through staged
	// publishing, and declaring an install script; "" when none was.
	TrustedPublishing string `json:"trustedPublishing,omitempty"`
	Approved          string `json:"approved,omitempty"`
	InstallScripts    string `json:"installScripts,omitempty"`
	// Publishers lists their distinct publishers, newest first, at most
	// eight; PublisherSeen tells whether the version's own publisher
	// published any of them.
	Publishers    []string `json:"publishers,omitempty"`
	PublisherSeen bool     `json:"publisherSeen,omitempty"`
}

// History gets the release history of name@version from the full packument
// (GET <registry>/<escaped name>, Accept: application/json): the version's
// own facts (publish time, publisher, trusted publisher, staged-publishing
// approver, announced provenance, signatures, install scripts, integrity)
// and a summary of the versions published before it on its release line
// (see LineHistory). The packument is decoded as a stream that keeps only
// those facts, for the versions on the release lines of version and
// siblings (bounded: see maxHistoryBytes), and one download serves every
// sibling, as in PublishInfo.
//
// A history never changes once the version is published (what was
// published before it stays so; a version unpublished since stays in a
// history cached before), so it is cached forever, sealed: it decides
// findings (see Cache.GetSealed).
func (c *Client) History(ctx context.Context, name, version string, siblings ...string) (*History, error) {
	if err := checkSpec(name, version); err != nil {
		return nil, err
	}
	registry := c.cfg.RegistryFor(name)
	what := name + "@" + version
	key := "fetch/history/v1\n" + registry + "\n" + what
	if data, ok := c.cacheGetSealed(key); ok {
		var h History
		if json.Unmarshal(data, &h) == nil && h.Name == name && h.Version.Version == version {
			return &h, nil
		}
	}
	pURL := registry + npmspec.EscapeName(name)
	if c.opts.Offline {
		return nil, fmt.Errorf("%w: %s: release history from the packument %s (offline)", ErrNotInCache, what, pURL)
	}
	m, err := c.packument(ctx, name, version, pURL, siblings, true)
	if err != nil {
		return nil, fmt.Errorf("%s: packument: %w", what, err)
	}
	r := m.(*histories).results[version]
	if r.err != nil {
		return nil, r.err
	}
	if data, err := json.Marshal(r.h); err == nil {
		c.cachePutSealed(key, data)
	}
	return r.h, nil
}

// packumentMemo is what a Client keeps of one downloaded packument:
// packumentFacts (PublishInfo) or histories (History).
type packumentMemo interface {
	// covers reports whether the download answers for version.
	covers(version string) bool
}

func (pf *packumentFacts) covers(version string) bool { return pf.kept(version) }

// histories holds the History of every version one download was made
// for, or why it could not be made: summaries rather than the facts of the
// whole release lines, so that what is kept for the rest of the run is
// small.
type histories struct {
	results map[string]historyResult
}

type historyResult struct {
	h   *History
	err error
}

func (hs *histories) covers(version string) bool { _, ok := hs.results[version]; return ok }

// packument downloads and decodes the full packument at pURL once for all
// callers that ask about name's versions at the same time (the flight
// keeps version and siblings), and memoizes what it kept for the Client's
// lifetime. A download shared with callers that wanted other versions may
// not cover this one: then one more, of this caller's own.
func (c *Client) packument(ctx context.Context, name, version, pURL string, siblings []string, history bool) (packumentMemo, error) {
	memo, reserve := "full\n"+pURL, int64(streamReserve)
	if history {
		memo, reserve = "history\n"+pURL, streamReserve+maxHistoryBytes
	}
	var m packumentMemo
	if v, ok := c.packuments.Load(memo); ok {
		m = v.(packumentMemo)
	}
	for _, flight := range []string{memo, memo + "\n" + version} {
		if m != nil && m.covers(version) {
			break
		}
		v, err, _ := c.flights.Do(flight, func() (any, error) {
			keep := make(map[string]bool, len(siblings)+1)
			keep[version] = true
			for _, s := range siblings {
				keep[s] = true
			}
			var lines map[string]bool
			if history {
				lines = map[string]bool{}
				for v := range keep {
					if l := npmspec.ReleaseLine(v); l != "" {
						lines[l] = true
					}
				}
			}
			var pf *packumentFacts
			err := c.get(ctx, getSpec{url: pURL, accept: acceptJSON, limit: c.opts.MaxBody, reserve: reserve, what: name}, func(r io.Reader) error {
				var err error
				pf, err = decodePublishFacts(r, name, pURL, keep, lines)
				return err
			})
			if err != nil {
				return nil, err
			}
			var m packumentMemo = pf
			if history {
				m = pf.histories(name, pURL)
			}
			c.packuments.Store(memo, m)
			return m, nil
		})
		if err != nil {
			return nil, err
		}
		m = v.(packumentMemo)
	}
	return m, nil
}

// histories summarises the facts of every version in keep.
func (pf *packumentFacts) histories(name, pURL string) *histories {
	hs := &histories{results: make(map[string]historyResult, len(pf.keep))}
	// The facts of every kept version on a line, ordered as LineHistory
	// says, once for all the versions asked about.
	var all []lineVersion
	for v, vf := range pf.versions {
		l := npmspec.ReleaseLine(v)
		if vf.err != nil || l == "" {
			continue // unreadable, or a prerelease: in no line's history
		}
		f := vf.facts(v)
		f.Time = pf.time(v)
		all = append(all, lineVersion{f, l})
	}
	sort.Slice(all, func(i, j int) bool { return publishedBefore(&all[i].VersionFacts, &all[j].VersionFacts) })
	for v := range pf.keep {
		h, err := pf.history(name, v, pURL, all)
		hs.results[v] = historyResult{h, err}
	}
	return hs
}

// lineVersion is a version on a release line, with its line.
type lineVersion struct {
	VersionFacts
	line string
}

// publishedBefore is the order of LineHistory among versions: without a
// time first, then by time, then by semver.
func publishedBefore(a, b *VersionFacts) bool {
	if az, bz := a.Time.IsZero(), b.Time.IsZero(); az != bz {
		return az
	}
	if !a.Time.Equal(b.Time) {
		return a.Time.Before(b.Time)
	}
	return npmspec.CompareVersions(a.Version, b.Version) < 0
}

// earlierThan reports whether v was published before l (see LineHistory).
func earlierThan(v, l *VersionFacts) bool {
	if !v.Time.IsZero() && !l.Time.IsZero() && !v.Time.Equal(l.Time) {
		return v.Time.Before(l.Time)
	}
	return npmspec.CompareVersions(v.Version, l.Version) < 0
}

// history is the History of version; all holds the facts of every line
// version, in publishedBefore order.
func (pf *packumentFacts) history(name, version, pURL string, all []lineVersion) (*History, error) {
	pi, err := pf.lookup(name, version, pURL)
	if err != nil {
		return nil, err
	}
	h := &History{Name: name, Version: pf.versions[version].facts(version), Line: npmspec.ReleaseLine(version)}
	h.Version.Time = pi.Time
	if h.Line == "" {
		return h, nil
	}
	e := &h.Earlier
	seen := map[string]bool{}
	for i := len(all) - 1; i >= 0; i-- { // newest first
		f := &all[i].VersionFacts
		if all[i].line != h.Line || f.Version == version || !earlierThan(f, &h.Version) {
			continue
		}
		e.Versions++
		if f.Provenance != "" && e.Provenance == nil {
			b := *f
			e.Provenance = &b
		}
		if f.TrustedPublisher != "" && e.TrustedPublishing == "" {
			e.TrustedPublishing = f.Version
		}
		if f.Approver != "" && e.Approved == "" {
			e.Approved = f.Version
		}
		if len(f.InstallScripts) > 0 && e.InstallScripts == "" {
			e.InstallScripts = f.Version
		}
		if p := f.Publisher; p != "" && !seen[p] {
			seen[p] = true
			if len(e.Publishers) < maxPublishers {
				e.Publishers = append(e.Publishers, p)
			}
		}
	}
	e.PublisherSeen = h.Version.Publisher != "" && seen[h.Version.Publisher]
	return h, nil
}

// facts is the VersionFacts of v, without its time.
func (vf versionFacts) facts(v string) VersionFacts {
	return VersionFacts{
		Version:          v,
		Publisher:        vf.info.NpmUser,
		TrustedPublisher: vf.info.TrustedPublisher,
		Approver:         vf.hist.approver,
		Provenance:       vf.hist.provenance,
		Attestations:     vf.hist.attested,
		Signed:           vf.hist.signed,
		InstallScripts:   vf.hist.scripts.names(),
		Integrity:        vf.hist.integrity,
	}
}

// time is time[v] when it reads as a time, else zero.
func (pf *packumentFacts) time(v string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, pf.times[v])
	if err != nil {
		return time.Time{}
	}
	return t
}

func sortedKeys(m map[string]bool) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
