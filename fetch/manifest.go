package fetch

import (
	"bytes"
	"context"
	"encoding/json/jsontext"
	"encoding/json/v2"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"

	"github.com/provaudit/provaudit/internal/npmspec"
)

// Accept headers.
const (
	acceptJSON  = "application/json"
	acceptCorgi = "application/vnd.npm.install-v1+json; q=1.0, application/json; q=0.8, */*"
)

// Signature is one entry of dist.signatures: an ECDSA signature by the
// registry key KeyID over "name@version:integrity".
type Signature struct {
	KeyID string `json:"keyid"`
	Sig   string `json:"sig"`
}

// AttestationRef is dist.attestations: where the registry says the
// attestations are and the provenance predicate type it announces.
type AttestationRef struct {
	URL           string `json:"url"`
	PredicateType string `json:"predicateType,omitempty"`
}

// Manifest holds the fields of a version document that verification needs,
// as the registry served them.
type Manifest struct {
	Name      string `json:"name"`
	Version   string `json:"version"`
	Integrity string `json:"integrity,omitempty"` // dist.integrity
	Shasum    string `json:"shasum,omitempty"`    // dist.shasum (hex SHA-1)
	// Signatures is dist.signatures (nil when the version has none).
	Signatures []Signature `json:"signatures,omitempty"`
	// Attestations is dist.attestations (nil = the version has none).
	Attestations *AttestationRef `json:"attestations,omitempty"`
	// Registry is the registry URL the document came from.
	Registry string `json:"registry"`
	// Abbreviated is true when the fields came from the abbreviated
	// packument instead of the version document.
	Abbreviated bool `json:"abbreviated,omitempty"`
	// FromCache is true when the Manifest was read from the cache.
	FromCache bool `json:"-"`
}

// versionDoc is the part of a version document (or of a packument's
// versions[v]) that is decoded (readVersion); everything else is skipped.
type versionDoc struct {
	Name    string
	Version string
	Dist    *distDoc
}

type distDoc struct {
	Integrity    string
	Shasum       string
	Signatures   []Signature
	Attestations *attestationsDoc
}

type attestationsDoc struct {
	URL        string
	Provenance *provenanceDoc
}

type provenanceDoc struct{ PredicateType string }

// decodeManifest decodes a version document for name@version as a stream
// (see stream.go). what and url are for errors. The document must be a
// JSON object for exactly that name and version with a dist carrying
// integrity or shasum.
func decodeManifest(r io.Reader, name, version, registry, what, url string) (*Manifest, error) {
	var (
		doc  versionDoc
		bad  error
		seen seenMembers
	)
	err := walkObject(r, url, what, func(dec *jsontext.Decoder, key string) error {
		// the top-level object is the version itself
		if seen.repeated([]byte(key), versionMembers...) {
			bad = firstErr(bad, fmt.Errorf("%s appears twice", key))
			return dec.SkipValue()
		}
		b, err := readVersionMember(dec, "the document", []byte(key), &doc)
		bad = firstErr(bad, b)
		return err
	})
	if err != nil {
		return nil, err
	}
	if bad != nil {
		return nil, fmt.Errorf("%w: %s: GET %s: not a version document: %w", ErrMalformed, what, url, bad)
	}
	return doc.manifest(name, version, registry, what, url)
}

func (doc *versionDoc) manifest(name, version, registry, what, url string) (*Manifest, error) {
	if doc.Name != name || doc.Version != version {
		return nil, fmt.Errorf("%w: %s: GET %s: the document is for %s@%s", ErrMalformed, what, url, clip(doc.Name), clip(doc.Version))
	}
	if doc.Dist == nil {
		return nil, fmt.Errorf("%w: %s: GET %s: the document has no dist", ErrMalformed, what, url)
	}
	d := doc.Dist
	if d.Integrity == "" && d.Shasum == "" {
		return nil, fmt.Errorf("%w: %s: GET %s: dist has neither integrity nor shasum", ErrMalformed, what, url)
	}
	m := &Manifest{
		Name: name, Version: version, Registry: registry,
		Integrity: d.Integrity, Shasum: d.Shasum,
	}
	if len(d.Signatures) > 0 {
		m.Signatures = d.Signatures
	}
	if a := d.Attestations; a != nil {
		if a.URL == "" {
			return nil, fmt.Errorf("%w: %s: GET %s: dist.attestations has no url", ErrMalformed, what, url)
		}
		m.Attestations = &AttestationRef{URL: a.URL}
		if a.Provenance != nil {
			m.Attestations.PredicateType = a.Provenance.PredicateType
		}
	}
	return m, nil
}

// clip shortens registry-supplied text quoted in an error.
func clip(s string) string {
	const n = 100
	if len(s) > n {
		s = s[:n] + "..."
	}
	return fmt.Sprintf("%q", s)
}

// Manifest gets the version document of name@version from the registry for
// name: GET <registry>/<escaped name>/<version>. integrity is the lockfile's
// SRI. Online, a cached Manifest is used only when it does not contradict
// it (see integrityConflict) and a contradicting one is refetched; offline
// the cached one is returned as it is, for verification to judge.
//
// It falls back to the abbreviated packument (GET <registry>/<escaped name>,
// Accept: application/vnd.npm.install-v1+json) and sets Abbreviated when
// the version endpoint answers 404, 405 or 501, or when its document lacks
// dist.signatures while the packument entry has them (a proxy that strips
// them); dist.attestations of the version document are kept when the
// packument entry lacks them. The signature fallback is skipped for a
// registry that RegistryKeys found to have no keys.
//
// The result is what the registry served; checking it against the lockfile
// is verification's job.
func (c *Client) Manifest(ctx context.Context, name, version, integrity string) (*Manifest, error) {
	if err := checkSpec(name, version); err != nil {
		return nil, err
	}
	registry := c.cfg.RegistryFor(name)
	what := name + "@" + version
	key := "fetch/manifest\n" + registry + "\n" + what
	if data, ok := c.cacheGet(key); ok {
		var m Manifest
		// Online, a cached document that contradicts the lockfile is
		// fetched again (the registry has the last word on what it
		// serves). Offline it is what there is: returned, so that
		// verification reports the mismatch as the finding it is.
		if json.Unmarshal(data, &m) == nil && m.Name == name && m.Version == version && m.Registry == registry &&
			(c.opts.Offline || !integrityConflict(integrity, &m)) {
			m.FromCache = true
			return &m, nil
		}
	}
	docURL := registry + npmspec.EscapeName(name) + "/" + version
	if c.opts.Offline {
		return nil, fmt.Errorf("%w: %s: version document from %s (offline)", ErrNotInCache, what, docURL)
	}
	m, err := c.fetchVersionDoc(ctx, name, version, registry, what, docURL)
	var se *StatusError
	switch {
	case err == nil && len(m.Signatures) > 0:
	case err == nil && c.keyless(registry):
	case err == nil:
		pm, perr := c.fromPackument(ctx, name, version, registry, what)
		switch {
		case perr == nil && len(pm.Signatures) > 0:
			if pm.Attestations == nil && m.Attestations != nil {
				// The abbreviated packument may leave dist.attestations
				// out; what the version document announces must not
				// silently disappear.
				pm.Attestations = m.Attestations
			}
			m = pm
		case perr == nil, errors.Is(perr, ErrNotFound):
			// the packument has no signatures either: the version has none
		default:
			return nil, perr
		}
	case errors.As(err, &se) && (se.StatusCode == http.StatusNotFound ||
		se.StatusCode == http.StatusMethodNotAllowed || se.StatusCode == http.StatusNotImplemented):
		pm, perr := c.fromPackument(ctx, name, version, registry, what)
		if perr != nil {
			if errors.Is(perr, ErrNotFound) && se.StatusCode == http.StatusNotFound {
				return nil, err
			}
			return nil, perr
		}
		m = pm
	default:
		return nil, err
	}
	if data, err := json.Marshal(m); err == nil {
		c.cachePut(key, data)
	}
	return m, nil
}

func (c *Client) fetchVersionDoc(ctx context.Context, name, version, registry, what, docURL string) (*Manifest, error) {
	var m *Manifest
	err := c.get(ctx, getSpec{url: docURL, accept: acceptJSON, limit: maxVersionDoc, reserve: streamReserve, what: what}, func(r io.Reader) error {
		var err error
		m, err = decodeManifest(r, name, version, registry, what, docURL)
		return err
	})
	return m, err
}

// corgi is the decoded abbreviated packument: the Manifest (or the error)
// of every version.
type corgi struct {
	versions map[string]*Manifest
	errs     map[string]error
}

// fromPackument gets name@version from the abbreviated packument. Calls for
// the same version share one request while it is in flight; the decoder
// keeps that version only, so that what a packument costs does not grow
// with the versions it lists.
func (c *Client) fromPackument(ctx context.Context, name, version, registry, what string) (*Manifest, error) {
	pURL := registry + npmspec.EscapeName(name)
	v, err, _ := c.flights.Do("corgi\n"+pURL+"\n"+version, func() (any, error) {
		var cg *corgi
		err := c.get(ctx, getSpec{url: pURL, accept: acceptCorgi, limit: c.opts.MaxBody, reserve: streamReserve, what: name}, func(r io.Reader) error {
			var err error
			cg, err = decodeCorgi(r, name, version, registry, pURL)
			return err
		})
		return cg, err
	})
	if err != nil {
		return nil, fmt.Errorf("%s: abbreviated packument: %w", what, err)
	}
	cg := v.(*corgi)
	if e := cg.errs[version]; e != nil {
		return nil, fmt.Errorf("%s: %w", what, e)
	}
	m, ok := cg.versions[version]
	if !ok {
		return nil, fmt.Errorf("%w: %s: version %s is not in the packument %s", ErrNotFound, what, version, pURL)
	}
	cp := *m
	cp.Abbreviated = true
	return &cp, nil
}

// decodeCorgi streams an (abbreviated or full) packument, keeping only the
// dist fields of version (see stream.go); every other version is skipped
// unparsed. The packument's name must be name.
func decodeCorgi(r io.Reader, name, version, registry, pURL string) (*corgi, error) {
	cg := &corgi{versions: map[string]*Manifest{}, errs: map[string]error{}}
	gotName := ""
	var top seenMembers
	err := walkObject(r, pURL, name, func(dec *jsontext.Decoder, key string) error {
		if top.repeated([]byte(key), "name", "versions") {
			return fmt.Errorf("member %q appears twice", key)
		}
		switch key {
		case "name":
			s, err := readString(dec)
			gotName = s
			return err
		case "versions":
			seen := false
			return eachMember(dec, func(v string) error {
				if v != version {
					return dec.SkipValue()
				}
				what := name + "@" + v
				doc, bad, err := readVersion(dec, "versions["+clip(v)+"]")
				switch {
				case err != nil:
					return err
				case seen:
					bad = fmt.Errorf("versions[%s] appears twice", clip(v))
				}
				seen = true
				if bad != nil {
					delete(cg.versions, v)
					cg.errs[v] = fmt.Errorf("%w: %s: GET %s: %w", ErrMalformed, what, pURL, bad)
					return nil
				}
				m, err := doc.manifest(name, v, registry, what, pURL)
				if err != nil {
					cg.errs[v] = err
					return nil
				}
				cg.versions[v] = m
				return nil
			})
		}
		return dec.SkipValue()
	})
	if err != nil {
		return nil, err
	}
	if gotName != name {
		return nil, fmt.Errorf("%w: %s: GET %s: the packument is for %s", ErrMalformed, name, pURL, clip(gotName))
	}
	return cg, nil
}

// walkObject reads one top-level JSON object from r, calling member for
// each member name with the decoder positioned at its value (member must
// consume the value), and checks nothing follows the object. Syntax errors
// become ErrMalformed naming what and url.
func walkObject(r io.Reader, url, what string, member func(dec *jsontext.Decoder, key string) error) error {
	r, html := sniffHTML(r)
	if html {
		return fmt.Errorf("%w: %s: GET %s: the response is an HTML page, not JSON", ErrMalformed, what, url)
	}
	dec := newStreamDecoder(r)
	malformed := func(err error) error {
		return fmt.Errorf("%w: %s: GET %s: %w", ErrMalformed, what, url, err)
	}
	if err := eachMember(dec, func(key string) error { return member(dec, key) }); err != nil {
		return malformed(err)
	}
	if _, err := dec.ReadToken(); err != io.EOF {
		if err == nil {
			err = errors.New("data after the top-level object")
		}
		return malformed(err)
	}
	return nil
}

// looksHTML reports whether the first non-space byte is '<': an error
// page, not JSON.
func looksHTML(data []byte) bool {
	b := bytes.TrimLeft(data, " \t\r\n")
	return len(b) > 0 && b[0] == '<'
}

// sniffHTML reports whether the first non-space byte of r is '<' and
// returns a reader that still yields everything.
func sniffHTML(r io.Reader) (io.Reader, bool) {
	head := make([]byte, 0, 64)
	buf := make([]byte, 64)
	for {
		n, err := r.Read(buf)
		head = append(head, buf[:n]...)
		if len(bytes.TrimLeft(head, " \t\r\n")) > 0 {
			return io.MultiReader(bytes.NewReader(head), r), looksHTML(head)
		}
		if err != nil || len(head) > 4096 {
			return io.MultiReader(bytes.NewReader(head), r), false
		}
	}
}

// eachMember reads an object at the decoder's position, calling fn for each
// member name; fn must consume the value.
func eachMember(dec *jsontext.Decoder, fn func(key string) error) error {
	tok, err := dec.ReadToken()
	if err != nil {
		return err
	}
	if tok.Kind() != '{' {
		return fmt.Errorf("expected an object, found %v", tok.Kind())
	}
	for {
		tok, err := dec.ReadToken()
		if err != nil {
			return err
		}
		if tok.Kind() == '}' {
			return nil
		}
		if err := fn(tok.String()); err != nil {
			return err
		}
	}
}

func readString(dec *jsontext.Decoder) (string, error) {
	tok, err := dec.ReadToken()
	if err != nil {
		return "", err
	}
	if tok.Kind() != '"' {
		return "", fmt.Errorf("expected a string, found %v", tok.Kind())
	}
	return tok.String(), nil
}

// integrityConflict reports whether a Manifest contradicts the lockfile's
// SRI: an algorithm both carry (dist.shasum counts as sha1) has another
// digest, or what the Manifest says cannot be read. With nothing in common
// there is no conflict to detect here.
func integrityConflict(lockSRI string, m *Manifest) bool {
	lock, err := npmspec.ParseIntegrity(lockSRI)
	if err != nil {
		return false // unpinned (or not a registry entry): nothing to contradict
	}
	var reg npmspec.Integrity
	if m.Integrity != "" {
		if reg, err = npmspec.ParseIntegrity(m.Integrity); err != nil {
			return true
		}
	}
	if m.Shasum != "" {
		sha1, err := npmspec.FromHex(npmspec.SHA1, m.Shasum)
		if err != nil {
			return true
		}
		if reg, err = reg.Merge(sha1); err != nil {
			return true
		}
	}
	_, err = lock.Match(reg)
	return err != nil
}

// attestationURL is where the attestations of m are fetched: always the
// registry that served m, at npm's path -/npm/v1/attestations/<escaped
// name>@<version>. dist.attestations.url is a presence signal only; it is
// never followed, so a document cannot send the client (or a credential)
// elsewhere. This is what npm (pacote) does too: it keeps the URL's path
// but always uses the configured registry's origin.
func attestationURL(m *Manifest) string {
	return m.Registry + "-/npm/v1/attestations/" + npmspec.EscapeName(m.Name) + "@" + m.Version
}

// redactURL drops credentials from a URL for messages.
func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "(unparsable URL)"
	}
	return u.Redacted()
}
