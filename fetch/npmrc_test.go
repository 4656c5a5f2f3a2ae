package fetch

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestParseNpmrc(t *testing.T) {
	env := map[string]string{"TOKEN": "tok123", "EMPTY": "", "HOSTVAR": "reg.invalid"}
	tests := []struct {
		name string
		in   string
		want []npmrcEntry
	}{
		{"simple", "registry=https://r.invalid/\n", []npmrcEntry{{Key: "registry", Value: "https://r.invalid/", Line: 1}}},
		{"spaces and CRLF", "  registry = https://r.invalid/  \r\nstrict-ssl=false\r\n", []npmrcEntry{
			{Key: "registry", Value: "https://r.invalid/", Line: 1}, {Key: "strict-ssl", Value: "false", Line: 2}}},
		{"comments", "; a comment\n# another\n\nkey=v\n", []npmrcEntry{{Key: "key", Value: "v", Line: 4}}},
		{"inline comment", "key=value ; trailing\nk2=a#b\n", []npmrcEntry{{Key: "key", Value: "value", Line: 1}, {Key: "k2", Value: "a", Line: 2}}},
		{"escaped comment chars", `key=a\;b\#c\\d\x`, []npmrcEntry{{Key: "key", Value: `a;b#c\d\x`, Line: 1}}},
		{"double quoted JSON", `ca="-----BEGIN\nX\n-----END"`, []npmrcEntry{{Key: "ca", Value: "-----BEGIN\nX\n-----END", Line: 1}}},
		{"double quoted keeps ;", `k="a;b"`, []npmrcEntry{{Key: "k", Value: "a;b", Line: 1}}},
		{"single quoted literal", `k='a\nb;c'`, []npmrcEntry{{Key: "k", Value: `a\nb;c`, Line: 1}}},
		{"bad JSON quotes kept", `k="a\qb"`, []npmrcEntry{{Key: "k", Value: `"a\qb"`, Line: 1}}},
		{"bare key is true", "always-auth\n", []npmrcEntry{{Key: "always-auth", Value: "true", Line: 1}}},
		{"empty value", "k=\n", []npmrcEntry{{Key: "k", Value: "", Line: 1}}},
		{"value with =", "k=a=b\n", []npmrcEntry{{Key: "k", Value: "a=b", Line: 1}}},
		{"array", "ca[]=one\nca[]=two\n", []npmrcEntry{{Key: "ca", Value: "one", Array: true, Line: 1}, {Key: "ca", Value: "two", Array: true, Line: 2}}},
		{"env in value", "//r.invalid/:_authToken=${TOKEN}\n", []npmrcEntry{{Key: "//r.invalid/:_authToken", Value: "tok123", Line: 1}}},
		{"env in key", "//${HOSTVAR}/:_authToken=x\n", []npmrcEntry{{Key: "//reg.invalid/:_authToken", Value: "x", Line: 1}}},
		{"env optional unset", "k=a${UNSET?}b\n", []npmrcEntry{{Key: "k", Value: "ab", Line: 1}}},
		{"env set but empty", "k=a${EMPTY}b\n", []npmrcEntry{{Key: "k", Value: "ab", Line: 1}}},
		{"env escaped", `k=\${TOKEN}`, []npmrcEntry{{Key: "k", Value: "${TOKEN}", Line: 1}}},
		// ini unescapes \\ to \ first, then env-replace sees \${...}, as in npm
		{"env double backslash", `k=\\${TOKEN}`, []npmrcEntry{{Key: "k", Value: "${TOKEN}", Line: 1}}},
		{"env four backslashes", `k=\\\\${TOKEN}`, []npmrcEntry{{Key: "k", Value: `\tok123`, Line: 1}}},
		{"not a var", "k=${}x${a{b}\n", []npmrcEntry{{Key: "k", Value: "${}x${a{b}", Line: 1}}},
		{"unterminated var", "k=${TOKEN\n", []npmrcEntry{{Key: "k", Value: "${TOKEN", Line: 1}}},
		{"section ignored", "a=1\n[sec]\nb=2\n[]\nc=3\n", []npmrcEntry{{Key: "a", Value: "1", Line: 1}, {Key: "c", Value: "3", Line: 5}}},
		{"BOM", "\xef\xbb\xbfk=v", []npmrcEntry{{Key: "k", Value: "v", Line: 1}}},
		{"scoped registry", "@my-scope:registry=https://s.invalid/\n", []npmrcEntry{{Key: "@my-scope:registry", Value: "https://s.invalid/", Line: 1}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseNpmrc([]byte(tt.in), "/p/.npmrc", env)
			if err != nil {
				t.Fatalf("parseNpmrc: %v", err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got  %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestParseNpmrcErrors(t *testing.T) {
	const secretish = "s3cr3t-value"
	tests := []struct {
		name, in, wantMsg string
	}{
		{"unset variable", "a=1\n//r.invalid/:_authToken=${NPM_TOKEN}" + secretish + "\n", "/p/.npmrc:2: in value: ${NPM_TOKEN} is not set"},
		{"unset variable in key", "//${HOST}/:_authToken=" + secretish, "/p/.npmrc:1: in key: ${HOST} is not set"},
		{"no key", "\n\n=" + secretish, "/p/.npmrc:3: setting has no key"},
		{"bad section", "[sec" + secretish, "/p/.npmrc:1: unterminated [section]"},
		{"empty array key", `"[]"=` + secretish, "/p/.npmrc:1: setting has an empty key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parseNpmrc([]byte(tt.in), "/p/.npmrc", map[string]string{})
			if !errors.Is(err, ErrConfig) {
				t.Fatalf("err = %v, want ErrConfig", err)
			}
			if !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("err = %q, want it to contain %q", err, tt.wantMsg)
			}
			if strings.Contains(err.Error(), secretish) {
				t.Errorf("error quotes the line: %q", err)
			}
		})
	}
}
