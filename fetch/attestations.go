package fetch

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
)

// Body is a response body kept after the call that returned it. It holds
// its size of the Client's memory budget (see Client) until Release.
type Body struct {
	Data []byte
	l    *lease
}

// Release gives the body's share of the memory budget back. Call it when
// Data is no longer needed; it may be called more than once, and on nil.
func (b *Body) Release() {
	if b != nil {
		b.l.release()
	}
}

// Attestations gets the attestation body of m, {"attestations": [...]}, as
// raw bytes (checked only for that shape; verification judges the
// bundles). The URL is attestationURL(m): the registry that served m, never
// dist.attestations.url itself, so credentials follow the usual host and
// path rules. Bodies are capped at 4 MiB (MaxAttestationsBody) and cached
// forever by registry + name@version (immutable once published). A 404
// gives ErrNotFound.
func (c *Client) Attestations(ctx context.Context, m *Manifest) ([]byte, error) {
	b, err := c.AttestationsBody(ctx, m)
	b.Release()
	if err != nil {
		return nil, err
	}
	return b.Data, nil
}

// AttestationsBody is Attestations for a caller that keeps the body a
// while (an auditor, until it is verified): the Body holds its size of the
// memory budget until Release, so that bodies waiting and bodies being
// read share one bound. A cached body waits for its share like a fetched
// one.
func (c *Client) AttestationsBody(ctx context.Context, m *Manifest) (*Body, error) {
	if m == nil {
		return nil, fmt.Errorf("%w: nil manifest", ErrInvalidSpec)
	}
	what := m.Name + "@" + m.Version
	if err := checkSpec(m.Name, m.Version); err != nil {
		return nil, err
	}
	if m.Attestations == nil {
		return nil, fmt.Errorf("%w: %s", ErrNoAttestations, what)
	}
	registry := m.Registry
	if registry == "" {
		registry = c.cfg.RegistryFor(m.Name)
	}
	reg, err := cleanRegistry(registry)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	mm := *m
	mm.Registry = reg
	aURL := attestationURL(&mm)
	key := "fetch/attestations\n" + reg + "\n" + what
	if data, ok := c.cacheGet(key); ok && checkAttestationsBody(data) == nil {
		l, err := c.newLease(ctx, int64(len(data)), int64(len(data)))
		if err != nil {
			return nil, fmt.Errorf("%s: attestations: %w", what, err)
		}
		return &Body{Data: data, l: l}, nil
	}
	if c.opts.Offline {
		return nil, fmt.Errorf("%w: %s: attestations from %s (offline)", ErrNotInCache, what, aURL)
	}
	var body []byte
	l, err := c.getHeld(ctx, getSpec{url: aURL, accept: acceptJSON, limit: maxAttestations, what: what}, func(r io.Reader) error {
		data, err := readExact(r)
		if err != nil {
			return err
		}
		if err := checkAttestationsBody(data); err != nil {
			return fmt.Errorf("%w: %s: GET %s: %w", ErrMalformed, what, aURL, err)
		}
		body = data
		return nil
	})
	if err != nil {
		return nil, err
	}
	l.shrink(int64(len(body))) // the read buffer is gone; the body stays
	c.cachePut(key, body)
	return &Body{Data: body, l: l}, nil
}

// checkAttestationsBody checks the shape {"attestations": [...]}.
func checkAttestationsBody(data []byte) error { return checkArrayBody(data, "attestations") }

// checkArrayBody checks that data is one JSON object whose member (once)
// is an array, without judging the array's elements
// (verify does that). It reads data as a stream (stream.go), copying
// nothing.
func checkArrayBody(data []byte, member string) error {
	if looksHTML(data) {
		return errors.New("the response is an HTML page, not JSON")
	}
	dec := newStreamDecoder(bytes.NewReader(data))
	var seen seenMembers
	found := false
	err := eachMember(dec, func(key string) error {
		if seen.repeated([]byte(key), member) {
			return fmt.Errorf("member %q appears twice", key)
		}
		if key == member && dec.PeekKind() == '[' {
			found = true
		}
		return dec.SkipValue()
	})
	if err != nil {
		return err
	}
	if _, err := dec.ReadToken(); err != io.EOF {
		return errors.New("data after the top-level object")
	}
	if !found {
		return fmt.Errorf("no %q array", member)
	}
	return nil
}

// readExact reads r to its end into a slice of exactly its length, so that
// a body kept afterwards holds no spare capacity. It reads into chunks and
// copies them once: reading costs about twice the body's size while it runs.
func readExact(r io.Reader) ([]byte, error) {
	var chunks [][]byte
	n := 0
	for {
		c := make([]byte, 64<<10)
		m, err := io.ReadFull(r, c)
		chunks = append(chunks, c[:m])
		n += m
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			break
		}
		if err != nil {
			return nil, err
		}
	}
	out := make([]byte, 0, n)
	for _, c := range chunks {
		out = append(out, c...)
	}
	return out, nil
}
