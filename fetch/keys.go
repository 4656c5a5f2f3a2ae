package fetch

import (
	"context"
	"encoding/json/v2"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// KeysMaxAge is how long a cached key set is used without asking the
// registry again (offline mode uses a cached copy of any age).
const KeysMaxAge = time.Hour

// keysEntry is the cached answer of the keys endpoint.
type keysEntry struct {
	Fetched time.Time `json:"fetched"`
	NoKeys  bool      `json:"noKeys,omitempty"` // the registry answered 404/400
	Body    []byte    `json:"body,omitempty"`
}

// RegistryKeys gets <registry>/-/npm/v1/keys, the registry's signing keys,
// as the raw JSON body (checked to be an object with a "keys" array). A 404
// or 400 answer means the registry publishes no keys: (nil, ErrNoKeys).
// Answers are cached for KeysMaxAge, sealed (a key list is trust: see
// Cache.GetSealed); in offline mode a cached answer of any age is used,
// else ErrNotInCache.
func (c *Client) RegistryKeys(ctx context.Context, registry string) ([]byte, error) {
	reg, err := cleanRegistry(registry)
	if err != nil {
		return nil, err
	}
	keysURL := reg + "-/npm/v1/keys"
	what := "registry keys of " + reg
	key := "fetch/keys\n" + reg
	if data, ok := c.cacheGetSealed(key); ok {
		var e keysEntry
		if json.Unmarshal(data, &e) == nil && (c.opts.Offline || time.Since(e.Fetched) < KeysMaxAge && time.Since(e.Fetched) >= -time.Minute) {
			if e.NoKeys {
				c.noKeys.Store(reg, struct{}{})
				return nil, fmt.Errorf("%w: %s: GET %s answered 404 or 400 (cached %s)", ErrNoKeys, what, keysURL, e.Fetched.UTC().Format(time.RFC3339))
			}
			if checkKeysBody(e.Body) == nil {
				return e.Body, nil
			}
		}
	}
	if c.opts.Offline {
		return nil, fmt.Errorf("%w: %s (offline)", ErrNotInCache, what)
	}
	var body []byte
	err = c.get(ctx, getSpec{url: keysURL, accept: acceptJSON, limit: maxKeys, what: what}, func(r io.Reader) error {
		data, err := io.ReadAll(r)
		if err != nil {
			return err
		}
		if err := checkKeysBody(data); err != nil {
			return fmt.Errorf("%w: %s: GET %s: %w", ErrMalformed, what, keysURL, err)
		}
		body = data
		return nil
	})
	var se *StatusError
	if errors.As(err, &se) && (se.StatusCode == http.StatusNotFound || se.StatusCode == http.StatusBadRequest) {
		c.noKeys.Store(reg, struct{}{})
		if data, merr := json.Marshal(keysEntry{Fetched: time.Now().UTC(), NoKeys: true}); merr == nil {
			c.cachePutSealed(key, data)
		}
		return nil, fmt.Errorf("%w: %s: GET %s answered %d", ErrNoKeys, what, keysURL, se.StatusCode)
	}
	if err != nil {
		return nil, err
	}
	if data, merr := json.Marshal(keysEntry{Fetched: time.Now().UTC(), Body: body}); merr == nil {
		c.cachePutSealed(key, data)
	}
	return body, nil
}

// checkKeysBody checks the shape {"keys": [...]} without judging the keys.
func checkKeysBody(data []byte) error { return checkArrayBody(data, "keys") }

// keyless reports whether RegistryKeys found that registry has no keys.
func (c *Client) keyless(registry string) bool {
	_, ok := c.noKeys.Load(registry)
	return ok
}

// cleanRegistry normalizes a registry URL given to RegistryKeys; unlike
// npmrc registries it may not carry credentials.
func cleanRegistry(raw string) (string, error) {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Opaque != "" {
		return "", fmt.Errorf("%w: registry %s is not an http(s) URL", ErrConfig, redactURL(raw))
	}
	if u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return "", fmt.Errorf("%w: registry %s must not carry credentials, a query or a fragment", ErrConfig, redactURL(raw))
	}
	u.Scheme = strings.ToLower(u.Scheme)
	u.Host = strings.ToLower(u.Host)
	if !strings.HasSuffix(u.Path, "/") {
		u.Path += "/"
		if u.RawPath != "" {
			u.RawPath += "/"
		}
	}
	return u.String(), nil
}
