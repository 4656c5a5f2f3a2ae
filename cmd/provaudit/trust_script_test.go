package main

import (
	"errors"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/rogpeppe/go-internal/testscript"
	"github.com/theupdateframework/go-tuf/v2/metadata"

	"github.com/provaudit/provaudit/internal/registrytest"
	"github.com/provaudit/provaudit/internal/registrytest/faketuf"
	"github.com/provaudit/provaudit/internal/trustupdate"
)

// cmdExits runs a program like exec and asserts its exact exit code:
//
//	exits CODE PROGRAM [ARGS...]
func cmdExits(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 2 {
		ts.Fatalf("usage: exits CODE PROGRAM [ARGS...]")
	}
	want, err := strconv.Atoi(args[0])
	ts.Check(err)
	err = ts.Exec(args[1], args[2:]...)
	got := 0
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		got = ee.ExitCode()
	case err != nil:
		ts.Fatalf("%s: %v", args[1], err)
	}
	if got != want {
		ts.Fatalf("%s exited with %d, want %d", args[1], got, want)
	}
}

// tufServer is a script's fake TUF repository.
type tufServer struct {
	repo    *faketuf.Repo
	srv     *httptest.Server
	targets map[string][]byte
	kt      string   // the registry's keys target
	old     [][]byte // timestamps served before the current one
}

var tufServers sync.Map // *testscript.TestScript -> *tufServer

// cmdTUF drives a fake TUF repository whose targets are the script's fake
// Sigstore trusted root and its registry's keys:
//
//	tuf serve          start it; $TUF_MIRROR is its URL, $TUF_ROOT its root.json
//	tuf publish        publish a new version of the same targets
//	tuf rotate         rotate the root (new root and timestamp keys)
//	tuf expire         publish a timestamp that expired an hour ago
//	tuf untrusted      publish a timestamp signed by a key the root does not list
//	tuf tamper-keys    serve other bytes for the keys target
//	tuf rollback       serve the timestamp published before the current one
//	tuf nokeys         publish a version without the keys target
func cmdTUF(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: tuf serve|publish|rotate|expire|untrusted|tamper-keys|rollback|nokeys")
	}
	if args[0] == "serve" {
		serveTUF(ts)
		return
	}
	v, ok := tufServers.Load(ts)
	if !ok {
		ts.Fatalf("tuf %s: run tuf serve first", args[0])
	}
	t := v.(*tufServer)
	publish := func(p faketuf.Publish) {
		t.old = append(t.old, t.repo.File("timestamp.json"))
		ts.Check(t.repo.Publish(p))
	}
	switch args[0] {
	case "publish":
		publish(faketuf.Publish{})
	case "rotate":
		t.old = append(t.old, t.repo.File("timestamp.json"))
		ts.Check(t.repo.RotateRoot())
	case "expire":
		publish(faketuf.Publish{TimestampExpires: time.Now().Add(-time.Hour)})
	case "untrusted":
		publish(faketuf.Publish{UntrustedKey: metadata.TIMESTAMP})
	case "tamper-keys":
		t.repo.SetFile(t.repo.TargetPath(t.kt), []byte(`{"keys":[]}`))
	case "rollback":
		if len(t.old) == 0 {
			ts.Fatalf("tuf rollback: nothing was published before")
		}
		t.repo.SetFile("timestamp.json", t.old[len(t.old)-1])
	case "nokeys":
		publish(faketuf.Publish{Targets: map[string][]byte{"trusted_root.json": t.targets["trusted_root.json"]}})
	default:
		ts.Fatalf("unknown tuf subcommand %q", args[0])
	}
}

func serveTUF(ts *testscript.TestScript) {
	if _, ok := tufServers.Load(ts); ok {
		ts.Fatalf("tuf serve: already serving")
	}
	reg := ts.Value(registryKey).(*registrytest.Registry)
	kt, err := trustupdate.KeysTarget(reg.URL())
	ts.Check(err)
	targets := map[string][]byte{"trusted_root.json": reg.Sigstore().TrustedRoot(), kt: reg.Sigstore().NpmKeysTUF()}
	repo, err := faketuf.New(faketuf.Options{Targets: targets})
	ts.Check(err)
	srv := httptest.NewServer(repo)
	t := &tufServer{repo: repo, srv: srv, targets: targets, kt: kt}
	tufServers.Store(ts, t)
	ts.Defer(func() {
		srv.Close()
		tufServers.Delete(ts)
	})
	rootFile := filepath.Join(ts.Getenv("WORK"), ".trust", "tuf-root.json")
	ts.Check(os.MkdirAll(filepath.Dir(rootFile), 0o755))
	ts.Check(os.WriteFile(rootFile, repo.Root(), 0o644))
	ts.Setenv("TUF_MIRROR", srv.URL)
	ts.Setenv("TUF_ROOT", rootFile)
	ts.Setenv("KEYS_TARGET", kt)
}
