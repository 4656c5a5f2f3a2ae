package registrytest

import (
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/provaudit/provaudit/internal/npmspec"
	"github.com/provaudit/provaudit/internal/registrytest/fakesigstore"
)

// Package describes one generated version to serve.
type Package struct {
	Name, Version string
	// Integrity is the SRI served as dist.integrity, usually the lockfile's.
	// Empty: the sha512 of Tarball, else a deterministic sha512 of
	// name@version.
	Integrity string
	// Signed adds dist.signatures by npm key SignKey of the fake Sigstore.
	Signed  bool
	SignKey int
	// Attested adds dist.attestations and serves attestation bundles from
	// the fake Sigstore (needs a sha512 integrity).
	Attested bool
	// Attest overrides the generated attestations. nil: defaults, with the
	// publish attestation signed by npm key SignKey. Empty Name, Version and
	// Integrity are filled from the Package, an empty Registry with the
	// registry's URL; a zero IntegratedTime is PublishTime when that is set.
	Attest *fakesigstore.Attest
	// PublishTime is time[version] in the full packument (zero: Options.Now).
	PublishTime time.Time
	// Versions pads the packument with that many extra versions of realistic
	// size (about 3.5 kB each in the full packument).
	Versions int
	// NpmUser is _npmUser.name (default "<name>-maintainer", or "GitHub
	// Actions" with TrustedPublisher).
	NpmUser string
	// TrustedPublisher, when set (e.g. "github"), adds
	// _npmUser.trustedPublisher {id, oidcConfigId} as npm writes it for
	// versions published through OIDC trusted publishing.
	TrustedPublisher string
	// Approver, when set, adds _npmUser.approver {name, email} as npm's
	// staged publishing writes it for the maintainer who approved the
	// staged version.
	Approver string
	// Scripts are added to the version's scripts (which hold a "test"
	// script otherwise), e.g. {"preinstall": "node setup.js"}.
	Scripts map[string]string
	// Tarball is served at dist.tarball when not nil.
	Tarball []byte
}

// Locked is one lockfile unit: a name, version and integrity.
type Locked struct{ Name, Version, Integrity string }

// Packages builds signed Packages for lockfile units, one per name@version:
// the first unit that records an integrity wins, so a bundled copy without
// one (listed first by path) does not make the registry serve an integrity
// that contradicts the copy installed from the registry. A package name is
// attested when a hash of the name falls below attestedFraction, so all
// versions of a name agree and the choice is the same in every run; units
// without a sha512 integrity are never attested. Every package gets
// publishTime.
func Packages(locked []Locked, attestedFraction float64, publishTime time.Time) []Package {
	at := make(map[string]int, len(locked)) // name@version -> index in out
	out := make([]Package, 0, len(locked))
	for _, l := range locked {
		key := l.Name + "@" + l.Version
		if i, ok := at[key]; ok {
			if out[i].Integrity == "" && l.Integrity != "" {
				out[i].Integrity = l.Integrity
				out[i].Attested = nameFraction(l.Name) < attestedFraction && hasSHA512(l.Integrity)
			}
			continue
		}
		at[key] = len(out)
		out = append(out, Package{
			Name:        l.Name,
			Version:     l.Version,
			Integrity:   l.Integrity,
			Signed:      true,
			Attested:    nameFraction(l.Name) < attestedFraction && hasSHA512(l.Integrity),
			PublishTime: publishTime,
		})
	}
	return out
}

// nameFraction maps a name to [0, 1) deterministically.
func nameFraction(name string) float64 {
	sum := sha256.Sum256([]byte(name))
	return float64(binary.BigEndian.Uint64(sum[:8])>>11) / (1 << 53)
}

// hasSHA512 reports whether an SRI string is well formed and carries a
// sha512 hash.
func hasSHA512(sri string) bool {
	in, err := npmspec.ParseIntegrity(sri)
	return err == nil && in.Has(npmspec.SHA512)
}

// Add generates the documents, registry signatures and attestations of pkgs
// up front (in parallel) and serves them. A name@version already present
// is replaced. Nothing is added when one package fails.
func (r *Registry) Add(pkgs ...Package) error {
	built := make([]*versionEntry, len(pkgs))
	var g errgroup.Group
	g.SetLimit(runtime.GOMAXPROCS(0))
	for i := range pkgs {
		g.Go(func() error {
			v, err := r.build(&pkgs[i])
			built[i] = v
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for i, v := range built {
		p := r.entry(v.name)
		p.versions[v.version] = v
		p.padding = max(p.padding, pkgs[i].Versions)
		p.recordedFull, p.recordedAbbrev, p.recordedTags = nil, nil, nil
	}
	return nil
}

// entry returns the pkgEntry of name, creating it. Callers hold r.mu.
func (r *Registry) entry(name string) *pkgEntry {
	p, ok := r.pkgs[name]
	if !ok {
		p = &pkgEntry{name: name, versions: map[string]*versionEntry{}}
		r.pkgs[name] = p
	}
	return p
}

// sriSHA512 is the sha512 SRI of data.
func sriSHA512(data []byte) string {
	sum := sha512.Sum512(data)
	return "sha512-" + base64.StdEncoding.EncodeToString(sum[:])
}

type person struct {
	Name  string `json:"name"`
	Email string `json:"email"`
}

type trustedPublisher struct {
	ID           string `json:"id"`
	OIDCConfigID string `json:"oidcConfigId"`
}

type npmUser struct {
	Name             string            `json:"name"`
	Email            string            `json:"email"`
	TrustedPublisher *trustedPublisher `json:"trustedPublisher,omitempty"`
	Approver         *person           `json:"approver,omitempty"`
}

type signature struct {
	KeyID string `json:"keyid"`
	Sig   string `json:"sig"`
}

type distAttestations struct {
	URL        string         `json:"url"`
	Provenance *provenanceRef `json:"provenance,omitempty"`
}

type provenanceRef struct {
	PredicateType string `json:"predicateType"`
}

type dist struct {
	Integrity    string            `json:"integrity"`
	Shasum       string            `json:"shasum"`
	Tarball      string            `json:"tarball"`
	FileCount    int               `json:"fileCount"`
	UnpackedSize int               `json:"unpackedSize"`
	Signatures   []signature       `json:"signatures,omitempty"`
	Attestations *distAttestations `json:"attestations,omitempty"`
}

type repository struct {
	Type string `json:"type"`
	URL  string `json:"url"`
}

// versionDoc is a generated version document, in the npm registry's field order.
type versionDoc struct {
	Name          string            `json:"name"`
	Version       string            `json:"version"`
	Description   string            `json:"description"`
	Main          string            `json:"main"`
	Scripts       map[string]string `json:"scripts"`
	Repository    *repository       `json:"repository,omitempty"`
	License       string            `json:"license"`
	GitHead       string            `json:"gitHead,omitempty"`
	ID            string            `json:"_id"`
	NodeVersion   string            `json:"_nodeVersion"`
	NpmVersion    string            `json:"_npmVersion"`
	Dist          dist              `json:"dist"`
	NpmUser       npmUser           `json:"_npmUser"`
	Directories   struct{}          `json:"directories"`
	Maintainers   []person          `json:"maintainers"`
	HasShrinkwrap bool              `json:"_hasShrinkwrap"`
}

// abbrevDoc is the abbreviated form of a generated version.
type abbrevDoc struct {
	Name    string `json:"name"`
	Version string `json:"version"`
	Dist    dist   `json:"dist"`
}

// build makes the versionEntry of one Package. It only reads r's immutable
// fields, so it runs in parallel.
func (r *Registry) build(p *Package) (*versionEntry, error) { return r.buildWith(p, nil) }

// buildWith is build; with rec, the recorded attestations of rec are served
// instead of generated ones.
func (r *Registry) buildWith(p *Package, rec *Fixture) (*versionEntry, error) {
	id := p.Name + "@" + p.Version
	if err := npmspec.ValidName(p.Name); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidPackage, err)
	}
	if err := npmspec.ValidVersion(p.Version); err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrInvalidPackage, p.Name, err)
	}
	integrity := p.Integrity
	if integrity != "" {
		if _, err := npmspec.ParseIntegrity(integrity); err != nil {
			return nil, fmt.Errorf("%w: %s: %w", ErrInvalidPackage, id, err)
		}
	}
	switch {
	case integrity == "" && p.Tarball != nil:
		integrity = sriSHA512(p.Tarball)
	case integrity == "":
		integrity = sriSHA512([]byte("registrytest:" + id))
	}
	if p.SignKey < 0 || p.SignKey >= r.npmKeys {
		return nil, fmt.Errorf("%w: %s: sign key %d out of range (the fake sigstore has %d)", ErrInvalidPackage, id, p.SignKey, r.npmKeys)
	}
	published := p.PublishTime
	if published.IsZero() {
		published = r.now
	}

	var shasum string
	if p.Tarball != nil {
		s := sha1.Sum(p.Tarball)
		shasum = hex.EncodeToString(s[:])
	} else {
		s := sha1.Sum([]byte(id + ":" + integrity))
		shasum = hex.EncodeToString(s[:])
	}
	d := dist{
		Integrity:    integrity,
		Shasum:       shasum,
		Tarball:      r.tarballURL(p.Name, p.Version),
		FileCount:    3 + len(p.Name)%7,
		UnpackedSize: 1024 * (4 + len(id)%29),
	}
	if p.Tarball != nil {
		d.UnpackedSize = len(p.Tarball) * 3
	}
	if p.Signed {
		keyid, sig := r.ss.SignRegistry(p.SignKey, p.Name, p.Version, integrity)
		d.Signatures = []signature{{KeyID: keyid, Sig: sig}}
	}

	doc := versionDoc{
		Name:        p.Name,
		Version:     p.Version,
		Description: "A package served by the provaudit fake registry.",
		Main:        "index.js",
		Scripts:     map[string]string{"test": "node --test"},
		License:     "MIT",
		ID:          id,
		NodeVersion: "20.11.1",
		NpmVersion:  "10.2.4",
	}
	for k, v := range p.Scripts {
		doc.Scripts[k] = v
	}
	var attestations []byte
	if rec != nil {
		attestations = rec.Attestations
		d.Attestations = &distAttestations{URL: r.attestationsURL(p.Name, p.Version)}
		if pt := rec.ProvenanceType(); pt != "" {
			d.Attestations.Provenance = &provenanceRef{pt}
		}
	} else if p.Attested {
		if !hasSHA512(integrity) {
			return nil, fmt.Errorf("%w: %s: attestations need a sha512 integrity, have %q", ErrInvalidPackage, id, integrity)
		}
		a := fakesigstore.Attest{NpmKey: p.SignKey}
		if p.Attest != nil {
			a = *p.Attest
		}
		if a.Name == "" {
			a.Name = p.Name
		}
		if a.Version == "" {
			a.Version = p.Version
		}
		if a.Integrity == "" {
			a.Integrity = integrity
		}
		if a.Registry == "" {
			a.Registry = strings.TrimSuffix(r.url, "/")
		}
		if a.IntegratedTime.IsZero() && !p.PublishTime.IsZero() {
			a.IntegratedTime = p.PublishTime
		}
		var err error
		attestations, err = r.ss.Attestations(a)
		if err != nil {
			return nil, fmt.Errorf("%w: attestations of %s: %w", ErrSigstore, id, err)
		}
		da := &distAttestations{URL: r.attestationsURL(p.Name, p.Version)}
		if !a.OmitProvenance {
			pt := a.PredicateType
			if pt == "" {
				pt = "https://slsa.dev/provenance/v1"
			}
			da.Provenance = &provenanceRef{pt}
		}
		d.Attestations = da
		if a.Repository != "" {
			doc.Repository = &repository{Type: "git", URL: "git+" + a.Repository + ".git"}
		}
		doc.GitHead = a.Commit
	}
	doc.Dist = d

	user := npmUser{Name: p.NpmUser}
	if p.TrustedPublisher != "" {
		if user.Name == "" {
			user.Name = "GitHub Actions"
		}
		user.Email = "npm-oidc-no-reply@github.com"
		user.TrustedPublisher = &trustedPublisher{ID: p.TrustedPublisher, OIDCConfigID: "oidc:" + revHash(p.Name)}
	}
	if user.Name == "" {
		user.Name = maintainerName(p.Name)
	}
	if user.Email == "" {
		user.Email = user.Name + "@example.invalid"
	}
	if p.Approver != "" {
		user.Approver = &person{Name: p.Approver, Email: p.Approver + "@example.invalid"}
	}
	doc.NpmUser = user
	doc.Maintainers = []person{{Name: maintainerName(p.Name), Email: maintainerName(p.Name) + "@example.invalid"}}

	docJSON, err := json.Marshal(doc)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrInvalidPackage, id, err)
	}
	abbrevJSON, err := json.Marshal(abbrevDoc{Name: p.Name, Version: p.Version, Dist: d})
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrInvalidPackage, id, err)
	}
	var tarball []byte
	if p.Tarball != nil {
		tarball = slices.Clone(p.Tarball)
	}
	return &versionEntry{
		name:         p.Name,
		version:      p.Version,
		doc:          docJSON,
		abbrev:       abbrevJSON,
		attestations: attestations,
		tarball:      tarball,
		published:    published,
	}, nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
