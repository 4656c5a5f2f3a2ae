// Package sbomschema validates SBOM documents against the official JSON
// schemas of CycloneDX 1.6 and SPDX 2.3, for the tests of report and
// cmd/provaudit. It is never imported by the provaudit binary.
//
// # Where the schemas come from
//
// The CycloneDX files are copied unchanged from the Go module
// github.com/CycloneDX/cyclonedx-go v0.12.0 (the version provaudit builds
// with, as downloaded through the Go module proxy; go.sum h1 hash
// /7Jum36UA6V043tQZ/fE3jf+Nf9gn/qxUFfd7QReMy8=), directory schema/:
//
//   - bom-1.6.schema.json, id http://cyclonedx.org/schema/bom-1.6.schema.json,
//     SHA-256 3e92dddbc30cf7f6a02b80f0942b1a4cfd4fb1c26f1dfc4310afa9d613cafb93;
//   - spdx.schema.json (the SPDX license id list that bom-1.6 references),
//     id http://cyclonedx.org/schema/spdx.schema.json, SHA-256
//     669315cee4265ad6d742e92d7afb062fb4847abe754d3ade544b7c40482d0a48;
//   - jsf-0.82.schema.json (JSON Signature Format, referenced by bom-1.6),
//     the module's schema/jsf-0.82.schemax.json renamed to the name its id
//     http://cyclonedx.org/schema/jsf-0.82.schema.json gives, SHA-256
//     a517f9e483e2252debd23d5c62edb72805b6d3932935a6ebb8196745052d2dc3.
//
// spdx-2.3.schema.json is the SPDX 2.3 JSON schema (title "SPDX 2.3.1",
// id http://spdx.org/rdf/terms/2.3, the maintained 2.3 schema with
// patterns for SPDX ids, dates and checksums), which no Go module provaudit
// can depend on ships. It is copied unchanged from the public repository
// spdx/spdx-spec, file schemas/spdx-schema.json at commit
// 03e110136bf4fc22a8503617c615a1bf73a1a88d (47,594 characters), SHA-256
// 4126dc29f15e92feec92e9622f4939131ad58b125d6f578aa93e980a6e6f3212.
package sbomschema

import (
	"bytes"
	_ "embed"
	"sync"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// Schema ids, as the documents declare them.
const (
	CycloneDXURL = "http://cyclonedx.org/schema/bom-1.6.schema.json"
	spdxLicenses = "http://cyclonedx.org/schema/spdx.schema.json"
	jsf          = "http://cyclonedx.org/schema/jsf-0.82.schema.json"
	SPDXURL      = "http://spdx.org/rdf/terms/2.3"
)

// The schema documents.
var (
	//go:embed bom-1.6.schema.json
	CycloneDX []byte
	//go:embed spdx.schema.json
	cdxSPDXLicenses []byte
	//go:embed jsf-0.82.schema.json
	cdxJSF []byte
	//go:embed spdx-2.3.schema.json
	SPDX []byte
)

var (
	cycloneDX = sync.OnceValues(func() (*jsonschema.Schema, error) {
		return compile(CycloneDXURL, map[string][]byte{
			CycloneDXURL: CycloneDX,
			spdxLicenses: cdxSPDXLicenses,
			jsf:          cdxJSF,
		})
	})
	spdx = sync.OnceValues(func() (*jsonschema.Schema, error) {
		return compile(SPDXURL, map[string][]byte{SPDXURL: SPDX})
	})
)

// compile adds every resource and compiles root, asserting formats.
func compile(root string, resources map[string][]byte) (*jsonschema.Schema, error) {
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	for url, b := range resources {
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
		if err != nil {
			return nil, err
		}
		if err := c.AddResource(url, doc); err != nil {
			return nil, err
		}
	}
	return c.Compile(root)
}

// ValidateCycloneDX reports whether doc is a valid CycloneDX 1.6 JSON BOM
// (formats asserted).
func ValidateCycloneDX(doc []byte) error {
	return validate(cycloneDX, doc)
}

// ValidateSPDX reports whether doc is a valid SPDX 2.3 JSON document
// (formats asserted).
func ValidateSPDX(doc []byte) error {
	return validate(spdx, doc)
}

func validate(schema func() (*jsonschema.Schema, error), doc []byte) error {
	sch, err := schema()
	if err != nil {
		return err
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(doc))
	if err != nil {
		return err
	}
	return sch.Validate(inst)
}
