package summary

import (
	"bytes"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"

	"github.com/secure-systems-lab/go-securesystemslib/dsse"
)

// ErrKey: a key file is not an Ed25519 key in the PEM form expected.
var ErrKey = errors.New("unusable key")

// ParsePrivateKey parses an Ed25519 private key in PKCS #8 PEM (block type
// "PRIVATE KEY"), as `openssl genpkey -algorithm ed25519` writes it. Any
// other content, block type, algorithm, or data after the block is
// [ErrKey].
func ParsePrivateKey(pemBytes []byte) (ed25519.PrivateKey, error) {
	der, err := onePEMBlock(pemBytes, "PRIVATE KEY")
	if err != nil {
		return nil, err
	}
	k, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		return nil, fmt.Errorf("%w: not a PKCS #8 private key: %w", ErrKey, err)
	}
	priv, ok := k.(ed25519.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("%w: a %s key, want Ed25519 (openssl genpkey -algorithm ed25519)", ErrKey, keyType(k))
	}
	return priv, nil
}

// ParsePublicKey parses an Ed25519 public key in SubjectPublicKeyInfo PEM
// (block type "PUBLIC KEY"), as `openssl pkey -pubout` writes it. Any
// other content, block type, algorithm, or data after the block is
// [ErrKey]; a private key is refused with a hint to derive the public one.
func ParsePublicKey(pemBytes []byte) (ed25519.PublicKey, error) {
	der, err := onePEMBlock(pemBytes, "PUBLIC KEY")
	if err != nil {
		return nil, err
	}
	k, err := x509.ParsePKIXPublicKey(der)
	if err != nil {
		return nil, fmt.Errorf("%w: not a SubjectPublicKeyInfo public key: %w", ErrKey, err)
	}
	pub, ok := k.(ed25519.PublicKey)
	if !ok {
		return nil, fmt.Errorf("%w: a %s key, want Ed25519", ErrKey, keyType(k))
	}
	return pub, nil
}

// KeyID is the key's identifier in envelopes: its OpenSSH-style
// fingerprint, "SHA256:" and the unpadded base64 of the SHA-256 of its SSH
// wire encoding (what DSSE's verifier computes for keys without an id).
func KeyID(pub ed25519.PublicKey) (string, error) {
	return dsse.SHA256KeyID(pub)
}

// onePEMBlock returns the bytes of the single PEM block of type want.
func onePEMBlock(data []byte, want string) ([]byte, error) {
	block, rest := pem.Decode(data)
	if block == nil {
		return nil, fmt.Errorf("%w: no PEM block (want %q)", ErrKey, want)
	}
	if block.Type != want {
		hint := ""
		switch {
		case block.Type == "PRIVATE KEY" && want == "PUBLIC KEY":
			hint = ": this is a private key; give its public key (openssl pkey -in KEY -pubout)"
		case block.Type == "PUBLIC KEY" && want == "PRIVATE KEY":
			hint = ": this is a public key; signing needs the private key"
		case block.Type == "ENCRYPTED PRIVATE KEY":
			hint = ": encrypted keys are not supported"
		}
		return nil, fmt.Errorf("%w: PEM block %q, want %q%s", ErrKey, block.Type, want, hint)
	}
	if len(block.Headers) > 0 {
		return nil, fmt.Errorf("%w: PEM block %q has headers (an encrypted key?)", ErrKey, block.Type)
	}
	if len(bytes.TrimSpace(rest)) > 0 {
		return nil, fmt.Errorf("%w: data after the %q block", ErrKey, want)
	}
	return block.Bytes, nil
}

// keyType names the algorithm of a key that is not Ed25519.
func keyType(k any) string {
	switch k.(type) {
	case *rsa.PrivateKey, *rsa.PublicKey:
		return "RSA"
	case *ecdsa.PrivateKey, *ecdsa.PublicKey:
		return "ECDSA"
	case *ecdh.PrivateKey, *ecdh.PublicKey:
		return "X25519 (ECDH)"
	}
	return fmt.Sprintf("%T", k)
}
