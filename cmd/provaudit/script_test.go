package main

import (
	"bytes"
	"crypto/sha1"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/provaudit/provaudit/fetch"
	"github.com/provaudit/provaudit/internal/launcher"
	"github.com/provaudit/provaudit/internal/registrytest"
	"github.com/provaudit/provaudit/internal/registrytest/fakesigstore"
	"github.com/provaudit/provaudit/lockfile"
)

func TestMain(m *testing.M) {
	// The test binary is also the launcher of measured runs (memory_test.go).
	if len(os.Args) > 1 && os.Args[1] == launcher.Arg {
		os.Exit(launcher.Main(os.Args[1:], os.Stderr))
	}
	testscript.Main(m, map[string]func(){
		"provaudit":      func() { os.Exit(mainCode()) },
		"provaudit-exit": provauditExit,
	})
}

// TestScripts runs the end-to-end scripts in testdata/script. Each script
// gets its own fake registry (empty until the script fills it with the
// `registry` command) and fake Sigstore, whose trusted root is written to
// $TRUSTED_ROOT; $REGISTRY is the registry's URL. HOME, the cache and the
// configuration directory (the cache secret) live under $WORK and PATH is
// $WORK/.bin, so nothing of the machine's npm configuration leaks in.
func TestScripts(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Dir:                 "testdata/script",
		RequireExplicitExec: true,
		Setup:               setupScript,
		Cmds: map[string]func(*testscript.TestScript, bool, []string){
			"registry":        cmdRegistry,
			"jsonq":           cmdJSONQ,
			"exits":           cmdExits,
			"tuf":             cmdTUF,
			"genkey":          cmdGenKey,
			"tamper-envelope": cmdTamperEnvelope,
			"sbom-valid":      cmdSBOMValid,
			"treehash":        cmdTreeHash,
			"segments":        cmdSegments,
			"evidence":        cmdEvidence,
			"attest":          cmdAttest,
			"fakeapi":         cmdFakeAPI,
			"linkgit":         cmdLinkGit,
		},
	})
}

const registryKey = "registry"

func setupScript(env *testscript.Env) error {
	reg := registrytest.New(registrytest.Options{})
	env.Defer(reg.Close)
	env.Values[registryKey] = reg

	trust := filepath.Join(env.WorkDir, ".trust")
	if err := os.MkdirAll(trust, 0o755); err != nil {
		return err
	}
	ss := reg.Sigstore()
	if err := os.WriteFile(filepath.Join(trust, "trusted_root.json"), ss.TrustedRoot(), 0o644); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(trust, "npm-keys.json"), ss.NpmKeys(), 0o644); err != nil {
		return err
	}
	home := filepath.Join(env.WorkDir, ".home")
	if err := os.MkdirAll(home, 0o755); err != nil {
		return err
	}
	env.Setenv("REGISTRY", reg.URL())
	env.Setenv("TRUSTED_ROOT", filepath.Join(trust, "trusted_root.json"))
	env.Setenv("NPM_KEYS", filepath.Join(trust, "npm-keys.json"))
	// PATH loses every folder with an npm in it (the real npm would name
	// the machine's registry) and gains $WORK/.bin, where a script may put
	// a fake one.
	bin := filepath.Join(env.WorkDir, ".bin")
	if err := os.MkdirAll(bin, 0o755); err != nil {
		return err
	}
	path := []string{bin}
	for _, dir := range filepath.SplitList(env.Getenv("PATH")) {
		if _, err := os.Stat(filepath.Join(dir, "npm")); err != nil {
			path = append(path, dir)
		}
	}
	env.Setenv("PATH", strings.Join(path, string(os.PathListSeparator)))
	env.Setenv("HOME", home)
	env.Setenv("XDG_CACHE_HOME", filepath.Join(env.WorkDir, ".cache"))
	env.Setenv("XDG_CONFIG_HOME", filepath.Join(env.WorkDir, ".config"))
	env.Setenv("NPM_CONFIG_USERCONFIG", filepath.Join(home, ".npmrc"))
	env.Setenv("NPM_CONFIG_GLOBALCONFIG", filepath.Join(home, "global-npmrc"))
	return nil
}

// cmdRegistry drives the script's fake registry:
//
//	registry serve LOCKFILE [attested=all|none|N] [unsigned] [publish-only] [extra=PREDICATE]
//	                                   serve every registry package of LOCKFILE, signed;
//	                                   attested: all, none (default) or the first N by path;
//	                                   publish-only: attestations without provenance;
//	                                   extra: one more genuine attestation of that type
//	registry release LOCKFILE NAME@VERSION [OPTION...]
//	                                   serve one signed version of a release history, with
//	                                   LOCKFILE's integrity when it locks NAME@VERSION;
//	                                   options: ago=DURATION (publish time before now; d
//	                                   for days), provenance, publish-only, tp (trusted
//	                                   publisher), approver=NAME, user=NAME, script=NAME,
//	                                   and for provenance repo=URL, repoid=N, ownerid=N,
//	                                   workflow=PATH, trigger=EVENT, runner=self-hosted
//	registry serve-recorded FILE       serve a recorded `npm view --json` document
//	                                   (FILE under the repository's testdata) as it is
//	registry point-lockfile FILE       rewrite FILE's https://registry.invalid/ URLs to
//	                                   the fake registry's
//	registry fake-npm                  put an npm in $WORK/.bin whose `npm config get
//	                                   registry` names the fake registry
//	registry strip-signatures          version documents lose dist.signatures
//	registry abbrev-no-attestations    abbreviated packuments lose dist.attestations
//	registry tamper-signature NAME@VERSION [keyid]
//	                                   alter the first signature's bytes (or its keyid)
//	registry tamper-attestation NAME@VERSION [publish|provenance|extra]
//	registry attest-integrity NAME@VERSION SRI   attestations made for another integrity
//	registry serve-integrity NAME@VERSION SRI    the registry serves another dist.integrity
//	registry serve-tarball NAME@VERSION CONTENT  serve a version whose tarball is CONTENT
//	registry serve-sha1 NAME@VERSION CONTENT     the same, with a sha1-only dist.integrity (old versions)
//	registry fail PATH N STATUS        the next N requests to PATH fail
//	registry nokeys                    the keys endpoint answers 404
//	registry haskeys                   the keys endpoint answers again
//	registry emptykeys                 the keys endpoint lists no keys
//	registry down                      stop the server (connections refused)
//	registry requests N                assert the number of requests served since the last reset
//	registry reset                     reset the request counters
func cmdRegistry(ts *testscript.TestScript, neg bool, args []string) {
	if neg {
		ts.Fatalf("unsupported: ! registry")
	}
	if len(args) == 0 {
		ts.Fatalf("usage: registry SUBCOMMAND ...")
	}
	reg := ts.Value(registryKey).(*registrytest.Registry)
	switch args[0] {
	case "serve":
		if len(args) < 2 {
			ts.Fatalf("usage: registry serve LOCKFILE [attested=all|none|N] [unsigned]")
		}
		serveLockfile(ts, reg, ts.MkAbs(args[1]), args[2:])
	case "release":
		needArgs(ts, args, 3)
		serveRelease(ts, reg, ts.MkAbs(args[1]), args[2], args[3:])
	case "tamper-signature":
		needArgs(ts, args, 2)
		name, version := splitSpec(ts, args[1])
		path := "/" + name + "/" + version
		body := fetchBody(ts, reg, path)
		var doc map[string]any
		ts.Check(json.Unmarshal(body, &doc))
		dist, _ := doc["dist"].(map[string]any)
		sigs, _ := dist["signatures"].([]any)
		if len(sigs) == 0 {
			ts.Fatalf("%s has no signatures to tamper with", args[1])
		}
		s := sigs[0].(map[string]any)
		if len(args) > 2 && args[2] == "keyid" {
			s["keyid"] = "SHA256:" + strings.Repeat("A", 43)
		} else {
			s["sig"] = flipBase64(ts, s["sig"].(string))
		}
		serveJSON(ts, reg, path, doc)
	case "tamper-attestation":
		needArgs(ts, args, 2)
		name, version := splitSpec(ts, args[1])
		path := "/-/npm/v1/attestations/" + name + "@" + version
		which := 1 // the provenance comes second
		if len(args) > 2 {
			switch args[2] {
			case "publish":
				which = 0
			case "extra":
				which = 2 // the first extra attestation (serve extra=...)
			}
		}
		body, err := fakesigstore.TamperAttestation(fetchBody(ts, reg, path), which, fakesigstore.TamperSignature)
		ts.Check(err)
		serveBytes(reg, path, body)
	case "attest-integrity":
		needArgs(ts, args, 3)
		name, version := splitSpec(ts, args[1])
		body, err := reg.Sigstore().Attestations(fakesigstore.Attest{Name: name, Version: version, Integrity: args[2]})
		ts.Check(err)
		serveBytes(reg, "/-/npm/v1/attestations/"+name+"@"+version, body)
	case "serve-integrity":
		needArgs(ts, args, 3)
		name, version := splitSpec(ts, args[1])
		ts.Check(reg.Add(registrytest.Package{Name: name, Version: version, Integrity: args[2], Signed: true}))
	case "serve-sha1":
		needArgs(ts, args, 3)
		name, version := splitSpec(ts, args[1])
		sum := sha1.Sum([]byte(args[2]))
		ts.Check(reg.Add(registrytest.Package{Name: name, Version: version, Integrity: "sha1-" + base64.StdEncoding.EncodeToString(sum[:]),
			Tarball: []byte(args[2]), Signed: true}))
	case "serve-tarball":
		needArgs(ts, args, 3)
		name, version := splitSpec(ts, args[1])
		ts.Check(reg.Add(registrytest.Package{Name: name, Version: version, Tarball: []byte(args[2]), Signed: true}))
	case "fail":
		needArgs(ts, args, 4)
		n, err := strconv.Atoi(args[2])
		ts.Check(err)
		status, err := strconv.Atoi(args[3])
		ts.Check(err)
		reg.Fail(args[1], n, status, "")
	case "serve-recorded":
		needArgs(ts, args, 2)
		doc, err := os.ReadFile(filepath.Join("..", "..", "testdata", filepath.FromSlash(args[1])))
		ts.Check(err)
		var v struct{ Name, Version string }
		ts.Check(json.Unmarshal(doc, &v))
		ts.Check(reg.AddRecorded(v.Name, v.Version, doc, nil))
	case "point-lockfile":
		needArgs(ts, args, 2)
		file := ts.MkAbs(args[1])
		b, err := os.ReadFile(file)
		ts.Check(err)
		ts.Check(os.WriteFile(file, bytes.ReplaceAll(b, []byte("https://registry.invalid/"), []byte(reg.URL())), 0o644))
	case "fake-npm":
		script := "#!/bin/sh\nif [ \"$1 $2 $3\" = \"config get registry\" ]; then echo " + reg.URL() + "; exit 0; fi\nexit 1\n"
		ts.Check(os.WriteFile(filepath.Join(ts.Getenv("WORK"), ".bin", "npm"), []byte(script), 0o755))
	case "strip-signatures":
		reg.SetStripSignatures(true)
	case "abbrev-no-attestations":
		reg.SetAbbreviatedWithoutAttestations(true)
	case "nokeys":
		reg.SetNoKeys(true)
	case "haskeys":
		reg.SetNoKeys(false)
	case "emptykeys":
		reg.SetKeys([]byte(`{"keys": []}`))
	case "down":
		reg.Close()
	case "requests":
		needArgs(ts, args, 2)
		want, err := strconv.ParseInt(args[1], 10, 64)
		ts.Check(err)
		if got := reg.Requests(); got != want {
			ts.Fatalf("registry served %d requests, want %d", got, want)
		}
	case "reset":
		reg.ResetStats()
	default:
		ts.Fatalf("unknown registry subcommand %q", args[0])
	}
}

func needArgs(ts *testscript.TestScript, args []string, n int) {
	if len(args) < n {
		ts.Fatalf("registry %s: want %d arguments, got %d", args[0], n-1, len(args)-1)
	}
}

func splitSpec(ts *testscript.TestScript, spec string) (string, string) {
	i := strings.LastIndex(spec, "@")
	if i <= 0 {
		ts.Fatalf("want NAME@VERSION, got %q", spec)
	}
	return spec[:i], spec[i+1:]
}

func serveLockfile(ts *testscript.TestScript, reg *registrytest.Registry, path string, opts []string) {
	lf, err := lockfile.Load(path)
	ts.Check(err)
	attested, signed, publishOnly := 0, true, false
	var extra []string
	units := lockfile.Units(lf)
	for _, o := range opts {
		switch {
		case o == "unsigned":
			signed = false
		case o == "publish-only":
			publishOnly = true
		case strings.HasPrefix(o, "extra="):
			extra = append(extra, strings.TrimPrefix(o, "extra="))
		case o == "attested=all":
			attested = len(units)
		case o == "attested=none":
			attested = 0
		case strings.HasPrefix(o, "attested="):
			attested, err = strconv.Atoi(strings.TrimPrefix(o, "attested="))
			ts.Check(err)
		default:
			ts.Fatalf("registry serve: unknown option %q", o)
		}
	}
	var pkgs []registrytest.Package
	for _, u := range units {
		if u.Kind != lockfile.KindRegistry {
			continue
		}
		p := registrytest.Package{Name: u.Name, Version: u.Version, Integrity: u.Integrity, Signed: signed}
		if attested > 0 {
			p.Attested = true
			attested--
			if publishOnly || len(extra) > 0 {
				p.Attest = &fakesigstore.Attest{OmitProvenance: publishOnly, Extra: extra}
			}
		}
		pkgs = append(pkgs, p)
	}
	ts.Check(reg.Add(pkgs...))
}

// serveRelease serves one version of a release history (see cmdRegistry).
func serveRelease(ts *testscript.TestScript, reg *registrytest.Registry, lockPath, spec string, opts []string) {
	name, version := splitSpec(ts, spec)
	lf, err := lockfile.Load(lockPath)
	ts.Check(err)
	p := registrytest.Package{Name: name, Version: version, Signed: true, PublishTime: reg.Sigstore().Now()}
	for _, e := range lf.Entries {
		if e.Name == name && e.Version == version {
			p.Integrity = e.Integrity
		}
	}
	var a fakesigstore.Attest
	for _, o := range opts {
		key, val, _ := strings.Cut(o, "=")
		switch key {
		case "ago":
			d, err := parseAgo(val)
			ts.Check(err)
			p.PublishTime = reg.Sigstore().Now().Add(-d)
		case "provenance":
			p.Attested = true
		case "publish-only":
			p.Attested, a.OmitProvenance = true, true
		case "tp":
			p.TrustedPublisher = "github"
		case "approver":
			p.Approver = val
		case "user":
			p.NpmUser = val
		case "script":
			p.Scripts = map[string]string{val: "node " + val + ".js"}
		case "repo":
			a.Repository = val
		case "repoid":
			a.RepositoryID = val
		case "ownerid":
			a.OwnerID = val
		case "workflow":
			a.Workflow = val
		case "trigger":
			a.Trigger = val
		case "runner":
			a.Runner = val
		default:
			ts.Fatalf("registry release: unknown option %q", o)
		}
	}
	if p.Attested {
		p.Attest = &a
	}
	ts.Check(reg.Add(p))
}

// parseAgo reads a duration as time.ParseDuration does, or a number of
// days ("30d").
func parseAgo(s string) (time.Duration, error) {
	if days, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.Atoi(days)
		return time.Duration(n) * 24 * time.Hour, err
	}
	return time.ParseDuration(s)
}

func fetchBody(ts *testscript.TestScript, reg *registrytest.Registry, path string) []byte {
	resp, err := reg.Client().Get(strings.TrimSuffix(reg.URL(), "/") + path)
	ts.Check(err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	ts.Check(err)
	if resp.StatusCode != http.StatusOK {
		ts.Fatalf("GET %s: %s", path, resp.Status)
	}
	reg.ResetStats()
	return body
}

func serveJSON(ts *testscript.TestScript, reg *registrytest.Registry, path string, v any) {
	b, err := json.Marshal(v)
	ts.Check(err)
	serveBytes(reg, path, b)
}

func serveBytes(reg *registrytest.Registry, path string, body []byte) {
	reg.Handle(path, func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(body)
	})
}

// flipBase64 changes one byte inside a base64 signature, keeping it valid
// base64 of the same length.
func flipBase64(ts *testscript.TestScript, s string) string {
	b := []byte(s)
	for i := len(b) / 2; i < len(b); i++ {
		if b[i] >= 'A' && b[i] <= 'Y' {
			b[i]++
			return string(b)
		}
	}
	ts.Fatalf("cannot tamper with %q", s)
	return ""
}

// cmdJSONQ checks a value in a JSON file:
//
//	jsonq FILE PATH WANT
//
// PATH is dot-separated object keys and array indices (summary.verified,
// packages.0.status); `len(PATH)` compares an array's length. FILE may be
// stdout or stderr.
func cmdJSONQ(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 3 {
		ts.Fatalf("usage: jsonq FILE PATH WANT")
	}
	var data []byte
	switch args[0] {
	case "stdout":
		data = []byte(ts.ReadFile("stdout"))
	case "stderr":
		data = []byte(ts.ReadFile("stderr"))
	default:
		data = []byte(ts.ReadFile(args[0]))
	}
	var v any
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	ts.Check(dec.Decode(&v))
	path, wantLen := args[1], false
	if strings.HasPrefix(path, "len(") && strings.HasSuffix(path, ")") {
		path, wantLen = path[4:len(path)-1], true
	}
	got, err := jsonPath(v, path)
	ts.Check(err)
	var s string
	if wantLen {
		arr, ok := got.([]any)
		if !ok {
			ts.Fatalf("%s is not an array", path)
		}
		s = strconv.Itoa(len(arr))
	} else {
		switch g := got.(type) {
		case string:
			s = g
		case nil:
			s = "null"
		default:
			b, _ := json.Marshal(g)
			s = string(b)
		}
	}
	if (s == args[2]) == neg {
		if neg {
			ts.Fatalf("%s = %s, want anything else", args[1], s)
		}
		ts.Fatalf("%s = %s, want %s", args[1], s, args[2])
	}
}

func jsonPath(v any, path string) (any, error) {
	if path == "" || path == "." {
		return v, nil
	}
	for _, k := range strings.Split(path, ".") {
		switch c := v.(type) {
		case map[string]any:
			next, ok := c[k]
			if !ok {
				return nil, fmt.Errorf("no key %q", k)
			}
			v = next
		case []any:
			i, err := strconv.Atoi(k)
			if err != nil || i < 0 || i >= len(c) {
				return nil, fmt.Errorf("no index %q in an array of %d", k, len(c))
			}
			v = c[i]
		default:
			return nil, fmt.Errorf("cannot index %T with %q", v, k)
		}
	}
	return v, nil
}

// cmdTreeHash writes a digest of a directory tree (names and contents) to
// a file, so that cmp can tell whether a run changed the tree:
//
//	treehash DIR FILE
func cmdTreeHash(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: treehash DIR FILE")
	}
	d, err := digestTree(ts.MkAbs(args[0]))
	ts.Check(err)
	ts.Check(os.WriteFile(ts.MkAbs(args[1]), []byte(d+"\n"), 0o644))
}

// cmdSegments adds N cache segments of one small entry each to a cache
// directory, as N earlier runs would:
//
//	segments DIR N
func cmdSegments(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: segments DIR N")
	}
	n, err := strconv.Atoi(args[1])
	ts.Check(err)
	for i := range n {
		c, err := fetch.OpenCache(ts.MkAbs(args[0]))
		ts.Check(err)
		ts.Check(c.Put(fmt.Sprint("segments-command/", i), []byte("x")))
		ts.Check(c.Flush())
	}
}
