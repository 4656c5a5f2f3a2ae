package fetch

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net"
	"net/http"
	"net/url"
	"strings"
	"syscall"
)

// Cause says, for an error of this package, whether it is a failure of a
// whole registry host rather than of one package (the host cannot be
// reached, its TLS certificate is not trusted, it refuses the credentials,
// it stopped answering), and if so describes it in one sentence that names
// the host and no package. Reports print such a cause once with the number
// of packages it affected instead of once per package.
func Cause(err error) (string, bool) {
	if err == nil {
		return "", false
	}
	var se *StatusError
	if errors.As(err, &se) {
		host := hostOf(se.URL)
		switch se.StatusCode {
		case http.StatusUnauthorized, http.StatusForbidden, http.StatusProxyAuthRequired:
			return host + " answered " + strings.TrimPrefix(se.Error(), "GET "+se.URL+": ") +
				": check the credentials for it (//host/:_authToken in your npmrc) and the proxy settings", true
		}
		return "", false
	}
	var ue *url.Error
	host := "the registry"
	if errors.As(err, &ue) {
		host = hostOf(ue.URL)
	}
	var dnsErr *net.DNSError
	var unknownAuth x509.UnknownAuthorityError
	var hostnameErr x509.HostnameError
	var certInvalid x509.CertificateInvalidError
	var recordErr tls.RecordHeaderError
	switch {
	case ue == nil:
		// Not a request failure: the breaker's own error without one, or
		// not a registry-wide problem at all.
		if errors.Is(err, ErrHostUnresponsive) {
			return "the registry stopped answering: requests to it timed out, so no further ones were made in this run", true
		}
		return "", false
	case errors.As(err, &dnsErr):
		return "cannot resolve " + host + ": " + dnsErr.Error(), true
	case errors.Is(err, syscall.ECONNREFUSED):
		return host + " refused the connection (is the registry URL right, and the registry up?)", true
	case errors.As(err, &unknownAuth), errors.As(err, &hostnameErr), errors.As(err, &certInvalid):
		return "the TLS certificate of " + host + " is not trusted: " + lastClause(err) + " (a proxy that intercepts TLS needs its CA in cafile)", true
	case errors.As(err, &recordErr):
		return host + " does not speak TLS: " + lastClause(err), true
	case errors.Is(err, syscall.ENETUNREACH), errors.Is(err, syscall.EHOSTUNREACH):
		return host + " cannot be reached: " + lastClause(err), true
	case errors.Is(err, ErrHostUnresponsive):
		return host + " stopped answering: requests to it timed out, so no further ones were made in this run", true
	}
	return "", false
}

// hostOf is the scheme and host of a URL, as a registry's name in a cause.
func hostOf(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return "the registry"
	}
	return u.Scheme + "://" + u.Host
}

// lastClause is the innermost part of an error's message, after its last
// ": " (the cause without the URLs and packages wrapped around it).
func lastClause(err error) string {
	msg := err.Error()
	if i := strings.LastIndex(msg, ": "); i >= 0 && i+2 < len(msg) {
		return msg[i+2:]
	}
	return msg
}
