// Package lockfile reads npm lockfiles (package-lock.json and
// npm-shrinkwrap.json, lockfileVersion 1, 2 and 3) into one model.
//
// # What it owns
//
// Every entry of a lockfile with its registry name (npm: aliases resolved),
// version, integrity, resolved URL, dev/optional/devOptional/peer/inBundle
// flags, install path, source line and kind (registry, git, file, link,
// workspace, remote tarball, root). [Units] deduplicates entries into the
// unique name@version#integrity units that are fetched and verified once.
// An inBundle entry that comes inside a dependency's tarball names that
// dependency ([Entry.BundledBy]); the project's own bundleDependencies are
// fetched from the registry and do not.
//
// [Lockfile].SHA256 is the digest of the bytes parsed, so that what is said
// about an audit (a signed summary) names exactly the file audited.
//
// The package reads only the files it is given and never touches the network.
//
// # Formats
//
// For lockfileVersion 2 and 3 the packages object is read and the v1
// dependencies mirror of version 2 is ignored. A lockfile without packages
// (lockfileVersion 1, or a 2 that lacks it) is read from its nested
// dependencies, whose install paths are synthesized as npm 7 and later
// would write them: node_modules/a/node_modules/b, and for the dependencies
// of a file: directory (a link), paths inside that directory, which is then
// an entry of its own. A v1 version field may hold an "npm:name@version"
// alias, a git, file: or URL spec, or a version. A lockfileVersion 1 file
// without "requires" was written by npm 5.0 and is refused as ancient.
// Repeated keys are read as JSON.parse reads them: the last one wins.
//
// # Kinds
//
// An install location (a path whose last part after node_modules/ is a
// package folder) is:
//
//   - registry when its resolved URL is <registry>/<name>/-/<base>-<version>.tgz
//     for its own name and version (any host, any path prefix, the name
//     possibly percent-encoded), or when it has no resolved URL and a semver
//     version, with or without an integrity: such an entry must be checked,
//     and the audit reports what it cannot check;
//   - git for git+..., git://, git@..., github:, gitlab:, bitbucket:, gist:
//     and http(s) URLs of .git repositories;
//   - file for file: specs and relative paths;
//   - remote for any other http(s) URL, or a resolved value of another
//     scheme;
//   - file as well when the lockfile records nothing for it (no version,
//     resolved or integrity): npm drops such damaged entries and installs
//     nothing there.
//
// A link (link: true) is a workspace when its target matches the root's
// workspaces globs, else a link; it is named after its target entry. Any
// other path is a folder: a workspace folder when the workspaces globs
// match it, else a local folder (kind file), which npm never fetches.
// Any entry is invalid instead when it cannot be used as written.
//
// # Invalid entries and errors
//
// A problem confined to one entry is that entry's problem: it gets
// [KindInvalid], its line, and a Reason saying what is wrong, and every
// other entry is read as if it were not there. Such problems are: a path
// that is absolute, climbs out with ".." after its first folder, has an
// empty or "." segment, a folder name over 255 bytes or a control
// character; a control character (NUL included) in its name, version or
// resolved; an integrity that internal/npmspec rejects (malformed, an
// upper-case algorithm, two digests of one algorithm); for an entry that
// would be fetched from a registry, a name or version npm could not fetch
// (internal/npmspec's rules), or an integrity with no version or resolved
// to say what it pins; a field of the wrong type, or an entry that is not
// an object; a link without a target; a v1 version that is no version,
// alias or spec, a v1 key that is not a package folder, or two v1 entries
// at one path (through file: links) with other contents. An invalid entry is never deduplicated with another one, and the
// dependencies of an invalid v1 entry are still read, each on its own.
//
// What makes the file unreadable as a lockfile is an error of the whole
// file, and nothing is returned: not JSON, no or an unsupported
// lockfileVersion, a top-level value or field of the wrong type (packages,
// dependencies, the root entry and its workspaces), an ancient v1 file,
// nesting beyond the budgets below. Errors wrap [ErrNotFound], [ErrSyntax]
// (with file:line:col), [ErrUnsupportedVersion] or [ErrMalformed] (with
// file:line). A file with several such problems reports up to ten of them,
// in line order, joined. A truncated file wraps both ErrSyntax and
// ErrMalformed.
//
// # Performance
//
// Parsing is one pass over the bytes by a small JSON scanner that validates
// the whole document as encoding/json does, keeps the strings it needs as
// substrings of one copy of the input, and counts lines as it skips
// whitespace. The work a hostile file can cause is bounded: nesting depth,
// the total size of synthesized v1 paths, and workspace glob matching.
package lockfile
