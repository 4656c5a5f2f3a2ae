package lockfile

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"path/filepath"
)

// Parse parses the contents of a lockfile. filename is used in error
// messages and as the Lockfile's Path, and its base name says the format
// (package-lock.json, npm-shrinkwrap.json, pnpm-lock.yaml, yarn.lock, whose
// content tells yarn 1 from yarn berry, and bun.lock). A file of another
// name is read by its content: a yarn lockfile by its header or
// __metadata, a pnpm lockfile by its top-level lockfileVersion key, and
// anything else as an npm lockfile. Parse does not touch the file system.
func Parse(filename string, data []byte) (*Lockfile, error) {
	format, err := DetectFormat(filename, data)
	if err != nil {
		return nil, err
	}
	var lf *Lockfile
	switch format {
	case FormatPnpm:
		lf, err = parsePnpm(filename, data)
	case FormatYarnV1:
		lf, err = parseYarnV1(filename, data)
	case FormatYarnBerry:
		lf, err = parseBerry(filename, data)
	case FormatBun:
		lf, err = parseBun(filename, data)
	default:
		lf, err = parseNpm(filename, data)
		if lf != nil {
			lf.Format = format
		}
	}
	if err != nil {
		return nil, err
	}
	lf.SHA256 = sha256.Sum256(data)
	return lf, nil
}

// DetectFormat says which format Parse reads filename's data as (see
// [Parse]). Only bun's binary bun.lockb is an error: it wraps
// [ErrUnsupportedFormat] and says how to get a bun.lock.
func DetectFormat(filename string, data []byte) (Format, error) {
	switch filepath.Base(filename) {
	case packageLockName:
		return FormatNpm, nil
	case shrinkwrapName:
		return FormatNpmShrinkwrap, nil
	case pnpmLockName:
		return FormatPnpm, nil
	case yarnLockName:
		if isBerry(data) {
			return FormatYarnBerry, nil
		}
		return FormatYarnV1, nil
	case bunLockName:
		return FormatBun, nil
	case bunLockbName:
		return "", fmt.Errorf("%w: %s: %s", ErrUnsupportedFormat, filename, bunLockbMessage)
	}
	switch {
	case isBerry(data):
		return FormatYarnBerry, nil
	case bytes.Contains(firstLines(data, 4), []byte("# yarn lockfile v1")):
		return FormatYarnV1, nil
	case hasTopLevelKey(data, "lockfileVersion:"):
		return FormatPnpm, nil
	}
	return FormatNpm, nil
}

// isBerry reports whether a yarn.lock has the top-level __metadata key of
// yarn 2 and later.
func isBerry(data []byte) bool { return hasTopLevelKey(data, "__metadata:") }

// hasTopLevelKey reports whether a line of data starts with key (unquoted,
// at column 0).
func hasTopLevelKey(data []byte, key string) bool {
	for len(data) > 0 {
		var line []byte
		line, data, _ = bytes.Cut(data, []byte("\n"))
		if bytes.HasPrefix(line, []byte(key)) {
			return true
		}
	}
	return false
}

// firstLines returns the first n lines of data.
func firstLines(data []byte, n int) []byte {
	end := 0
	for range n {
		i := bytes.IndexByte(data[end:], '\n')
		if i < 0 {
			return data
		}
		end += i + 1
	}
	return data[:end]
}
