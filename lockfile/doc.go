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
//
// The package reads only the files it is given and never touches the network.
package lockfile
