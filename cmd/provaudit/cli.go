package main

import (
	"fmt"
	"io"
	"os"
	"regexp"
	"runtime/debug"
	"strings"
	"time"

	"github.com/urfave/cli/v2"
	"golang.org/x/term"

	"github.com/provaudit/provaudit/internal/trustupdate"
)

// This file makes the command line explain itself: --version, the exit
// codes and examples in --help, "did you mean" for a mistyped flag, the
// terminal's width for the table, and shell completion.

// buildInfo describes the binary for --version: the module version (or the
// VCS revision and its date for a build from a checkout), the Go version,
// the sigstore-go version, and the date of the embedded trust material.
func buildInfo() string {
	var b strings.Builder
	fmt.Fprintf(&b, "provaudit %s\n", toolVersion())
	bi, ok := debug.ReadBuildInfo()
	if ok {
		var rev, at, dirty string
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				rev = s.Value
			case "vcs.time":
				at = s.Value
			case "vcs.modified":
				if s.Value == "true" {
					dirty = " (modified)"
				}
			}
		}
		if rev != "" {
			fmt.Fprintf(&b, "revision   %s%s %s\n", rev, dirty, at)
		}
		fmt.Fprintf(&b, "go         %s\n", bi.GoVersion)
		for _, d := range bi.Deps {
			if d.Path == "github.com/sigstore/sigstore-go" {
				v := d.Version
				if d.Replace != nil {
					v += " => " + d.Replace.Path + " " + d.Replace.Version
				}
				fmt.Fprintf(&b, "sigstore-go %s\n", v)
			}
		}
	}
	fmt.Fprintf(&b, "trust      embedded Sigstore public-good trusted root and npm keys as of %s (provaudit trust show: what is in use; provaudit trust update: refresh)\n",
		trustupdate.EmbeddedAsOf.Format(time.DateOnly))
	return b.String()
}

// exitCodesHelp ends --help: the exit codes, the same for every format.
const exitCodesHelp = `
EXIT CODES:
   0  every audited package passed the checks that apply
   1  findings: an invalid signature or attestation, a missing registry
      signature, a signature by a key nothing trusts, an install bound to
      nothing verified, or a policy violation
   2  usage or input error: bad flags, no or unreadable lockfile, unreadable
      trust files; nothing was audited
   3  audit incomplete: some packages could not be checked, or nothing at all
      was verified, and no finding was made
`

// helpTemplate is urfave/cli's app help with the exit codes at the end.
var helpTemplate = cli.AppHelpTemplate + exitCodesHelp

// undefinedFlag matches the flag package's "flag provided but not defined:
// -name" (one or two dashes as the user typed it, the flag package shows
// one).
var undefinedFlag = regexp.MustCompile(`^flag provided but not defined: -+(.+)$`)

// withSuggestion adds "did you mean --x?" to an unknown-flag error when a
// flag of flags is close to the one given.
func withSuggestion(err error, flags []cli.Flag) error {
	m := undefinedFlag.FindStringSubmatch(err.Error())
	if m == nil || cli.SuggestFlag == nil {
		return err
	}
	s := cli.SuggestFlag(flags, m[1], false)
	if s == "" {
		return err
	}
	return fmt.Errorf("%w (did you mean %s?)", err, s)
}

// terminalWidth returns w's width in columns when it is a terminal, else 0
// (the renderer's default).
func terminalWidth(w io.Writer) int {
	f, ok := w.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return 0
	}
	cols, _, err := term.GetSize(int(f.Fd()))
	if err != nil {
		return 0
	}
	return cols
}

// completionCommand prints a shell completion script: bash and zsh
// complete through urfave/cli's --generate-bash-completion, fish from the
// app's own description of its flags and commands.
func completionCommand() *cli.Command {
	return &cli.Command{
		Name:      "completion",
		Usage:     "print a shell completion script: bash, zsh or fish",
		UsageText: "provaudit completion bash|zsh|fish\n\n   bash: source <(provaudit completion bash)\n   zsh:  source <(provaudit completion zsh)\n   fish: provaudit completion fish | source\n\nA project folder named completion is audited as ./completion.",
		Action: func(c *cli.Context) error {
			if c.NArg() != 1 {
				return usagef("completion needs one shell: bash, zsh or fish")
			}
			w := c.App.Writer
			switch c.Args().First() {
			case "bash":
				_, err := io.WriteString(w, bashCompletion)
				return err
			case "zsh":
				_, err := io.WriteString(w, zshCompletion)
				return err
			case "fish":
				s, err := c.App.ToFishCompletion()
				if err != nil {
					return err
				}
				_, err = io.WriteString(w, s)
				return err
			}
			return usagef("unknown shell %q: use bash, zsh or fish", c.Args().First())
		},
	}
}

const bashCompletion = `# provaudit bash completion: source <(provaudit completion bash)
_provaudit_complete() {
  local cur opts
  COMPREPLY=()
  cur="${COMP_WORDS[COMP_CWORD]}"
  if [[ "$cur" == -* ]]; then
    opts=$("${COMP_WORDS[@]:0:$COMP_CWORD}" "$cur" --generate-bash-completion 2>/dev/null)
  else
    opts=$("${COMP_WORDS[@]:0:$COMP_CWORD}" --generate-bash-completion 2>/dev/null)
  fi
  COMPREPLY=($(compgen -W "$opts" -- "$cur"))
  [ ${#COMPREPLY[@]} -eq 0 ] && COMPREPLY=($(compgen -f -- "$cur"))
  return 0
}
complete -o default -F _provaudit_complete provaudit
`

const zshCompletion = `#compdef provaudit
# provaudit zsh completion: source <(provaudit completion zsh)
_provaudit() {
  local -a opts
  local cur=${words[-1]}
  if [[ "$cur" == -* ]]; then
    opts=("${(@f)$(${words[@]:0:#words[@]-1} $cur --generate-bash-completion 2>/dev/null)}")
  else
    opts=("${(@f)$(${words[@]:0:#words[@]-1} --generate-bash-completion 2>/dev/null)}")
  fi
  if [[ "${opts[1]}" != "" ]]; then
    _describe 'values' opts
  else
    _files
  fi
}
compdef _provaudit provaudit
`

func init() {
	cli.VersionPrinter = func(c *cli.Context) { _, _ = io.WriteString(c.App.Writer, buildInfo()) }
}
