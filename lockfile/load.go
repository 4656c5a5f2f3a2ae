package lockfile

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/provaudit/provaudit/internal/localfile"
)

// Lockfile names, in the order npm prefers them in a project directory.
const (
	shrinkwrapName  = "npm-shrinkwrap.json"
	packageLockName = "package-lock.json"
)

// MaxSize caps the lockfile Load reads: 256 MiB, about 30 times the largest
// lockfiles seen in the field (tens of thousands of entries).
const MaxSize = 256 << 20

// Load reads and parses a lockfile. path is the lockfile itself or a project
// directory; in a directory npm-shrinkwrap.json is used when it exists (as
// npm does), else package-lock.json. Load only reads. The lockfile must be a
// regular file (a symbolic link to one is fine) of at most MaxSize bytes: a
// FIFO, device or socket is refused without being read (see package
// internal/localfile).
func Load(path string) (*Lockfile, error) {
	st, err := os.Stat(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("%w: %s does not exist (give a project directory or its package-lock.json; `npm install --package-lock-only` creates one)", ErrNotFound, path)
		}
		return nil, fmt.Errorf("reading lockfile: %w", err)
	}
	file := path
	if st.IsDir() {
		if file, err = findLockfile(path); err != nil {
			return nil, err
		}
	}
	data, err := localfile.Read(file, MaxSize)
	if err != nil {
		return nil, fmt.Errorf("reading lockfile: %w", err)
	}
	return Parse(file, data)
}

// findLockfile returns the lockfile of a project directory.
func findLockfile(dir string) (string, error) {
	var looked []string
	for _, name := range []string{shrinkwrapName, packageLockName} {
		file := filepath.Join(dir, name)
		st, err := os.Stat(file)
		switch {
		case err == nil && !st.IsDir():
			return file, nil
		case err == nil:
			return "", fmt.Errorf("reading lockfile: %s is a directory", file)
		case !errors.Is(err, fs.ErrNotExist):
			return "", fmt.Errorf("reading lockfile: %w", err)
		}
		looked = append(looked, file)
	}
	msg := fmt.Sprintf("looked for %s: run `npm install --package-lock-only` in %s to create a package-lock.json", strings.Join(looked, " and "), dir)
	for _, other := range []string{"yarn.lock", "pnpm-lock.yaml", "bun.lock", "bun.lockb"} {
		if _, err := os.Stat(filepath.Join(dir, other)); err == nil {
			msg += fmt.Sprintf(" (the directory has a %s: provaudit reads npm lockfiles only)", other)
			break
		}
	}
	return "", fmt.Errorf("%w: %s", ErrNotFound, msg)
}
