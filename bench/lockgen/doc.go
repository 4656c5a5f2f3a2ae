// Package lockgen generates npm lockfiles (lockfileVersion 3) of any size
// for benchmarks, shaped like real trees and deterministic by seed.
//
// Names, versions, integrities, declared dependencies and descriptive
// fields come from real lockfiles ([ParseSource], [LoadSources]); when more
// packages are wanted than the sources have unique name@versions, more
// versions of the real names are added with generated sha512 integrities.
// [Generate] lays the packages out as npm would (hoisted where possible,
// nested node_modules/a/node_modules/b where versions conflict), computes
// the dev/optional flags from the graph and writes the lockfile with its
// [Stats].
//
// Every generated dependency edge resolves, from its dependent's location,
// to the location of the package it names, so the lockfile is also a valid
// installed tree for tools that walk edges (npm audit signatures).
package lockgen
