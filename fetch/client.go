package fetch

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"mime"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sync/singleflight"
)

// Defaults of Options.
const (
	DefaultConcurrency  = 64
	DefaultTimeout      = 30 * time.Second
	DefaultRetries      = 3
	DefaultMaxBody      = 64 << 20
	DefaultRetryBackoff = 250 * time.Millisecond
	DefaultUserAgent    = "provaudit"

	// caps for the small documents (each also bounded by Options.MaxBody)
	maxVersionDoc   = 16 << 20
	maxAttestations = 4 << 20
	maxKeys         = 1 << 20

	maxBackoff    = 10 * time.Second
	maxRetryAfter = 60 * time.Second
	maxRedirects  = 10
)

// Options tune a Client. Zero values mean the defaults.
type Options struct {
	// Concurrency is the maximum number of requests in flight, across all
	// calls on the Client (default 64).
	Concurrency int
	// Timeout bounds one request attempt, body included (default 30s).
	Timeout time.Duration
	// Retries is how often a failed request is retried (default 3; a
	// negative value means no retries). 429, 408, 5xx other than 501,
	// connection resets and timeouts are retried; other 4xx never are.
	Retries int
	// RetryBackoff is the first retry's base delay; each retry doubles it
	// (capped at 10s) and adds jitter. A Retry-After header (seconds or an
	// HTTP date, capped at 60s) replaces it. Default 250ms.
	RetryBackoff time.Duration
	// CacheDir is the cache root (default os.UserCacheDir()/provaudit).
	CacheDir string
	// NoCache disables the cache: nothing is read or written.
	NoCache bool
	// Offline forbids all network access: only cached entries are used and
	// anything else fails with ErrNotInCache. The cache is left exactly as
	// it is (nothing written, merged or created).
	Offline bool
	// MaxBody caps a packument body (default 64 MiB). Version documents
	// (16 MiB), attestation bodies (4 MiB) and key sets (1 MiB) have lower
	// caps, each also bounded by MaxBody.
	MaxBody int64
	// UserAgent is sent with every request (default "provaudit").
	UserAgent string
	// Transport replaces the real transport (nil = one built from the
	// Config: proxies, cafile/ca, strict-ssl, HTTP/2). Credentials are
	// still added per request URL on top of it.
	Transport http.RoundTripper
}

// Stats counts a Client's work. Requests counts HTTP attempts (retries
// included).
type Stats struct {
	Requests, CacheHits, CacheMisses, Retries int64
	BytesRead                                 int64
	// CacheWriteErrors counts cache writes that failed (the cache is then
	// only less useful: nothing reads a failed entry).
	CacheWriteErrors int64
}

// Client fetches registry documents for provaudit. It is safe for
// concurrent use; one Client should serve a whole audit so that its
// concurrency limit and connection pool are shared.
type Client struct {
	cfg   *Config
	opts  Options
	hc    *http.Client
	sem   chan struct{}
	cache *Cache

	requests, hits, misses, retries, bytes, cacheErrs atomic.Int64

	flights singleflight.Group
	// packuments holds, for this Client's lifetime, the facts kept from
	// each full packument downloaded ("full\n"+URL -> *packumentFacts).
	packuments sync.Map
	noKeys     sync.Map // registry URL -> struct{}: keys endpoint said 404/400
}

// NewClient returns a Client for cfg. It creates the cache directory unless
// NoCache or Offline is set (an offline Client's cache is read-only: see
// OpenCacheReadOnly); a directory that cannot be created only means nothing
// is cached (Close says so). Offline together with NoCache is an error
// (there would be nothing to audit from).
func NewClient(cfg *Config, opts Options) (*Client, error) {
	if cfg == nil {
		return nil, fmt.Errorf("%w: nil Config", ErrConfig)
	}
	if opts.Concurrency <= 0 {
		opts.Concurrency = DefaultConcurrency
	}
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultTimeout
	}
	switch {
	case opts.Retries == 0:
		opts.Retries = DefaultRetries
	case opts.Retries < 0:
		opts.Retries = 0
	}
	if opts.RetryBackoff <= 0 {
		opts.RetryBackoff = DefaultRetryBackoff
	}
	if opts.MaxBody <= 0 {
		opts.MaxBody = DefaultMaxBody
	}
	if opts.UserAgent == "" {
		opts.UserAgent = DefaultUserAgent
	}
	if opts.Offline && opts.NoCache {
		return nil, fmt.Errorf("%w: offline mode needs the cache, but the cache is disabled", ErrConfig)
	}
	c := &Client{cfg: cfg, opts: opts, sem: make(chan struct{}, opts.Concurrency), cache: &Cache{}}
	if !opts.NoCache {
		dir := opts.CacheDir
		if dir == "" {
			ucd, err := os.UserCacheDir()
			if err != nil {
				return nil, fmt.Errorf("%w: no user cache directory (set a cache directory or disable the cache): %w", ErrConfig, err)
			}
			dir = filepath.Join(ucd, "provaudit")
		}
		open := OpenCache
		if opts.Offline {
			open = OpenCacheReadOnly // offline changes nothing on disk
		}
		cache, err := open(dir)
		if err != nil {
			return nil, err
		}
		c.cache = cache
	}
	base := opts.Transport
	if base == nil {
		base = newTransport(cfg, opts.Concurrency)
	}
	c.hc = &http.Client{
		Transport: &authTransport{cfg: cfg, base: base, userAgent: opts.UserAgent},
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if len(via) >= maxRedirects {
				return fmt.Errorf("stopped after %d redirects", maxRedirects)
			}
			if via[len(via)-1].URL.Scheme == "https" && req.URL.Scheme != "https" {
				return fmt.Errorf("refusing a redirect from https to %s", req.URL.Redacted())
			}
			return nil
		},
	}
	return c, nil
}

// Config returns the configuration the Client uses.
func (c *Client) Config() *Config { return c.cfg }

// Cache returns the Client's cache, never nil; with NoCache it is a
// disabled cache (Get misses, Put does nothing).
func (c *Client) Cache() *Cache { return c.cache }

// Stats returns a snapshot of the counters.
func (c *Client) Stats() Stats {
	return Stats{
		Requests:         c.requests.Load(),
		CacheHits:        c.hits.Load(),
		CacheMisses:      c.misses.Load(),
		Retries:          c.retries.Load(),
		BytesRead:        c.bytes.Load(),
		CacheWriteErrors: c.cacheErrs.Load() + c.cache.WriteErrors(),
	}
}

// Close waits for queued cache writes (Cache.Flush) and releases idle
// connections; it returns the cache write failures. The Client stays
// usable.
func (c *Client) Close() error {
	c.hc.CloseIdleConnections()
	return c.cache.Flush()
}

// CloseIdleConnections forwards to the wrapped transport.
func (t *authTransport) CloseIdleConnections() {
	if ci, ok := t.base.(interface{ CloseIdleConnections() }); ok {
		ci.CloseIdleConnections()
	}
}

func (c *Client) cacheGet(key string) ([]byte, bool) {
	if !c.cache.enabled() {
		return nil, false
	}
	data, ok := c.cache.Get(key)
	if ok {
		c.hits.Add(1)
	} else {
		c.misses.Add(1)
	}
	return data, ok
}

func (c *Client) cachePut(key string, data []byte) {
	if err := c.cache.Put(key, data); err != nil {
		c.cacheErrs.Add(1)
	}
}

// getSpec describes one GET.
type getSpec struct {
	url    string
	accept string
	limit  int64
	what   string // names the package (name@version) or the document in errors
}

// get performs a GET with the concurrency limit, per-attempt timeout,
// retries and size cap, and hands a successful body to handle. handle's
// errors are returned as they are (they must name what and the URL); a
// failed read of the body is retried.
func (c *Client) get(ctx context.Context, g getSpec, handle func(io.Reader) error) error {
	if c.opts.Offline {
		return fmt.Errorf("%w: %s: offline, would need GET %s", ErrNotInCache, g.what, g.url)
	}
	if g.limit > c.opts.MaxBody {
		g.limit = c.opts.MaxBody
	}
	for attempt := 0; ; attempt++ {
		retry, wait, err := c.attempt(ctx, g, handle)
		if err == nil {
			return nil
		}
		if !retry || attempt >= c.opts.Retries || ctx.Err() != nil {
			if retry && attempt > 0 {
				return fmt.Errorf("%w (after %d attempts)", err, attempt+1)
			}
			return err
		}
		if wait < 0 {
			wait = c.backoff(attempt)
		}
		c.retries.Add(1)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("%s: GET %s: %w (while waiting to retry after: %w)", g.what, g.url, ctx.Err(), err)
		case <-t.C:
		}
	}
}

// backoff is base*2^attempt capped at maxBackoff, with jitter: a uniform
// delay in [d/2, d].
func (c *Client) backoff(attempt int) time.Duration {
	d := c.opts.RetryBackoff
	for i := 0; i < attempt && d < maxBackoff; i++ {
		d *= 2
	}
	d = min(d, maxBackoff)
	half := d / 2
	return half + rand.N(half+1)
}

// attempt makes one request. wait is the server's Retry-After (or -1 for
// "use the backoff").
func (c *Client) attempt(ctx context.Context, g getSpec, handle func(io.Reader) error) (retry bool, wait time.Duration, err error) {
	select {
	case c.sem <- struct{}{}:
	case <-ctx.Done():
		return false, -1, fmt.Errorf("%s: GET %s: %w", g.what, g.url, ctx.Err())
	}
	defer func() { <-c.sem }()

	actx, cancel := context.WithTimeout(ctx, c.opts.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(actx, http.MethodGet, g.url, nil)
	if err != nil {
		return false, -1, fmt.Errorf("%s: bad request URL: %w", g.what, err)
	}
	req.Header.Set("Accept", g.accept)
	c.requests.Add(1)
	resp, err := c.hc.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return false, -1, fmt.Errorf("%s: GET %s: %w", g.what, g.url, ctx.Err())
		}
		if errors.Is(err, context.DeadlineExceeded) {
			return true, -1, fmt.Errorf("%s: GET %s: no response within %s: %w", g.what, g.url, c.opts.Timeout, err)
		}
		return retryableErr(err), -1, fmt.Errorf("%s: %w", g.what, err)
	}
	defer resp.Body.Close()

	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		n, _ := io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		c.bytes.Add(n)
		wait = -1
		if d, ok := parseRetryAfter(resp.Header.Get("Retry-After"), time.Now()); ok {
			wait = d
		}
		return retryableStatus(resp.StatusCode), wait, fmt.Errorf("%s: %w", g.what, &StatusError{StatusCode: resp.StatusCode, URL: g.url})
	}
	if mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type")); strings.Contains(mt, "html") {
		return false, -1, fmt.Errorf("%w: %s: GET %s: the registry answered with an HTML page (%s), not JSON", ErrMalformed, g.what, g.url, mt)
	}
	body := &capReader{r: resp.Body, limit: g.limit}
	herr := handle(body)
	if herr == nil {
		// drain what the decoder left (whitespace) so the connection is reused
		_, herr = io.Copy(io.Discard, body)
		if herr != nil && !body.tooLarge && body.readErr == nil {
			herr = nil
		}
	}
	c.bytes.Add(body.n)
	switch {
	case body.tooLarge:
		return false, -1, fmt.Errorf("%w: %s: GET %s: body exceeds %d bytes", ErrTooLarge, g.what, g.url, g.limit)
	case body.readErr != nil:
		if ctx.Err() != nil {
			return false, -1, fmt.Errorf("%s: GET %s: %w", g.what, g.url, ctx.Err())
		}
		if errors.Is(body.readErr, context.DeadlineExceeded) {
			return true, -1, fmt.Errorf("%s: GET %s: body not complete within %s: %w", g.what, g.url, c.opts.Timeout, body.readErr)
		}
		return true, -1, fmt.Errorf("%s: GET %s: reading the body: %w", g.what, g.url, body.readErr)
	}
	return false, -1, herr
}

// capReader counts bytes, fails past limit and remembers transport errors
// (anything but io.EOF), so decode errors can be told from read errors.
type capReader struct {
	r        io.Reader
	limit, n int64
	tooLarge bool
	readErr  error
}

func (c *capReader) Read(p []byte) (int, error) {
	if c.tooLarge {
		return 0, ErrTooLarge
	}
	if c.readErr != nil {
		return 0, c.readErr
	}
	if rem := c.limit + 1 - c.n; int64(len(p)) > rem {
		p = p[:rem]
	}
	n, err := c.r.Read(p)
	c.n += int64(n)
	if c.n > c.limit {
		c.tooLarge = true
		return 0, ErrTooLarge
	}
	if err != nil && err != io.EOF {
		c.readErr = err
	}
	return n, err
}

func retryableStatus(code int) bool {
	return code == http.StatusTooManyRequests || code == http.StatusRequestTimeout ||
		code >= 500 && code != http.StatusNotImplemented && code != http.StatusHTTPVersionNotSupported
}

// retryableErr reports transport failures worth another attempt: resets,
// refused or aborted connections, a connection closed mid-response, and
// timeouts. TLS verification, DNS "no such host" and redirect-policy errors
// are not.
func retryableErr(err error) bool {
	var dnsErr *net.DNSError
	if errors.As(err, &dnsErr) && dnsErr.IsNotFound {
		return false
	}
	if errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.ECONNREFUSED) ||
		errors.Is(err, syscall.ECONNABORTED) || errors.Is(err, syscall.EPIPE) ||
		errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		return true
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return true
	}
	return strings.Contains(err.Error(), "http2: ")
}

// parseRetryAfter reads a Retry-After header: delta-seconds or an HTTP
// date, clamped to [0, 60s]. ok is false when absent or unparsable.
func parseRetryAfter(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		switch {
		case n < 0:
			return 0, true
		case n > int64(maxRetryAfter/time.Second):
			return maxRetryAfter, true
		}
		return time.Duration(n) * time.Second, true
	}
	if t, err := http.ParseTime(v); err == nil {
		return min(max(t.Sub(now), 0), maxRetryAfter), true
	}
	return 0, false
}
