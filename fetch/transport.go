package fetch

import (
	"crypto/tls"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"time"
)

// proxyFor picks the proxy for a request URL (nil = direct).
func (c *Config) proxyFor(u *url.URL) *url.URL {
	var p *url.URL
	switch u.Scheme {
	case "https":
		p = c.httpsProxy
	case "http":
		p = c.httpProxy
	}
	if p == nil || c.bypassProxy(u) {
		return nil
	}
	return p
}

// bypassProxy applies noproxy / NO_PROXY: "*" matches everything; an entry
// matches its host and subdomains (a leading "." or "*." is optional); an
// entry with ":port" matches that port only; IP addresses and CIDR ranges
// match addresses.
func (c *Config) bypassProxy(u *url.URL) bool {
	host := strings.ToLower(u.Hostname())
	port := u.Port()
	if port == "" {
		port = defaultPort(u.Scheme)
	}
	addr, addrErr := netip.ParseAddr(host)
	for _, e := range c.noProxy {
		if e == "*" {
			return true
		}
		if pfx, err := netip.ParsePrefix(e); err == nil {
			if addrErr == nil && pfx.Contains(addr) {
				return true
			}
			continue
		}
		h, p := e, ""
		if hh, pp, err := net.SplitHostPort(e); err == nil {
			h, p = hh, pp
		}
		if p != "" && p != port {
			continue
		}
		h = strings.TrimPrefix(strings.TrimPrefix(h, "*"), ".")
		h = strings.Trim(h, "[]")
		if h == "" {
			continue
		}
		if host == h || strings.HasSuffix(host, "."+h) {
			return true
		}
	}
	return false
}

// newTransport builds the real transport: keep-alive with enough idle
// connections per host for the concurrency limit, HTTP/2 where the server
// offers it, TLS roots from cafile/ca, strict-ssl, and proxies.
func newTransport(cfg *Config, concurrency int) *http.Transport {
	dialer := &net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}
	tlsConf := &tls.Config{MinVersion: tls.VersionTLS12}
	if cfg.rootCAs != nil {
		tlsConf.RootCAs = cfg.rootCAs
	}
	if !cfg.strictSSL {
		tlsConf.InsecureSkipVerify = true //nolint:gosec // the user's strict-ssl=false, shown by Config.String
	}
	return &http.Transport{
		Proxy:                 func(r *http.Request) (*url.URL, error) { return cfg.proxyFor(r.URL), nil },
		DialContext:           dialer.DialContext,
		TLSClientConfig:       tlsConf,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          4 * concurrency,
		MaxIdleConnsPerHost:   concurrency,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   15 * time.Second,
		ExpectContinueTimeout: time.Second,
	}
}
