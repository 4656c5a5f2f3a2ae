// Package deps pins the project's module requirements while the packages
// that use them are being written, so that parallel work does not race on
// go.mod. It is removed once every module below is imported for real.
package deps

import (
	_ "github.com/Masterminds/semver/v3"
	_ "github.com/olekukonko/tablewriter"
	_ "github.com/rogpeppe/go-internal/testscript"
	_ "github.com/santhosh-tekuri/jsonschema/v6"
	_ "github.com/sigstore/sigstore-go/pkg/testing/ca"
	_ "github.com/sigstore/sigstore-go/pkg/verify"
	_ "github.com/urfave/cli/v2"
	_ "golang.org/x/sync/errgroup"
)
