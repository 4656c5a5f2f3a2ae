package lockfile

import (
	"bytes"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// pmFixtures returns the lockfiles under testdata/pm-lockfiles named name.
func pmFixtures(f *testing.F, name string) [][]byte {
	f.Helper()
	var out [][]byte
	err := filepath.WalkDir(pmRoot, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || d.Name() != name {
			return err
		}
		data, err := os.ReadFile(p)
		// The head of the file: the fuzzer mutates small inputs much
		// faster, and a few entries show every construct.
		if i := bytes.Index(data[min(len(data), 3000):], []byte("\n\n")); i >= 0 {
			data = data[:3000+i+1]
		}
		out = append(out, data)
		return err
	})
	if err != nil || len(out) == 0 {
		f.Fatalf("no %s under %s: %v", name, pmRoot, err)
	}
	return out
}

// fuzzFormat parses data as file and checks what every parse must
// satisfy: an error wraps a sentinel and names the file, and a lockfile
// of the wanted format satisfies the model's invariants.
func fuzzFormat(t *testing.T, file string, data []byte, want ...Format) *Lockfile {
	lf, err := Parse(file, data)
	if err != nil {
		if lf != nil || len(sentinels(err)) == 0 || !strings.Contains(err.Error(), file) {
			t.Fatalf("error %q (lockfile %v): no sentinel or file", err, lf)
		}
		return nil
	}
	ok := false
	for _, f := range want {
		ok = ok || lf.Format == f
	}
	if !ok {
		t.Fatalf("format %q, want %q", lf.Format, want)
	}
	checkInvariants(t, lf, bytes.Count(data, []byte("\n"))+1)
	return lf
}

// FuzzParsePnpm fuzzes the pnpm-lock.yaml reader.
func FuzzParsePnpm(f *testing.F) {
	for _, d := range pmFixtures(f, "pnpm-lock.yaml") {
		f.Add(d)
	}
	for _, s := range []string{
		"lockfileVersion: '6.0'\ndependencies:\n  a: {specifier: ^1, version: /b@1.0.0(c@2.0.0)}\npackages:\n  /b@1.0.0(c@2.0.0):\n    resolution: {integrity: " + sri1 + "}\n    dev: true\n",
		"lockfileVersion: '9.0'\nimporters:\n  .: {dependencies: {x: {version: link:../x}}}\n  ../w: {}\npackages:\n  a@1.0.0: {resolution: {tarball: file:a.tgz}}\n",
		"lockfileVersion: '9.0'\npackages:\n  a@1.0.0((((: {resolution: {integrity: " + sri2 + "}}\nsnapshots:\n  a@1.0.0(b@1)(c@2): {optionalDependencies: {a: 1.0.0(b@1)(c@2)}}\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		fuzzFormat(t, "fuzz/pnpm-lock.yaml", data, FormatPnpm)
	})
}

// FuzzParseYarnV1 fuzzes the yarn 1 lockfile parser.
func FuzzParseYarnV1(f *testing.F) {
	for _, d := range pmFixtures(f, "yarn.lock") {
		if !isBerry(d) {
			f.Add(d)
		}
	}
	for _, s := range []string{
		"# yarn lockfile v1\n\"a@^1\", b@^1:\n  version \"1.0.0\"\n  resolved \"https://r.invalid/a/-/a-1.0.0.tgz#0123456789abcdef0123456789abcdef01234567\"\n",
		"# yarn lockfile v1\r\n\"x@npm:y@^1\":\r\n  version: 1.0.0 # c\r\n  integrity \"" + sri1 + "\"\r\n  dependencies:\r\n    \"\\u0061\" true\r\n",
		"# yarn lockfile v1\nq@link:../q:\n\"f@file:./f\":\n  version \"0.0.0\"\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if isBerry(data) {
			return // read as yarn berry
		}
		fuzzFormat(t, "fuzz/yarn.lock", data, FormatYarnV1)
	})
}

// FuzzParseBerry fuzzes the yarn berry reader.
func FuzzParseBerry(f *testing.F) {
	for _, d := range pmFixtures(f, "yarn.lock") {
		if isBerry(d) {
			f.Add(d)
		}
	}
	f.Add([]byte("__metadata:\n  version: 8\n\"a@patch:a@npm%3A1.0.0#x\":\n  version: 1.0.0\n  resolution: \"a@patch:a@npm%3A1.0.0#x::version=1.0.0\"\n" +
		"\"w@workspace:.\":\n  resolution: \"w@workspace:.\"\n  dependencies:\n    a: \"patch:a@npm%3A1.0.0#x\"\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		if !isBerry(data) {
			return // read as yarn 1
		}
		fuzzFormat(t, "fuzz/yarn.lock", data, FormatYarnBerry)
	})
}

// FuzzParseBun fuzzes the bun.lock reader, and checks that it calls a file
// a syntax error exactly when its standard JSON form is not JSON.
func FuzzParseBun(f *testing.F) {
	for _, d := range pmFixtures(f, "bun.lock") {
		f.Add(d)
	}
	f.Add([]byte(`{"lockfileVersion": 1, /* c */ "workspaces": {"": {"dependencies": {"a": "1"},}, "w": {"name": "w"}},
"packages": {"a": ["a@1.0.0", "", {}, "` + sri1 + `"], "w": ["w@workspace:w"], "w/a": ["a@npm:1.0.0"], "@s/x/@s/y": ["@s/y@2.0.0", "https://r.invalid/"],},}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		lf := fuzzFormat(t, "fuzz/bun.lock", data, FormatBun)
		valid := json.Valid(bytes.TrimPrefix([]byte(standardizeJSONC(data)), []byte("\uFEFF")))
		_, err := Parse("fuzz/bun.lock", data)
		if errors.Is(err, ErrSyntax) == valid {
			t.Fatalf("standard form valid %v, error %v (lockfile %v)", valid, err, lf != nil)
		}
	})
}

// FuzzStandardizeJSONC checks that comments and trailing commas become
// spaces and nothing else moves: the same length, the same line breaks,
// and JSON without comments or trailing commas unchanged.
func FuzzStandardizeJSONC(f *testing.F) {
	for _, s := range []string{`{"a": [1, 2,], /* x */ "b": "//",}`, "// c\n{}", `"\"/*"`, "/* open", `[1,,]`, "{\"a\":1,\n// c\n}"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		out := standardizeJSONC(data)
		if len(out) != len(data) {
			t.Fatalf("length %d, want %d", len(out), len(data))
		}
		for i := range data {
			if (data[i] == '\n') != (out[i] == '\n') || out[i] != data[i] && out[i] != ' ' {
				t.Fatalf("byte %d: %q became %q", i, data[i], out[i])
			}
		}
		if json.Valid(data) && out != string(data) {
			t.Fatalf("valid JSON changed: %q -> %q", data, out)
		}
	})
}

// FuzzYarnrcServers fuzzes the .yarnrc.yml reader: it never panics, its
// errors wrap a sentinel, and every registry it returns is an http(s) URL.
func FuzzYarnrcServers(f *testing.F) {
	for _, s := range []string{"npmRegistryServer: \"https://r.invalid\"\nnpmScopes:\n  s:\n    npmRegistryServer: http://s.invalid\n",
		"nodeLinker: node-modules\n", "npmScopes: [a]", "npmRegistryServer: &a x\n", ""} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		servers, err := yarnrcServers("fuzz/.yarnrc.yml", data)
		if err != nil {
			if servers != nil || len(sentinels(err)) == 0 {
				t.Fatalf("error %v with %v", err, servers)
			}
			return
		}
		for scope, s := range servers {
			if s != "" && !isHTTP(s) {
				t.Fatalf("scope %q: registry %q", scope, s)
			}
		}
	})
}
