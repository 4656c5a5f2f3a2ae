package lockfile

import "errors"

// Sentinel errors. Every error returned by [Load] and [Parse] wraps one (or,
// for a truncated file, two) of them with %w and names the file, and where it
// applies the line, column and entry path.
var (
	// ErrNotFound reports that no lockfile exists where one was looked for.
	ErrNotFound = errors.New("lockfile not found")
	// ErrSyntax reports a file that is not valid JSON.
	ErrSyntax = errors.New("lockfile is not valid JSON")
	// ErrUnsupportedVersion reports a lockfileVersion other than 1, 2 or 3.
	ErrUnsupportedVersion = errors.New("unsupported lockfileVersion")
	// ErrMalformed reports JSON that is not a usable npm lockfile: an ancient
	// or truncated lockfile, a top-level field of the wrong type, nesting
	// beyond a budget, and the like. A problem of one entry is not an error:
	// the entry is KindInvalid.
	ErrMalformed = errors.New("malformed lockfile")
)
