package lockfile

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/provaudit/provaudit/internal/localfile"
)

// Lockfile names. In a project directory npm reads npm-shrinkwrap.json
// before package-lock.json, and bun reads bun.lock before bun.lockb.
const (
	shrinkwrapName  = "npm-shrinkwrap.json"
	packageLockName = "package-lock.json"
	pnpmLockName    = "pnpm-lock.yaml"
	yarnLockName    = "yarn.lock"
	bunLockName     = "bun.lock"
	bunLockbName    = "bun.lockb"
)

// MaxSize caps the lockfile Load reads: 256 MiB, about 30 times the largest
// lockfiles seen in the field (tens of thousands of entries).
const MaxSize = 256 << 20

// manager is a package manager and the lockfiles it reads, in the order it
// prefers them.
type manager struct {
	name  string
	files []string
	// create is the command that writes its lockfile without installing.
	create string
}

var managers = []manager{
	{"npm", []string{shrinkwrapName, packageLockName}, "npm install --package-lock-only"},
	{"pnpm", []string{pnpmLockName}, "pnpm install --lockfile-only"},
	{"yarn", []string{yarnLockName}, "yarn install --mode=update-lockfile (yarn 2+) or yarn install (yarn 1)"},
	{"bun", []string{bunLockName, bunLockbName}, "bun install --lockfile-only"},
}

// bunLockbMessage says why bun.lockb is not read and how to get a bun.lock.
const bunLockbMessage = "bun.lockb is bun's binary lockfile, which provaudit does not read: run `bun install --save-text-lockfile --lockfile-only` (bun 1.1.39 or newer; bun 1.2 and newer write bun.lock by default) to write the text lockfile bun.lock, and audit that"

// Load reads and parses a lockfile. path is the lockfile itself (any of the
// formats of [Format], told apart by file name and content) or a project
// directory, in which Load picks the lockfile of the project's package
// manager: the one package.json names in "packageManager", else the only
// package manager whose lockfile is present. Several package managers'
// lockfiles and no packageManager is an error wrapping [ErrAmbiguous]
// that lists them. Within npm's lockfiles npm-shrinkwrap.json wins over
// package-lock.json, as npm 11 and older read them (npm 12 no longer reads
// npm-shrinkwrap.json: [Lockfile].Format says which was audited). For a
// yarn berry lockfile Load also reads the .yarnrc.yml beside it, for the
// registry yarn fetches from (see applyYarnrc). Load only reads. Every
// file it reads must be a regular file (a symbolic link to one is fine) of
// at most MaxSize bytes: a FIFO, device or socket is refused without being
// read (see package internal/localfile).
func Load(path string) (*Lockfile, error) {
	st, err := os.Stat(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("%w: %s does not exist (give a project directory or its lockfile; `npm install --package-lock-only` creates a package-lock.json)", ErrNotFound, path)
		}
		return nil, fmt.Errorf("reading lockfile: %w", err)
	}
	file := path
	if st.IsDir() {
		if file, err = findLockfile(path); err != nil {
			return nil, err
		}
	}
	if filepath.Base(file) == bunLockbName {
		return nil, fmt.Errorf("%w: %s: %s", ErrUnsupportedFormat, file, bunLockbMessage)
	}
	data, err := localfile.Read(file, MaxSize)
	if err != nil {
		return nil, fmt.Errorf("reading lockfile: %w", err)
	}
	lf, err := Parse(file, data)
	if err == nil && lf.Format == FormatYarnBerry {
		err = applyYarnrc(lf, filepath.Dir(file))
	}
	if err != nil {
		return nil, err
	}
	return lf, nil
}

// findLockfile returns the lockfile of a project directory.
func findLockfile(dir string) (string, error) {
	found := map[string]string{} // manager name -> its preferred file present
	var present []string         // every lockfile present, for messages
	for _, m := range managers {
		for _, name := range m.files {
			file := filepath.Join(dir, name)
			st, err := os.Stat(file)
			switch {
			case err == nil && st.IsDir():
				return "", fmt.Errorf("reading lockfile: %s is a directory", file)
			case err == nil:
				present = append(present, name)
				if found[m.name] == "" {
					found[m.name] = file
				}
			case !errors.Is(err, fs.ErrNotExist):
				return "", fmt.Errorf("reading lockfile: %w", err)
			}
		}
	}
	pm, pmErr := packageManager(dir)
	if pm != "" {
		name, _, _ := strings.Cut(pm, "@")
		m, ok := managerNamed(name)
		if !ok {
			return "", fmt.Errorf("%w: %s names packageManager %q: provaudit reads the lockfiles of npm, pnpm, yarn and bun", ErrUnsupportedFormat, filepath.Join(dir, "package.json"), pm)
		}
		if file := found[m.name]; file != "" {
			return file, nil
		}
		msg := fmt.Sprintf("%s names packageManager %s, whose lockfile (%s) is not in %s", filepath.Join(dir, "package.json"), pm, strings.Join(m.files, " or "), dir)
		if len(present) > 0 {
			msg += fmt.Sprintf(" (it has %s, which %s does not read)", strings.Join(present, ", "), m.name)
		}
		return "", fmt.Errorf("%w: %s: run `%s` to create it", ErrNotFound, msg, m.create)
	}
	switch len(found) {
	case 0:
		return "", fmt.Errorf("%w: no lockfile in %s (looked for %s, %s, %s, %s and %s): run `npm install --package-lock-only` (or your package manager's equivalent) to create one",
			ErrNotFound, dir, shrinkwrapName, packageLockName, pnpmLockName, yarnLockName, bunLockName)
	case 1:
		for _, file := range found {
			return file, nil
		}
	}
	msg := fmt.Sprintf("%s has the lockfiles of several package managers (%s) and package.json names no packageManager: give the lockfile to audit, or set packageManager in package.json", dir, strings.Join(present, ", "))
	if pmErr != nil {
		msg += fmt.Sprintf(" (package.json could not be read: %v)", pmErr)
	}
	return "", fmt.Errorf("%w: %s", ErrAmbiguous, msg)
}

// maxPackageJSON caps the package.json Load reads for its packageManager.
const maxPackageJSON = 16 << 20

// packageManager returns the packageManager field of dir/package.json
// ("pnpm@9.1.0+sha512..."), "" when there is no such file or field. A
// package.json that cannot be read as JSON is returned as an error and an
// empty name: it only matters when several lockfiles are present.
func packageManager(dir string) (string, error) {
	data, err := localfile.Read(filepath.Join(dir, "package.json"), maxPackageJSON)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return "", nil
		}
		return "", err
	}
	var pj struct {
		PackageManager any `json:"packageManager"`
	}
	if err := json.Unmarshal(data, &pj); err != nil {
		return "", err
	}
	s, _ := pj.PackageManager.(string)
	return s, nil
}

func managerNamed(name string) (manager, bool) {
	for _, m := range managers {
		if m.name == name {
			return m, true
		}
	}
	return manager{}, false
}
