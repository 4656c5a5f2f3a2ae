package registrytest

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/provaudit/provaudit/internal/npmspec"
)

// corgiFields are the version fields the abbreviated packument keeps.
var corgiFields = []string{
	"name", "version", "deprecated", "dependencies", "optionalDependencies",
	"devDependencies", "peerDependencies", "peerDependenciesMeta",
	"bundleDependencies", "bundledDependencies", "acceptDependencies", "bin",
	"directories", "dist", "engines", "os", "cpu", "libc", "funding",
	"_hasShrinkwrap", "hasInstallScript",
}

// abbreviate derives the abbreviated form of a version document.
func abbreviate(doc []byte) ([]byte, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(doc, &m); err != nil {
		return nil, err
	}
	for k := range m {
		if !slices.Contains(corgiFields, k) {
			delete(m, k)
		}
	}
	return json.Marshal(m)
}

// publishTimeOf reads time[version] from a document that carries a time map
// (packuments and `npm view --json` output).
func publishTimeOf(times map[string]json.RawMessage, version string) time.Time {
	var s string
	if err := json.Unmarshal(times[version], &s); err != nil {
		return time.Time{}
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}
	}
	return t
}

// AddRecorded serves doc, a recorded version document, byte for byte at
// /<name>/<version>, and attestations (when not nil) at
// /-/npm/v1/attestations/<name>@<version>. The packuments of name include
// doc; its publish time is doc's own time[version] when it has a time map
// (as `npm view --json` output does), else Options.Now. doc must be a JSON
// object but is not checked otherwise, so it can be wrong on purpose.
func (r *Registry) AddRecorded(name, version string, doc, attestations []byte) error {
	if err := errors.Join(npmspec.ValidName(name), npmspec.ValidVersion(version)); err != nil {
		return fmt.Errorf("%w: %q@%q: %w", ErrFixture, name, version, err)
	}
	var probe struct {
		Time map[string]json.RawMessage `json:"time"`
	}
	if err := json.Unmarshal(doc, &probe); err != nil {
		return fmt.Errorf("%w: %s@%s: version document is not a JSON object: %w", ErrFixture, name, version, err)
	}
	if attestations != nil && !json.Valid(attestations) {
		return fmt.Errorf("%w: %s@%s: attestations are not JSON", ErrFixture, name, version)
	}
	abbrev, err := abbreviate(doc)
	if err != nil {
		return fmt.Errorf("%w: %s@%s: %w", ErrFixture, name, version, err)
	}
	published := publishTimeOf(probe.Time, version)
	if published.IsZero() {
		published = r.now
	}
	v := &versionEntry{
		name:         name,
		version:      version,
		doc:          slices.Clone(doc),
		abbrev:       abbrev,
		attestations: slices.Clone(attestations),
		published:    published,
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	p := r.entry(name)
	p.versions[version] = v
	p.recordedFull, p.recordedAbbrev, p.recordedTags = nil, nil, nil
	return nil
}

// AddRecordedPackument serves a recorded full packument byte for byte at
// /<name> (name taken from it), the recorded abbreviated packument when
// abbreviated is not nil (else one derived from full), and every version
// of full at /<name>/<version>. Adding versions of that name later drops
// the verbatim bytes and serves generated packuments instead.
func (r *Registry) AddRecordedPackument(full, abbreviated []byte) error {
	var pk struct {
		Name     string                     `json:"name"`
		DistTags map[string]string          `json:"dist-tags"`
		Versions map[string]json.RawMessage `json:"versions"`
		Time     map[string]json.RawMessage `json:"time"`
	}
	if err := json.Unmarshal(full, &pk); err != nil {
		return fmt.Errorf("%w: packument: %w", ErrFixture, err)
	}
	if npmspec.ValidName(pk.Name) != nil || len(pk.Versions) == 0 {
		return fmt.Errorf("%w: packument %q: no valid name or no versions", ErrFixture, pk.Name)
	}
	var ab struct {
		Name     string                     `json:"name"`
		Versions map[string]json.RawMessage `json:"versions"`
	}
	if abbreviated != nil {
		if err := json.Unmarshal(abbreviated, &ab); err != nil {
			return fmt.Errorf("%w: abbreviated packument of %s: %w", ErrFixture, pk.Name, err)
		}
		if ab.Name != pk.Name {
			return fmt.Errorf("%w: abbreviated packument is for %q, full one for %q", ErrFixture, ab.Name, pk.Name)
		}
	}
	entries := make([]*versionEntry, 0, len(pk.Versions))
	for ver, doc := range pk.Versions {
		abbrev := []byte(ab.Versions[ver])
		if abbrev == nil {
			var err error
			if abbrev, err = abbreviate(doc); err != nil {
				return fmt.Errorf("%w: %s@%s: %w", ErrFixture, pk.Name, ver, err)
			}
		}
		entries = append(entries, &versionEntry{
			name:      pk.Name,
			version:   ver,
			doc:       slices.Clone([]byte(doc)),
			abbrev:    slices.Clone(abbrev),
			published: publishTimeOf(pk.Time, ver),
		})
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	p := r.entry(pk.Name)
	for _, v := range entries {
		p.versions[v.version] = v
	}
	p.recordedFull = slices.Clone(full)
	p.recordedAbbrev = slices.Clone(abbreviated)
	p.recordedTags = pk.DistTags
	return nil
}

// AddRecordedManifests serves the recorded manifests under dir (tests pass
// "../../testdata/manifests"): every full packument X.json, with X.min.json
// as its abbreviated form when present, and every `npm view --json` output
// as a version document. Any other JSON file is an error.
func (r *Registry) AddRecordedManifests(dir string) error {
	files, err := jsonFiles(dir)
	if err != nil {
		return err
	}
	for _, f := range files {
		if strings.HasSuffix(f, ".min.json") {
			if _, err := os.Stat(strings.TrimSuffix(f, ".min.json") + ".json"); err != nil {
				return fmt.Errorf("%w: %s: abbreviated packument without its full packument", ErrFixture, f)
			}
			continue
		}
		data, err := os.ReadFile(f)
		if err != nil {
			return fmt.Errorf("%w: %w", ErrFixture, err)
		}
		var shape struct {
			Name     string          `json:"name"`
			Version  string          `json:"version"`
			Versions json.RawMessage `json:"versions"`
		}
		if err := json.Unmarshal(data, &shape); err != nil {
			return fmt.Errorf("%w: %s: %w", ErrFixture, f, err)
		}
		switch {
		case bytes.HasPrefix(bytes.TrimSpace(shape.Versions), []byte("{")):
			min, err := os.ReadFile(strings.TrimSuffix(f, ".json") + ".min.json")
			if err != nil && !os.IsNotExist(err) {
				return fmt.Errorf("%w: %w", ErrFixture, err)
			}
			if err := r.AddRecordedPackument(data, min); err != nil {
				return fmt.Errorf("%s: %w", f, err)
			}
		case shape.Version != "":
			if err := r.AddRecorded(shape.Name, shape.Version, data, nil); err != nil {
				return fmt.Errorf("%s: %w", f, err)
			}
		default:
			return fmt.Errorf("%w: %s: neither a packument nor a version document", ErrFixture, f)
		}
	}
	return nil
}

func jsonFiles(dir string) ([]string, error) {
	var files []string
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type().IsRegular() && strings.HasSuffix(path, ".json") {
			files = append(files, path)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrFixture, err)
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("%w: no JSON files under %s", ErrFixture, dir)
	}
	slices.Sort(files)
	return files, nil
}

// Fixture is one recorded attestation response with what it is about.
type Fixture struct {
	// Name and Version come from the attestations' subject.
	Name, Version string
	// Integrity is the sha512 SRI of the tarball, which equals the subject
	// digest (LoadFixtures checks it); the subject digest when no tarball
	// is at hand.
	Integrity string
	// File is the attestation response's path; Attestations its bytes.
	File         string
	Attestations []byte
	// TarballFile and Tarball are the package tarball, when one was found.
	TarballFile string
	Tarball     []byte
	// PredicateTypes lists the attestations' predicate types, in order.
	PredicateTypes []string
	// PublishTime is the integrated time of the publish attestation's log
	// entry (of the first entry when there is no publish attestation).
	PublishTime time.Time
}

// ProvenanceType is the SLSA predicate type among PredicateTypes ("" if none).
func (f *Fixture) ProvenanceType() string {
	for _, p := range f.PredicateTypes {
		if strings.HasPrefix(p, "https://slsa.dev/provenance/") {
			return p
		}
	}
	return ""
}

const publishPredicate = "https://github.com/npm/attestation/tree/main/specs/publish/v0.1"

// LoadFixtures reads every recorded attestation response under dir (tests
// pass "../../testdata/attestations"): every file except *.tgz must be one.
// A fixture's tarball is the file beside it named without ".json"
// (x.tgz.json -> x.tgz), else <dir>/../tarballs-npm-pack/<base>-<version>.tgz.
// Fixtures come sorted by file; two responses for one name@version are an
// error.
func LoadFixtures(dir string) ([]Fixture, error) {
	var out []Fixture
	seen := map[string]string{}
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.Type().IsRegular() || strings.HasSuffix(path, ".tgz") {
			return nil
		}
		f, err := loadFixture(dir, path)
		if err != nil {
			return err
		}
		id := f.Name + "@" + f.Version
		if prev, dup := seen[id]; dup {
			return fmt.Errorf("%w: %s and %s both hold attestations for %s", ErrFixture, prev, path, id)
		}
		seen[id] = path
		out = append(out, f)
		return nil
	})
	if err != nil {
		if !errors.Is(err, ErrFixture) {
			err = fmt.Errorf("%w: %w", ErrFixture, err)
		}
		return nil, err
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%w: no attestation responses under %s", ErrFixture, dir)
	}
	return out, nil
}

type attestationResponse struct {
	Attestations []struct {
		PredicateType string `json:"predicateType"`
		Bundle        struct {
			VerificationMaterial struct {
				TlogEntries []struct {
					IntegratedTime string `json:"integratedTime"`
				} `json:"tlogEntries"`
			} `json:"verificationMaterial"`
			DSSEEnvelope *struct {
				Payload string `json:"payload"`
			} `json:"dsseEnvelope"`
		} `json:"bundle"`
	} `json:"attestations"`
}

type statement struct {
	Subject []struct {
		Name   string            `json:"name"`
		Digest map[string]string `json:"digest"`
	} `json:"subject"`
}

func loadFixture(root, path string) (Fixture, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Fixture{}, fmt.Errorf("%w: %w", ErrFixture, err)
	}
	f, err := parseFixture(path, data)
	if err != nil {
		return Fixture{}, err
	}
	candidates := []string{filepath.Join(root, "..", "tarballs-npm-pack", tarballFile(f.Name, f.Version))}
	if t, ok := strings.CutSuffix(path, ".json"); ok && strings.HasSuffix(t, ".tgz") {
		candidates = append([]string{t}, candidates...)
	}
	for _, c := range candidates {
		tgz, err := os.ReadFile(c)
		if os.IsNotExist(err) {
			continue
		}
		if err != nil {
			return Fixture{}, fmt.Errorf("%w: %w", ErrFixture, err)
		}
		if got := sriSHA512(tgz); got != f.Integrity {
			return Fixture{}, fmt.Errorf("%w: %s: tarball %s has %s, the subject digest is %s", ErrFixture, path, c, got, f.Integrity)
		}
		f.TarballFile, f.Tarball = c, tgz
		break
	}
	return f, nil
}

// parseFixture reads an attestation response: the subject (name, version,
// sha512 digest) all its statements share, the predicate types and the
// publish attestation's integrated time. path is only for messages.
func parseFixture(path string, data []byte) (Fixture, error) {
	var resp attestationResponse
	if err := json.Unmarshal(data, &resp); err != nil {
		return Fixture{}, fmt.Errorf("%w: %s: not an attestation response: %w", ErrFixture, path, err)
	}
	if len(resp.Attestations) == 0 {
		return Fixture{}, fmt.Errorf("%w: %s: no attestations", ErrFixture, path)
	}
	f := Fixture{File: path, Attestations: data}
	var subject, digest string
	for i, a := range resp.Attestations {
		if a.Bundle.DSSEEnvelope == nil {
			return Fixture{}, fmt.Errorf("%w: %s: attestation %d has no DSSE envelope", ErrFixture, path, i)
		}
		payload, err := base64.StdEncoding.DecodeString(a.Bundle.DSSEEnvelope.Payload)
		if err != nil {
			return Fixture{}, fmt.Errorf("%w: %s: attestation %d: payload: %w", ErrFixture, path, i, err)
		}
		var st statement
		if err := json.Unmarshal(payload, &st); err != nil {
			return Fixture{}, fmt.Errorf("%w: %s: attestation %d: statement: %w", ErrFixture, path, i, err)
		}
		if len(st.Subject) != 1 || st.Subject[0].Digest["sha512"] == "" {
			return Fixture{}, fmt.Errorf("%w: %s: attestation %d: want one subject with a sha512 digest", ErrFixture, path, i)
		}
		s, d := st.Subject[0].Name, st.Subject[0].Digest["sha512"]
		if i == 0 {
			subject, digest = s, d
		} else if s != subject || d != digest {
			return Fixture{}, fmt.Errorf("%w: %s: attestations disagree on the subject (%s vs %s)", ErrFixture, path, subject, s)
		}
		f.PredicateTypes = append(f.PredicateTypes, a.PredicateType)
		if len(a.Bundle.VerificationMaterial.TlogEntries) > 0 && (f.PublishTime.IsZero() || a.PredicateType == publishPredicate) {
			sec, err := strconv.ParseInt(a.Bundle.VerificationMaterial.TlogEntries[0].IntegratedTime, 10, 64)
			if err != nil {
				return Fixture{}, fmt.Errorf("%w: %s: attestation %d: integratedTime: %w", ErrFixture, path, i, err)
			}
			f.PublishTime = time.Unix(sec, 0).UTC()
		}
	}
	purl, ok := strings.CutPrefix(subject, "pkg:npm/")
	if !ok {
		return Fixture{}, fmt.Errorf("%w: %s: subject %q is not an npm package URL", ErrFixture, path, subject)
	}
	spec, err := url.PathUnescape(purl)
	if err != nil {
		return Fixture{}, fmt.Errorf("%w: %s: subject %q: %w", ErrFixture, path, subject, err)
	}
	at := strings.LastIndex(spec, "@")
	if at <= 0 {
		return Fixture{}, fmt.Errorf("%w: %s: subject %q has no version", ErrFixture, path, subject)
	}
	f.Name, f.Version = spec[:at], spec[at+1:]
	raw, err := hex.DecodeString(digest)
	if err != nil || len(raw) != 64 {
		return Fixture{}, fmt.Errorf("%w: %s: subject digest %q is not a sha512 hex digest", ErrFixture, path, digest)
	}
	f.Integrity = "sha512-" + base64.StdEncoding.EncodeToString(raw)
	return f, nil
}

// AddRecordedFixtures loads the recorded attestation responses under dir
// (see LoadFixtures) and serves each byte for byte, with a generated version
// document: dist.integrity = the fixture's integrity, dist.signatures by npm
// key 0 of the fake Sigstore (whose default key is valid since 2015),
// dist.attestations pointing here with the fixture's provenance type, the
// tarball when there is one, and time[version] = the fixture's PublishTime.
func (r *Registry) AddRecordedFixtures(dir string) ([]Fixture, error) {
	fixtures, err := LoadFixtures(dir)
	if err != nil {
		return nil, err
	}
	entries := make([]*versionEntry, len(fixtures))
	for i := range fixtures {
		f := &fixtures[i]
		v, err := r.buildWith(&Package{
			Name:        f.Name,
			Version:     f.Version,
			Integrity:   f.Integrity,
			Signed:      true,
			PublishTime: f.PublishTime,
			Tarball:     f.Tarball,
		}, f)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", f.File, err)
		}
		entries[i] = v
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, v := range entries {
		p := r.entry(v.name)
		p.versions[v.version] = v
		p.recordedFull, p.recordedAbbrev, p.recordedTags = nil, nil, nil
	}
	return fixtures, nil
}
