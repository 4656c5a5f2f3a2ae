package audit

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"sort"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/provaudit/provaudit/fetch"
	"github.com/provaudit/provaudit/lockfile"
	"github.com/provaudit/provaudit/verify"
)

// Options configure one audit.
type Options struct {
	// Lockfile is the parsed lockfile to audit. Required.
	Lockfile *lockfile.Lockfile
	// DisplayPath is the lockfile path as reports show it (defaults to
	// Lockfile.Path).
	DisplayPath string
	// Config says which registry serves which package. Required.
	Config *fetch.Config
	// Client fetches registry data. Required.
	Client *fetch.Client
	// Trust is the trust material. Required.
	Trust *verify.Trust
	// PinnedKeysOnly uses the trust material's npm keys for every registry
	// and does not ask registries for their keys (--npm-keys FILE).
	PinnedKeysOnly bool
	// Omit skips dev, optional or peer packages as npm --omit does.
	Omit lockfile.Omit
	// RequireProvenance makes a missing attestation a finding.
	RequireProvenance bool
	// RequireSignatures makes a registry without signing keys a finding for
	// versions that have no attestations.
	RequireSignatures bool
	// ReadOnlyCache reads cached verdicts but writes none, so an offline
	// audit leaves the cache exactly as it found it.
	ReadOnlyCache bool
	// Concurrency bounds the packages being fetched at once (default
	// fetch.DefaultConcurrency).
	Concurrency int
	// VerifyWorkers bounds parallel verification (default GOMAXPROCS).
	VerifyWorkers int
	// Progress, when set, receives events. It is called from one goroutine
	// at a time.
	Progress func(Event)
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Tool names the program in the result.
	Tool Tool
}

// ErrOptions reports a programming error in the Options given to Run.
var ErrOptions = errors.New("audit: invalid options")

// Run audits every package of the lockfile and returns the result. Failures
// of single packages (network, malformed data, invalid signatures) go into
// their results and never stop the others; Run itself fails only on invalid
// options. When ctx is cancelled the packages not yet checked end with
// status error and Run returns the partial result together with
// context.Cause(ctx) (ctx.Err() when the cancellation gave no cause).
func Run(ctx context.Context, opts Options) (*Result, error) {
	if opts.Lockfile == nil || opts.Trust == nil {
		return nil, fmt.Errorf("%w: Lockfile and Trust are required", ErrOptions)
	}
	a := newAuditor(opts)
	start := a.now()

	units := lockfile.Units(opts.Lockfile)
	res := &Result{
		SchemaVersion: SchemaVersion,
		Tool:          opts.Tool,
		Lockfile: LockfileInfo{
			Path:            firstNonEmpty(opts.DisplayPath, opts.Lockfile.Path),
			LockfileVersion: opts.Lockfile.LockfileVersion,
		},
		Packages: make([]Package, len(units)),
	}
	if opts.Config != nil {
		res.Lockfile.Registry = opts.Config.DefaultRegistry()
	}

	var todo []int
	for i := range units {
		u := &units[i]
		res.Packages[i] = basePackage(u)
		if reason, skip := a.skipReason(u); skip {
			res.Packages[i].Status = StatusSkipped
			res.Packages[i].Reason = reason
			continue
		}
		todo = append(todo, i)
	}
	if len(todo) > 0 && (opts.Config == nil || opts.Client == nil) {
		return nil, fmt.Errorf("%w: Config and Client are required when registry packages are audited", ErrOptions)
	}

	if opts.Client != nil {
		a.cache = opts.Client.Cache()
	}
	a.prepareRegistries(ctx, units, todo)
	a.pipeline(ctx, units, todo, res.Packages)

	res.Summary = summarize(res.Packages)
	res.Summary.StartedAt = start.UTC()
	res.Summary.DurationMS = a.now().Sub(start).Milliseconds()
	return res, context.Cause(ctx)
}

type auditor struct {
	opts  Options
	now   func() time.Time
	pol   policy
	regs  map[string]*registryTrust
	cache *fetch.Cache
	// versions lists the audited versions of each name: one download of a
	// full packument answers for all of them (fetch.Client.PublishInfo).
	versions map[string][]string
	trustD   string

	progressMu sync.Mutex
	fetched    int
	verified   int
	total      int
}

// registryTrust is what one registry's keys allow: a verifier, or the reason
// none could be built.
type registryTrust struct {
	verifier *verify.Verifier
	// keysDigest identifies the key list the verifier was built from.
	keysDigest string
	err        error
}

func newAuditor(opts Options) *auditor {
	if opts.Concurrency <= 0 {
		opts.Concurrency = fetch.DefaultConcurrency
	}
	if opts.VerifyWorkers <= 0 {
		opts.VerifyWorkers = runtime.GOMAXPROCS(0)
	}
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	return &auditor{
		opts:   opts,
		now:    now,
		pol:    policy{RequireProvenance: opts.RequireProvenance, RequireSignatures: opts.RequireSignatures},
		regs:   map[string]*registryTrust{},
		trustD: opts.Trust.Digest(),
	}
}

func basePackage(u *lockfile.Unit) Package {
	p := Package{
		Name:      u.Name,
		Version:   u.Version,
		Integrity: u.Integrity,
		Paths:     append([]string{}, u.Paths...),
		Line:      u.Line,
		Kind:      string(u.Kind),
		Findings:  []Finding{},
	}
	p.Dev, p.Optional, p.Peer = true, true, true
	for _, e := range u.Entries {
		p.Dev = p.Dev && (e.Dev || e.DevOptional)
		p.Optional = p.Optional && (e.Optional || e.DevOptional)
		p.Peer = p.Peer && e.Peer
	}
	if len(u.Entries) == 0 {
		p.Dev, p.Optional, p.Peer = false, false, false
	}
	return p
}

// skipReason says why a unit is not audited, if it is not.
func (a *auditor) skipReason(u *lockfile.Unit) (string, bool) {
	if u.Kind != lockfile.KindRegistry {
		return firstNonEmpty(u.Reason, fmt.Sprintf("not from a registry (%s)", u.Kind)), true
	}
	if u.Omitted(a.opts.Omit) {
		return "omitted by --omit", true
	}
	if u.Bundled() {
		return fmt.Sprintf("bundled in the tarball of %s: installed from it, covered by its integrity", u.Entries[0].BundledBy), true
	}
	return "", false
}

// prepareRegistries fetches the signing keys of every registry the audited
// packages come from and builds one verifier per registry.
func (a *auditor) prepareRegistries(ctx context.Context, units []lockfile.Unit, todo []int) {
	seen := map[string]bool{}
	var urls []string
	for _, i := range todo {
		r := a.opts.Config.RegistryFor(units[i].Name)
		if !seen[r] {
			seen[r] = true
			urls = append(urls, r)
		}
	}
	sort.Strings(urls)
	a.emit(Event{Phase: PhaseKeys, Total: len(urls)})

	var mu sync.Mutex
	g, gctx := errgroup.WithContext(ctx)
	for _, u := range urls {
		g.Go(func() error {
			rt := a.buildRegistryTrust(gctx, u)
			mu.Lock()
			a.regs[u] = rt
			mu.Unlock()
			return nil
		})
	}
	_ = g.Wait() // per-registry failures are stored in registryTrust.err
}

func (a *auditor) buildRegistryTrust(ctx context.Context, registry string) *registryTrust {
	rt := &registryTrust{}
	pinned := a.opts.Trust.PinnedKeys()
	var (
		listed  []verify.Key
		hasKeys = true
		body    []byte
	)
	if !a.opts.PinnedKeysOnly {
		var err error
		body, err = a.opts.Client.RegistryKeys(ctx, registry)
		switch {
		case errors.Is(err, fetch.ErrNoKeys):
			hasKeys = false
		case err != nil:
			rt.err = fmt.Errorf("getting the signing keys of %s: %w", registry, err)
			return rt
		default:
			listed, err = verify.ParseNpmKeys(body)
			switch {
			case errors.Is(err, verify.ErrNoKeys):
				// {"keys": []}: a registry that signs nothing.
				hasKeys, listed = false, nil
			case err != nil:
				rt.err = fmt.Errorf("signing keys of %s: %w", registry, err)
				return rt
			}
		}
	}
	kr, err := verify.NewKeyring(pinned, listed, hasKeys)
	if err != nil {
		rt.err = fmt.Errorf("signing keys of %s: %w", registry, err)
		return rt
	}
	v, err := verify.NewVerifier(a.opts.Trust, kr, verify.WithNow(a.now))
	if err != nil {
		rt.err = fmt.Errorf("building the verifier for %s: %w", registry, err)
		return rt
	}
	rt.verifier = v
	h := sha256.New()
	fmt.Fprintf(h, "pinnedOnly=%t hasKeys=%t\n", a.opts.PinnedKeysOnly, hasKeys)
	h.Write(body)
	rt.keysDigest = hex.EncodeToString(h.Sum(nil))
	return rt
}

// work carries one package from the fetch stage to the verify stage.
type work struct {
	idx      int
	unit     *lockfile.Unit
	reg      *registryTrust
	manifest *fetch.Manifest
	attBody  []byte
	publish  *fetch.PublishInfo
	err      error
	// held holds attBody's share of the fetch client's memory budget
	// until the package is verified (nil when there is no body).
	held *fetch.Body
}

// pipeline fetches packages concurrently (bounded by Concurrency) and
// verifies them as they arrive on VerifyWorkers goroutines, so verification
// overlaps the network. The queue holds every package, so a fetch slot is
// freed as soon as its package is fetched: when verification is the
// bottleneck the network keeps going instead of waiting for the CPU.
func (a *auditor) pipeline(ctx context.Context, units []lockfile.Unit, todo []int, out []Package) {
	a.total = len(todo)
	a.versions = make(map[string][]string)
	for _, i := range todo {
		u := &units[i]
		if !slices.Contains(a.versions[u.Name], u.Version) {
			a.versions[u.Name] = append(a.versions[u.Name], u.Version)
		}
	}
	queue := make(chan *work, len(todo))

	var wg sync.WaitGroup
	for range a.opts.VerifyWorkers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for w := range queue {
				if w.err == nil && ctx.Err() != nil {
					// Cancelled: stop verifying, every package left
					// ends as error at once.
					w.err = fmt.Errorf("audit interrupted: %w", context.Cause(ctx))
				}
				a.finish(w, &out[w.idx])
				w.held.Release()
			}
		}()
	}

	g := new(errgroup.Group)
	g.SetLimit(a.opts.Concurrency)
	for _, i := range todo {
		w := &work{idx: i, unit: &units[i], reg: a.regs[a.opts.Config.RegistryFor(units[i].Name)]}
		if ctx.Err() != nil {
			w.err = fmt.Errorf("audit interrupted: %w", context.Cause(ctx))
			queue <- w
			continue
		}
		g.Go(func() error {
			a.fetch(ctx, w)
			a.emitFetched(w)
			queue <- w
			return nil
		})
	}
	_ = g.Wait() // failures live in each work item
	close(queue)
	wg.Wait()
}

// fetch gets everything verification of one package needs.
func (a *auditor) fetch(ctx context.Context, w *work) {
	u := w.unit
	if w.reg == nil || w.reg.err != nil {
		if w.reg == nil {
			w.err = errors.New("internal error: no registry trust")
		} else {
			w.err = w.reg.err
		}
		return
	}
	m, err := a.opts.Client.Manifest(ctx, u.Name, u.Version, u.Integrity)
	if err != nil {
		w.err = err
		return
	}
	w.manifest = m
	if m.Attestations != nil {
		// The body holds its share of the memory budget until verified:
		// bodies waiting for a verifier must not pile up unbounded.
		body, err := a.opts.Client.AttestationsBody(ctx, m)
		if err != nil {
			w.err = fmt.Errorf("the registry lists attestations for %s@%s but they could not be fetched: %w", u.Name, u.Version, err)
			return
		}
		w.attBody, w.held = body.Data, body
	}
	// The key of a signature is judged at publish time. The publish
	// attestation's Rekor time serves when there is one; otherwise the full
	// packument's time map is needed, but only when no signing key is valid
	// today.
	if m.Attestations == nil && len(m.Signatures) > 0 && w.reg.verifier.NeedsPublishTime(sigs(m)) {
		pi, err := a.opts.Client.PublishInfo(ctx, u.Name, u.Version, a.versions[u.Name]...)
		if err != nil {
			w.err = fmt.Errorf("publish time of %s@%s (needed to judge its signing key): %w", u.Name, u.Version, err)
			return
		}
		w.publish = pi
	}
}

func sigs(m *fetch.Manifest) []verify.Signature {
	out := make([]verify.Signature, len(m.Signatures))
	for i, s := range m.Signatures {
		out[i] = verify.Signature{KeyID: s.KeyID, Sig: s.Sig}
	}
	return out
}

// finish verifies one fetched package and writes its final result.
func (a *auditor) finish(w *work, p *Package) {
	defer a.emitVerified(p)
	if w.err != nil {
		p.Status = StatusError
		p.Reason = clipReason(w.err.Error())
		return
	}
	v := a.verdict(w)
	p.RegistrySignature, p.Attestations = v.Sig, v.Att
	p.Status, p.Reason, p.Findings = classify(v, a.pol)
	if v.WeakIntegrity {
		p.Reason += " (the lockfile pins only a sha1 digest: bound through the registry's dist.shasum)"
	}
	if w.unit.Integrity == "" {
		p.Unpinned = true
		p.Reason += " (the lockfile pins no integrity: checked against the integrity the registry serves, " + w.manifest.Integrity + ")"
	}
}

// boundIntegrity is the integrity a package's signature and attestations
// must be bound to: the lockfile's, or, for entries whose lockfile records
// none (npm then installs whatever the registry serves for name@version),
// the registry's, which the result marks as unpinned.
func boundIntegrity(w *work) string {
	if w.unit.Integrity != "" {
		return w.unit.Integrity
	}
	return w.manifest.Integrity
}

// verdict verifies a package, or reuses a cached verdict for exactly the
// same bytes and trust material. Only clean verdicts (nothing invalid or
// undetermined) are cached, so failures are always recomputed and shown
// with their full reason; and only verdicts that verified attestations, the
// expensive part (milliseconds of certificate chains and logs): a registry
// signature alone costs less to check again than a cache file costs to
// write.
func (a *auditor) verdict(w *work) verdict {
	key := a.verdictKey(w)
	if a.cache != nil {
		if b, ok := a.cache.Get(key); ok {
			var v verdict
			if json.Unmarshal(b, &v) == nil && v.Sig != nil && v.Att != nil {
				return v
			}
		}
	}
	v := a.verify(w)
	if a.cache != nil && !a.opts.ReadOnlyCache && cacheable(v) {
		if b, err := json.Marshal(v); err == nil {
			_ = a.cache.Put(key, b) // a failed cache write only costs time
		}
	}
	return v
}

func cacheable(v verdict) bool {
	return !v.SigUndetermined && !v.IntegrityMismatch &&
		v.Sig.Status != CheckInvalid && v.Att.Status == CheckVerified
}

// verdictKey names a verdict by every input it depends on: the trust
// material, the registry's key list, the lockfile integrity and the bytes
// the registry served.
func (a *auditor) verdictKey(w *work) string {
	h := sha256.New()
	m := w.manifest
	write := func(s string) { fmt.Fprintf(h, "%d:%s\n", len(s), s) }
	write("verdict/v1")
	write(a.trustD)
	write(w.reg.keysDigest)
	write(w.unit.Name)
	write(w.unit.Version)
	write(w.unit.Integrity)
	write(m.Integrity)
	write(m.Shasum)
	for _, s := range m.Signatures {
		write(s.KeyID)
		write(s.Sig)
	}
	if m.Attestations != nil {
		write(m.Attestations.PredicateType)
	}
	sum := sha256.Sum256(w.attBody)
	write(hex.EncodeToString(sum[:]))
	if w.publish != nil {
		write(w.publish.Time.UTC().Format(time.RFC3339Nano))
	}
	return "verdict/" + hex.EncodeToString(h.Sum(nil))
}

// verify runs the cryptographic checks of one package.
func (a *auditor) verify(w *work) verdict {
	u, m, vf := w.unit, w.manifest, w.reg.verifier
	var v verdict

	var ar verify.AttestationResult
	if m.Attestations != nil {
		ar = vf.Attestations(verify.AttestationInput{
			Name: u.Name, Version: u.Version,
			Integrity:         boundIntegrity(w),
			ServedIntegrity:   m.Integrity,
			ServedShasum:      m.Shasum,
			ExpectedPredicate: m.Attestations.PredicateType,
			Body:              w.attBody,
		})
		v.Att = attestationCheck(ar)
		if errors.Is(ar.Err, verify.ErrIntegrityMismatch) {
			v.IntegrityMismatch = true
		}
	} else {
		v.Att = &AttestationCheck{Status: CheckMissing, Reason: "the version has no attestations"}
	}

	in := verify.SignatureInput{
		Name: u.Name, Version: u.Version,
		Integrity:       boundIntegrity(w),
		ServedIntegrity: m.Integrity,
		ServedShasum:    m.Shasum,
		Signatures:      sigs(m),
	}
	switch {
	case ar.Publish != nil && !ar.Publish.IntegratedTime.IsZero():
		in.PublishTime, in.TimeSource = ar.Publish.IntegratedTime, "rekor"
	case w.publish != nil && !w.publish.Time.IsZero():
		in.PublishTime, in.TimeSource = w.publish.Time, "publish-time"
	}
	sr := vf.RegistrySignature(in)
	v.Sig = signatureCheck(sr)
	v.WeakIntegrity = sr.WeakIntegrity
	if errors.Is(sr.Err, verify.ErrPublishTimeUnknown) {
		v.SigUndetermined = true
	}
	if errors.Is(sr.Err, verify.ErrIntegrityMismatch) {
		v.IntegrityMismatch = true
	}
	return v
}

func signatureCheck(r verify.SignatureResult) *SignatureCheck {
	c := &SignatureCheck{Status: r.Status, KeyID: r.KeyID, TimeSource: r.TimeSource}
	if r.Err != nil {
		c.Reason = clipReason(r.Err.Error())
	} else {
		c.Reason = "signature by " + r.KeyID + " verified"
	}
	if r.KeyID != "" {
		pinned := r.Pinned
		c.Pinned = &pinned
	}
	if !r.JudgedAt.IsZero() {
		t := r.JudgedAt.UTC()
		c.JudgedAt = &t
	}
	return c
}

func attestationCheck(r verify.AttestationResult) *AttestationCheck {
	c := &AttestationCheck{Status: r.Status, PredicateTypes: r.PredicateTypes}
	switch {
	case r.Err != nil:
		c.Reason = clipReason(r.Err.Error())
	case r.Provenance != nil:
		c.Reason = "publish attestation and provenance verified"
	default:
		c.Reason = "publish attestation verified; no provenance"
	}
	if p := r.Publish; p != nil {
		c.Publish = &Publish{KeyID: p.KeyID, Pinned: p.Pinned, RekorLogIndex: p.LogIndex, IntegratedTime: p.IntegratedTime.UTC()}
	}
	if p := r.Provenance; p != nil {
		c.Provenance = &Provenance{
			PredicateType:     p.PredicateType,
			SourceRepository:  p.SourceRepository,
			Commit:            p.Commit,
			WorkflowPath:      p.WorkflowPath,
			WorkflowRef:       p.WorkflowRef,
			BuilderID:         p.BuilderID,
			BuildType:         p.BuildType,
			Issuer:            p.Issuer,
			RunnerEnvironment: p.RunnerEnvironment,
			RunURL:            p.RunURL,
			RekorLogIndex:     p.LogIndex,
			IntegratedTime:    p.IntegratedTime.UTC(),
		}
	}
	return c
}

func (a *auditor) emit(e Event) {
	if a.opts.Progress == nil {
		return
	}
	a.progressMu.Lock()
	defer a.progressMu.Unlock()
	a.opts.Progress(e)
}

func (a *auditor) emitFetched(w *work) {
	if a.opts.Progress == nil {
		return
	}
	a.progressMu.Lock()
	defer a.progressMu.Unlock()
	a.fetched++
	a.opts.Progress(Event{Phase: PhaseFetch, Done: a.fetched, Total: a.total, Package: w.unit.Name + "@" + w.unit.Version})
}

func (a *auditor) emitVerified(p *Package) {
	if a.opts.Progress == nil {
		return
	}
	a.progressMu.Lock()
	defer a.progressMu.Unlock()
	a.verified++
	a.opts.Progress(Event{Phase: PhaseVerify, Done: a.verified, Total: a.total, Package: p.Name + "@" + p.Version})
}

// summarize counts packages by status.
func summarize(pkgs []Package) Summary {
	var s Summary
	s.Packages = len(pkgs)
	for i := range pkgs {
		p := &pkgs[i]
		switch p.Status {
		case StatusVerified:
			s.Verified++
		case StatusSigned:
			s.Signed++
		case StatusUnsigned:
			s.Unsigned++
		case StatusInvalid:
			s.Invalid++
		case StatusSkipped:
			s.Skipped++
		case StatusError:
			s.Error++
		}
		if p.RegistrySignature != nil && p.RegistrySignature.Status == CheckVerified {
			s.SignaturesVerified++
		}
		if p.Attestations != nil && p.Attestations.Status == CheckVerified {
			s.AttestationsVerified++
		}
		s.Findings += len(p.Findings)
	}
	s.Audited = s.Packages - s.Skipped
	return s
}
