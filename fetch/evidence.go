package fetch

import (
	"github.com/provaudit/provaudit/internal/npmspec"

	"bytes"
	"encoding/json/v2"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"reflect"
	"slices"
)

// NewTransport returns the transport a Client builds for cfg when
// Options.Transport is nil (proxies, cafile/ca, strict-ssl, HTTP/2), so that
// a caller can wrap it: an evidence recorder records what passes through it.
func NewTransport(cfg *Config, concurrency int) http.RoundTripper {
	if concurrency <= 0 {
		concurrency = DefaultConcurrency
	}
	return newTransport(cfg, concurrency)
}

// PackumentReducer recognizes the full-packument requests PublishInfo makes
// for a set of packages and reduces their bodies to what PublishInfo reads
// of the versions in question. Full packuments run to megabytes; the facts
// kept from them to a few hundred bytes, which is what an evidence bundle
// needs to hold for an audit from it to reach the same verdicts.
type PackumentReducer struct {
	byURL map[string]reduceSpec
}

type reduceSpec struct {
	name string
	keep []string
}

// NewPackumentReducer returns a reducer for the packages in versions (name
// -> the versions of that name the audit may ask about), each fetched from
// the registry cfg assigns to it.
func NewPackumentReducer(cfg *Config, versions map[string][]string) *PackumentReducer {
	p := &PackumentReducer{byURL: make(map[string]reduceSpec, len(versions))}
	for name, vs := range versions {
		u, err := url.Parse(cfg.RegistryFor(name) + npmspec.EscapeName(name))
		if err != nil {
			continue // PublishInfo cannot request it either
		}
		p.byURL[requestURL(u)] = reduceSpec{name: name, keep: slices.Clone(vs)}
	}
	return p
}

// requestURL is the form request URLs are compared in: without userinfo.
func requestURL(u *url.URL) string {
	c := *u
	c.User = nil
	return c.String()
}

// For returns the reduction of the body of a successful response to req
// when req is a full-packument request of one of the reducer's packages,
// else nil. The reduction fails (and the caller keeps the body as it came)
// when the body is not a packument PublishInfo can read, or one whose facts
// a reduced document would not carry exactly.
func (p *PackumentReducer) For(req *http.Request) func(io.Reader) ([]byte, error) {
	if p == nil || req.Method != http.MethodGet || req.Header.Get("Accept") != acceptJSON {
		return nil
	}
	spec, ok := p.byURL[requestURL(req.URL)]
	if !ok {
		return nil
	}
	pURL := requestURL(req.URL)
	return func(r io.Reader) ([]byte, error) { return ReducePackument(r, spec.name, pURL, spec.keep) }
}

// reducedPackument is the document ReducePackument writes.
type reducedPackument struct {
	Name     string                    `json:"name"`
	Time     map[string]string         `json:"time"`
	Versions map[string]reducedVersion `json:"versions"`
}

type reducedVersion struct {
	NpmUser *reducedUser      `json:"_npmUser,omitempty"`
	Dist    *reducedDist      `json:"dist,omitempty"`
	Scripts map[string]string `json:"scripts,omitempty"`
}

type reducedUser struct {
	Name             string            `json:"name,omitempty"`
	TrustedPublisher map[string]string `json:"trustedPublisher,omitempty"`
	Approver         map[string]string `json:"approver,omitempty"`
}

type reducedDist struct {
	Integrity    string              `json:"integrity,omitempty"`
	Signatures   []map[string]string `json:"signatures,omitempty"`
	Attestations *reducedAttestation `json:"attestations,omitempty"`
}

type reducedAttestation struct {
	URL        string            `json:"url"`
	Provenance map[string]string `json:"provenance,omitempty"`
}

// ReducePackument reads the full packument of name (pURL names it in
// errors) as PublishInfo and History do, keeping the versions in keep and
// those on their release lines, and returns a packument that holds only
// those facts: name, time[v], each version's publisher, trusted
// publisher and approver, its integrity, whether it has signatures, the
// provenance its attestations announce, and which install scripts it
// declares (as "-": the commands are not facts provaudit reads). Read
// again with the same versions kept, the reduced document gives exactly
// the facts the original gives; ReducePackument checks that before it
// returns, and fails rather than return a document that would not.
func ReducePackument(r io.Reader, name, pURL string, keep []string) ([]byte, error) {
	km := make(map[string]bool, len(keep))
	lines := map[string]bool{}
	for _, v := range keep {
		km[v] = true
		if l := npmspec.ReleaseLine(v); l != "" {
			lines[l] = true
		}
	}
	orig, err := decodePublishFacts(r, name, pURL, km, lines)
	if err != nil {
		return nil, err
	}
	doc := reducedPackument{Name: name, Time: orig.times, Versions: make(map[string]reducedVersion, len(orig.versions))}
	for v, vf := range orig.versions {
		if vf.err != nil {
			if km[v] {
				return nil, fmt.Errorf("%w: %s: GET %s: versions[%s]: %w", ErrMalformed, name, pURL, clip(v), vf.err)
			}
			continue // a line version nothing can be read of: absent alike
		}
		doc.Versions[v] = reduceVersion(vf)
	}
	out, err := json.Marshal(doc, json.Deterministic(true))
	if err != nil {
		return nil, err
	}
	again, err := decodePublishFacts(bytes.NewReader(out), name, pURL, km, lines)
	if err != nil {
		return nil, fmt.Errorf("the reduced packument of %s does not read back: %w", name, err)
	}
	for v, vf := range orig.versions {
		if vf.err != nil && !km[v] {
			delete(orig.versions, v)
		}
	}
	if !reflect.DeepEqual(orig.times, again.times) || !reflect.DeepEqual(orig.versions, again.versions) {
		return nil, errors.New("the reduced packument of " + name + " reads back with other facts")
	}
	return out, nil
}

// reduceVersion writes the facts of one version as a version object.
func reduceVersion(vf versionFacts) reducedVersion {
	var rv reducedVersion
	if vf.info.NpmUser != "" || vf.info.TrustedPublisher != "" || vf.hist.approver != "" {
		rv.NpmUser = &reducedUser{Name: vf.info.NpmUser}
		if vf.info.TrustedPublisher != "" {
			rv.NpmUser.TrustedPublisher = map[string]string{"id": vf.info.TrustedPublisher}
		}
		if vf.hist.approver != "" {
			rv.NpmUser.Approver = map[string]string{"name": vf.hist.approver}
		}
	}
	h := vf.hist
	if h.integrity != "" || h.signed || h.attested {
		rv.Dist = &reducedDist{Integrity: h.integrity}
		if h.signed {
			rv.Dist.Signatures = []map[string]string{{}}
		}
		if h.attested {
			rv.Dist.Attestations = &reducedAttestation{URL: "-"}
			if h.provenance != "" {
				rv.Dist.Attestations.Provenance = map[string]string{"predicateType": h.provenance}
			}
		}
	}
	for _, n := range h.scripts.names() {
		if rv.Scripts == nil {
			rv.Scripts = map[string]string{}
		}
		rv.Scripts[n] = "-"
	}
	return rv
}
