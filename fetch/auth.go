package fetch

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// secret holds an Authorization header value. Its String and GoString hide
// it, so no fmt verb can print it by accident.
type secret string

func (secret) String() string   { return "[redacted]" }
func (secret) GoString() string { return "[redacted]" }

// Format prints "[redacted]" for every verb.
func (secret) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, "[redacted]") }

// credential is the auth npm keys by "nerf dart": //host[:port]/path/.
type credential struct {
	host   string // lower-case host name, no port
	port   string // "" = the default port of the request's scheme
	path   string // leading and trailing slash
	header secret // full Authorization header value
	kind   string // for String: "bearer token", "basic auth ..."
	source string // file:line of the setting
}

// Format prints the credential without its secret, for every verb.
func (c credential) Format(f fmt.State, _ rune) {
	fmt.Fprintf(f, "%s %s [redacted] (from %s)", c.prefix(), c.kind, c.source)
}

func (c credential) prefix() string {
	hp := c.host
	if c.port != "" {
		hp += ":" + c.port
	}
	return "//" + hp + c.path
}

// newCredential parses the nerf-dart prefix of an auth key.
func newCredential(prefix, source string) (credential, error) {
	rest, ok := strings.CutPrefix(prefix, "//")
	if !ok {
		return credential{}, fmt.Errorf("%w: %s: auth key must start with //host/", ErrConfig, source)
	}
	hostport, path, _ := strings.Cut(rest, "/")
	path = "/" + path
	if !strings.HasSuffix(path, "/") {
		path += "/"
	}
	u, err := url.Parse("http://" + hostport)
	if err != nil || u.Hostname() == "" || u.User != nil || u.Path != "" {
		return credential{}, fmt.Errorf("%w: %s: auth key //%s has no valid host", ErrConfig, source, hostport)
	}
	port := u.Port()
	if port != "" {
		if n, err := strconv.Atoi(port); err != nil || n <= 0 || n > 65535 {
			return credential{}, fmt.Errorf("%w: %s: auth key //%s has an invalid port", ErrConfig, source, hostport)
		}
	}
	return credential{host: strings.ToLower(u.Hostname()), port: port, path: path, source: source}, nil
}

func defaultPort(scheme string) string {
	switch scheme {
	case "https":
		return "443"
	case "http":
		return "80"
	}
	return ""
}

// matches reports whether the credential applies to u: same host, same
// port (a credential without a port matches the scheme's default port) and
// u's path inside the credential's path, segment-aligned.
func (c credential) matches(u *url.URL) bool {
	if !strings.EqualFold(u.Hostname(), c.host) {
		return false
	}
	port := u.Port()
	if port == "" {
		port = defaultPort(u.Scheme)
	}
	want := c.port
	if want == "" {
		want = defaultPort(u.Scheme)
	}
	if port != want || want == "" {
		return false
	}
	p := u.EscapedPath()
	if !strings.HasSuffix(p, "/") {
		// "/a/b" is inside "/a/b/" and "/a/"; "/a/bc" is not inside "/a/b/"
		return strings.HasPrefix(p+"/", c.path)
	}
	return strings.HasPrefix(p, c.path)
}

// authFor returns the Authorization header for a request URL: the
// credential with the longest matching path, if any.
func (c *Config) authFor(u *url.URL) (secret, bool) {
	best := -1
	for i, cr := range c.creds {
		if cr.matches(u) && (best < 0 || len(cr.path) > len(c.creds[best].path)) {
			best = i
		}
	}
	if best < 0 {
		return "", false
	}
	return c.creds[best].header, true
}

// authTransport sets the Authorization header on every request, redirect
// hops included, from the credential that belongs to that request's own
// URL. A redirect to another host or path therefore carries that target's
// credential or none: never the original one.
type authTransport struct {
	cfg       *Config
	base      http.RoundTripper
	userAgent string
}

func (t *authTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	r := req.Clone(req.Context())
	r.Header.Del("Authorization")
	if h, ok := t.cfg.authFor(r.URL); ok {
		r.Header.Set("Authorization", string(h))
	}
	if r.Header.Get("User-Agent") == "" {
		r.Header.Set("User-Agent", t.userAgent)
	}
	return t.base.RoundTrip(r)
}
