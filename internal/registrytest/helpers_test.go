package registrytest

import (
	"context"
	"crypto/ecdsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// newRegistry starts a registry closed at the end of the test.
func newRegistry(t *testing.T, opts Options) *Registry {
	t.Helper()
	r := New(opts)
	t.Cleanup(r.Close)
	return r
}

type response struct {
	status int
	header http.Header
	body   []byte
	err    error // error reading the body
}

// get fetches path (relative to the registry URL, leading slash optional)
// with the given header pairs. A transport error fails the test.
func get(t *testing.T, r *Registry, path string, headers ...string) response {
	t.Helper()
	return do(t, r, http.MethodGet, path, headers...)
}

func do(t *testing.T, r *Registry, method, path string, headers ...string) response {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, r.URL()+strings.TrimPrefix(path, "/"), nil)
	if err != nil {
		t.Fatalf("new request %s: %v", path, err)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := r.Client().Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return response{status: resp.StatusCode, header: resp.Header, body: body, err: err}
}

// mustGet is get that also requires status 200 and a complete body.
func mustGet(t *testing.T, r *Registry, path string, headers ...string) []byte {
	t.Helper()
	resp := get(t, r, path, headers...)
	if resp.err != nil {
		t.Fatalf("GET %s: reading body: %v", path, resp.err)
	}
	if resp.status != http.StatusOK {
		t.Fatalf("GET %s: status %d, body %.200s", path, resp.status, resp.body)
	}
	return resp.body
}

func decode[T any](t *testing.T, data []byte) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(data, &v); err != nil {
		t.Fatalf("decode %T: %v; body %.300s", v, err, data)
	}
	return v
}

// testVersionDoc is what tests read from a version document.
type testVersionDoc struct {
	Name    string `json:"name"`
	Version string `json:"version"`
	ID      string `json:"_id"`
	Dist    struct {
		Integrity  string `json:"integrity"`
		Shasum     string `json:"shasum"`
		Tarball    string `json:"tarball"`
		Signatures []struct {
			KeyID string `json:"keyid"`
			Sig   string `json:"sig"`
		} `json:"signatures"`
		Attestations *struct {
			URL        string `json:"url"`
			Provenance *struct {
				PredicateType string `json:"predicateType"`
			} `json:"provenance"`
		} `json:"attestations"`
	} `json:"dist"`
	NpmUser *struct {
		Name             string `json:"name"`
		Email            string `json:"email"`
		TrustedPublisher *struct {
			ID           string `json:"id"`
			OIDCConfigID string `json:"oidcConfigId"`
		} `json:"trustedPublisher"`
		Approver *struct {
			Name string `json:"name"`
		} `json:"approver"`
	} `json:"_npmUser"`
	Scripts map[string]string `json:"scripts"`
}

// keysFrom parses a /-/npm/v1/keys body into keyid -> public key.
func keysFrom(t *testing.T, body []byte) map[string]*ecdsa.PublicKey {
	t.Helper()
	doc := decode[struct {
		Keys []struct {
			KeyID string `json:"keyid"`
			Key   string `json:"key"`
		} `json:"keys"`
	}](t, body)
	out := map[string]*ecdsa.PublicKey{}
	for _, k := range doc.Keys {
		der, err := base64.StdEncoding.DecodeString(k.Key)
		if err != nil {
			t.Fatalf("key %s: %v", k.KeyID, err)
		}
		pub, err := x509.ParsePKIXPublicKey(der)
		if err != nil {
			t.Fatalf("key %s: %v", k.KeyID, err)
		}
		ec, ok := pub.(*ecdsa.PublicKey)
		if !ok {
			t.Fatalf("key %s is %T, not ECDSA", k.KeyID, pub)
		}
		out[k.KeyID] = ec
	}
	if len(out) == 0 {
		t.Fatal("no keys")
	}
	return out
}

// verifyRegistrySig checks an npm registry signature over name@version:integrity.
func verifyRegistrySig(keys map[string]*ecdsa.PublicKey, keyid, sig, name, version, integrity string) bool {
	pub, ok := keys[keyid]
	if !ok {
		return false
	}
	der, err := base64.StdEncoding.DecodeString(sig)
	if err != nil {
		return false
	}
	h := sha256.Sum256([]byte(name + "@" + version + ":" + integrity))
	return ecdsa.VerifyASN1(pub, h[:], der)
}
