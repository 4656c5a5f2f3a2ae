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
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sync/semaphore"
	"golang.org/x/sync/singleflight"
)

// MaxAttestationsBody caps the attestation body of one version (also
// bounded by Options.MaxBody): the largest real ones are tens of kilobytes.
const MaxAttestationsBody = 4 << 20

// Defaults of Options.
const (
	DefaultConcurrency = 64
	DefaultTimeout     = 30 * time.Second
	// DefaultHeaderTimeout bounds the wait for a response's headers.
	DefaultHeaderTimeout = 15 * time.Second
	DefaultRetries       = 3
	DefaultMaxBody       = 64 << 20
	// DefaultMemoryBudget bounds the response bodies held at once.
	DefaultMemoryBudget = 256 << 20
	DefaultRetryBackoff = 250 * time.Millisecond
	DefaultUserAgent    = "provaudit"

	// caps for the small documents (each also bounded by Options.MaxBody)
	maxVersionDoc   = 16 << 20
	maxAttestations = MaxAttestationsBody
	maxKeys         = 1 << 20

	// streamReserve is what a body decoded as a stream (stream.go) holds
	// of the memory budget: the tokenizer's buffer, a few times the
	// longest token it is given (64 KiB), and the fields kept.
	streamReserve = 1 << 20

	maxBackoff    = 10 * time.Second
	maxRetryAfter = 60 * time.Second
	maxRedirects  = 10

	// maxTimeoutRetries: an attempt that timed out is retried once at
	// most, whatever Options.Retries says: a server that did not answer
	// within the timeout rarely does on the third try, and every try
	// costs a whole timeout.
	maxTimeoutRetries = 1
	// breakerThreshold is the number of consecutive timed-out attempts to
	// one host after which the Client stops asking it (see Client).
	breakerThreshold = 3
)

// Options tune a Client. Zero values mean the defaults.
type Options struct {
	// Concurrency is the maximum number of requests in flight, across all
	// calls on the Client (default 64).
	Concurrency int
	// Timeout bounds one request attempt, body included (default 30s).
	Timeout time.Duration
	// HeaderTimeout bounds the wait for the response headers of one
	// attempt, connecting included (default 15s; never more than
	// Timeout). A server that accepts and never answers costs this long.
	HeaderTimeout time.Duration
	// Retries is how often a failed request is retried (default 3; a
	// negative value means no retries). 429, 408, 5xx other than 501,
	// connection resets and timeouts are retried (a timeout once at most);
	// other 4xx never are.
	Retries int
	// RetryBackoff is the first retry's base delay; each retry doubles it
	// (capped at 10s) and adds jitter. A Retry-After header (seconds or an
	// HTTP date, capped at 60s) replaces it. Default 250ms.
	RetryBackoff time.Duration
	// CacheDir is the cache root (default os.UserCacheDir()/provaudit).
	CacheDir string
	// NoCache disables the cache: nothing is read or written.
	NoCache bool
	// CacheSecret is the per-user secret that seals what is derived from
	// verification (see LoadSecret). nil: a fresh random secret, so that
	// nothing sealed by another run is used.
	CacheSecret []byte
	// Offline forbids all network access: only cached entries are used and
	// anything else fails with ErrNotInCache. The cache is left exactly as
	// it is (nothing written, merged or created).
	Offline bool
	// MaxBody caps a packument body (default 64 MiB). Version documents
	// (16 MiB), attestation bodies (4 MiB) and key sets (1 MiB) have lower
	// caps, each also bounded by MaxBody.
	MaxBody int64
	// MemoryBudget bounds the memory of the response bodies a Client holds
	// at once, across all calls (default 256 MiB): see Client.
	MemoryBudget int64
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
// concurrency limit, connection pool and circuit breakers are shared.
//
// # Circuit breaker
//
// A registry that accepts connections and never answers, or answers and
// then stalls or trickles its body, must not hold an audit hostage: every
// request would wait its whole timeout, and its retries. A body must come
// at 1 KiB per 10 s at least once its headers arrived (watchProgress), and
// each host (host:port) has a circuit breaker: after 3 consecutive attempts
// to it that timed out (no headers within HeaderTimeout, a body slower than
// that, or no complete response within Timeout), every further request to
// that host fails at once with
// ErrHostUnresponsive, saying why, for the rest of the Client's life. Any
// complete answer from the host (whatever its status) resets the count. A
// request that could not connect in any of its attempts (the name does not
// resolve, the connection is refused or unreachable) opens the breaker too:
// a registry that is down costs one request's retries, not every one's.
// Requests already waiting on the host end with their own timeouts.
//
// # Memory budget
//
// Per-body caps alone multiply by the concurrency: 64 documents in flight,
// each under its cap, could hold gigabytes. Every request therefore holds
// a share of one budget (Options.MemoryBudget) while its body is read: a
// body decoded as a stream (version documents, packuments) 1 MiB, whatever
// its size; a body read whole twice what has been read of it (the read
// buffer and the copy returned), in a lease that grows with the body (see
// lease). A request waits for its first share before it is sent, so the
// wait never counts against its timeouts. A body the caller keeps
// (AttestationsBody) holds its size of the same budget until released, so
// bodies waiting for verification and bodies being read share one bound.
type Client struct {
	cfg    *Config
	opts   Options
	hc     *http.Client
	sem    chan struct{}
	budget *semaphore.Weighted
	cache  *Cache

	requests, hits, misses, retries, bytes, cacheErrs atomic.Int64

	flights singleflight.Group
	// packuments holds, for this Client's lifetime, the facts kept from
	// each full packument downloaded ("full\n"+URL -> *packumentFacts).
	packuments sync.Map
	noKeys     sync.Map // registry URL -> struct{}: keys endpoint said 404/400
	breakers   sync.Map // host:port -> *hostBreaker

	// progressWindow replaces the package's (tests of this package set it).
	progressWindow time.Duration
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
	if opts.HeaderTimeout <= 0 {
		opts.HeaderTimeout = DefaultHeaderTimeout
	}
	opts.HeaderTimeout = min(opts.HeaderTimeout, opts.Timeout)
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
	if opts.MemoryBudget <= 0 {
		opts.MemoryBudget = DefaultMemoryBudget
	}
	if opts.UserAgent == "" {
		opts.UserAgent = DefaultUserAgent
	}
	if opts.Offline && opts.NoCache {
		return nil, fmt.Errorf("%w: offline mode needs the cache, but the cache is disabled", ErrConfig)
	}
	c := &Client{cfg: cfg, opts: opts, sem: make(chan struct{}, opts.Concurrency), budget: semaphore.NewWeighted(opts.MemoryBudget), cache: &Cache{}}
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
		if opts.CacheSecret != nil {
			if len(opts.CacheSecret) < SecretSize {
				return nil, fmt.Errorf("%w: cache secret of %d bytes, want %d", ErrConfig, len(opts.CacheSecret), SecretSize)
			}
			cache.secret = opts.CacheSecret
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

func (c *Client) cacheGetSealed(key string) ([]byte, bool) {
	if !c.cache.enabled() {
		return nil, false
	}
	data, ok := c.cache.GetSealed(key)
	if ok {
		c.hits.Add(1)
	} else {
		c.misses.Add(1)
	}
	return data, ok
}

func (c *Client) cachePutSealed(key string, data []byte) {
	if err := c.cache.PutSealed(key, data); err != nil {
		c.cacheErrs.Add(1)
	}
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
	// reserve is the memory the handler holds while it reads the body,
	// whatever its size (a streaming decoder's streamReserve); 0 means the
	// handler reads the whole body, which then holds a lease that grows
	// with it (see lease).
	reserve int64
	what    string // names the package (name@version) or the document in errors
}

// errBudgetBusy ends an attempt whose body outgrew its lease while the
// memory budget had nothing to spare.
var errBudgetBusy = errors.New("memory budget busy")

// Leases of bodies read whole: the first one, which honest bodies do not
// outgrow (attestation bodies are tens of kilobytes), and how many bytes
// of lease a byte read costs (the read buffer and the copy returned).
const (
	firstLease   = 256 << 10
	leasePerByte = 2
)

// lease is the share of the memory budget one attempt holds. A body read
// whole starts with firstLease and grows its lease as it is read, never
// waiting while it holds some (waiting while holding could deadlock): when
// the budget cannot give more at once, the attempt ends with errBudgetBusy
// and the request is made again with its largest share (leasePerByte times
// its cap) taken before it is sent.
type lease struct {
	c    *Client
	held int64
	max  int64 // what it may grow to
}

// newLease waits for n bytes of the budget (capped at the budget), in a
// lease that may grow to most.
func (c *Client) newLease(ctx context.Context, n, most int64) (*lease, error) {
	n = min(max(n, 0), c.opts.MemoryBudget)
	if err := c.budget.Acquire(ctx, n); err != nil {
		return nil, context.Cause(ctx)
	}
	return &lease{c: c, held: n, max: min(most, c.opts.MemoryBudget)}, nil
}

// cover grows the lease to n bytes (at least doubling it) if the budget has
// them now; false when it does not.
func (l *lease) cover(n int64) bool {
	if n <= l.held || l.held >= l.max {
		return true // past max the body's cap stops the read
	}
	grow := min(max(n-l.held, l.held), l.max-l.held)
	if !l.c.budget.TryAcquire(grow) {
		return false
	}
	l.held += grow
	return true
}

// shrink gives back all of the lease but n bytes.
func (l *lease) shrink(n int64) {
	if l != nil && n < l.held {
		l.c.budget.Release(l.held - n)
		l.held = n
	}
}

// release gives the lease back; it may be called more than once, and on nil.
func (l *lease) release() {
	if l != nil {
		l.shrink(0)
	}
}

// leaseReader charges a body read whole to its lease.
type leaseReader struct {
	r    io.Reader
	l    *lease
	n    int64
	busy bool
}

func (lr *leaseReader) Read(p []byte) (int, error) {
	n, err := lr.r.Read(p)
	lr.n += int64(n)
	if !lr.l.cover(leasePerByte * lr.n) {
		lr.busy = true
		return 0, errBudgetBusy
	}
	return n, err
}

// get performs a GET with the concurrency limit, per-attempt timeout,
// retries and size cap, and hands a successful body to handle. handle's
// errors are returned as they are (they must name what and the URL); a
// failed read of the body is retried.
func (c *Client) get(ctx context.Context, g getSpec, handle func(io.Reader) error) error {
	l, err := c.getHeld(ctx, g, handle)
	l.release()
	return err
}

// getHeld is get, but on success the lease of the body stays held and is
// returned: the caller keeps the body and gives the lease back (or shrinks
// it to what it keeps).
func (c *Client) getHeld(ctx context.Context, g getSpec, handle func(io.Reader) error) (*lease, error) {
	if c.opts.Offline {
		return nil, fmt.Errorf("%w: %s: offline, would need GET %s", ErrNotInCache, g.what, g.url)
	}
	if g.limit > c.opts.MaxBody {
		g.limit = c.opts.MaxBody
	}
	timeouts := 0
	whole := false // a body read whole takes its largest lease up front
	for attempt := 0; ; attempt++ {
		var held *lease
		retry, wait, timedOut, err := c.attempt(ctx, g, whole, &held, handle)
		if err == nil {
			return held, nil
		}
		if errors.Is(err, errBudgetBusy) && !whole {
			// Not the server's doing: the same attempt again at once.
			whole = true
			attempt--
			continue
		}
		if timedOut {
			timeouts++
		}
		if !retry || attempt >= c.opts.Retries || ctx.Err() != nil || timeouts > maxTimeoutRetries {
			if retry && attempt > 0 {
				err = fmt.Errorf("%w (after %d attempts)", err, attempt+1)
				if isDialError(err) && ctx.Err() == nil {
					c.breakerOf(g.url).unreachable(err)
				}
			}
			return nil, err
		}
		if wait < 0 {
			wait = c.backoff(attempt)
		}
		c.retries.Add(1)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, fmt.Errorf("%s: GET %s: %w (while waiting to retry after: %w)", g.what, g.url, ctx.Err(), err)
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

// errNoHeaders is the cause of an attempt cancelled by HeaderTimeout.
var errNoHeaders = errors.New("no response headers in time")

// attempt makes one request. wait is the server's Retry-After (or -1 for
// "use the backoff"); timedOut says the attempt ran out of time (its host's
// breaker counts it).
// On success the lease of the body goes to *held instead of back to the
// budget.
func (c *Client) attempt(ctx context.Context, g getSpec, whole bool, held **lease, handle func(io.Reader) error) (retry bool, wait time.Duration, timedOut bool, err error) {
	u, err := url.Parse(g.url)
	if err != nil {
		return false, -1, false, fmt.Errorf("%s: bad request URL: %w", g.what, err)
	}
	hb := c.breaker(u.Host)
	if err := hb.check(); err != nil {
		return false, -1, false, fmt.Errorf("%s: GET %s: %w", g.what, g.url, err)
	}
	first, most := g.reserve, g.reserve
	if g.reserve <= 0 {
		first, most = firstLease, leasePerByte*g.limit
		if whole {
			first = most
		}
	}
	l, err := c.newLease(ctx, first, most)
	if err != nil {
		return false, -1, false, fmt.Errorf("%s: GET %s: %w", g.what, g.url, err)
	}
	defer func() {
		if err == nil {
			*held = l
		} else {
			l.release()
		}
	}()
	select {
	case c.sem <- struct{}{}:
	case <-ctx.Done():
		return false, -1, false, fmt.Errorf("%s: GET %s: %w", g.what, g.url, context.Cause(ctx))
	}
	defer func() { <-c.sem }()
	if err := hb.check(); err != nil { // it may have opened while this waited
		return false, -1, false, fmt.Errorf("%s: GET %s: %w", g.what, g.url, err)
	}
	answered := false
	defer func() { hb.record(timedOut, answered, err) }()

	actx, cancel := context.WithTimeout(ctx, c.opts.Timeout)
	defer cancel()
	hctx, hcancel := context.WithCancelCause(actx)
	defer hcancel(nil)
	headerTimer := time.AfterFunc(c.opts.HeaderTimeout, func() { hcancel(errNoHeaders) })
	req, err := http.NewRequestWithContext(hctx, http.MethodGet, g.url, nil)
	if err != nil {
		headerTimer.Stop()
		return false, -1, false, fmt.Errorf("%s: bad request URL: %w", g.what, err)
	}
	req.Header.Set("Accept", g.accept)
	c.requests.Add(1)
	resp, err := c.hc.Do(req)
	headerTimer.Stop()
	if err != nil {
		switch {
		case ctx.Err() != nil:
			return false, -1, false, fmt.Errorf("%s: GET %s: %w", g.what, g.url, context.Cause(ctx))
		case context.Cause(hctx) == errNoHeaders:
			return true, -1, true, fmt.Errorf("%s: GET %s: no response within %s: %w", g.what, g.url, c.opts.HeaderTimeout, context.DeadlineExceeded)
		case errors.Is(err, context.DeadlineExceeded):
			return true, -1, true, fmt.Errorf("%s: GET %s: no response within %s: %w", g.what, g.url, c.opts.Timeout, err)
		}
		return retryableErr(err), -1, false, fmt.Errorf("%s: %w", g.what, err)
	}
	defer resp.Body.Close()

	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		n, _ := io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		c.bytes.Add(n)
		wait = -1
		if d, ok := parseRetryAfter(resp.Header.Get("Retry-After"), time.Now()); ok {
			wait = d
		}
		answered = true
		return retryableStatus(resp.StatusCode), wait, false, fmt.Errorf("%s: %w", g.what, &StatusError{StatusCode: resp.StatusCode, URL: g.url})
	}
	if mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type")); strings.Contains(mt, "html") {
		answered = true
		return false, -1, false, fmt.Errorf("%w: %s: GET %s: the registry answered with an HTML page (%s), not JSON", ErrMalformed, g.what, g.url, mt)
	}
	body := &capReader{r: resp.Body, limit: g.limit}
	defer c.watchProgress(body, hcancel)()
	lr := &leaseReader{r: body, l: l}
	herr := handle(lr)
	if lr.busy {
		return false, -1, false, fmt.Errorf("%s: GET %s: %w", g.what, g.url, errBudgetBusy)
	}
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
		answered = true
		return false, -1, false, fmt.Errorf("%w: %s: GET %s: body exceeds %d bytes", ErrTooLarge, g.what, g.url, g.limit)
	case body.readErr != nil:
		if ctx.Err() != nil {
			return false, -1, false, fmt.Errorf("%s: GET %s: %w", g.what, g.url, context.Cause(ctx))
		}
		if errors.Is(body.readErr, context.DeadlineExceeded) {
			return true, -1, true, fmt.Errorf("%s: GET %s: body not complete within %s: %w", g.what, g.url, c.opts.Timeout, body.readErr)
		}
		if context.Cause(hctx) == errTooSlow {
			return true, -1, true, fmt.Errorf("%s: GET %s: %w: less than %d bytes of the body in %s: %w", g.what, g.url, errTooSlow, minProgress, c.window(), context.DeadlineExceeded)
		}
		return true, -1, false, fmt.Errorf("%s: GET %s: reading the body: %w", g.what, g.url, body.readErr)
	}
	answered = true
	return false, -1, false, herr
}

// hostBreaker is the circuit breaker of one host (see Client).
type hostBreaker struct {
	host     string
	mu       sync.Mutex
	timeouts int   // consecutive timed-out attempts
	open     error // why the breaker opened; nil while closed
}

func (c *Client) breaker(host string) *hostBreaker {
	host = strings.ToLower(host)
	if hb, ok := c.breakers.Load(host); ok {
		return hb.(*hostBreaker)
	}
	hb, _ := c.breakers.LoadOrStore(host, &hostBreaker{host: host})
	return hb.(*hostBreaker)
}

// breakerOf is the breaker of rawURL's host (a throwaway one for a URL that
// does not parse: attempt reports that error).
func (c *Client) breakerOf(rawURL string) *hostBreaker {
	u, err := url.Parse(rawURL)
	if err != nil {
		return &hostBreaker{}
	}
	return c.breaker(u.Host)
}

// isDialError says err is a failure to connect at all: the name does not
// resolve, the connection is refused, the host or network is unreachable.
func isDialError(err error) bool {
	var oe *net.OpError
	return errors.As(err, &oe) && oe.Op == "dial"
}

// unreachable opens the breaker because a request could not connect to the
// host in any of its attempts: the registry is down or the name is wrong,
// and every further request would only spend its own retries finding out.
// The error wraps err, so the cause of the first failure stays visible.
func (b *hostBreaker) unreachable(err error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.open == nil {
		b.open = fmt.Errorf("%w: cannot connect to %s; no further requests to it in this run (the first failure: %w)", ErrHostUnresponsive, b.host, err)
	}
}

// check returns ErrHostUnresponsive, with the reason, once the breaker is
// open.
func (b *hostBreaker) check() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.open
}

// record counts an attempt's outcome: a timeout adds to the consecutive
// timeouts (opening the breaker at breakerThreshold), a complete answer
// resets them, anything else (a refused connection, a reset) leaves them.
func (b *hostBreaker) record(timedOut, answered bool, err error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	switch {
	case b.open != nil:
	case timedOut:
		b.timeouts++
		if b.timeouts >= breakerThreshold {
			b.open = fmt.Errorf("%w: %d requests to %s in a row timed out; no further requests to it in this run (the last: %w)", ErrHostUnresponsive, b.timeouts, b.host, err)
		}
	case answered:
		b.timeouts = 0
	}
}

// Once its headers have arrived, a body must deliver at least minProgress
// bytes in every progressWindow, or its attempt ends as timed out: a server
// that trickles a byte a second, or stalls after the headers, would
// otherwise hold each request for its whole Timeout. 100 bytes a second is
// slower than any honest link.
const (
	minProgress    = 1 << 10
	progressWindow = 10 * time.Second
)

// errTooSlow is the cause of an attempt cut off by watchProgress.
var errTooSlow = errors.New("the body is arriving too slowly")

// window is progressWindow, or the test's.
func (c *Client) window() time.Duration {
	if c.progressWindow > 0 {
		return c.progressWindow
	}
	return progressWindow
}

// watchProgress cancels an attempt (cause errTooSlow) when body delivers
// less than minProgress bytes in a window; the returned func stops it.
func (c *Client) watchProgress(body *capReader, cancel context.CancelCauseFunc) (stop func()) {
	w := c.window()
	var (
		mu      sync.Mutex
		stopped bool
		last    int64
		t       *time.Timer
	)
	t = time.AfterFunc(w, func() {
		n := body.count.Load()
		if n-last < minProgress {
			cancel(errTooSlow)
			return
		}
		last = n
		mu.Lock()
		defer mu.Unlock()
		if !stopped {
			t.Reset(w)
		}
	})
	return func() {
		mu.Lock()
		defer mu.Unlock()
		stopped = true
		t.Stop()
	}
}

// capReader counts bytes, fails past limit and remembers transport errors
// (anything but io.EOF), so decode errors can be told from read errors.
type capReader struct {
	r        io.Reader
	limit, n int64
	count    atomic.Int64 // n, for watchProgress
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
	c.count.Store(c.n)
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
