package sourcecheck

import (
	"encoding/json"
	"strings"
	"testing"
)

// FuzzTopLevelString: compare answers come from the network. The reader
// never panics, and what it finds is the top-level key's value as the
// standard decoder reads the whole document.
func FuzzTopLevelString(f *testing.F) {
	f.Add(`{"a": [1, {"status": "x"}], "status": "behind"}`)
	f.Add(`{"status": "identical"}`)
	f.Add(`{"base_commit": {"files": ["a", "b"]}, "status": "diverged", "files": []}`)
	f.Add(`[{"status": "x"}]`)
	f.Fuzz(func(t *testing.T, doc string) {
		got, err := topLevelString(strings.NewReader(doc), "status")
		if err != nil {
			return
		}
		var whole map[string]json.RawMessage
		if json.Unmarshal([]byte(doc), &whole) != nil {
			return // the reader stops at the key: what follows may be anything
		}
		var want string
		if raw, ok := whole["status"]; ok && json.Unmarshal(raw, &want) == nil && want != got {
			// Duplicate keys (perhaps escaped): the standard decoder
			// keeps the last, the reader the first; both are the
			// document's.
			if strings.Count(doc, `"status"`) < 2 && !strings.Contains(doc, `\`) {
				t.Fatalf("got %q, the document says %q", got, want)
			}
		}
	})
}
