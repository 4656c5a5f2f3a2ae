package lockfile

import "errors"

// Sentinel errors. Every error returned by [Load] and [Parse] wraps one (or,
// for a truncated file, two) of them with %w and names the file, and where it
// applies the line, column and entry path.
var (
	// ErrNotFound reports that no lockfile exists where one was looked for.
	ErrNotFound = errors.New("lockfile not found")
	// ErrSyntax reports a file that is not valid in its format's syntax
	// (JSON, YAML, yarn 1's lockfile syntax).
	ErrSyntax = errors.New("lockfile syntax error")
	// ErrUnsupportedVersion reports a version of a lockfile format that is
	// not read (npm lockfileVersion other than 1, 2 or 3, and the like).
	ErrUnsupportedVersion = errors.New("unsupported lockfileVersion")
	// ErrUnsupportedFormat reports a lockfile (or package manager) provaudit
	// does not read, such as bun's binary bun.lockb.
	ErrUnsupportedFormat = errors.New("unsupported lockfile format")
	// ErrAmbiguous reports a project directory with the lockfiles of
	// several package managers and nothing to say which one is used.
	ErrAmbiguous = errors.New("ambiguous lockfile")
	// ErrMalformed reports a file that is not a usable lockfile: an ancient
	// or truncated lockfile, a top-level field of the wrong type, nesting
	// beyond a budget, and the like. A problem of one entry is not an error:
	// the entry is KindInvalid.
	ErrMalformed = errors.New("malformed lockfile")
)
