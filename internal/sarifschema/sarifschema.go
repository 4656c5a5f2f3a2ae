// Package sarifschema validates SARIF documents against the OASIS SARIF
// 2.1.0 JSON schema, for the tests of report and cmd/provaudit. It is never
// imported by the provaudit binary.
//
// sarif-schema-2.1.0.json is the OASIS SARIF 2.1.0 JSON schema (errata 01,
// id https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json),
// copied unchanged from the public repository oasis-tcs/sarif-spec, file
// sarif-2.1/schema/sarif-schema-2.1.0.json at commit
// e0583813964ec43cea53b6b531b402866095ed1f (its content equals
// Schemata/sarif-schema-2.1.0.json as updated to the approved errata in
// ffa72eb4d4d7504ac43736489b0444aff7afdd74), SHA-256
// c3b4bb2d6093897483348925aaa73af03b3e3f4bd4ca38cef26dcb4212a2682e.
package sarifschema

import (
	"bytes"
	_ "embed"
	"sync"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// Schema is the SARIF 2.1.0 schema document.
//
//go:embed sarif-schema-2.1.0.json
var Schema []byte

// URL is the schema's id.
const URL = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"

var compiled = sync.OnceValues(func() (*jsonschema.Schema, error) {
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(Schema))
	if err != nil {
		return nil, err
	}
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	if err := c.AddResource(URL, doc); err != nil {
		return nil, err
	}
	return c.Compile(URL)
})

// Validate reports whether doc is a valid SARIF 2.1.0 log (formats
// asserted).
func Validate(doc []byte) error {
	sch, err := compiled()
	if err != nil {
		return err
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(doc))
	if err != nil {
		return err
	}
	return sch.Validate(inst)
}
