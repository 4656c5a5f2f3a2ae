package verdictstore

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"io"
	"net/url"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"gocloud.dev/blob"
	"gocloud.dev/gcerrors"

	// The drivers of the URL schemes the store accepts (gs:// is opened
	// by openGCS).
	_ "gocloud.dev/blob/azureblob"
	_ "gocloud.dev/blob/fileblob"
	"gocloud.dev/blob/gcsblob"
	_ "gocloud.dev/blob/s3blob"
	"gocloud.dev/gcp"

	"github.com/provaudit/provaudit/audit"
)

// Schemes lists the URL schemes of the blob drivers the store has.
var Schemes = []string{"s3", "gs", "azblob", "file"}

// Defaults of [Options].
const (
	// DefaultTimeout bounds each read: the audit waits for the reads.
	DefaultTimeout = 2 * time.Second
	// DefaultWriteTimeout bounds each write. Writes run in the background
	// while the audit verifies, on CPUs it keeps busy, and Close waits for
	// them: 2 s was too short on a loaded CI machine (a writer lost 60% of
	// its records, bench/rig BenchmarkVerdictStore), and a store that does
	// not answer costs one write timeout at the end of the run.
	DefaultWriteTimeout = 10 * time.Second
	// DefaultConcurrency bounds the writes in flight.
	DefaultConcurrency = 64
	// DefaultReadConcurrency bounds Lookup's reads in flight. They are
	// small, bound by the store's latency, and all issued before the audit
	// starts: 1,600 packages 20 ms away take 26 round trips at 64, 7 at
	// 256.
	DefaultReadConcurrency = 256
)

// ErrOpen reports a store URL that cannot be used, or options that give
// the store nothing to do.
var ErrOpen = errors.New("unusable verdict store")

// Options configure a Store.
type Options struct {
	// PublicKey verifies the records read. Without it nothing is read:
	// Lookup finds nothing.
	PublicKey ed25519.PublicKey
	// SigningKey signs the records written. Without it nothing is written.
	SigningKey ed25519.PrivateKey
	// Timeout bounds each read (default DefaultTimeout), WriteTimeout each
	// write (default DefaultWriteTimeout). A read or write that fails or
	// takes longer marks the store unavailable for the rest of the run.
	Timeout      time.Duration
	WriteTimeout time.Duration
	// Concurrency bounds the writes in flight (default
	// DefaultConcurrency); ReadConcurrency the reads (default
	// DefaultReadConcurrency).
	Concurrency     int
	ReadConcurrency int
	// Warn, when set, receives one message per kind of trouble: the store
	// became unavailable, records were ignored, writes failed.
	Warn func(msg string)
	// Tool names the writer in the records it signs (informative).
	Tool string
	// Now is the clock of the records' creation times (default time.Now).
	Now func() time.Time
}

// Store is a verdict store on a Go CDK blob bucket. It implements
// [audit.VerdictStore]. It is safe for concurrent use.
type Store struct {
	url    string
	bucket *blob.Bucket
	opts   Options
	dir    string // the folder of the records PublicKey verifies
	wdir   string // the folder of the records SigningKey signs

	down     atomic.Bool
	downOnce sync.Once
	stopOnce sync.Once // writes failed

	mu     sync.Mutex
	closed bool
	writes sync.WaitGroup
	wsem   chan struct{}

	stats struct {
		asked, found, ignored, written atomic.Int64
	}
}

// Stats counts what a Store did.
type Stats struct {
	// Asked counts the packages looked up, Found the verdicts returned.
	Asked, Found int
	// Ignored counts records present but not used: badly signed, signed by
	// another key, made for another situation, malformed.
	Ignored int
	// Written counts records written.
	Written int
	// Unavailable tells whether the store failed during the run.
	Unavailable bool
}

// Open opens the store at a Go CDK blob URL (s3://, gs://, azblob://,
// file://; see the package doc). It fails for a URL of another scheme, or
// that its driver refuses (a malformed parameter, a folder that does not
// exist, no credentials where the driver needs them to start), and when
// opts has neither key. Opening does not contact the store.
func Open(ctx context.Context, rawURL string, opts Options) (*Store, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrOpen, rawURL, err)
	}
	if !slices.Contains(Schemes, u.Scheme) {
		return nil, fmt.Errorf("%w: %s: scheme %q, want one of s3, gs, azblob, file", ErrOpen, rawURL, u.Scheme)
	}
	if opts.PublicKey == nil && opts.SigningKey == nil {
		return nil, fmt.Errorf("%w: %s: no public key to read it and no signing key to write it", ErrOpen, rawURL)
	}
	var b *blob.Bucket
	if u.Scheme == gcsblob.Scheme {
		b, err = openGCS(ctx, u)
	} else {
		b, err = blob.OpenBucket(ctx, rawURL)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrOpen, err)
	}
	return newStore(b, redact(u), opts), nil
}

// openGCS opens a gs:// bucket with the Google application default
// credentials. The Go CDK's own gs:// opener, when it finds none, prints a
// warning on standard output (where the report goes) and goes on with
// empty credentials; here their absence is an error.
func openGCS(ctx context.Context, u *url.URL) (*blob.Bucket, error) {
	creds, err := gcp.DefaultCredentials(ctx)
	if err != nil {
		return nil, fmt.Errorf("%s: no Google application default credentials: %w", redact(u), err)
	}
	client, err := gcp.NewHTTPClient(gcp.DefaultTransport(), gcp.CredentialsTokenSource(creds))
	if err != nil {
		return nil, err
	}
	o := &gcsblob.URLOpener{Client: client, TokenSource: gcp.CredentialsTokenSource(creds)}
	// prefix= is the Go CDK URL mux's, which this opener bypasses.
	q := u.Query()
	prefix := q.Get("prefix")
	q.Del("prefix")
	c := *u
	c.RawQuery = q.Encode()
	b, err := o.OpenBucketURL(ctx, &c)
	if err != nil || prefix == "" {
		return b, err
	}
	return blob.PrefixedBucket(b, prefix), nil
}

// newStore wraps an open bucket; name is how messages call it.
func newStore(b *blob.Bucket, name string, opts Options) *Store {
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultTimeout
	}
	if opts.WriteTimeout <= 0 {
		opts.WriteTimeout = DefaultWriteTimeout
	}
	if opts.Concurrency <= 0 {
		opts.Concurrency = DefaultConcurrency
	}
	if opts.ReadConcurrency <= 0 {
		opts.ReadConcurrency = DefaultReadConcurrency
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	s := &Store{url: name, bucket: b, opts: opts, wsem: make(chan struct{}, opts.Concurrency)}
	if opts.PublicKey != nil {
		s.dir = keyDir(opts.PublicKey)
	}
	if opts.SigningKey != nil {
		s.wdir = keyDir(opts.SigningKey.Public().(ed25519.PublicKey))
	}
	return s
}

// redact drops what a URL may carry that messages must not show: user
// information and the query (endpoints and profiles are shown; tokens
// never are).
func redact(u *url.URL) string {
	c := *u
	c.User, c.RawQuery, c.ForceQuery = nil, "", false
	return c.String()
}

func (s *Store) warn(msg string) {
	if s.opts.Warn != nil {
		s.opts.Warn(msg)
	}
}

// markDown records that the store failed: the rest of the run uses it no
// more, and says so once.
func (s *Store) markDown(err error) {
	s.down.Store(true)
	s.downOnce.Do(func() {
		s.warn(fmt.Sprintf("verdict store %s is unavailable (%v): auditing without it", s.url, err))
	})
}

// Lookup reads the records of keys concurrently and returns, by index, the
// verdicts of those whose record verifies under the public key and was made
// for exactly that key; nil elsewhere. Without a public key it reads
// nothing. Each read is bounded by the timeout; the first read that fails
// (other than "not found") or times out marks the store unavailable and
// ends the lookup, so a store that is down or slow costs at most one
// timeout. Ignored records are counted and reported once.
func (s *Store) Lookup(ctx context.Context, keys []audit.StoreKey) [][]byte {
	out := make([][]byte, len(keys))
	if s.opts.PublicKey == nil || s.down.Load() || len(keys) == 0 {
		return out
	}
	s.stats.asked.Add(int64(len(keys)))
	lctx, cancel := context.WithCancel(ctx)
	defer cancel()

	var (
		wg               sync.WaitGroup
		mu               sync.Mutex
		firstIgnored     error
		ignored, denied  int
		found, completed int
	)
	sem := make(chan struct{}, s.opts.ReadConcurrency)
	for i, k := range keys {
		select {
		case sem <- struct{}{}:
		case <-lctx.Done():
		}
		if lctx.Err() != nil {
			break
		}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			v, err := s.read(lctx, k)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				out[i] = v
				found++
				completed++
			case gcerrors.Code(err) == gcerrors.NotFound:
				completed++
			case gcerrors.Code(err) == gcerrors.PermissionDenied:
				// S3 answers so for a missing object when the credentials
				// may not list the bucket.
				denied++
				completed++
			case errors.Is(err, ErrMalformed), errors.Is(err, ErrSignature), errors.Is(err, ErrOtherKey):
				ignored++
				completed++
				if firstIgnored == nil {
					firstIgnored = err
				}
			case lctx.Err() != nil:
				// The lookup was ended: the run was interrupted, or the
				// store failed in another read.
			default:
				s.markDown(err)
				cancel()
			}
		}()
	}
	wg.Wait()

	s.stats.found.Add(int64(found))
	s.stats.ignored.Add(int64(ignored))
	if ignored > 0 {
		s.warn(fmt.Sprintf("verdict store %s: %d %s ignored, verified again from the registry (the first: %v)", s.url, ignored, plural(ignored, "record", "records"), firstIgnored))
	}
	if denied > 0 && denied == completed {
		s.warn(fmt.Sprintf("verdict store %s: every read was refused (permission denied): check the credentials", s.url))
	}
	return out
}

// read fetches and opens the record of k.
func (s *Store) read(ctx context.Context, k audit.StoreKey) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, s.opts.Timeout)
	defer cancel()
	r, err := s.bucket.NewReader(ctx, objectKey(s.dir, k), nil)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	data, err := io.ReadAll(io.LimitReader(r, maxRecord+1))
	if err != nil {
		return nil, err
	}
	return openRecord(s.opts.PublicKey, data, k)
}

// Save signs and writes the record of verdict under k in the background
// (Close waits for it). Without a signing key, once the store is
// unavailable, or after Close, it does nothing. A failed write is reported
// once and ends writing for the run.
func (s *Store) Save(k audit.StoreKey, verdict []byte) {
	if s.opts.SigningKey == nil || s.down.Load() {
		return
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.writes.Add(1)
	s.mu.Unlock()
	go func() {
		defer s.writes.Done()
		s.wsem <- struct{}{}
		defer func() { <-s.wsem }()
		if s.down.Load() {
			return
		}
		data, err := sealRecord(s.opts.SigningKey, k, verdict, s.opts.Tool, s.opts.Now())
		if err != nil {
			s.stopWriting(err)
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), s.opts.WriteTimeout)
		defer cancel()
		if err := s.bucket.WriteAll(ctx, objectKey(s.wdir, k), data, &blob.WriterOptions{ContentType: "application/json"}); err != nil {
			s.stopWriting(err)
			return
		}
		s.stats.written.Add(1)
	}()
}

// stopWriting reports a failed write once; the store is then treated as
// unavailable, so that no more writes wait for it.
func (s *Store) stopWriting(err error) {
	s.down.Store(true)
	s.stopOnce.Do(func() {
		s.warn(fmt.Sprintf("verdict store %s: writing a record failed (%v): no more records are written in this run", s.url, err))
	})
}

// Close waits for the writes in progress and closes the bucket. Save does
// nothing after it.
func (s *Store) Close() error {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	s.writes.Wait()
	return s.bucket.Close()
}

// Stats returns the counts so far.
func (s *Store) Stats() Stats {
	return Stats{
		Asked:       int(s.stats.asked.Load()),
		Found:       int(s.stats.found.Load()),
		Ignored:     int(s.stats.ignored.Load()),
		Written:     int(s.stats.written.Load()),
		Unavailable: s.down.Load(),
	}
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

var _ audit.VerdictStore = (*Store)(nil)
