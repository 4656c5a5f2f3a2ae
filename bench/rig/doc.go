// Package rig is the machinery of provaudit's benchmark driver
// (bench/cmd/benchrig): a fake registry for a lockfile shaped like the npm
// registry a real audit meets ([Serve]), measured provaudit runs
// ([RunProvaudit]) and the CPU floor of an audit ([MeasureFloor],
// [Served.ServedFloor]).
//
// # The registry
//
// [Serve] serves every registry package of a lockfile from an in-process
// [registrytest.Registry] with everything generated up front: registry
// signatures by two npm-like keys (the first expired on 2025-01-29, the
// second valid from 2025-01-13, each version signed by the key valid at its
// publish time), publish times spread from 2019 to yesterday (so three
// versions in four predate the rotation and carry only the expired key's
// signature: an auditor must learn their publish times from the full
// packument), attestations for a fraction of the names, and full
// packuments padded to a heavy-tailed number of versions
// ([PackumentVersions]), megabytes for the popular names.
//
// [registrytest.Registry]: github.com/provaudit/provaudit/internal/registrytest.Registry
package rig
