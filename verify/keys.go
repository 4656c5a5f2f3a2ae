package verify

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Key usages as the npm keys (TUF keys.json form) name them.
const (
	// UsageSignatures marks a key that signs dist.signatures.
	UsageSignatures = "npm:signatures"
	// UsageAttestations marks a key that signs publish attestations.
	UsageAttestations = "npm:attestations"
)

// maxKeys bounds the number of keys a key file may list.
const maxKeys = 256

// Key is one npm registry key.
type Key struct {
	// KeyID is the OpenSSH-style fingerprint of the key: "SHA256:" and the
	// unpadded standard base64 of SHA-256 over the key's SSH wire encoding.
	KeyID string
	// Usage is UsageSignatures, UsageAttestations, or "" for both (the
	// /-/npm/v1/keys form does not say).
	Usage string
	// Public is the ECDSA P-256 public key. Other key types are rejected
	// when parsing.
	Public *ecdsa.PublicKey
	// Start and End bound the key's validity: it is valid from Start
	// (inclusive) strictly before End (its "expires" instant); zero is
	// unbounded.
	Start, End time.Time
	// Pinned tells whether the key comes from provaudit's trust material
	// (embedded, --npm-keys or trust update) rather than only from the
	// registry's key endpoint.
	Pinned bool
	// Trusted tells whether a signature by the key counts: pinned keys, and
	// keys listed by a registry that the person running provaudit named
	// (see [KeyringOptions]). A key that only a registry named by the
	// audited project lists is not trusted: a signature it verifies is
	// reported as untrusted, never as verified.
	Trusted bool
}

// ValidAt reports whether t is within the key's validity window: at or
// after Start and strictly before End.
func (k *Key) ValidAt(t time.Time) bool {
	if !k.Start.IsZero() && t.Before(k.Start) {
		return false
	}
	if !k.End.IsZero() && !t.Before(k.End) {
		return false
	}
	return true
}

// usableFor reports whether the key may be used for usage.
func (k *Key) usableFor(usage string) bool { return k.Usage == "" || k.Usage == usage }

// window renders the validity window for error messages.
func (k *Key) window() string {
	f := func(t time.Time, open string) string {
		if t.IsZero() {
			return open
		}
		return t.UTC().Format(time.RFC3339)
	}
	return "[" + f(k.Start, "-inf") + ", " + f(k.End, "+inf") + ")"
}

// Fingerprint returns the npm keyid of an ECDSA P-256 key: "SHA256:" followed
// by the unpadded base64 of SHA-256 over the key's SSH wire encoding (string
// "ecdsa-sha2-nistp256", string "nistp256", string Q).
func Fingerprint(pub *ecdsa.PublicKey) (string, error) {
	if pub == nil || pub.Curve != elliptic.P256() {
		return "", fmt.Errorf("%w: key is not ECDSA P-256", ErrMalformed)
	}
	q, err := pub.Bytes()
	if err != nil {
		return "", fmt.Errorf("%w: encoding public key: %w", ErrMalformed, err)
	}
	var wire bytes.Buffer
	for _, part := range [][]byte{[]byte("ecdsa-sha2-nistp256"), []byte("nistp256"), q} {
		var n [4]byte
		binary.BigEndian.PutUint32(n[:], uint32(len(part)))
		wire.Write(n[:])
		wire.Write(part)
	}
	sum := sha256.Sum256(wire.Bytes())
	return "SHA256:" + base64.RawStdEncoding.EncodeToString(sum[:]), nil
}

// keyFileEntry is the union of both key list forms. The TUF keys.json form
// uses keyId, keyUsage and publicKey{rawBytes, keyDetails, validFor}; the
// /-/npm/v1/keys form uses keyid, keytype, scheme, key and expires.
type keyFileEntry struct {
	// TUF form.
	KeyIDTUF  *string `json:"keyId"`
	KeyUsage  *string `json:"keyUsage"`
	PublicKey *struct {
		RawBytes   string `json:"rawBytes"`
		KeyDetails string `json:"keyDetails"`
		ValidFor   *struct {
			Start *string `json:"start"`
			End   *string `json:"end"`
		} `json:"validFor"`
	} `json:"publicKey"`
	// Endpoint form.
	KeyIDEndpoint *string         `json:"keyid"`
	KeyType       *string         `json:"keytype"`
	Scheme        *string         `json:"scheme"`
	KeyMaterial   *string         `json:"key"`
	Expires       json.RawMessage `json:"expires"`
}

// ParseNpmKeys parses an npm key list in either form: the Sigstore TUF target
// keys.json ({"keys":[{"keyId","keyUsage","publicKey":{"rawBytes",
// "keyDetails","validFor":{"start","end"}}}]}) or the registry's
// /-/npm/v1/keys body ({"keys":[{"keyid","keytype","scheme","key",
// "expires"}]}). Keys of the second form have Usage "" (both usages) and no
// start.
//
// Parsing is strict: every key must be ECDSA P-256 (PKIX DER), times must
// be RFC 3339, the TUF form must give a usage (npm:signatures or
// npm:attestations) and a validity start, and a keyid may not be listed
// twice for the same usage. An empty list is an error wrapping [ErrNoKeys]
// (a caller reading a registry's keys endpoint may treat that as a registry
// without keys). Keys are returned with Pinned and Trusted false, sorted by
// keyid and usage.
//
// ParseNpmKeys does not check that a keyid is the fingerprint of its key
// material: [NewTrust] and [NewKeyring] do, before a key becomes usable, so
// that a registry listing a pinned keyid with other material is reported as
// [ErrPinnedKeyMismatch] rather than as a malformed key.
func ParseNpmKeys(data []byte) ([]Key, error) {
	data = bytes.TrimSpace(data)
	if len(data) == 0 {
		return nil, fmt.Errorf("%w: npm keys: empty document", ErrMalformed)
	}
	var doc struct {
		Keys *[]json.RawMessage `json:"keys"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("%w: npm keys: %w", ErrMalformed, err)
	}
	if doc.Keys == nil {
		return nil, fmt.Errorf("%w: npm keys: no \"keys\" array", ErrMalformed)
	}
	if len(*doc.Keys) == 0 {
		return nil, fmt.Errorf("%w: npm keys: the key list is empty", ErrNoKeys)
	}
	if len(*doc.Keys) > maxKeys {
		return nil, fmt.Errorf("%w: npm keys: %d keys (at most %d)", ErrMalformed, len(*doc.Keys), maxKeys)
	}
	keys := make([]Key, 0, len(*doc.Keys))
	for i, raw := range *doc.Keys {
		var e keyFileEntry
		if err := json.Unmarshal(raw, &e); err != nil {
			return nil, fmt.Errorf("%w: npm keys: key %d: %w", ErrMalformed, i, err)
		}
		k, err := parseKeyEntry(&e)
		if err != nil {
			return nil, fmt.Errorf("npm keys: key %d: %w", i, err)
		}
		for _, prev := range keys {
			if prev.KeyID == k.KeyID && (prev.Usage == k.Usage || prev.Usage == "" || k.Usage == "") {
				return nil, fmt.Errorf("%w: npm keys: key %d: keyid %s listed twice for usage %q", ErrMalformed, i, k.KeyID, k.Usage)
			}
		}
		keys = append(keys, k)
	}
	sortKeys(keys)
	return keys, nil
}

func parseKeyEntry(e *keyFileEntry) (Key, error) {
	tuf := e.KeyIDTUF != nil || e.KeyUsage != nil || e.PublicKey != nil
	endpoint := e.KeyIDEndpoint != nil || e.KeyType != nil || e.Scheme != nil || e.KeyMaterial != nil || e.Expires != nil
	switch {
	case tuf && endpoint:
		return Key{}, fmt.Errorf("%w: mixes the keys.json and /-/npm/v1/keys forms", ErrMalformed)
	case tuf:
		return parseTUFKey(e)
	case endpoint:
		return parseEndpointKey(e)
	}
	return Key{}, fmt.Errorf("%w: neither a keys.json nor a /-/npm/v1/keys entry", ErrMalformed)
}

func parseTUFKey(e *keyFileEntry) (Key, error) {
	if e.KeyIDTUF == nil || *e.KeyIDTUF == "" {
		return Key{}, fmt.Errorf("%w: keyId missing", ErrMalformed)
	}
	id := *e.KeyIDTUF
	if e.KeyUsage == nil {
		return Key{}, fmt.Errorf("%w: %s: keyUsage missing", ErrMalformed, id)
	}
	usage := *e.KeyUsage
	if usage != UsageSignatures && usage != UsageAttestations {
		return Key{}, fmt.Errorf("%w: %s: unknown keyUsage %q", ErrMalformed, id, usage)
	}
	if e.PublicKey == nil {
		return Key{}, fmt.Errorf("%w: %s: publicKey missing", ErrMalformed, id)
	}
	if e.PublicKey.KeyDetails != "PKIX_ECDSA_P256_SHA_256" {
		return Key{}, fmt.Errorf("%w: %s: unsupported keyDetails %q (only PKIX_ECDSA_P256_SHA_256)", ErrMalformed, id, e.PublicKey.KeyDetails)
	}
	pub, err := parsePKIXP256(e.PublicKey.RawBytes)
	if err != nil {
		return Key{}, fmt.Errorf("%s: %w", id, err)
	}
	k := Key{KeyID: id, Usage: usage, Public: pub}
	vf := e.PublicKey.ValidFor
	if vf == nil || vf.Start == nil {
		return Key{}, fmt.Errorf("%w: %s: validFor.start missing", ErrMalformed, id)
	}
	if k.Start, err = parseKeyTime(*vf.Start); err != nil {
		return Key{}, fmt.Errorf("%s: validFor.start: %w", id, err)
	}
	if vf.End != nil {
		if k.End, err = parseKeyTime(*vf.End); err != nil {
			return Key{}, fmt.Errorf("%s: validFor.end: %w", id, err)
		}
	}
	return k, checkWindow(&k)
}

func parseEndpointKey(e *keyFileEntry) (Key, error) {
	if e.KeyIDEndpoint == nil || *e.KeyIDEndpoint == "" {
		return Key{}, fmt.Errorf("%w: keyid missing", ErrMalformed)
	}
	id := *e.KeyIDEndpoint
	if e.KeyType == nil || *e.KeyType != "ecdsa-sha2-nistp256" {
		return Key{}, fmt.Errorf("%w: %s: keytype must be ecdsa-sha2-nistp256", ErrMalformed, id)
	}
	if e.Scheme == nil || *e.Scheme != "ecdsa-sha2-nistp256" {
		return Key{}, fmt.Errorf("%w: %s: scheme must be ecdsa-sha2-nistp256", ErrMalformed, id)
	}
	if e.KeyMaterial == nil {
		return Key{}, fmt.Errorf("%w: %s: key missing", ErrMalformed, id)
	}
	pub, err := parsePKIXP256(*e.KeyMaterial)
	if err != nil {
		return Key{}, fmt.Errorf("%s: %w", id, err)
	}
	k := Key{KeyID: id, Public: pub}
	if len(e.Expires) > 0 && string(e.Expires) != "null" {
		var s string
		if err := json.Unmarshal(e.Expires, &s); err != nil {
			return Key{}, fmt.Errorf("%w: %s: expires is neither null nor a string", ErrMalformed, id)
		}
		if k.End, err = parseKeyTime(s); err != nil {
			return Key{}, fmt.Errorf("%s: expires: %w", id, err)
		}
	}
	return k, checkWindow(&k)
}

func checkWindow(k *Key) error {
	if !k.Start.IsZero() && !k.End.IsZero() && k.End.Before(k.Start) {
		return fmt.Errorf("%w: %s: validity ends before it starts", ErrMalformed, k.KeyID)
	}
	return nil
}

func parsePKIXP256(b64 string) (*ecdsa.PublicKey, error) {
	if b64 == "" {
		return nil, fmt.Errorf("%w: key material empty", ErrMalformed)
	}
	der, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		return nil, fmt.Errorf("%w: key material is not base64: %w", ErrMalformed, err)
	}
	pk, err := x509.ParsePKIXPublicKey(der)
	if err != nil {
		return nil, fmt.Errorf("%w: key material is not a PKIX public key: %w", ErrMalformed, err)
	}
	pub, ok := pk.(*ecdsa.PublicKey)
	if !ok || pub.Curve != elliptic.P256() {
		return nil, fmt.Errorf("%w: key is %T, only ECDSA P-256 is supported", ErrMalformed, pk)
	}
	return pub, nil
}

func parseKeyTime(s string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%w: %q is not an RFC 3339 time", ErrMalformed, s)
	}
	return t, nil
}

func sortKeys(keys []Key) {
	slices.SortFunc(keys, func(a, b Key) int {
		if c := strings.Compare(a.KeyID, b.KeyID); c != 0 {
			return c
		}
		return strings.Compare(a.Usage, b.Usage)
	})
}

// RegistryKeys is what is known of a registry's signing keys.
type RegistryKeys int

const (
	// KeysListed: the registry's key endpoint lists keys, so it signs the
	// versions it serves: a version without a signature is "missing". It is
	// also what --npm-keys FILE means (the pinned keys stand for the
	// registry's, and its endpoint is not asked).
	KeysListed RegistryKeys = iota
	// KeysNone: the key endpoint answered 404 or 400, or listed no keys. The
	// registry publishes no keys: a version without signatures is
	// "unsupported". Signatures that are present are still checked with the
	// pinned keys.
	KeysNone
	// KeysUnknown: the key list could not be had (offline without an
	// authenticated cached copy, or the endpoint failed). Signatures are
	// checked with the pinned keys; whether a version without signatures
	// should carry one cannot be told ([ErrKeysUnknown]).
	KeysUnknown
)

// String names the state as reports show it: listed, none or unknown.
func (r RegistryKeys) String() string {
	switch r {
	case KeysListed:
		return "listed"
	case KeysNone:
		return "none"
	case KeysUnknown:
		return "unknown"
	}
	return fmt.Sprintf("RegistryKeys(%d)", int(r))
}

// KeyringOptions say what the registry's keys are worth.
type KeyringOptions struct {
	// Registry is what the registry's key endpoint said.
	Registry RegistryKeys
	// TrustRegistry makes the keys the registry lists trusted (unpinned):
	// the person running provaudit named the registry (--registry,
	// npm_config_registry, their user or global npmrc, npm's own
	// configuration). Without it, listed keys are known but not trusted: the
	// registry was named only by the audited project's own files, which
	// are untrusted input.
	TrustRegistry bool
}

// Keyring is the set of npm keys a [Verifier] uses: the pinned keys
// reconciled with the keys the registry lists. It is immutable.
type Keyring struct {
	keys     []Key
	byID     map[string][]int // keyid -> indexes into keys
	registry RegistryKeys
	digest   string
}

// NewKeyring reconciles pinned keys (provaudit's trust material) with the
// keys the registry lists at /-/npm/v1/keys.
//
//   - A registry key whose keyid is pinned must carry the pinned key material,
//     else the error wraps [ErrPinnedKeyMismatch]. The pinned entries (their
//     usages and validity windows) stay authoritative for that keyid: the
//     registry cannot widen them.
//   - A registry key that is not pinned is usable with Pinned false, and
//     Trusted only with opts.TrustRegistry.
//   - Pinned keys are usable and trusted whether or not the registry lists
//     them, whatever its key endpoint said.
//   - Registry keys given with opts.Registry other than KeysListed are an
//     error.
func NewKeyring(pinned, registry []Key, opts KeyringOptions) (*Keyring, error) {
	switch opts.Registry {
	case KeysListed, KeysNone, KeysUnknown:
	default:
		return nil, fmt.Errorf("%w: keyring: unknown registry key state %d", ErrMalformed, int(opts.Registry))
	}
	if opts.Registry != KeysListed && len(registry) > 0 {
		return nil, fmt.Errorf("%w: keyring: %d registry keys given for a registry whose keys are %s", ErrMalformed, len(registry), opts.Registry)
	}
	kr := &Keyring{registry: opts.Registry, byID: map[string][]int{}}
	for _, k := range pinned {
		if err := validKey(&k); err != nil {
			return nil, fmt.Errorf("keyring: pinned key: %w", err)
		}
		k.Pinned, k.Trusted = true, true
		if err := kr.add(k); err != nil {
			return nil, err
		}
	}
	for _, k := range registry {
		if k.Public == nil {
			return nil, fmt.Errorf("%w: keyring: registry key %s has no key material", ErrMalformed, k.KeyID)
		}
		if idx, ok := kr.byID[k.KeyID]; ok && kr.keys[idx[0]].Pinned {
			if !kr.keys[idx[0]].Public.Equal(k.Public) {
				return nil, fmt.Errorf("%w: the registry lists keyid %s with other key material", ErrPinnedKeyMismatch, k.KeyID)
			}
			continue // pinned entries stay authoritative for their keyid
		}
		if err := validKey(&k); err != nil {
			return nil, fmt.Errorf("keyring: registry key: %w", err)
		}
		k.Pinned, k.Trusted = false, opts.TrustRegistry
		if err := kr.add(k); err != nil {
			return nil, err
		}
	}
	h := sha256.New()
	fmt.Fprintf(h, "provaudit-keyring-v2 %s\n", opts.Registry)
	for _, k := range kr.keys {
		der, err := x509.MarshalPKIXPublicKey(k.Public)
		if err != nil {
			return nil, fmt.Errorf("%w: keyring: %s: %w", ErrMalformed, k.KeyID, err)
		}
		fmt.Fprintf(h, "%s %s %t %t %d %d %x\n", k.KeyID, k.Usage, k.Pinned, k.Trusted, unixOrZero(k.Start), unixOrZero(k.End), der)
	}
	kr.digest = hex.EncodeToString(h.Sum(nil))
	return kr, nil
}

func unixOrZero(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

func (kr *Keyring) add(k Key) error {
	for _, i := range kr.byID[k.KeyID] {
		prev := &kr.keys[i]
		if !prev.Public.Equal(k.Public) {
			return fmt.Errorf("%w: keyring: keyid %s listed with two different keys", ErrMalformed, k.KeyID)
		}
		if prev.Usage == k.Usage || prev.Usage == "" || k.Usage == "" {
			return fmt.Errorf("%w: keyring: keyid %s listed twice for usage %q", ErrMalformed, k.KeyID, k.Usage)
		}
	}
	kr.keys = append(kr.keys, k)
	kr.byID[k.KeyID] = append(kr.byID[k.KeyID], len(kr.keys)-1)
	return nil
}

// validKey checks a Key before it becomes usable: a known usage, ECDSA P-256
// material whose fingerprint is the keyid, and a sane window.
func validKey(k *Key) error {
	if k.Usage != "" && k.Usage != UsageSignatures && k.Usage != UsageAttestations {
		return fmt.Errorf("%w: %s: unknown usage %q", ErrMalformed, k.KeyID, k.Usage)
	}
	fp, err := Fingerprint(k.Public)
	if err != nil {
		return fmt.Errorf("%s: %w", k.KeyID, err)
	}
	if fp != k.KeyID {
		return fmt.Errorf("%w: keyid %q is not the fingerprint of its key (%s)", ErrMalformed, k.KeyID, fp)
	}
	return checkWindow(k)
}

// Keys returns a copy of the usable keys, pinned first.
func (kr *Keyring) Keys() []Key { return slices.Clone(kr.keys) }

// Registry reports what is known of the registry's keys.
func (kr *Keyring) Registry() RegistryKeys { return kr.registry }

// Digest returns a hex SHA-256 over the keyring's keys, their usages,
// windows, pinning and trust, and the registry's key state. Results that
// depend on the keyring are cached under it together with [Trust.Digest].
func (kr *Keyring) Digest() string { return kr.digest }

// lookup returns the key with the keyid usable for usage, trusted or not,
// or nil.
func (kr *Keyring) lookup(keyID, usage string) *Key {
	for _, i := range kr.byID[keyID] {
		if kr.keys[i].usableFor(usage) {
			return &kr.keys[i]
		}
	}
	return nil
}
