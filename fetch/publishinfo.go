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

// versionFacts is what the streaming decoder keeps of one version: the
// facts of PublishInfo and those of a release history (History), or why
// the version cannot be read at all.
type versionFacts struct {
	info PublishInfo
	hist historyFacts
	err  error // versions[v] is not an object
}

// historyFacts are the facts of one version a release history needs,
// beyond PublishInfo's. A malformed field is a fact that is missing: it
// never fails the version.
type historyFacts struct {
	approver   string // _npmUser.approver.name
	provenance string // dist.attestations.provenance.predicateType
	attested   bool   // dist.attestations present
	signed     bool   // dist.signatures is a non-empty array
	integrity  string // dist.integrity
	scripts    installScripts
}

// packumentFacts is what the streaming decoder keeps from a full packument:
// the facts of the versions in keep (all versions when keep is nil) and,
// when lines is set, of every version on one of those release lines
// (npmspec.ReleaseLine; prereleases belong to none).
type packumentFacts struct {
	keep     map[string]bool
	lines    map[string]bool
	times    map[string]string
	versions map[string]versionFacts
	// lineKept counts the bytes kept for line versions outside keep,
	// bounded by maxHistoryBytes; tooLarge says the bound was passed.
	lineKept int
	tooLarge error
}

// kept reports whether the facts of version were looked for (a version
// that was looked for but is absent is an answer too: not found).
func (pf *packumentFacts) kept(version string) bool {
	return pf.keep == nil || pf.keep[version] || pf.onLine(version)
}

// onLine reports whether version is kept for a release history only.
func (pf *packumentFacts) onLine(version string) bool {
	if pf.lines == nil || pf.keep[version] {
		return false
	}
	l := npmspec.ReleaseLine(version)
	return l != "" && pf.lines[l]
}

// charge counts n bytes kept for a line version and fails past
// maxHistoryBytes: a hostile packument must not make the history of a
// release line cost unbounded memory.
func (pf *packumentFacts) charge(version string, n int) error {
	if !pf.onLine(version) {
		return nil
	}
	if pf.lineKept += n + 64; pf.lineKept > maxHistoryBytes {
		pf.tooLarge = fmt.Errorf("the versions on the release lines %s take more than %d bytes of facts", strings.Join(sortedKeys(pf.lines), ", "), maxHistoryBytes)
		return pf.tooLarge
	}
	return nil
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
	m, err := c.packument(ctx, name, version, pURL, siblings, false)
	if err != nil {
		return nil, fmt.Errorf("%s: packument: %w", what, err)
	}
	pi, err := m.(*packumentFacts).lookup(name, version, pURL)
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
// keeping time[v] and the facts of the versions in keep (all when keep is
// nil) and, when lines is not nil, of the versions on those release lines
// (see packumentFacts). Memory is bounded by the longest token the
// tokenizer is given (64 KiB) plus the kept facts, not by the document;
// the facts of line versions are bounded by maxHistoryBytes. A kept
// version listed twice in time or versions makes the document malformed.
func decodePublishFacts(r io.Reader, name, pURL string, keep, lines map[string]bool) (*packumentFacts, error) {
	pf := &packumentFacts{keep: keep, lines: lines, times: map[string]string{}, versions: map[string]versionFacts{}}
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
				if err != nil {
					return err
				}
				return pf.charge(v, len(v)+len(s))
			})
		case "versions":
			return eachMember(dec, func(v string) error {
				if !pf.kept(v) {
					return dec.SkipValue()
				}
				if _, dup := pf.versions[v]; dup {
					return fmt.Errorf("versions[%s] appears twice", clip(v))
				}
				vf, err := decodeVersionFacts(dec, v, pf.lines != nil)
				pf.versions[v] = vf
				if err != nil {
					return err
				}
				return pf.charge(v, len(v)+vf.size())
			})
		}
		return dec.SkipValue()
	})
	if err != nil {
		if pf.tooLarge != nil {
			return nil, fmt.Errorf("%w: %s: GET %s: %w", ErrTooLarge, name, pURL, pf.tooLarge)
		}
		return nil, err
	}
	if gotName != name {
		return nil, fmt.Errorf("%w: %s: GET %s: the packument is for %s", ErrMalformed, name, pURL, clip(gotName))
	}
	return pf, nil
}

// size is about the bytes vf keeps.
func (vf *versionFacts) size() int {
	return len(vf.info.NpmUser) + len(vf.info.TrustedPublisher) + len(vf.hist.approver) + len(vf.hist.provenance) + len(vf.hist.integrity)
}

// decodeVersionFacts reads versions[v] at the decoder's position, keeping
// _npmUser and trustedPublisher and, with history, _npmUser.approver,
// dist (integrity, whether it has signatures, the provenance predicate
// type of its attestations) and the install scripts; other members are
// skipped unparsed. A member that is malformed (the wrong type, a string
// too long, a member repeated) is a fact that is missing: only a version
// that is not an object is malformed as a whole (err), because then
// nothing of it can be read.
func decodeVersionFacts(dec *jsontext.Decoder, v string, history bool) (versionFacts, error) {
	var vf versionFacts
	field := "versions[" + clip(v) + "]"
	if dec.PeekKind() != '{' {
		vf.err = fmt.Errorf("%s is not an object", field)
		return vf, dec.SkipValue()
	}
	// A member given twice is read by JSON.parse from its last copy and
	// here from its first: neither copy is a fact then (but install
	// scripts are the union of every copy).
	var seen seenMembers
	repeated := map[string]bool{}
	_, err := objectMembers(dec, field, false, nil, func(key []byte) (bad, err error) {
		if seen.repeated(key, "_npmUser", "trustedPublisher", "dist", "scripts") && string(key) != "scripts" {
			repeated[string(key)] = true
			return nil, dec.SkipValue()
		}
		switch string(key) {
		case "_npmUser":
			var u npmUser
			u, err = readNpmUser(dec, field+"._npmUser")
			vf.info.NpmUser, vf.hist.approver = u.name, u.approver
			if u.trustedPublisher != "" {
				vf.info.TrustedPublisher = u.trustedPublisher
			}
		case "trustedPublisher":
			var tp string
			tp, _, err = readTrustedPublisher(dec, field+".trustedPublisher")
			if tp != "" && vf.info.TrustedPublisher == "" {
				vf.info.TrustedPublisher = tp
			}
		case "dist":
			if !history {
				return nil, dec.SkipValue()
			}
			err = readHistoryDist(dec, field+".dist", &vf.hist)
		case "scripts":
			if !history {
				return nil, dec.SkipValue()
			}
			// Every copy counts: the scripts of either may run.
			var sc installScripts
			sc, err = readInstallScripts(dec)
			vf.hist.scripts |= sc
		default:
			err = dec.SkipValue()
		}
		return nil, err
	})
	if repeated["_npmUser"] || repeated["trustedPublisher"] {
		vf.info.NpmUser, vf.info.TrustedPublisher, vf.hist.approver = "", "", ""
	}
	if repeated["dist"] {
		vf.hist.integrity, vf.hist.signed, vf.hist.attested, vf.hist.provenance = "", false, false, ""
	}
	return vf, err
}

// npmUser is what is kept of _npmUser.
type npmUser struct {
	name, trustedPublisher, approver string
}

// readNpmUser reads _npmUser: an object {name, email, trustedPublisher,
// approver} or, in very old documents, a "name <email>" string; null is
// absent. A malformed _npmUser, or a malformed member of it, reads as
// missing facts (see decodeVersionFacts); err is a syntax error only.
func readNpmUser(dec *jsontext.Decoder, field string) (u npmUser, err error) {
	switch dec.PeekKind() {
	case 'n', '"':
		s, bad, err := keptString(dec, field)
		if bad != nil {
			return npmUser{}, err
		}
		name, _, _ := strings.Cut(s, " <")
		return npmUser{name: strings.TrimSpace(name)}, err
	case '{':
		_, err = objectMembers(dec, field, false, []string{"name", "trustedPublisher", "approver"}, func(key []byte) (bad, err error) {
			switch string(key) {
			case "name":
				u.name, _, err = keptString(dec, field+".name")
			case "trustedPublisher":
				u.trustedPublisher, _, err = readTrustedPublisher(dec, field+".trustedPublisher")
			case "approver":
				u.approver, err = readApprover(dec, field+".approver")
			default:
				err = dec.SkipValue()
			}
			return nil, err
		})
		return u, err
	}
	return npmUser{}, dec.SkipValue()
}

// readApprover reads _npmUser.approver, which npm's staged publishing
// writes ({name, email} of the maintainer who approved the staged version
// with two-factor authentication). It returns the approver's name; an
// approver without a name (an empty object, null, another type) is no
// approval.
func readApprover(dec *jsontext.Decoder, field string) (name string, err error) {
	if dec.PeekKind() != '{' {
		return "", dec.SkipValue()
	}
	_, err = objectMembers(dec, field, false, []string{"name"}, func(key []byte) (bad, err error) {
		if string(key) != "name" {
			return nil, dec.SkipValue()
		}
		name, _, err = keptString(dec, field+".name")
		return nil, err
	})
	return name, err
}

// readHistoryDist reads what a release history keeps of dist: integrity,
// whether signatures is a non-empty array (its entries are not kept) and
// the provenance predicate type of attestations.
func readHistoryDist(dec *jsontext.Decoder, field string, h *historyFacts) error {
	if dec.PeekKind() != '{' {
		return dec.SkipValue()
	}
	_, err := objectMembers(dec, field, false, []string{"integrity", "signatures", "attestations"}, func(key []byte) (bad, err error) {
		switch string(key) {
		case "integrity":
			h.integrity, _, err = keptString(dec, field+".integrity")
		case "signatures":
			h.signed, err = nonEmptyArray(dec)
		case "attestations":
			var d distDoc
			if bad, err = readAttestationRef(dec, field+".attestations", &d); bad == nil && d.Attestations != nil {
				h.attested = true
				if p := d.Attestations.Provenance; p != nil {
					h.provenance = p.PredicateType
				}
			}
		default:
			err = dec.SkipValue()
		}
		return nil, err
	})
	return err
}

// nonEmptyArray reports whether the value at the decoder's position is an
// array with at least one element, and skips it.
func nonEmptyArray(dec *jsontext.Decoder) (bool, error) {
	if dec.PeekKind() != '[' {
		return false, dec.SkipValue()
	}
	if _, err := dec.ReadToken(); err != nil {
		return false, err
	}
	n := 0
	for dec.PeekKind() != ']' {
		if err := dec.SkipValue(); err != nil {
			return false, err
		}
		n++
	}
	_, err := dec.ReadToken()
	return n > 0, err
}

// installScripts are the install-time scripts a version declares, as bits.
type installScripts uint8

// The install-time scripts npm runs when it installs a package, in the
// order it runs them.
const (
	scriptPreinstall installScripts = 1 << iota
	scriptInstall
	scriptPostinstall
)

var installScriptNames = []struct {
	bit  installScripts
	name string
}{{scriptPreinstall, "preinstall"}, {scriptInstall, "install"}, {scriptPostinstall, "postinstall"}}

// names lists the scripts, in the order npm runs them.
func (s installScripts) names() []string {
	var out []string
	for _, n := range installScriptNames {
		if s&n.bit != 0 {
			out = append(out, n.name)
		}
	}
	return out
}

// readInstallScripts reads scripts, keeping which of preinstall, install
// and postinstall are non-empty strings.
func readInstallScripts(dec *jsontext.Decoder) (installScripts, error) {
	if dec.PeekKind() != '{' {
		return 0, dec.SkipValue()
	}
	var s installScripts
	_, err := objectMembers(dec, "scripts", false, nil, func(key []byte) (bad, err error) {
		for _, n := range installScriptNames {
			if string(key) != n.name {
				continue
			}
			if dec.PeekKind() != '"' {
				return nil, dec.SkipValue()
			}
			tok, err := dec.ReadToken()
			if err == nil && strings.TrimSpace(tok.String()) != "" {
				s |= n.bit
			}
			return nil, err
		}
		return nil, dec.SkipValue()
	})
	return s, err
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
