package fetch

import (
	"context"
	"encoding/json/jsontext"
	"encoding/json/v2"
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
			err := c.get(ctx, getSpec{url: pURL, accept: acceptJSON, limit: c.opts.MaxBody, reserve: streamReserve, what: name}, func(r io.Reader) error {
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

// decodePublishFacts streams a full packument for name (see stream.go),
// keeping time[v] and the publisher fields of the versions in keep (all
// when keep is nil). Memory is bounded by the longest token the tokenizer
// is given (64 KiB) plus the kept facts, not by the document. A kept
// version listed twice in time or versions makes the document malformed.
func decodePublishFacts(r io.Reader, name, pURL string, keep map[string]bool) (*packumentFacts, error) {
	pf := &packumentFacts{keep: keep, times: map[string]string{}, versions: map[string]versionFacts{}}
	gotName := ""
	var top seenMembers
	err := walkObject(r, pURL, name, func(dec *jsontext.Decoder, key string) error {
		if top.repeated([]byte(key), "name", "time", "versions") {
			return fmt.Errorf("member %q appears twice", key)
		}
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
				if v == "created" || v == "modified" || !pf.kept(v) || dec.PeekKind() != '"' {
					return dec.SkipValue()
				}
				if _, dup := pf.times[v]; dup {
					return fmt.Errorf("time[%s] appears twice", clip(v))
				}
				s, err := readString(dec)
				if len(s) > maxKeptString {
					s = "" // not a time: lookup says so
				}
				pf.times[v] = s
				return err
			})
		case "versions":
			return eachMember(dec, func(v string) error {
				if !pf.kept(v) {
					return dec.SkipValue()
				}
				if _, dup := pf.versions[v]; dup {
					return fmt.Errorf("versions[%s] appears twice", clip(v))
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
// _npmUser and trustedPublisher; other members are skipped unparsed.
func decodeVersionFacts(dec *jsontext.Decoder, v string) (versionFacts, error) {
	var vf versionFacts
	field := "versions[" + clip(v) + "]"
	bad, err := objectMembers(dec, field, false, []string{"_npmUser", "trustedPublisher"}, func(key []byte) (bad, err error) {
		var tp string
		switch string(key) {
		case "_npmUser":
			vf.info.NpmUser, tp, bad, err = readNpmUser(dec, field+"._npmUser")
		case "trustedPublisher":
			tp, bad, err = readTrustedPublisher(dec, field+".trustedPublisher")
		default:
			return nil, dec.SkipValue()
		}
		if tp != "" {
			vf.info.TrustedPublisher = tp
		}
		return bad, err
	})
	vf.err = bad
	return vf, err
}

// readNpmUser reads _npmUser: an object {name, email, trustedPublisher}
// or, in very old documents, a "name <email>" string; null is absent.
func readNpmUser(dec *jsontext.Decoder, field string) (user, trustedPublisher string, bad, err error) {
	switch dec.PeekKind() {
	case 'n', '"':
		s, bad, err := keptString(dec, field)
		name, _, _ := strings.Cut(s, " <")
		return strings.TrimSpace(name), "", bad, err
	case '{':
		bad, err = objectMembers(dec, field, false, []string{"name", "trustedPublisher"}, func(key []byte) (bad, err error) {
			switch string(key) {
			case "name":
				user, bad, err = keptString(dec, field+".name")
			case "trustedPublisher":
				trustedPublisher, bad, err = readTrustedPublisher(dec, field+".trustedPublisher")
			default:
				err = dec.SkipValue()
			}
			return bad, err
		})
		return user, trustedPublisher, bad, err
	}
	return "", "", fmt.Errorf("%s is neither an object nor a string", field), dec.SkipValue()
}

// readTrustedPublisher maps a trustedPublisher value to its provider id:
// {"id": "github", ...} gives "github"; a string is the id; an object
// without a string id, or true, gives "unknown"; null, false or "" give "".
func readTrustedPublisher(dec *jsontext.Decoder, field string) (id string, bad, err error) {
	switch dec.PeekKind() {
	case 'n', 'f':
		return "", nil, dec.SkipValue()
	case 't':
		return "unknown", nil, dec.SkipValue()
	case '"':
		return keptString(dec, field)
	case '{':
		bad, err = objectMembers(dec, field, false, []string{"id"}, func(key []byte) (bad, err error) {
			if string(key) != "id" || dec.PeekKind() != '"' {
				return nil, dec.SkipValue()
			}
			id, bad, err = keptString(dec, field+".id")
			return bad, err
		})
		if id == "" && bad == nil {
			id = "unknown"
		}
		return id, bad, err
	}
	return "", fmt.Errorf("%s: unexpected JSON %v", field, dec.PeekKind()), dec.SkipValue()
}
