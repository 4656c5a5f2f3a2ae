package fakesigstore

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha1" //nolint:gosec // RFC 5280 method 1 key identifiers are SHA-1, as Fulcio makes them.
	"crypto/sha256"
	"crypto/sha512"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/binary"
	"encoding/pem"
	"fmt"
	"math/big"
	"time"
)

// Object identifiers of the extensions a Fulcio leaf certificate carries.
var (
	oidKeyUsage        = asn1.ObjectIdentifier{2, 5, 29, 15}
	oidExtKeyUsage     = asn1.ObjectIdentifier{2, 5, 29, 37}
	oidSubjectKeyID    = asn1.ObjectIdentifier{2, 5, 29, 14}
	oidAuthorityKeyID  = asn1.ObjectIdentifier{2, 5, 29, 35}
	oidSubjectAltName  = asn1.ObjectIdentifier{2, 5, 29, 17}
	oidCodeSigning     = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 3, 3}
	oidSCTList         = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 11129, 2, 4, 2}
	oidECDSAWithSHA384 = asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, 3}
)

// fulcioOID returns the OID 1.3.6.1.4.1.57264.1.n.
func fulcioOID(n int) asn1.ObjectIdentifier {
	return asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 57264, 1, n}
}

// certAuthority is a Fulcio-style CA: a self-signed root and one
// intermediate that issues leaf certificates, both ECDSA P-384 like the
// public-good Fulcio.
type certAuthority struct {
	root, intermediate *x509.Certificate
	intermediateKey    *ecdsa.PrivateKey
	issuerKeyHash      [32]byte // SHA-256 of the intermediate's SubjectPublicKeyInfo (for SCTs)
	akiExt             pkix.Extension
	sigAlg             pkix.AlgorithmIdentifier
}

func newCertAuthority(start, end time.Time) (*certAuthority, error) {
	rootKey, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("%w: root key: %w", ErrGenerate, err)
	}
	interKey, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("%w: intermediate key: %w", ErrGenerate, err)
	}
	org := []string{"fakesigstore.invalid"}
	rootTmpl := &x509.Certificate{
		SerialNumber:          randomSerial(),
		Subject:               pkix.Name{Organization: org, CommonName: "fakesigstore"},
		NotBefore:             start,
		NotAfter:              end,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLen:            1,
		SubjectKeyId:          keyID(&rootKey.PublicKey),
	}
	rootDER, err := x509.CreateCertificate(rand.Reader, rootTmpl, rootTmpl, &rootKey.PublicKey, rootKey)
	if err != nil {
		return nil, fmt.Errorf("%w: root certificate: %w", ErrGenerate, err)
	}
	root, err := x509.ParseCertificate(rootDER)
	if err != nil {
		return nil, fmt.Errorf("%w: root certificate: %w", ErrGenerate, err)
	}
	interTmpl := &x509.Certificate{
		SerialNumber:          randomSerial(),
		Subject:               pkix.Name{Organization: org, CommonName: "fakesigstore-intermediate"},
		NotBefore:             start,
		NotAfter:              end,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageCodeSigning},
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
		SubjectKeyId:          keyID(&interKey.PublicKey),
	}
	interDER, err := x509.CreateCertificate(rand.Reader, interTmpl, root, &interKey.PublicKey, rootKey)
	if err != nil {
		return nil, fmt.Errorf("%w: intermediate certificate: %w", ErrGenerate, err)
	}
	inter, err := x509.ParseCertificate(interDER)
	if err != nil {
		return nil, fmt.Errorf("%w: intermediate certificate: %w", ErrGenerate, err)
	}
	aki, err := asn1.Marshal(struct {
		ID []byte `asn1:"optional,tag:0"`
	}{inter.SubjectKeyId})
	if err != nil {
		return nil, fmt.Errorf("%w: authority key id: %w", ErrGenerate, err)
	}
	return &certAuthority{
		root:            root,
		intermediate:    inter,
		intermediateKey: interKey,
		issuerKeyHash:   sha256.Sum256(inter.RawSubjectPublicKeyInfo),
		akiExt:          pkix.Extension{Id: oidAuthorityKeyID, Value: aki},
		sigAlg:          pkix.AlgorithmIdentifier{Algorithm: oidECDSAWithSHA384},
	}, nil
}

// keyID is the RFC 5280 method 1 key identifier: SHA-1 of the public key bits.
func keyID(pub *ecdsa.PublicKey) []byte {
	point, err := pub.Bytes()
	if err != nil {
		// Only keys from ecdsa.GenerateKey reach here; they always encode.
		panic(fmt.Sprintf("fakesigstore: encoding generated key: %v", err))
	}
	sum := sha1.Sum(point) //nolint:gosec // see import
	return sum[:]
}

// randomSerial returns a positive 159-bit serial number, like Fulcio's.
func randomSerial() *big.Int {
	b := make([]byte, 20)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	b[0] &= 0x7f
	b[0] |= 0x40 // keep it 20 bytes long
	return new(big.Int).SetBytes(b)
}

// The ASN.1 shapes below are those crypto/x509 and certificate-transparency-go
// use, so that removing the SCT list extension from our TBSCertificate with
// either library gives back exactly the bytes the CT log signed.
type tbsCertificate struct {
	Raw                asn1.RawContent
	Version            int `asn1:"optional,explicit,default:0,tag:0"`
	SerialNumber       *big.Int
	SignatureAlgorithm pkix.AlgorithmIdentifier
	Issuer             asn1.RawValue
	Validity           validity
	Subject            asn1.RawValue
	PublicKey          asn1.RawValue
	Extensions         []pkix.Extension `asn1:"optional,explicit,tag:3"`
}

type validity struct {
	NotBefore, NotAfter time.Time
}

type certificate struct {
	TBSCertificate     asn1.RawValue
	SignatureAlgorithm pkix.AlgorithmIdentifier
	SignatureValue     asn1.BitString
}

// emptyName is the DER of an empty X.500 Name: Fulcio leaves have no subject.
var emptyName = asn1.RawValue{FullBytes: []byte{0x30, 0x00}}

// leafKeyUsage is the DER of KeyUsage{digitalSignature}; leafEKU of
// ExtKeyUsage{codeSigning}.
var (
	leafKeyUsage = mustMarshal(asn1.BitString{Bytes: []byte{0x80}, BitLength: 1})
	leafEKU      = mustMarshal([]asn1.ObjectIdentifier{oidCodeSigning})
)

func mustMarshal(v any) []byte {
	b, err := asn1.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("fakesigstore: constant DER: %v", err))
	}
	return b
}

// identity is what the leaf certificate asserts: the SAN URI and the Fulcio
// OIDC extensions, in the order Fulcio writes them. Extensions 1.1 to 1.6
// hold raw strings; 1.8 and later hold DER UTF8Strings.
type identity struct {
	san string
	raw []oidValue // 1.1 .. 1.6
	der []oidValue // 1.8 ..
}

type oidValue struct {
	n     int
	value string
}

// issueLeaf issues a short-lived leaf certificate for pub, valid from
// notBefore for ten minutes, with an SCT from ct embedded. It returns the
// DER of the certificate.
func (ca *certAuthority) issueLeaf(pub *ecdsa.PublicKey, id identity, notBefore time.Time, ct *ctLog) ([]byte, error) {
	spki, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, fmt.Errorf("%w: leaf key: %w", ErrGenerate, err)
	}
	ski, err := asn1.Marshal(keyID(pub))
	if err != nil {
		return nil, fmt.Errorf("%w: subject key id: %w", ErrGenerate, err)
	}
	san, err := asn1.Marshal([]asn1.RawValue{{Class: asn1.ClassContextSpecific, Tag: 6, Bytes: []byte(id.san)}})
	if err != nil {
		return nil, fmt.Errorf("%w: subject alternative name: %w", ErrGenerate, err)
	}
	exts := make([]pkix.Extension, 0, 6+len(id.raw)+len(id.der)+1)
	exts = append(exts,
		pkix.Extension{Id: oidKeyUsage, Critical: true, Value: leafKeyUsage},
		pkix.Extension{Id: oidExtKeyUsage, Value: leafEKU},
		pkix.Extension{Id: oidSubjectKeyID, Value: ski},
		ca.akiExt,
		pkix.Extension{Id: oidSubjectAltName, Critical: true, Value: san},
	)
	for _, v := range id.raw {
		exts = append(exts, pkix.Extension{Id: fulcioOID(v.n), Value: []byte(v.value)})
	}
	for _, v := range id.der {
		der, err := asn1.MarshalWithParams(v.value, "utf8")
		if err != nil {
			return nil, fmt.Errorf("%w: extension 1.3.6.1.4.1.57264.1.%d: %w", ErrGenerate, v.n, err)
		}
		exts = append(exts, pkix.Extension{Id: fulcioOID(v.n), Value: der})
	}
	tbs := tbsCertificate{
		Version:            2,
		SerialNumber:       randomSerial(),
		SignatureAlgorithm: ca.sigAlg,
		Issuer:             asn1.RawValue{FullBytes: ca.intermediate.RawSubject},
		Validity:           validity{NotBefore: notBefore.UTC(), NotAfter: notBefore.Add(10 * time.Minute).UTC()},
		Subject:            emptyName,
		PublicKey:          asn1.RawValue{FullBytes: spki},
		Extensions:         exts,
	}
	// The precertificate TBS as the CT log sees it: everything but the SCTs.
	preTBS, err := asn1.Marshal(tbs)
	if err != nil {
		return nil, fmt.Errorf("%w: precertificate: %w", ErrGenerate, err)
	}
	sctList, err := ct.embeddedSCTList(ca.issuerKeyHash, preTBS, notBefore.Add(250*time.Millisecond))
	if err != nil {
		return nil, err
	}
	sctExt, err := asn1.Marshal(sctList)
	if err != nil {
		return nil, fmt.Errorf("%w: SCT extension: %w", ErrGenerate, err)
	}
	tbs.Extensions = append(tbs.Extensions, pkix.Extension{Id: oidSCTList, Value: sctExt})
	tbsDER, err := asn1.Marshal(tbs)
	if err != nil {
		return nil, fmt.Errorf("%w: certificate: %w", ErrGenerate, err)
	}
	digest := sha512.Sum384(tbsDER)
	sig, err := ecdsa.SignASN1(rand.Reader, ca.intermediateKey, digest[:])
	if err != nil {
		return nil, fmt.Errorf("%w: signing certificate: %w", ErrGenerate, err)
	}
	der, err := asn1.Marshal(certificate{
		TBSCertificate:     asn1.RawValue{FullBytes: tbsDER},
		SignatureAlgorithm: ca.sigAlg,
		SignatureValue:     asn1.BitString{Bytes: sig, BitLength: 8 * len(sig)},
	})
	if err != nil {
		return nil, fmt.Errorf("%w: certificate: %w", ErrGenerate, err)
	}
	return der, nil
}

// ctLog is a fake RFC 6962 certificate transparency log: it only signs
// SCTs for precertificates.
type ctLog struct {
	key   *ecdsa.PrivateKey
	spki  []byte
	logID [32]byte
}

func newCTLog() (*ctLog, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("%w: CT log key: %w", ErrGenerate, err)
	}
	spki, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		return nil, fmt.Errorf("%w: CT log key: %w", ErrGenerate, err)
	}
	return &ctLog{key: key, spki: spki, logID: sha256.Sum256(spki)}, nil
}

// embeddedSCTList returns a TLS-encoded SignedCertificateTimestampList
// (RFC 6962 section 3.3) holding one v1 SCT over the precertificate entry
// (issuer key hash, TBSCertificate without SCTs) at time ts.
func (ct *ctLog) embeddedSCTList(issuerKeyHash [32]byte, preTBS []byte, ts time.Time) ([]byte, error) {
	if len(preTBS) >= 1<<24 {
		return nil, fmt.Errorf("%w: precertificate too large: %d bytes", ErrGenerate, len(preTBS))
	}
	millis := uint64(ts.UnixMilli())
	// digitally-signed struct of RFC 6962 section 3.2.
	signed := make([]byte, 0, 2+8+2+32+3+len(preTBS)+2)
	signed = append(signed, 0, 0) // sct_version v1, signature_type certificate_timestamp
	signed = binary.BigEndian.AppendUint64(signed, millis)
	signed = binary.BigEndian.AppendUint16(signed, 1) // entry_type precert_entry
	signed = append(signed, issuerKeyHash[:]...)
	signed = append(signed, byte(len(preTBS)>>16), byte(len(preTBS)>>8), byte(len(preTBS)))
	signed = append(signed, preTBS...)
	signed = binary.BigEndian.AppendUint16(signed, 0) // no extensions
	digest := sha256.Sum256(signed)
	sig, err := ecdsa.SignASN1(rand.Reader, ct.key, digest[:])
	if err != nil {
		return nil, fmt.Errorf("%w: signing SCT: %w", ErrGenerate, err)
	}
	sct := make([]byte, 0, 1+32+8+2+4+len(sig))
	sct = append(sct, 0) // v1
	sct = append(sct, ct.logID[:]...)
	sct = binary.BigEndian.AppendUint64(sct, millis)
	sct = binary.BigEndian.AppendUint16(sct, 0) // no extensions
	sct = append(sct, 4, 3)                     // sha256, ecdsa
	sct = binary.BigEndian.AppendUint16(sct, uint16(len(sig)))
	sct = append(sct, sig...)
	list := make([]byte, 0, 4+len(sct))
	list = binary.BigEndian.AppendUint16(list, uint16(2+len(sct)))
	list = binary.BigEndian.AppendUint16(list, uint16(len(sct)))
	list = append(list, sct...)
	return list, nil
}

func pemEncode(typ string, der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der})
}
