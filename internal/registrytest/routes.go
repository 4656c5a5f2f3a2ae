package registrytest

import (
	"bufio"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/Masterminds/semver/v3"
)

// versionEntry is one servable version. It is immutable once stored.
type versionEntry struct {
	name, version string
	doc           []byte // version document, served at /<name>/<version>
	abbrev        []byte // its abbreviated form, inside the abbreviated packument
	attestations  []byte // attestation response; nil = none (404)
	tarball       []byte // nil = none (404)
	published     time.Time
}

// pkgEntry is one package name. Guarded by Registry.mu.
type pkgEntry struct {
	name     string
	versions map[string]*versionEntry
	padding  int
	// recordedFull and recordedAbbrev are served verbatim when set; Add
	// of a generated version drops them.
	recordedFull, recordedAbbrev []byte
	recordedTags                 map[string]string
}

// snapshot is what serving one packument needs, copied under the lock.
type snapshot struct {
	name           string
	versions       []*versionEntry // sorted
	tags           map[string]string
	padding        int
	recorded       []byte
	recordedAbbrev []byte
}

func (r *Registry) snapshot(name string) (snapshot, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	p, ok := r.pkgs[name]
	if !ok {
		return snapshot{}, false
	}
	s := snapshot{
		name:           p.name,
		padding:        p.padding,
		recorded:       p.recordedFull,
		recordedAbbrev: p.recordedAbbrev,
	}
	for _, v := range p.versions {
		s.versions = append(s.versions, v)
	}
	sortVersions(s.versions)
	s.tags = distTags(s.versions, p.recordedTags)
	return s, true
}

func sortVersions(vs []*versionEntry) {
	slices.SortFunc(vs, func(a, b *versionEntry) int {
		va, ea := semver.StrictNewVersion(a.version)
		vb, eb := semver.StrictNewVersion(b.version)
		if ea == nil && eb == nil {
			return va.Compare(vb)
		}
		return strings.Compare(a.version, b.version)
	})
}

// distTags is the recorded tags, else latest = the highest release (the
// highest version when every version is a pre-release).
func distTags(sorted []*versionEntry, recorded map[string]string) map[string]string {
	if len(recorded) > 0 {
		return recorded
	}
	if len(sorted) == 0 {
		return map[string]string{}
	}
	latest := sorted[len(sorted)-1].version
	for i := len(sorted) - 1; i >= 0; i-- {
		if v, err := semver.StrictNewVersion(sorted[i].version); err == nil && v.Prerelease() == "" {
			latest = sorted[i].version
			break
		}
	}
	return map[string]string{"latest": latest}
}

// splitPath splits an escaped request path into decoded segments, joining
// "@scope" and "name" into one segment when the scope's slash came
// unescaped.
func splitPath(escaped string) ([]string, bool) {
	raw := strings.Split(strings.TrimPrefix(escaped, "/"), "/")
	segs := make([]string, 0, len(raw))
	for _, s := range raw {
		u, err := url.PathUnescape(s)
		if err != nil {
			return nil, false
		}
		segs = append(segs, u)
	}
	if len(segs) > 1 && strings.HasPrefix(segs[0], "@") && !strings.Contains(segs[0], "/") {
		segs = append([]string{segs[0] + "/" + segs[1]}, segs[2:]...)
	}
	return segs, true
}

// route serves the built-in registry routes.
func (r *Registry) route(w http.ResponseWriter, req *http.Request) {
	segs, ok := splitPath(req.URL.EscapedPath())
	if !ok {
		writeError(w, http.StatusBadRequest, "bad path")
		return
	}
	switch {
	case len(segs) >= 1 && segs[0] == "-":
		r.serveAPI(w, segs[1:])
	case len(segs) == 1 && segs[0] != "":
		r.servePackument(w, req, segs[0])
	case len(segs) == 2 && segs[1] != "":
		r.serveVersion(w, segs[0], segs[1])
	case len(segs) == 3 && segs[1] == "-":
		r.serveTarball(w, segs[0], segs[2])
	default:
		writeError(w, http.StatusNotFound, "Not found")
	}
}

func (r *Registry) serveAPI(w http.ResponseWriter, segs []string) {
	if len(segs) < 3 || segs[0] != "npm" || segs[1] != "v1" {
		writeError(w, http.StatusNotFound, "Not found")
		return
	}
	switch {
	case segs[2] == "keys" && len(segs) == 3:
		r.mu.RLock()
		noKeys, body := r.noKeys, r.keysBody
		r.mu.RUnlock()
		if noKeys {
			writeError(w, http.StatusNotFound, "Not found")
			return
		}
		if body == nil {
			body = r.ss.NpmKeys()
		}
		writeJSON(w, http.StatusOK, "application/json", body)
	case segs[2] == "attestations" && len(segs) > 3:
		spec := strings.Join(segs[3:], "/")
		at := strings.LastIndex(spec, "@")
		if at <= 0 {
			writeError(w, http.StatusNotFound, "Not found")
			return
		}
		name, version := spec[:at], spec[at+1:]
		r.mu.RLock()
		var body []byte
		if p, ok := r.pkgs[name]; ok {
			if v, ok := p.versions[version]; ok {
				body = v.attestations
			}
		}
		r.mu.RUnlock()
		if body == nil {
			writeError(w, http.StatusNotFound, "Not found")
			return
		}
		writeJSON(w, http.StatusOK, "application/json", body)
	default:
		writeError(w, http.StatusNotFound, "Not found")
	}
}

func (r *Registry) serveVersion(w http.ResponseWriter, name, spec string) {
	r.mu.RLock()
	noVersion, strip := r.noVersion, r.stripSigs
	p, ok := r.pkgs[name]
	var v *versionEntry
	if ok {
		v = p.versions[spec]
	}
	r.mu.RUnlock()
	if noVersion || !ok {
		writeError(w, http.StatusNotFound, "Not found")
		return
	}
	if v == nil {
		// Maybe a dist-tag (recorded, or "latest" of generated versions).
		if s, ok := r.snapshot(name); ok {
			if tag, ok := s.tags[spec]; ok {
				for _, e := range s.versions {
					if e.version == tag {
						v = e
					}
				}
			}
		}
	}
	if v == nil {
		writeError(w, http.StatusNotFound, "version not found: "+spec)
		return
	}
	doc := v.doc
	if strip {
		doc = stripSignatures(doc)
	}
	writeJSON(w, http.StatusOK, "application/json", doc)
}

// stripSignatures removes dist.signatures from a version document.
func stripSignatures(doc []byte) []byte { return stripDist(doc, "signatures") }

// stripDist removes dist.<field> from a version document. A document that
// does not decode is returned unchanged.
func stripDist(doc []byte, field string) []byte {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(doc, &m); err != nil {
		return doc
	}
	var dist map[string]json.RawMessage
	if err := json.Unmarshal(m["dist"], &dist); err != nil {
		return doc
	}
	delete(dist, field)
	m["dist"] = mustJSON(dist)
	return mustJSON(m)
}

func (r *Registry) serveTarball(w http.ResponseWriter, name, file string) {
	r.mu.RLock()
	var body []byte
	if p, ok := r.pkgs[name]; ok {
		for _, v := range p.versions {
			if v.tarball != nil && tarballFile(name, v.version) == file {
				body = v.tarball
				break
			}
		}
	}
	r.mu.RUnlock()
	if body == nil {
		writeError(w, http.StatusNotFound, "Not found")
		return
	}
	writeJSON(w, http.StatusOK, "application/octet-stream", body)
}

const abbreviatedType = "application/vnd.npm.install-v1+json"

func (r *Registry) servePackument(w http.ResponseWriter, req *http.Request, name string) {
	abbreviated := strings.Contains(req.Header.Get("Accept"), abbreviatedType)
	s, ok := r.snapshot(name)
	if !ok {
		writeError(w, http.StatusNotFound, "Not found")
		return
	}
	contentType := "application/json"
	if abbreviated {
		contentType = abbreviatedType
	}
	if abbreviated && s.recordedAbbrev != nil {
		writeJSON(w, http.StatusOK, contentType, s.recordedAbbrev)
		return
	}
	if !abbreviated && s.recorded != nil {
		writeJSON(w, http.StatusOK, contentType, s.recorded)
		return
	}
	w.Header().Set("Content-Type", contentType)
	w.WriteHeader(http.StatusOK)
	if req.Method == http.MethodHead {
		return
	}
	bw := bufio.NewWriterSize(w, 64<<10)
	pw := &packumentWriter{w: bw, r: r, s: &s}
	if abbreviated {
		pw.writeAbbreviated()
	} else {
		pw.writeFull()
	}
	_ = bw.Flush()
}

// tarballFile is the file name npm gives a version's tarball.
func tarballFile(name, version string) string {
	base := name
	if i := strings.LastIndex(name, "/"); i >= 0 {
		base = name[i+1:]
	}
	return base + "-" + version + ".tgz"
}

// tarballURL is where the registry serves a version's tarball.
func (r *Registry) tarballURL(name, version string) string {
	return r.url + name + "/-/" + tarballFile(name, version)
}

// attestationsURL is dist.attestations.url as the npm registry writes it:
// a scoped name's slash is escaped as %2f.
func (r *Registry) attestationsURL(name, version string) string {
	return r.url + "-/npm/v1/attestations/" + strings.Replace(name, "/", "%2f", 1) + "@" + version
}
