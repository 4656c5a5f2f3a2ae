package main

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"os"
	"strconv"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/provaudit/provaudit/internal/sbomschema"
)

// provauditExit is the program provaudit-exit N ARGS...: it runs
// provaudit with ARGS and exits 0 when provaudit's exit code is exactly N,
// 1 (saying which code it got) otherwise, so that scripts assert exit codes
// and not only failure.
func provauditExit() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: provaudit-exit N ARGS...")
		os.Exit(1)
	}
	want, err := strconv.Atoi(os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, "provaudit-exit:", err)
		os.Exit(1)
	}
	got := run(context.Background(), append([]string{"provaudit"}, os.Args[2:]...), os.Stdout, os.Stderr)
	if got != want {
		fmt.Fprintf(os.Stderr, "provaudit-exit: exit code %d, want %d\n", got, want)
		os.Exit(1)
	}
	os.Exit(0)
}

// cmdGenKey writes an Ed25519 key pair as openssl writes it:
//
//	genkey NAME    NAME.pem (PKCS #8 private key), NAME.pub.pem (SubjectPublicKeyInfo)
func cmdGenKey(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: genkey NAME")
	}
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	ts.Check(err)
	privDER, err := x509.MarshalPKCS8PrivateKey(priv)
	ts.Check(err)
	pubDER, err := x509.MarshalPKIXPublicKey(pub)
	ts.Check(err)
	ts.Check(os.WriteFile(ts.MkAbs(args[0]+".pem"), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: privDER}), 0o600))
	ts.Check(os.WriteFile(ts.MkAbs(args[0]+".pub.pem"), pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER}), 0o644))
}

// cmdTamperEnvelope writes a changed copy of a DSSE envelope:
//
//	tamper-envelope IN OUT payload        one byte of the signed payload changed
//	tamper-envelope IN OUT signature      one bit of the signature flipped
//	tamper-envelope IN OUT payload-type   another payloadType
func cmdTamperEnvelope(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 3 {
		ts.Fatalf("usage: tamper-envelope IN OUT payload|signature|payload-type")
	}
	var env struct {
		PayloadType string `json:"payloadType"`
		Payload     string `json:"payload"`
		Signatures  []struct {
			KeyID string `json:"keyid"`
			Sig   string `json:"sig"`
		} `json:"signatures"`
	}
	ts.Check(json.Unmarshal([]byte(ts.ReadFile(args[0])), &env))
	switch args[2] {
	case "payload":
		p, err := base64.StdEncoding.DecodeString(env.Payload)
		ts.Check(err)
		p[len(p)/2] ^= 0x01
		env.Payload = base64.StdEncoding.EncodeToString(p)
	case "signature":
		if len(env.Signatures) == 0 {
			ts.Fatalf("%s has no signature", args[0])
		}
		sig, err := base64.StdEncoding.DecodeString(env.Signatures[0].Sig)
		ts.Check(err)
		sig[0] ^= 0x01
		env.Signatures[0].Sig = base64.StdEncoding.EncodeToString(sig)
	case "payload-type":
		env.PayloadType = "application/json"
	default:
		ts.Fatalf("tamper-envelope: unknown change %q", args[2])
	}
	b, err := json.Marshal(env)
	ts.Check(err)
	ts.Check(os.WriteFile(ts.MkAbs(args[1]), append(b, '\n'), 0o644))
}

// cmdSBOMValid validates a file against the official schema of its format:
//
//	sbom-valid FILE cyclonedx|spdx
func cmdSBOMValid(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 2 {
		ts.Fatalf("usage: sbom-valid FILE cyclonedx|spdx")
	}
	doc := []byte(ts.ReadFile(args[0]))
	var err error
	switch args[1] {
	case "cyclonedx":
		err = sbomschema.ValidateCycloneDX(doc)
	case "spdx":
		err = sbomschema.ValidateSPDX(doc)
	default:
		ts.Fatalf("sbom-valid: unknown format %q", args[1])
	}
	if (err == nil) == neg {
		if neg {
			ts.Fatalf("%s is valid %s", args[0], args[1])
		}
		ts.Fatalf("%s is not valid %s: %v", args[0], args[1], err)
	}
}
