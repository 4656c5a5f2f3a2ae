package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/provaudit/provaudit/fetch"
)

// npmTimeout bounds `npm config get registry` (node starts in about half a
// second; a wedged npm must not hold the audit).
const npmTimeout = 15 * time.Second

// npmRegistry asks npm's own configuration for the default registry, for
// when no flag, environment variable or npmrc names one: it runs
// `npm config get registry` in the filesystem root, outside the audited
// project, so that only the user's, the global and npm's built-in settings
// count (the project's .npmrc is untrusted input and was read already). It
// returns "" when npm is not installed or names no registry. npm is
// killed when ctx ends (a signal ends it with the run).
func npmRegistry(ctx context.Context) (string, error) {
	npm, err := exec.LookPath("npm")
	if err != nil {
		return "", nil
	}
	ctx, cancel := context.WithTimeout(ctx, npmTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, npm, "config", "get", "registry")
	cmd.Dir = string(filepath.Separator)
	out, err := cmd.Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) && len(ee.Stderr) > 0 {
			err = fmt.Errorf("%w: %s", err, strings.TrimSpace(string(ee.Stderr)))
		}
		return "", fmt.Errorf("%s config get registry: %w", npm, err)
	}
	v := strings.TrimSpace(string(out))
	if v == "undefined" || v == "null" {
		return "", nil
	}
	return v, nil
}

// npmRegistryIn is npmRegistry bound to ctx, as fetch.ConfigOptions wants
// it.
func npmRegistryIn(ctx context.Context) func() (string, error) {
	return func() (string, error) { return npmRegistry(ctx) }
}

// secretName is the file, in the user configuration directory's provaudit
// folder, that holds the per-user secret sealing what the cache keeps of
// verification (fetch.LoadSecret).
const secretName = "cache-secret"

// cacheSecret loads (online: creates when missing) the per-user cache
// secret. It lives in the user configuration directory, never in the cache
// directory: a secret stored beside what it authenticates protects nothing,
// and CI systems save and restore cache directories across branches. An
// offline audit creates nothing: without a secret it reads no sealed entry.
func cacheSecret(s *settings) ([]byte, error) {
	if s.noCache {
		return nil, nil
	}
	cfgDir, err := os.UserConfigDir()
	if err != nil {
		// No place for a secret: run with a fresh one (nothing derived is
		// reused across runs, which costs only time).
		return nil, nil
	}
	path := filepath.Join(cfgDir, "provaudit", secretName)
	cacheDir := s.cacheDir
	if cacheDir == "" {
		if ucd, err := os.UserCacheDir(); err == nil {
			cacheDir = filepath.Join(ucd, "provaudit")
		}
	}
	if cacheDir != "" && fetch.SecretInside(path, cacheDir) {
		return nil, fmt.Errorf("the cache directory %s holds the cache secret %s: give provaudit a cache directory outside the user configuration directory", cacheDir, path)
	}
	return fetch.LoadSecret(path, !s.offline)
}

// checkOutput checks, before the audit, that the file flag names (--output,
// --evidence) can be written: its folder exists and is writable, and it is
// not itself a folder.
func checkOutput(flag, path string) error {
	if st, err := os.Stat(path); err == nil && st.IsDir() {
		return fmt.Errorf("%s %s is a folder, not a file", flag, path)
	}
	dir := filepath.Dir(path)
	st, err := os.Stat(dir)
	if err != nil {
		return fmt.Errorf("%s %s: its folder: %w", flag, path, err)
	}
	if !st.IsDir() {
		return fmt.Errorf("%s %s: %s is not a folder", flag, path, dir)
	}
	f, err := os.CreateTemp(dir, ".provaudit-check-*")
	if err != nil {
		return fmt.Errorf("%s %s: its folder is not writable: %w", flag, path, err)
	}
	name := f.Name()
	f.Close()
	return os.Remove(name)
}
