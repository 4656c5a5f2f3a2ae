package fetch

import (
	"bytes"
	"context"
	"encoding/json/jsontext"
	"encoding/json/v2"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/provaudit/provaudit/internal/npmspec"
)

// PublishInfo holds what the full packument says about one published
// version, the facts neither the version document nor the abbreviated
// packument carry.
type PublishInfo struct {
	// Time is time[version], the publish time; zero when the packument has
	// none for the version (very old packages).
	Time time.Time `json:"time"`
	// NpmUser is versions[version]._npmUser.name, the account that
	// published ("" when absent).
	NpmUser string `json:"npmUser,omitempty"`
	// TrustedPublisher is the trusted-publishing (OIDC) provider id from
	// versions[version]._npmUser.trustedPublisher (or a top-level
	// trustedPublisher), such as "github"; "unknown" when one is recorded
	// without an id; "" when the version was not published that way.
	TrustedPublisher string `json:"trustedPublisher,omitempty"`
}

// versionFacts is PublishInfo in the making, or why it cannot be made.
type versionFacts struct {
	info PublishInfo
	err  error // malformed facts for this version
}

// packumentFacts is what the streaming decoder keeps from a full packument:
// the facts of the versions in keep (all versions when keep is nil).
type packumentFacts struct {
	keep     map[string]bool
	times    map[string]string
	versions map[string]versionFacts
}

// kept reports whether the facts of version were looked for (a version
// that was looked for but is absent is an answer too: not found).
func (pf *packumentFacts) kept(version string) bool {
	return pf.keep == nil || pf.keep[version]
}

// PublishInfo gets the publish time and publisher of name@version from the
// full packument (GET <registry>/<escaped name>, Accept: application/json),
// decoded as a stream that keeps only time[*] and each version's _npmUser
// and trustedPublisher: packuments run to tens of megabytes. The extracted
// facts of the version are cached forever, sealed (they never change once
// published, and a publish time decides at which instant a signing key is
// judged: see Cache.GetSealed); concurrent calls for the same packument
// share one request.
//
// siblings are the other versions of name this run may ask about (an
// auditor passes every version of the name in its lockfile): their facts
// are kept in memory from the same download, so a packument is fetched and
// decoded once per run rather than once per version. Concurrent callers
// sharing a download should pass the same siblings; a version outside
// them costs another download when asked for later.
func (c *Client) PublishInfo(ctx context.Context, name, version string, siblings ...string) (*PublishInfo, error) {
	if err := checkSpec(name, version); err != nil {
		return nil, err
	}
	registry := c.cfg.RegistryFor(name)
	what := name + "@" + version
	key := "fetch/publishinfo\n" + registry + "\n" + what
	if data, ok := c.cacheGetSealed(key); ok {
		var pi PublishInfo
		if json.Unmarshal(data, &pi) == nil {
			return &pi, nil
		}
	}
	pURL := registry + npmspec.EscapeName(name)
	if c.opts.Offline {
		return nil, fmt.Errorf("%w: %s: publish time and publisher from the packument %s (offline)", ErrNotInCache, what, pURL)
	}
	memo := "full\n" + pURL
	pf, _ := c.packuments.Load(memo)
	// A download shared with callers that wanted other versions may not
	// have kept this one: then one more, of this caller's own.
	for _, flight := range []string{memo, memo + "\n" + version} {
		if pf != nil && pf.(*packumentFacts).kept(version) {
			break
		}
		v, err, _ := c.flights.Do(flight, func() (any, error) {
			keep := make(map[string]bool, len(siblings)+1)
			keep[version] = true
			for _, s := range siblings {
				keep[s] = true
			}
			var pf *packumentFacts
			err := c.get(ctx, getSpec{url: pURL, accept: acceptJSON, limit: c.opts.MaxBody, what: name}, func(r io.Reader) error {
				var err error
				pf, err = decodePublishFacts(r, name, pURL, keep)
				return err
			})
			if err == nil {
				c.packuments.Store(memo, pf)
			}
			return pf, err
		})
		if err != nil {
			return nil, fmt.Errorf("%s: packument: %w", what, err)
		}
		pf = v
	}
	pi, err := pf.(*packumentFacts).lookup(name, version, pURL)
	if err != nil {
		return nil, err
	}
	if data, err := json.Marshal(pi); err == nil {
		c.cachePutSealed(key, data)
	}
	return pi, nil
}

func (pf *packumentFacts) lookup(name, version, pURL string) (*PublishInfo, error) {
	what := name + "@" + version
	vf, ok := pf.versions[version]
	if !ok {
		return nil, fmt.Errorf("%w: %s: version %s is not in the packument %s", ErrNotFound, what, version, pURL)
	}
	if vf.err != nil {
		return nil, fmt.Errorf("%w: %s: GET %s: %w", ErrMalformed, what, pURL, vf.err)
	}
	pi := vf.info
	if raw, ok := pf.times[version]; ok {
		t, err := time.Parse(time.RFC3339Nano, raw)
		if err != nil {
			return nil, fmt.Errorf("%w: %s: GET %s: time[%s] is not an RFC 3339 time", ErrMalformed, what, pURL, version)
		}
		pi.Time = t
	}
	return &pi, nil
}

// decodePublishFacts streams a full packument for name, keeping time[*]
// and the publisher fields of every version. Memory is bounded by the
// largest single token (a readme) plus the kept facts, not by the document.
func decodePublishFacts(r io.Reader, name, pURL string, keep map[string]bool) (*packumentFacts, error) {
	pf := &packumentFacts{keep: keep, times: map[string]string{}, versions: map[string]versionFacts{}}
	gotName := ""
	err := walkObject(r, pURL, name, func(dec *jsontext.Decoder, key string) error {
		switch key {
		case "name":
			s, err := readString(dec)
			gotName = s
			return err
		case "time":
			if dec.PeekKind() != '{' {
				return dec.SkipValue() // absent in effect; versions get no time
			}
			return eachMember(dec, func(v string) error {
				if dec.PeekKind() != '"' {
					return dec.SkipValue()
				}
				s, err := readString(dec)
				if v != "created" && v != "modified" && pf.kept(v) {
					pf.times[v] = s
				}
				return err
			})
		case "versions":
			return eachMember(dec, func(v string) error {
				if !pf.kept(v) {
					return dec.SkipValue()
				}
				vf, err := decodeVersionFacts(dec, v)
				pf.versions[v] = vf
				return err
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
	return pf, nil
}

// decodeVersionFacts reads versions[v] at the decoder's position, keeping
// _npmUser and trustedPublisher. Member names are compared without
// allocating; other members are skipped unparsed.
func decodeVersionFacts(dec *jsontext.Decoder, v string) (versionFacts, error) {
	var vf versionFacts
	if dec.PeekKind() != '{' {
		vf.err = fmt.Errorf("versions[%s] is not an object", clip(v))
		return vf, dec.SkipValue()
	}
	if _, err := dec.ReadToken(); err != nil {
		return vf, err
	}
	var scratch []byte
	for dec.PeekKind() != '}' {
		raw, err := dec.ReadValue() // the member name, valid until the next read
		if err != nil {
			return vf, err
		}
		field := raw[1 : len(raw)-1]
		if bytes.IndexByte(field, '\\') >= 0 {
			if scratch, err = jsontext.AppendUnquote(scratch[:0], raw); err != nil {
				return vf, err
			}
			field = scratch
		}
		switch string(field) {
		case "_npmUser":
			val, err := dec.ReadValue()
			if err != nil {
				return vf, err
			}
			user, tp, ferr := parseNpmUser(val)
			if ferr != nil && vf.err == nil {
				vf.err = fmt.Errorf("versions[%s]._npmUser: %w", clip(v), ferr)
			}
			vf.info.NpmUser = user
			if tp != "" {
				vf.info.TrustedPublisher = tp
			}
		case "trustedPublisher":
			val, err := dec.ReadValue()
			if err != nil {
				return vf, err
			}
			tp, ferr := parseTrustedPublisher(val)
			if ferr != nil && vf.err == nil {
				vf.err = fmt.Errorf("versions[%s].trustedPublisher: %w", clip(v), ferr)
			}
			if tp != "" {
				vf.info.TrustedPublisher = tp
			}
		default:
			if err := dec.SkipValue(); err != nil {
				return vf, err
			}
		}
	}
	_, err := dec.ReadToken() // '}'
	return vf, err
}

// parseNpmUser reads _npmUser: an object {name, email, trustedPublisher}
// or, in very old documents, a "name <email>" string.
func parseNpmUser(raw jsontext.Value) (user, trustedPublisher string, err error) {
	switch raw.Kind() {
	case 'n':
		return "", "", nil
	case '"':
		var s string
		if err := json.Unmarshal(raw, &s, jsonOpts); err != nil {
			return "", "", err
		}
		name, _, _ := strings.Cut(s, " <")
		return strings.TrimSpace(name), "", nil
	case '{':
		var u struct {
			Name             string         `json:"name"`
			TrustedPublisher jsontext.Value `json:"trustedPublisher"`
		}
		if err := json.Unmarshal(raw, &u, jsonOpts); err != nil {
			return "", "", err
		}
		tp, err := parseTrustedPublisher(u.TrustedPublisher)
		return u.Name, tp, err
	}
	return "", "", errors.New("neither an object nor a string")
}

// parseTrustedPublisher maps a trustedPublisher value to its provider id:
// {"id": "github", ...} gives "github"; a string is the id; an object
// without id or true gives "unknown"; null, false or absent give "".
func parseTrustedPublisher(raw jsontext.Value) (string, error) {
	if len(raw) == 0 {
		return "", nil
	}
	switch raw.Kind() {
	case 'n', 'f':
		return "", nil
	case 't':
		return "unknown", nil
	case '"':
		var s string
		if err := json.Unmarshal(raw, &s, jsonOpts); err != nil {
			return "", err
		}
		if s == "" {
			return "", nil
		}
		return s, nil
	case '{':
		var tp struct {
			ID jsontext.Value `json:"id"`
		}
		if err := json.Unmarshal(raw, &tp, jsonOpts); err != nil {
			return "", err
		}
		if tp.ID.Kind() == '"' {
			var id string
			if err := json.Unmarshal(tp.ID, &id, jsonOpts); err != nil {
				return "", err
			}
			if id != "" {
				return id, nil
			}
		}
		return "unknown", nil
	}
	return "", fmt.Errorf("unexpected JSON %v", raw.Kind())
}
