// Package lockfile reads the lockfiles of npm (package-lock.json and
// npm-shrinkwrap.json, lockfileVersion 1, 2 and 3), pnpm (pnpm-lock.yaml,
// lockfileVersion 6 and 9), yarn (yarn.lock of yarn 1 and of yarn 2 and
// later, "berry") and bun (bun.lock) into one model. [Lockfile].Format says
// which kind was read.
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
// fetched from the registry and do not. [Compare] tells, by unit, what is
// new, changed or unchanged against an older lockfile of any format (diff
// mode).
//
// [Lockfile].SHA256 is the digest of the bytes parsed, so that what is said
// about an audit (a signed summary) names exactly the file audited.
//
// The package reads only the files it is given and never touches the network.
//
// # Finding the lockfile
//
// [Load] reads a lockfile given by path (its format told by its name, see
// [DetectFormat]), or finds the lockfile of a project directory: that of
// the package manager package.json names in packageManager, else that of
// the only package manager with a lockfile there. Several package
// managers' lockfiles and no packageManager is [ErrAmbiguous], listing
// them; a packageManager whose lockfile is missing is [ErrNotFound]. npm's
// npm-shrinkwrap.json wins over its package-lock.json, as npm 11 and
// older read them (npm 12 no longer reads npm-shrinkwrap.json), and bun's
// bun.lock over bun.lockb, a binary format that is not read
// ([ErrUnsupportedFormat], saying how to write a bun.lock).
//
// # npm lockfiles
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
// # pnpm, yarn and bun lockfiles
//
// The same model holds every format; what differs is what a file records.
//
// pnpm-lock.yaml (v6, and v9 with its packages and snapshots split) and
// the yarn berry yarn.lock are YAML, read with go.yaml.in/yaml/v3. The
// input is untrusted: a file over 256 MiB or with possibly more than 8 Mi
// YAML values (counted before parsing), a YAML anchor, alias or merge key
// (which no tool writes and which the tools' own readers would expand), a
// key given twice (which they refuse), a second document, or nesting past
// the library's limit is an error of the file. yarn 1's yarn.lock has a
// syntax of its own, read by a small parser as yarn's does (two spaces per
// level, at most 16 levels; a descriptor named twice is the later entry's).
// bun.lock is JSON with comments and trailing commas, read by the npm
// scanner once they are spaces.
//
// pnpm and yarn record each package once, not an install tree: their
// entries' Path is the entry's key in the file ("a@1.0.0(peer@2.0.0)" for
// pnpm, "a@^1.0.0, a@^1.1.0" for yarn), and their workspace folders and
// importer links have folder paths. bun records install paths ("a/b" is
// node_modules/a/node_modules/b; below a workspace's name, that
// workspace's folder), which Path holds. Two entries at one Path make the
// file malformed. The line of a pnpm entry is that of its packages key
// (where its resolution is).
//
// Integrity is the file's own: pnpm's resolution.integrity, yarn 1's
// integrity (or, when it has none, the sha1 yarn 1 appends to a resolved
// URL as "#<hex>", which yarn then checks), bun's fourth element. yarn
// berry's checksum hashes yarn's own archive of a package, not the tarball
// the registry signs, so a yarn berry lockfile pins no tarball: its
// registry entries have no Integrity, and a Reason that says so (the only
// registry entries with a Reason); audits bind them to the registry's
// signed integrity. Resolved is a tarball URL where the file records one
// (yarn 1 always; pnpm and bun for other registries; yarn berry's
// __archiveUrl, or the registry the project's .yarnrc.yml names, which
// [Load] reads), which classifies the entry as for npm; a registry entry
// without one is fetched from the registry. A yarn berry
// patch: of a registry package is that package (yarn fetches it and
// applies the patch). Aliases resolve to the real name (npm:real@range in
// yarn and bun keys; pnpm names packages by their real name already).
//
// dev, optional, devOptional and peer are computed from the dependency
// graph the file records, as npm's arborist computes them (see setFlags):
// from pnpm's importers, bun's workspaces and yarn berry's workspace
// entries. yarn 1 lockfiles do not record the project's own dependencies,
// and yarn berry merges devDependencies into dependencies, so their
// entries are never dev (and yarn 1's never optional): --omit leaves them
// in, to be audited. An entry the graph does not reach gets no flag.
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
// Parsing an npm lockfile is one pass over the bytes by a small JSON scanner that validates
// the whole document as encoding/json does, keeps the strings it needs as
// substrings of one copy of the input, and counts lines as it skips
// whitespace. The work a hostile file can cause is bounded: nesting depth,
// the total size of synthesized v1 paths, and workspace glob matching.
// yarn 1 and bun lockfiles are read in time close to npm's for the same
// tree; pnpm and yarn berry lockfiles cost what the YAML library costs to
// decode them (BenchmarkParseFormats, in the benchmark module's lockgen,
// compares all of them on one tree). The standard library's tokenizer
// (encoding/json/jsontext) was measured in place of the scanner and is
// slower (see scan.go).
package lockfile
