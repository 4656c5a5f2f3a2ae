package fakesigstore

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"time"
)

// TrustedRootMediaType is the media type of the trusted root this fake makes.
const TrustedRootMediaType = "application/vnd.dev.sigstore.trustedroot+json;version=0.1"

type trustedRoot struct {
	MediaType              string            `json:"mediaType"`
	Tlogs                  []transparencyLog `json:"tlogs"`
	CertificateAuthorities []certAuthorityJS `json:"certificateAuthorities"`
	Ctlogs                 []transparencyLog `json:"ctlogs"`
	TimestampAuthorities   []certAuthorityJS `json:"timestampAuthorities"`
}

type transparencyLog struct {
	BaseURL       string    `json:"baseUrl"`
	HashAlgorithm string    `json:"hashAlgorithm"`
	PublicKey     publicKey `json:"publicKey"`
	LogID         logID     `json:"logId"`
}

type publicKey struct {
	RawBytes   string   `json:"rawBytes"`
	KeyDetails string   `json:"keyDetails"`
	ValidFor   validFor `json:"validFor"`
}

type validFor struct {
	Start string `json:"start"`
	End   string `json:"end,omitempty"`
}

type certAuthorityJS struct {
	Subject   distinguishedName `json:"subject"`
	URI       string            `json:"uri"`
	CertChain certChain         `json:"certChain"`
	ValidFor  validFor          `json:"validFor"`
}

type distinguishedName struct {
	Organization string `json:"organization"`
	CommonName   string `json:"commonName"`
}

type certChain struct {
	Certificates []rawBytes `json:"certificates"`
}

type rawBytes struct {
	RawBytes string `json:"rawBytes"`
}

// trustTime formats a time as the trusted root and TUF keys do.
func trustTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

func (s *Sigstore) buildTrustedRoot() ([]byte, error) {
	b64 := base64.StdEncoding.EncodeToString
	start := trustTime(s.caStart)
	tr := trustedRoot{
		MediaType: TrustedRootMediaType,
		Tlogs: []transparencyLog{{
			BaseURL:       RekorURL,
			HashAlgorithm: "SHA2_256",
			PublicKey:     publicKey{RawBytes: b64(s.rekor.spki), KeyDetails: "PKIX_ECDSA_P256_SHA_256", ValidFor: validFor{Start: start}},
			LogID:         logID{KeyID: b64(s.rekor.logID[:])},
		}},
		CertificateAuthorities: []certAuthorityJS{{
			Subject:   distinguishedName{Organization: s.ca.root.Subject.Organization[0], CommonName: s.ca.root.Subject.CommonName},
			URI:       FulcioURL,
			CertChain: certChain{Certificates: []rawBytes{{b64(s.ca.intermediate.Raw)}, {b64(s.ca.root.Raw)}}},
			ValidFor:  validFor{Start: start},
		}},
		Ctlogs: []transparencyLog{{
			BaseURL:       CTLogURL,
			HashAlgorithm: "SHA2_256",
			PublicKey:     publicKey{RawBytes: b64(s.ct.spki), KeyDetails: "PKIX_ECDSA_P256_SHA_256", ValidFor: validFor{Start: start}},
			LogID:         logID{KeyID: b64(s.ct.logID[:])},
		}},
		TimestampAuthorities: []certAuthorityJS{},
	}
	out, err := json.MarshalIndent(tr, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("%w: trusted root: %w", ErrGenerate, err)
	}
	return out, nil
}

// npmKeysEndpoint is the /-/npm/v1/keys body.
type npmKeysEndpoint struct {
	Keys []npmKeyEntry `json:"keys"`
}

type npmKeyEntry struct {
	Expires *string `json:"expires"`
	KeyID   string  `json:"keyid"`
	KeyType string  `json:"keytype"`
	Scheme  string  `json:"scheme"`
	Key     string  `json:"key"`
}

func (s *Sigstore) buildNpmKeys() ([]byte, error) {
	body := npmKeysEndpoint{Keys: []npmKeyEntry{}}
	for _, k := range s.npm {
		e := npmKeyEntry{
			KeyID:   k.keyid,
			KeyType: "ecdsa-sha2-nistp256",
			Scheme:  "ecdsa-sha2-nistp256",
			Key:     base64.StdEncoding.EncodeToString(k.spki),
		}
		if !k.spec.End.IsZero() {
			end := trustTime(k.spec.End)
			e.Expires = &end
		}
		body.Keys = append(body.Keys, e)
	}
	out, err := json.MarshalIndent(body, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("%w: npm keys: %w", ErrGenerate, err)
	}
	return out, nil
}

// npmKeysTUF is the TUF target keys.json.
type npmKeysTUF struct {
	Keys []npmKeyTUF `json:"keys"`
}

type npmKeyTUF struct {
	KeyID     string    `json:"keyId"`
	KeyUsage  string    `json:"keyUsage"`
	PublicKey publicKey `json:"publicKey"`
}

func (s *Sigstore) buildNpmKeysTUF() ([]byte, error) {
	body := npmKeysTUF{Keys: []npmKeyTUF{}}
	for i, k := range s.npm {
		spec := s.NpmKeyValidity(i)
		vf := validFor{Start: trustTime(spec.Start)}
		if !spec.End.IsZero() {
			vf.End = trustTime(spec.End)
		}
		pk := publicKey{RawBytes: base64.StdEncoding.EncodeToString(k.spki), KeyDetails: "PKIX_ECDSA_P256_SHA_256", ValidFor: vf}
		body.Keys = append(body.Keys,
			npmKeyTUF{KeyID: k.keyid, KeyUsage: "npm:signatures", PublicKey: pk},
			npmKeyTUF{KeyID: k.keyid, KeyUsage: "npm:attestations", PublicKey: pk},
		)
	}
	out, err := json.MarshalIndent(body, "", "    ")
	if err != nil {
		return nil, fmt.Errorf("%w: npm TUF keys: %w", ErrGenerate, err)
	}
	return out, nil
}
