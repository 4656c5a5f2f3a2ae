package sbomschema

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"testing"
)

func TestSchemasAreTheRecordedCopies(t *testing.T) {
	for name, c := range map[string]struct {
		doc  []byte
		want string
	}{
		"bom-1.6.schema.json":  {CycloneDX, "3e92dddbc30cf7f6a02b80f0942b1a4cfd4fb1c26f1dfc4310afa9d613cafb93"},
		"spdx.schema.json":     {cdxSPDXLicenses, "669315cee4265ad6d742e92d7afb062fb4847abe754d3ade544b7c40482d0a48"},
		"jsf-0.82.schema.json": {cdxJSF, "a517f9e483e2252debd23d5c62edb72805b6d3932935a6ebb8196745052d2dc3"},
		"spdx-2.3.schema.json": {SPDX, "4126dc29f15e92feec92e9622f4939131ad58b125d6f578aa93e980a6e6f3212"},
	} {
		sum := sha256.Sum256(c.doc)
		if got := hex.EncodeToString(sum[:]); got != c.want {
			t.Errorf("%s has sha256 %s, not the recorded copy's", name, got)
		}
	}
}

func TestValidateCycloneDX(t *testing.T) {
	if err := ValidateCycloneDX([]byte(`{"bomFormat": "CycloneDX", "specVersion": "1.6"}`)); err != nil {
		t.Errorf("minimal BOM: %v", err)
	}
	// A component's license id must be in the SPDX list of spdx.schema.json,
	// and a signature must be JSF: both referenced schemas are loaded.
	license := `{"bomFormat": "CycloneDX", "specVersion": "1.6", "components": [{"type": "library", "name": "x", "licenses": [{"license": {"id": "%s"}}]}]}`
	if err := ValidateCycloneDX([]byte(fmt.Sprintf(license, "MIT"))); err != nil {
		t.Errorf("MIT license: %v", err)
	}
	for _, bad := range []string{
		`{}`,
		`{"bomFormat": "CycloneDX", "specVersion": "1.6", "serialNumber": "123"}`,
		`{"bomFormat": "CycloneDX", "specVersion": "1.6", "extra": true}`,
		fmt.Sprintf(license, "Not-A-License"),
		`{"bomFormat": "CycloneDX", "specVersion": "1.6", "signature": {"algorithm": "none"}}`,
		`not json`,
	} {
		if ValidateCycloneDX([]byte(bad)) == nil {
			t.Errorf("%s validated", bad)
		}
	}
}

func TestValidateSPDX(t *testing.T) {
	minimal := `{"SPDXID": "SPDXRef-DOCUMENT", "spdxVersion": "SPDX-2.3", "dataLicense": "CC0-1.0", "name": "x",
		"documentNamespace": "https://example.invalid/x", "creationInfo": {"created": "%s", "creators": ["Tool: x"]}}`
	if err := ValidateSPDX([]byte(fmt.Sprintf(minimal, "2025-01-02T03:04:05Z"))); err != nil {
		t.Errorf("minimal document: %v", err)
	}
	for _, bad := range []string{
		`{}`,
		fmt.Sprintf(minimal, "2025-01-02"),
		`{"spdxVersion": "SPDX-2.3", "packages": []}`,
		`not json`,
	} {
		if ValidateSPDX([]byte(bad)) == nil {
			t.Errorf("%s validated", bad)
		}
	}
}
