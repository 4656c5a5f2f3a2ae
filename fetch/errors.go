package fetch

import (
	"errors"
	"fmt"
	"net/http"
)

// Sentinel errors. Every error returned by this package wraps one of them
// (or a context error) and names the package (name@version) and the URL it
// concerns, never with credentials.
var (
	// ErrNotFound means the registry answered 404 for the package version
	// (or the version is absent from its packument).
	ErrNotFound = errors.New("not found in registry")
	// ErrNoKeys means the registry answered the keys endpoint with 404 or
	// 400: it publishes no signing keys.
	ErrNoKeys = errors.New("registry publishes no signing keys")
	// ErrNotInCache means a request was needed in offline mode and the
	// cache had no usable entry.
	ErrNotInCache = errors.New("not in cache")
	// ErrTooLarge means a response body exceeded its size cap.
	ErrTooLarge = errors.New("response too large")
	// ErrHTTPStatus means the registry answered with an unexpected HTTP
	// status; errors.As with *StatusError gives the code.
	ErrHTTPStatus = errors.New("unexpected HTTP status")
	// ErrMalformed means a response was not the JSON document expected:
	// not JSON, an HTML error page, a missing field, or a document for a
	// different name or version than requested.
	ErrMalformed = errors.New("malformed registry response")
	// ErrNoRegistry means no registry is configured anywhere and none can
	// be inferred from the lockfile.
	ErrNoRegistry = errors.New("no registry configured")
	// ErrConfig means the npm configuration is invalid (the message names
	// the file and line) or the client options contradict each other.
	ErrConfig = errors.New("invalid npm configuration")
	// ErrInvalidSpec means a package name or version cannot be a registry
	// package (internal/npmspec's ValidName and ValidVersion).
	ErrInvalidSpec = errors.New("invalid package name or version")
	// ErrNoAttestations means Attestations was called for a manifest whose
	// dist.attestations is absent.
	ErrNoAttestations = errors.New("version has no attestations")
	// ErrHostUnresponsive means the request was not made: earlier requests
	// to the same host timed out several times in a row (the Client's
	// circuit breaker); the message says how many and the last failure.
	ErrHostUnresponsive = errors.New("registry host not responding")
)

// StatusError is the error for an HTTP response with an unexpected status.
// It matches ErrHTTPStatus with errors.Is (and ErrNotFound for 404).
type StatusError struct {
	StatusCode int    // the HTTP status code
	URL        string // the request URL, without credentials
}

// Error reports the status and URL.
func (e *StatusError) Error() string {
	return fmt.Sprintf("GET %s: HTTP %d %s", e.URL, e.StatusCode, http.StatusText(e.StatusCode))
}

// Unwrap makes errors.Is(err, ErrHTTPStatus) hold, and errors.Is(err,
// ErrNotFound) for a 404.
func (e *StatusError) Unwrap() []error {
	if e.StatusCode == http.StatusNotFound {
		return []error{ErrHTTPStatus, ErrNotFound}
	}
	return []error{ErrHTTPStatus}
}
