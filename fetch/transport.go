package fetch

import (
	"crypto/tls"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"golang.org/x/net/http/httpproxy"
)

// proxyFunc returns the proxy chooser of the transport: https URLs go
// through httpsProxy, http URLs through httpProxy (nil: direct), except
// for the hosts noProxy lists. Matching is golang.org/x/net/http/httpproxy's,
// as net/http applies it to the environment: "*" matches every host; an IP
// address or CIDR range matches addresses; a name matches that host and its
// subdomains; an entry with ":port" matches that port only. npm reads a
// leading "." (or "*.") as optional, where httpproxy would match
// subdomains only: such entries are handed to it without it, so that
// ".example.invalid" keeps npm's meaning and matches example.invalid too.
// httpproxy never sends requests for localhost or a loopback address
// through a proxy (npm would): a proxy elsewhere cannot reach this
// machine's loopback.
func proxyFunc(httpsProxy, httpProxy *url.URL, noProxy []string) func(*url.URL) (*url.URL, error) {
	entries := make([]string, 0, len(noProxy))
	for _, e := range noProxy {
		if e != "*" {
			e = strings.TrimPrefix(strings.TrimPrefix(e, "*"), ".")
		}
		if len(e) > 2 && e[0] == '[' && e[len(e)-1] == ']' {
			e = e[1 : len(e)-1] // an IPv6 address without a port
		}
		if e != "" {
			entries = append(entries, e)
		}
	}
	cfg := httpproxy.Config{NoProxy: strings.Join(entries, ",")}
	if httpsProxy != nil {
		cfg.HTTPSProxy = httpsProxy.String()
	}
	if httpProxy != nil {
		cfg.HTTPProxy = httpProxy.String()
	}
	return cfg.ProxyFunc()
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
	proxy := proxyFunc(cfg.httpsProxy, cfg.httpProxy, cfg.noProxy)
	return &http.Transport{
		Proxy:                 func(r *http.Request) (*url.URL, error) { return proxy(r.URL) },
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
