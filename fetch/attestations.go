package fetch

import (
	"context"
	"encoding/json/jsontext"
	"encoding/json/v2"
	"errors"
	"fmt"
	"io"
)

// Attestations gets the attestation body of m, {"attestations": [...]}, as
// raw bytes (checked only for that shape; verification judges the
// bundles). The URL is attestationURL(m): the registry that served m, never
// dist.attestations.url itself, so credentials follow the usual host and
// path rules. Bodies are capped at 4 MiB and cached forever by registry +
// name@version (immutable once published). A 404 gives ErrNotFound.
func (c *Client) Attestations(ctx context.Context, m *Manifest) ([]byte, error) {
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
		return data, nil
	}
	if c.opts.Offline {
		return nil, fmt.Errorf("%w: %s: attestations from %s (offline)", ErrNotInCache, what, aURL)
	}
	var body []byte
	err = c.get(ctx, getSpec{url: aURL, accept: acceptJSON, limit: maxAttestations, what: what}, func(r io.Reader) error {
		data, err := io.ReadAll(r)
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
	c.cachePut(key, body)
	return body, nil
}

// checkAttestationsBody checks the shape {"attestations": [...]}.
func checkAttestationsBody(data []byte) error { return checkArrayBody(data, "attestations") }

// checkArrayBody checks that data is a JSON object whose member is an
// array, without judging the array's elements (verify does that).
func checkArrayBody(data []byte, member string) error {
	if looksHTML(data) {
		return errors.New("the response is an HTML page, not JSON")
	}
	var doc map[string]jsontext.Value
	if err := json.Unmarshal(data, &doc, jsonOpts); err != nil {
		return err
	}
	if v, ok := doc[member]; !ok || v.Kind() != '[' {
		return fmt.Errorf("no %q array", member)
	}
	return nil
}
