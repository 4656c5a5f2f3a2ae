package verdictstore

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/secure-systems-lab/go-securesystemslib/dsse"

	"github.com/provaudit/provaudit/audit"
)

// PayloadType is the DSSE payload type of a record.
const PayloadType = "application/vnd.provaudit.verdict-record+json; version=1"

// recordVersion is the version of the record's payload.
const recordVersion = 1

// keyPrefix starts every object key the store writes or reads.
const keyPrefix = "provaudit-verdicts/v1/"

// Limits on what a record may hold: a real one is 1 to 5 kB.
const (
	maxRecord     = 256 << 10
	maxSignatures = 4
)

// Errors of records that are not used. Every one makes the record read as
// absent: the package is verified the usual way.
var (
	// ErrMalformed: not a record of this format (not JSON, another payload
	// type, too large, fields missing).
	ErrMalformed = errors.New("malformed verdict record")
	// ErrSignature: no signature by the store's public key verifies.
	ErrSignature = errors.New("verdict record not signed by the store's key")
	// ErrOtherKey: the record is signed, but for another key than the one
	// it is stored under: another package, integrity, trust material,
	// registry, registry trust or verdict format.
	ErrOtherKey = errors.New("verdict record made for another situation")
)

// record is the signed payload.
type record struct {
	RecordVersion int            `json:"recordVersion"`
	Key           audit.StoreKey `json:"key"`
	// Verdict is audit's verdict, as audit encodes it: the store does not
	// interpret it (audit checks that it is a pass).
	Verdict json.RawMessage `json:"verdict"`
	// Tool and CreatedAt say who wrote the record and when; they are
	// informative and not compared.
	Tool      string    `json:"tool,omitempty"`
	CreatedAt time.Time `json:"createdAt"`
}

// envelope is a DSSE envelope ([]byte fields are base64 in JSON).
type envelope struct {
	PayloadType string        `json:"payloadType"`
	Payload     []byte        `json:"payload"`
	Signatures  []envelopeSig `json:"signatures"`
}

type envelopeSig struct {
	KeyID string `json:"keyid"`
	Sig   []byte `json:"sig"`
}

// keyID is the keyid records signed with pub carry: its OpenSSH-style
// fingerprint, as the signed summary uses.
func keyID(pub ed25519.PublicKey) string {
	id, err := dsse.SHA256KeyID(pub)
	if err != nil {
		return ""
	}
	return id
}

// keyDir is the folder of the records signed by pub: a reader looks only
// where its writer writes, and writers with other keys never overwrite
// each other's records.
func keyDir(pub ed25519.PublicKey) string {
	sum := sha256.Sum256(pub)
	return hex.EncodeToString(sum[:16])
}

// objectKey is where the record of k signed by the key of dir lives: a
// digest of every field of k, so that a name from an untrusted lockfile
// never becomes a path, and any difference in the situation is another
// object.
func objectKey(dir string, k audit.StoreKey) string {
	h := sha256.New()
	for _, f := range []string{k.Name, k.Version, k.Integrity, k.VerdictFormat, k.Trust, k.Registry, k.RegistryNamedBy, k.RegistryKeys} {
		var n [8]byte
		binary.BigEndian.PutUint64(n[:], uint64(len(f)))
		h.Write(n[:])
		h.Write([]byte(f))
	}
	return keyPrefix + dir + "/" + hex.EncodeToString(h.Sum(nil))
}

// sealRecord signs the record of verdict under k.
func sealRecord(priv ed25519.PrivateKey, k audit.StoreKey, verdict []byte, tool string, now time.Time) ([]byte, error) {
	if !json.Valid(verdict) {
		return nil, fmt.Errorf("%w: the verdict is not JSON", ErrMalformed)
	}
	payload, err := json.Marshal(record{RecordVersion: recordVersion, Key: k, Verdict: verdict, Tool: tool, CreatedAt: now.UTC()})
	if err != nil {
		return nil, err
	}
	pub := priv.Public().(ed25519.PublicKey)
	sig := ed25519.Sign(priv, dsse.PAE(PayloadType, payload))
	return json.Marshal(envelope{PayloadType: PayloadType, Payload: payload, Signatures: []envelopeSig{{KeyID: keyID(pub), Sig: sig}}})
}

// openRecord checks a stored record against the store's public key and the
// key it was looked up under, and returns its verdict. The signature is
// checked before anything of the payload is read.
func openRecord(pub ed25519.PublicKey, data []byte, want audit.StoreKey) (json.RawMessage, error) {
	if len(data) > maxRecord {
		return nil, fmt.Errorf("%w: %d bytes (at most %d)", ErrMalformed, len(data), maxRecord)
	}
	var env envelope
	if err := json.Unmarshal(data, &env); err != nil {
		return nil, fmt.Errorf("%w: not a DSSE envelope: %w", ErrMalformed, err)
	}
	if env.PayloadType != PayloadType {
		return nil, fmt.Errorf("%w: payload type %q, want %q", ErrMalformed, env.PayloadType, PayloadType)
	}
	if len(env.Signatures) == 0 || len(env.Signatures) > maxSignatures {
		return nil, fmt.Errorf("%w: %d signatures", ErrSignature, len(env.Signatures))
	}
	pae := dsse.PAE(PayloadType, env.Payload)
	signed := false
	for _, s := range env.Signatures {
		if len(s.Sig) == ed25519.SignatureSize && ed25519.Verify(pub, pae, s.Sig) {
			signed = true
			break
		}
	}
	if !signed {
		return nil, fmt.Errorf("%w (%s)", ErrSignature, keyID(pub))
	}
	var rec record
	dec := json.NewDecoder(bytes.NewReader(env.Payload))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&rec); err != nil {
		return nil, fmt.Errorf("%w: payload: %w", ErrMalformed, err)
	}
	if rec.RecordVersion != recordVersion {
		return nil, fmt.Errorf("%w: record version %d, want %d", ErrMalformed, rec.RecordVersion, recordVersion)
	}
	if rec.Key != want {
		return nil, fmt.Errorf("%w: %s", ErrOtherKey, keyDiff(rec.Key, want))
	}
	if len(rec.Verdict) == 0 || rec.Verdict[0] != '{' {
		return nil, fmt.Errorf("%w: no verdict", ErrMalformed)
	}
	return rec.Verdict, nil
}

// keyDiff names the first field in which a record's key differs from the
// one wanted.
func keyDiff(got, want audit.StoreKey) string {
	for _, f := range []struct{ name, got, want string }{
		{"package", got.Name + "@" + got.Version, want.Name + "@" + want.Version},
		{"integrity", got.Integrity, want.Integrity},
		{"verdict format", got.VerdictFormat, want.VerdictFormat},
		{"trust material", got.Trust, want.Trust},
		{"registry", got.Registry, want.Registry},
		{"registry named by", got.RegistryNamedBy, want.RegistryNamedBy},
		{"registry keys", got.RegistryKeys, want.RegistryKeys},
	} {
		if f.got != f.want {
			return fmt.Sprintf("%s %q, want %q", f.name, f.got, f.want)
		}
	}
	return "no difference"
}
