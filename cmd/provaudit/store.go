package main

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/provaudit/provaudit/internal/verdictstore"
	"github.com/provaudit/provaudit/summary"
)

// signingKeyEnv names the file of the Ed25519 private key that signs the
// records a run writes to the verdict store.
const signingKeyEnv = "PROVAUDIT_VERDICT_SIGNING_KEY"

func storeFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "verdict-store", Usage: "shared verdict store at a Go CDK blob `URL` (s3://BUCKET?region=R, gs://BUCKET, azblob://CONTAINER, file:///PATH): packages it holds a signed verdict for are not fetched or verified again; with " + signingKeyEnv + " set, clean verdicts are written to it"},
		&cli.StringFlag{Name: "verdict-store-key", Usage: "Ed25519 public key `FILE` (SubjectPublicKeyInfo PEM, as openssl pkey -pubout writes it) that verdict store records must be signed with; without it the store is not read"},
	}
}

// storeSettings are the validated verdict store flags; url is "" without
// --verdict-store.
type storeSettings struct {
	url  string
	pub  ed25519.PublicKey
	priv ed25519.PrivateKey
}

// parseStoreSettings validates the verdict store flags and reads the keys,
// so that a bad key stops the run before anything is audited. The signing
// key's variable is read only with --verdict-store (CI systems may set it
// for every job).
func parseStoreSettings(c *cli.Context, offline bool) (storeSettings, error) {
	s := storeSettings{url: c.String("verdict-store")}
	keyFile := c.String("verdict-store-key")
	switch {
	case s.url == "" && keyFile != "":
		return s, usagef("--verdict-store-key needs --verdict-store URL")
	case s.url == "":
		return s, nil
	case offline:
		return s, usagef("--offline uses no network, so it cannot be combined with --verdict-store")
	}
	if keyFile != "" {
		b, err := os.ReadFile(keyFile)
		if err != nil {
			return s, inputError{fmt.Errorf("reading --verdict-store-key: %w", err)}
		}
		if s.pub, err = summary.ParsePublicKey(b); err != nil {
			return s, inputError{fmt.Errorf("--verdict-store-key %s: %w", keyFile, err)}
		}
	}
	if path := os.Getenv(signingKeyEnv); path != "" {
		b, err := os.ReadFile(path)
		if err != nil {
			return s, inputError{fmt.Errorf("reading %s: %w", signingKeyEnv, err)}
		}
		if s.priv, err = summary.ParsePrivateKey(b); err != nil {
			return s, inputError{fmt.Errorf("%s=%s: %w", signingKeyEnv, path, err)}
		}
	}
	return s, nil
}

// openStore opens the verdict store the settings name; nil when none is
// named, or when neither key is given (then it says that the store is not
// used). Its warnings go to stderr unless --quiet.
func openStore(ctx context.Context, s *settings, stderr io.Writer) (*verdictstore.Store, error) {
	if s.store.url == "" {
		return nil, nil
	}
	if s.store.pub == nil && s.store.priv == nil {
		if !s.quiet {
			fmt.Fprintf(stderr, "provaudit: warning: --verdict-store is not used: give --verdict-store-key FILE to read it (and set %s to write it)\n", signingKeyEnv)
		}
		return nil, nil
	}
	st, err := verdictstore.Open(ctx, s.store.url, verdictstore.Options{
		PublicKey:  s.store.pub,
		SigningKey: s.store.priv,
		Tool:       "provaudit " + toolVersion(),
		Warn: func(msg string) {
			if !s.quiet {
				fmt.Fprintln(stderr, "provaudit: warning:", msg)
			}
		},
	})
	if err != nil {
		return nil, inputError{fmt.Errorf("--verdict-store: %w", err)}
	}
	return st, nil
}

// closeStore waits for the store's writes and says, unless --quiet, what
// the store did for this run.
func closeStore(stderr io.Writer, s *settings, st *verdictstore.Store) {
	if st == nil {
		return
	}
	err := st.Close()
	if s.quiet {
		return
	}
	if err != nil {
		fmt.Fprintln(stderr, "provaudit: warning: closing the verdict store:", err)
	}
	n := st.Stats()
	var parts []string
	if s.store.pub != nil {
		parts = append(parts, fmt.Sprintf("%d of %s taken from the store", n.Found, plural(n.Asked, "package", "packages")))
	}
	if s.store.priv != nil {
		parts = append(parts, plural(n.Written, "verdict", "verdicts")+" written")
	}
	fmt.Fprintln(stderr, "provaudit: verdict store:", strings.Join(parts, ", "))
}
