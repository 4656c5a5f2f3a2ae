package evidence

import (
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"
)

// Format names the bundle format; it changes whenever what a bundle means
// does.
const Format = "provaudit-evidence/v1"

// ManifestName is the member that describes the bundle.
const ManifestName = "manifest.json"

// Manifest is manifest.json: what was recorded, when, by what, for which
// lockfile and registries, with which trust material, and the SHA-256 and
// size of every other member.
type Manifest struct {
	Format string `json:"format"`
	// Tool is the program and version that recorded the bundle.
	Tool string `json:"tool"`
	// Recorded is when the recording audit ran: the instant it judged
	// signing keys at, and the instant an audit from the bundle judges
	// them at.
	Recorded time.Time `json:"recorded"`
	// Lockfile is the lockfile the bundle was recorded for.
	Lockfile Lockfile `json:"lockfile"`
	// Registries are the registries the lockfile's packages came from and
	// who named them.
	Registries Registries `json:"registries"`
	// Trust is the trust material the recording audit used.
	Trust Trust `json:"trust"`
	// History tells that the recording fetched release histories: every
	// package's full packument (reduced) and the attestations of the
	// earlier versions their identities are compared with. An audit from a
	// bundle without them (recorded with --no-history, or by a provaudit
	// that had no history rules) skips the release-line rules.
	History bool `json:"history,omitempty"`
	// Responses are the registries' answers, one per request.
	Responses []Response `json:"responses"`
	// Failures are the requests that got no answer when recorded.
	Failures []Failure `json:"failures"`
	// Members lists every member but the manifest.
	Members []Member `json:"members"`
}

// Lockfile identifies the lockfile a bundle was recorded for.
type Lockfile struct {
	// Path is the lockfile as the recording named it (a label).
	Path string `json:"path"`
	// SHA256 is the hex SHA-256 of its bytes.
	SHA256 string `json:"sha256"`
}

// Who named a registry (Registry.NamedBy).
const (
	NamedByUser    = "user"
	NamedByProject = "project"
)

// Registries are the registry decisions of the recording.
type Registries struct {
	// Default is the default registry URL.
	Default string `json:"default"`
	// Used lists every registry a registry package of the lockfile maps
	// to, and the default one, sorted by URL.
	Used []Registry `json:"used"`
}

// Registry is one registry and who named it.
type Registry struct {
	URL string `json:"url"`
	// NamedBy is NamedByUser when the person running the recording named
	// it (their listed keys are then trusted), else NamedByProject.
	NamedBy string `json:"namedBy"`
	// Source is the setting that named it (a label).
	Source string `json:"source"`
}

// Trust records the trust material of the recording. It is not trust by
// itself: see [Bundle.ChooseTrust].
type Trust struct {
	TrustedRoot TrustPiece `json:"trustedRoot"`
	NpmKeys     TrustPiece `json:"npmKeys"`
	// TUF is the member holding the TUF update (in trustupdate's stored
	// form) the pieces came from, when one did; "" otherwise.
	TUF string `json:"tuf,omitempty"`
	// PinnedKeysOnly tells that the recording used only pinned keys
	// (--npm-keys) and asked no registry for its keys.
	PinnedKeysOnly bool `json:"pinnedKeysOnly"`
}

// TrustPiece is one piece of recorded trust material.
type TrustPiece struct {
	// Member holds the material's bytes.
	Member string `json:"member"`
	// Kind is where the recording took it from: TrustEmbedded, TrustTUF
	// or TrustFile.
	Kind string `json:"kind"`
	// Source says where the recording took it from (a label).
	Source string `json:"source"`
}

// Request identifies a recorded request.
type Request struct {
	Method string `json:"method"`
	URL    string `json:"url"`
	// Accept is the request's Accept header: one URL serves the full and
	// the abbreviated packument.
	Accept string `json:"accept,omitempty"`
}

func (r Request) String() string {
	s := r.Method + " " + r.URL
	if r.Accept != "" {
		s += " (Accept: " + r.Accept + ")"
	}
	return s
}

// Response is a recorded answer.
type Response struct {
	Request
	Status      int    `json:"status"`
	ContentType string `json:"contentType,omitempty"`
	Location    string `json:"location,omitempty"`
	// Member holds the body, as the client read it.
	Member string `json:"member"`
	// Reduced tells that the body is a full packument reduced to the facts
	// provaudit reads of the lockfile's versions (fetch.ReducePackument).
	Reduced bool `json:"reduced,omitempty"`
}

// Failure is a request that got no usable answer when recorded.
type Failure struct {
	Request
	Error string `json:"error"`
}

// Member is one member of the bundle.
type Member struct {
	Name   string `json:"name"`
	SHA256 string `json:"sha256"`
	Size   int64  `json:"size"`
}

// maxNameLen bounds a member name.
const maxNameLen = 128

// cleanName checks a member name: a relative slash-separated path of
// letters, digits, '.', '_' and '-', without empty, "." or ".." elements. A
// leading "./" (as tar writes when packing a folder) is dropped.
func cleanName(name string) (string, error) {
	n := strings.TrimPrefix(name, "./")
	if n == "" || len(n) > maxNameLen {
		return "", fmt.Errorf("a member name must have 1 to %d characters", maxNameLen)
	}
	for _, c := range n {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-' || c == '/') {
			return "", fmt.Errorf("character %q is not allowed in a member name", c)
		}
	}
	for _, el := range strings.Split(n, "/") {
		switch el {
		case "":
			return "", errors.New("a member name must be a relative path without empty elements")
		case ".", "..":
			return "", fmt.Errorf("a member name must not contain %q", el)
		}
	}
	return n, nil
}

// validate checks the manifest's own consistency (the members themselves are
// checked against it by Read).
func (m *Manifest) validate(lim Limits) error {
	if m.Format != Format {
		return fmt.Errorf("format %q, want %q", m.Format, Format)
	}
	if m.Recorded.IsZero() {
		return errors.New("no recording time")
	}
	if !isHexSHA256(m.Lockfile.SHA256) {
		return fmt.Errorf("lockfile sha256 %q is not a hex SHA-256", clip(m.Lockfile.SHA256))
	}
	if err := m.Registries.validate(); err != nil {
		return err
	}
	if len(m.Members) > lim.MaxMembers {
		return fmt.Errorf("lists %d members, more than %d", len(m.Members), lim.MaxMembers)
	}
	listed := make(map[string]bool, len(m.Members))
	for _, mem := range m.Members {
		n, err := cleanName(mem.Name)
		if err != nil || n != mem.Name || n == ManifestName {
			return fmt.Errorf("member name %q is not valid", clip(mem.Name))
		}
		if listed[n] {
			return fmt.Errorf("member %s is listed twice", n)
		}
		listed[n] = true
		if !isHexSHA256(mem.SHA256) {
			return fmt.Errorf("member %s: sha256 %q is not a hex SHA-256", n, clip(mem.SHA256))
		}
		if mem.Size < 0 || mem.Size > lim.MaxMemberSize {
			return fmt.Errorf("member %s: size %d is not between 0 and %d", n, mem.Size, lim.MaxMemberSize)
		}
	}
	refer := func(what, member string) error {
		if !listed[member] {
			return fmt.Errorf("%s refers to member %q, which the manifest does not list", what, clip(member))
		}
		return nil
	}
	for _, p := range []struct {
		what  string
		piece TrustPiece
	}{{"trust.trustedRoot", m.Trust.TrustedRoot}, {"trust.npmKeys", m.Trust.NpmKeys}} {
		if err := refer(p.what, p.piece.Member); err != nil {
			return err
		}
		if k := p.piece.Kind; k != TrustEmbedded && k != TrustTUF && k != TrustFile {
			return fmt.Errorf("%s: kind %q, want %q, %q or %q", p.what, clip(k), TrustEmbedded, TrustTUF, TrustFile)
		}
	}
	if m.Trust.TUF != "" {
		if err := refer("trust.tuf", m.Trust.TUF); err != nil {
			return err
		}
	}
	seen := make(map[Request]bool, len(m.Responses)+len(m.Failures))
	for i := range m.Responses {
		r := &m.Responses[i]
		if err := r.Request.validate(); err != nil {
			return fmt.Errorf("response %d: %w", i+1, err)
		}
		if seen[r.Request] {
			return fmt.Errorf("response %d: %s is recorded twice", i+1, r.Request)
		}
		seen[r.Request] = true
		if r.Status < 100 || r.Status > 599 {
			return fmt.Errorf("response %d (%s): status %d", i+1, r.Request, r.Status)
		}
		if err := refer(fmt.Sprintf("response %d (%s)", i+1, r.Request), r.Member); err != nil {
			return err
		}
	}
	for i := range m.Failures {
		f := &m.Failures[i]
		if err := f.Request.validate(); err != nil {
			return fmt.Errorf("failure %d: %w", i+1, err)
		}
		if seen[f.Request] {
			return fmt.Errorf("failure %d: %s is recorded twice", i+1, f.Request)
		}
		seen[f.Request] = true
	}
	return nil
}

func (r Request) validate() error {
	if r.Method == "" || strings.ContainsAny(r.Method, " \r\n") {
		return fmt.Errorf("method %q", clip(r.Method))
	}
	if err := httpURL(r.URL); err != nil {
		return err
	}
	return nil
}

func (rs Registries) validate() error {
	if err := httpURL(rs.Default); err != nil {
		return fmt.Errorf("default registry: %w", err)
	}
	for _, r := range rs.Used {
		if err := httpURL(r.URL); err != nil {
			return fmt.Errorf("registry: %w", err)
		}
		if r.NamedBy != NamedByUser && r.NamedBy != NamedByProject {
			return fmt.Errorf("registry %s: namedBy %q, want %q or %q", r.URL, clip(r.NamedBy), NamedByUser, NamedByProject)
		}
	}
	return nil
}

func httpURL(s string) error {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("%q is not an http(s) URL", clip(s))
	}
	return nil
}

func isHexSHA256(s string) bool {
	if len(s) != 64 || strings.ToLower(s) != s {
		return false
	}
	_, err := hex.DecodeString(s)
	return err == nil
}

// clip shortens untrusted text quoted in errors.
func clip(s string) string {
	const n = 80
	if len(s) > n {
		return s[:n] + "..."
	}
	return s
}
