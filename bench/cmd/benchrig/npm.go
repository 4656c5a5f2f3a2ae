package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"syscall"
	"time"

	"github.com/provaudit/provaudit/bench/npmrig"
	"github.com/provaudit/provaudit/internal/launcher"
)

// npmArg is the first argument of the npm helper process (see npmMain).
const npmArg = "internal-npm"

// npmConfig is what the npm helper is told on its first input line.
type npmConfig struct {
	RegistryURL     string        `json:"registryURL"`
	Lockfile        string        `json:"lockfile"`
	TrustedRootFile string        `json:"trustedRootFile"`
	KeysTUFFile     string        `json:"keysTUFFile"`
	WorkDir         string        `json:"workDir"`
	NPM             string        `json:"npm"`
	Timeout         time.Duration `json:"timeout"`
}

// npmReply is one output line of the npm helper.
type npmReply struct {
	Installed int            `json:"installed,omitempty"`
	Result    *npmrig.Result `json:"result,omitempty"`
	Error     string         `json:"error,omitempty"`
	RSSFloor  int64          `json:"rssFloorKB"`
}

// npmMain is the npm helper process: the rig (TUF proxy, installed tree)
// and every npm run live in a small process of their own, because Go
// starts children on its own memory and Linux then charges the parent's
// peak resident set to the child (see package internal/launcher): npm started by the
// driver, which holds the whole fake registry, would report the driver's
// peak. It reads an npmConfig line, prepares the rig and answers one line,
// then runs npm once per "run" line, answering with the result, until its
// input ends.
func npmMain(stdin io.Reader, stdout io.Writer) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	in := bufio.NewScanner(stdin)
	enc := json.NewEncoder(stdout)
	reply := func(r npmReply) {
		r.RSSFloor = launcher.SelfPeakRSSKB()
		_ = enc.Encode(r)
	}
	if !in.Scan() {
		reply(npmReply{Error: "no configuration"})
		return 2
	}
	var c npmConfig
	if err := json.Unmarshal(in.Bytes(), &c); err != nil {
		reply(npmReply{Error: "configuration: " + err.Error()})
		return 2
	}
	root, err := os.ReadFile(c.TrustedRootFile)
	if err != nil {
		reply(npmReply{Error: err.Error()})
		return 1
	}
	keys, err := os.ReadFile(c.KeysTUFFile)
	if err != nil {
		reply(npmReply{Error: err.Error()})
		return 1
	}
	r, err := npmrig.Prepare(ctx, npmrig.Options{RegistryURL: c.RegistryURL, Lockfile: c.Lockfile, TrustedRoot: root, KeysTUF: keys, WorkDir: c.WorkDir, NPM: c.NPM, Timeout: c.Timeout})
	if err != nil {
		reply(npmReply{Error: err.Error()})
		return 1
	}
	defer r.Close()
	reply(npmReply{Installed: r.Installed()})
	for in.Scan() {
		if in.Text() != "run" {
			reply(npmReply{Error: fmt.Sprintf("unknown command %q", in.Text())})
			continue
		}
		res, err := r.Run(ctx)
		rep := npmReply{Result: res}
		if res != nil && len(res.Output) > 4000 {
			res.Output = res.Output[len(res.Output)-4000:]
		}
		if err != nil {
			rep.Error = err.Error()
		}
		reply(rep)
		if ctx.Err() != nil {
			return 1
		}
	}
	return 0
}

// npmProc is a running npm helper process.
type npmProc struct {
	cmd       *exec.Cmd
	in        io.WriteCloser
	out       *bufio.Scanner
	installed int
	rssFloor  int64
}

// startNPM starts the npm helper (this executable with npmArg) and
// prepares the rig.
func startNPM(ctx context.Context, c npmConfig, stderr io.Writer) (*npmProc, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cmd := exec.CommandContext(ctx, self, npmArg)
	cmd.Stderr = stderr
	cmd.Cancel = func() error { return cmd.Process.Signal(os.Interrupt) } // the helper stops npm
	cmd.WaitDelay = 30 * time.Second
	in, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	outPipe, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting the npm helper: %w", err)
	}
	p := &npmProc{cmd: cmd, in: in, out: bufio.NewScanner(outPipe)}
	p.out.Buffer(make([]byte, 64<<10), 16<<20)
	line, err := json.Marshal(c)
	if err != nil {
		p.close()
		return nil, err
	}
	if _, err := fmt.Fprintf(in, "%s\n", line); err != nil {
		p.close()
		return nil, fmt.Errorf("npm helper: %w", err)
	}
	rep, err := p.read()
	if err != nil {
		p.close()
		return nil, err
	}
	if rep.Error != "" {
		p.close()
		return nil, fmt.Errorf("npm helper: %s", rep.Error)
	}
	p.installed, p.rssFloor = rep.Installed, rep.RSSFloor
	return p, nil
}

func (p *npmProc) read() (*npmReply, error) {
	if !p.out.Scan() {
		if err := p.out.Err(); err != nil {
			return nil, fmt.Errorf("npm helper: %w", err)
		}
		return nil, errors.New("npm helper: ended without an answer")
	}
	var r npmReply
	if err := json.Unmarshal(p.out.Bytes(), &r); err != nil {
		return nil, fmt.Errorf("npm helper: %w", err)
	}
	return &r, nil
}

// run runs npm audit signatures once. The error is npm's (or the rig's);
// the result is nil when npm did not run.
func (p *npmProc) run() (*npmrig.Result, int64, error) {
	if _, err := fmt.Fprintln(p.in, "run"); err != nil {
		return nil, 0, fmt.Errorf("npm helper: %w", err)
	}
	rep, err := p.read()
	if err != nil {
		return nil, 0, err
	}
	if rep.Error != "" {
		err = errors.New(rep.Error)
	}
	return rep.Result, rep.RSSFloor, err
}

// close ends the helper, which removes the rig's files.
func (p *npmProc) close() {
	p.in.Close()
	_ = p.cmd.Wait()
}
