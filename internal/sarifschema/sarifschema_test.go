package sarifschema

import (
	"crypto/sha256"
	"encoding/hex"
	"testing"
)

func TestSchemaIsTheRecordedCopy(t *testing.T) {
	sum := sha256.Sum256(Schema)
	if got := hex.EncodeToString(sum[:]); got != "c3b4bb2d6093897483348925aaa73af03b3e3f4bd4ca38cef26dcb4212a2682e" {
		t.Fatalf("sarif-schema-2.1.0.json has sha256 %s, not the recorded copy's", got)
	}
}

func TestValidate(t *testing.T) {
	if err := Validate([]byte(`{"version": "2.1.0", "runs": []}`)); err != nil {
		t.Errorf("minimal log: %v", err)
	}
	for _, bad := range []string{`{}`, `{"version": "2.0.0", "runs": []}`, `{"version": "2.1.0"}`, `not json`} {
		if Validate([]byte(bad)) == nil {
			t.Errorf("%s validated", bad)
		}
	}
}
