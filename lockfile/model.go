package lockfile

// Kind says where an entry's contents come from, and so whether it is audited.
type Kind string

// The kinds of entry. Only [KindRegistry] entries are audited; the others
// carry a Reason saying what they are (or, for [KindInvalid], what is
// wrong with them).
const (
	// KindRoot is the project itself ("" in packages). It is not a package
	// and never appears in Entries or Units.
	KindRoot Kind = "root"
	// KindRegistry is a registry tarball: audited later. It is also the kind
	// of an entry with a semver version and no resolved URL, with or without
	// an integrity: such an entry must be checked, never skipped.
	KindRegistry Kind = "registry"
	// KindGit is a git dependency (git+, git://, git@, github:, gitlab:,
	// bitbucket:, gist: or an http(s) URL of a .git repository).
	KindGit Kind = "git"
	// KindFile is a file: tarball or a local directory: a folder entry that is
	// not a workspace (such as the target of a file: link), or an install
	// location the lockfile records nothing for, where npm installs nothing.
	KindFile Kind = "file"
	// KindLink is a link (link: true) to a folder that is not a workspace.
	KindLink Kind = "link"
	// KindWorkspace is a workspace folder, or a link to one.
	KindWorkspace Kind = "workspace"
	// KindRemote is a tarball URL that is not the registry tarball of the
	// entry's name@version (or a resolved value of an unknown scheme).
	KindRemote Kind = "remote"
	// KindInvalid is an entry that cannot be used as written: a hostile or
	// malformed path or name, a malformed integrity, a version that is not
	// semver, a field of the wrong type (see the package documentation).
	// Reason says what is wrong; Name, Version, Integrity and Resolved are
	// as written, so they may be anything. It is never fetched: the audit
	// reports it as a package that could not be checked.
	KindInvalid Kind = "invalid"
)

// Format is the kind of lockfile read: which package manager wrote it.
type Format string

// The lockfile formats read.
const (
	// FormatNpm is package-lock.json (lockfileVersion 1, 2 or 3).
	FormatNpm Format = "npm"
	// FormatNpmShrinkwrap is npm-shrinkwrap.json: the same format, which
	// npm 11 and older prefer over package-lock.json and npm 12 no longer
	// reads.
	FormatNpmShrinkwrap Format = "npm-shrinkwrap"
	// FormatPnpm is pnpm-lock.yaml (lockfileVersion 6 and 9).
	FormatPnpm Format = "pnpm"
	// FormatYarnV1 is the yarn.lock of yarn 1 ("# yarn lockfile v1").
	FormatYarnV1 Format = "yarn-v1"
	// FormatYarnBerry is the yarn.lock of yarn 2 and later (__metadata).
	FormatYarnBerry Format = "yarn-berry"
	// FormatBun is bun.lock, bun's text lockfile (lockfileVersion 0, 1, 2).
	FormatBun Format = "bun"
)

// Lockfile is one parsed lockfile.
type Lockfile struct {
	// Path is the file read, as given to Load or Parse, or as found by Load
	// in the project directory it was given.
	Path string
	// Format says which kind of lockfile Path is.
	Format Format
	// LockfileVersion is the file's format version: npm's lockfileVersion
	// (1, 2 or 3), the major of pnpm's lockfileVersion (6 or 9), 1 for
	// yarn 1, yarn berry's __metadata.version (4 and later), bun's
	// lockfileVersion (0, 1 or 2).
	LockfileVersion int
	// Name and Version describe the root project ("" when not recorded).
	Name, Version string
	// SHA256 is the SHA-256 digest of the bytes parsed: what a signed
	// summary of the audit names as its subject.
	SHA256 [32]byte
	// Entries lists every entry but the root, sorted by Path.
	Entries []Entry
}

// Entry is one install location.
type Entry struct {
	// Path is the install path relative to the project root, with forward
	// slashes: "node_modules/a", "node_modules/a/node_modules/b", or a folder
	// such as "packages/x" or "../lib". For lockfileVersion 1 the same paths
	// are synthesized from the nested dependencies; dependencies of a file:
	// directory are placed under the directory, as npm does. bun lockfiles
	// record the same install paths. pnpm and yarn lockfiles record no
	// install tree: Path is then the entry's key in the file (see the
	// package documentation), unique in the file.
	Path string
	// Name is the registry name: the entry's "name" field in
	// lockfileVersion 2 and 3, the real name of a v1 "npm:real@1.2.3"
	// version, else the folder name. For a link it is the name of the
	// target entry when the lockfile has one.
	Name string
	// Alias is the folder name when it differs from Name, else "".
	Alias string
	// Version is the package version; for a v1 entry whose version is a
	// registry tarball URL, the version in that URL. Empty for git, file,
	// link and remote entries whose lockfile records none.
	Version string
	// Integrity is the raw SRI string as written (it may list several
	// hashes); empty when the lockfile records none.
	Integrity string
	// Resolved is where npm fetches the entry from: the resolved field as
	// written, or for lockfileVersion 1 the git, file: or URL spec held in
	// the version field when resolved is absent. For a link it is the
	// resolved field, that is the link target as written.
	Resolved string
	// Kind says where the contents come from.
	Kind Kind
	// Reason says, for every kind but registry, what the entry is and so why
	// it is not audited, e.g. "git dependency git+ssh://...#sha", or for an
	// invalid entry what is wrong with it. A registry entry has none, but
	// for a yarn berry one, where it says why the entry pins no integrity.
	Reason string
	// Link is, for links, the target path relative to the project root.
	Link string
	// Flags as recorded in the lockfile (v1 bundled is InBundle).
	Dev, Optional, DevOptional, Peer, InBundle bool
	// BundledBy is, for an entry installed from inside another package's
	// tarball, the install path of that package: the entry is inBundle and
	// its parent location is an installed package that is not itself
	// bundled by the project (else BundledBy is the parent's BundledBy).
	// It is empty for every entry fetched on its own, including the
	// project's (or a workspace's) own bundleDependencies: those are
	// inBundle too, but npm installs them from the registry and bundles
	// them only when the project itself is packed.
	BundledBy string
	// Line is the 1-based line of the entry's key in the file.
	Line int
}

// Omit selects entries npm would not install with --omit.
type Omit struct{ Dev, Optional, Peer bool }

// Omitted reports whether npm would leave the entry out with the given
// --omit types: dev&&o.Dev || optional&&o.Optional ||
// devOptional&&o.Dev&&o.Optional || peer&&o.Peer.
func (e *Entry) Omitted(o Omit) bool {
	return e.Dev && o.Dev ||
		e.Optional && o.Optional ||
		e.DevOptional && o.Dev && o.Optional ||
		e.Peer && o.Peer
}

// Unit is one unique name@version#integrity with every install path. Units
// of kinds other than registry are also told apart by kind and source (git
// URL, tarball, link target or folder), so two different git commits that
// carry the same version stay two units.
type Unit struct {
	Name, Version, Integrity string
	Kind                     Kind
	// Reason is the Reason of the first entry.
	Reason string
	// Resolved is the Resolved of the first entry.
	Resolved string
	// Paths lists the install paths of every entry, sorted.
	Paths []string
	// Line is the line of the first entry (by path order).
	Line int
	// Entries are the unit's entries, in path order; they point into the
	// Lockfile's Entries.
	Entries []*Entry
}

// Key returns name@version#integrity for a registry unit. For other kinds it
// appends the kind and source in parentheses, e.g.
// "a@1.0.0# (git git+ssh://host/a.git#0123)", so that keys are unique among
// the units of a lockfile.
func (u *Unit) Key() string {
	k := u.Name + "@" + u.Version + "#" + u.Integrity
	if u.Kind == KindRegistry {
		return k
	}
	src := u.Resolved
	if len(u.Entries) > 0 {
		src = source(u.Entries[0])
	} else if len(u.Paths) > 0 && src == "" {
		src = u.Paths[0]
	}
	return k + " (" + string(u.Kind) + " " + src + ")"
}

// Omitted reports whether every entry of the unit is omitted (see
// [Entry.Omitted]). A unit without entries is not omitted.
func (u *Unit) Omitted(o Omit) bool {
	if len(u.Entries) == 0 {
		return false
	}
	for _, e := range u.Entries {
		if !e.Omitted(o) {
			return false
		}
	}
	return true
}

// Bundled reports whether every entry of the unit comes inside another
// package's tarball (Entry.BundledBy): such a unit is installed from that
// package, not fetched from the registry. A unit without entries is not
// bundled.
func (u *Unit) Bundled() bool {
	if len(u.Entries) == 0 {
		return false
	}
	for _, e := range u.Entries {
		if e.BundledBy == "" {
			return false
		}
	}
	return true
}

// source is what tells apart two non-registry entries with the same name,
// version and integrity: where their contents come from.
func source(e *Entry) string {
	switch {
	case e.Kind == KindRegistry:
		return ""
	case e.Link != "":
		return e.Link
	case e.Kind == KindGit || e.Kind == KindRemote || (e.Kind == KindFile && e.Resolved != "" && !isFolderPath(e.Path)):
		return e.Resolved
	}
	// Folders (workspaces, local directories), empty install locations and
	// invalid entries are their own source.
	return e.Path
}

type unitKey struct {
	kind                     Kind
	name, version, integrity string
	src                      string
}

// Units deduplicates the entries of lf into units, one per unique
// name@version#integrity (see [Unit]), in the order of their first path.
// It returns nil for a nil lockfile.
func Units(lf *Lockfile) []Unit {
	if lf == nil || len(lf.Entries) == 0 {
		return nil
	}
	n := len(lf.Entries)
	idx := make(map[unitKey]int, n)
	of := make([]int, n) // unit index of each entry
	var count []int      // entries per unit
	for i := range lf.Entries {
		e := &lf.Entries[i]
		k := unitKey{kind: e.Kind, name: e.Name, version: e.Version, integrity: e.Integrity, src: source(e)}
		j, ok := idx[k]
		if !ok {
			j = len(count)
			idx[k] = j
			count = append(count, 0)
		}
		count[j]++
		of[i] = j
	}
	units := make([]Unit, len(count))
	paths := make([]string, n)
	entries := make([]*Entry, n)
	off := 0
	for j, c := range count {
		units[j].Paths = paths[off : off : off+c]
		units[j].Entries = entries[off : off : off+c]
		off += c
	}
	for i := range lf.Entries {
		e := &lf.Entries[i]
		u := &units[of[i]]
		if len(u.Entries) == 0 {
			u.Name, u.Version, u.Integrity = e.Name, e.Version, e.Integrity
			u.Kind, u.Reason, u.Resolved, u.Line = e.Kind, e.Reason, e.Resolved, e.Line
		}
		u.Paths = append(u.Paths, e.Path)
		u.Entries = append(u.Entries, e)
	}
	return units
}
