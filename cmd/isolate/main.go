// Command isolate runs a program in new user, mount, pid, uts, ipc, net and
// cgroup namespaces, as a normal user. This package only turns the command
// line into a sandbox.Config; it makes no system calls of its own.
package main

import (
	"errors"
	"fmt"
	"os"

	"github.com/urfave/cli/v2"

	"github.com/isolate-sandbox/isolate/pkg/hints"
	"github.com/isolate-sandbox/isolate/pkg/oci"
	"github.com/isolate-sandbox/isolate/pkg/sandbox"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "0.1.0-dev"

func main() {
	// The sandbox child (isolate-init) is dispatched before anything else runs.
	if sandbox.IsInit() {
		sandbox.InitMain()
	}
	if isOCICommand(os.Args[1:]) {
		oci.Version = version
		os.Exit(runOCI(os.Args))
	}
	os.Exit(run(os.Args))
}

func run(args []string) int {
	status := 0
	app := newApp(func(cfg *sandbox.Config) error {
		code, err := sandbox.Run(cfg)
		status = code
		return err
	})
	if len(args) < 2 || !isCommand(app, args[1]) {
		// A subcommand is only ever isolate's first argument; any other
		// word is PROGRAM: `isolate -- doctor` runs a program named doctor.
		app.Commands = nil
	}
	if err := app.Run(args); err != nil {
		var code exitStatus
		if errors.As(err, &code) {
			return int(code)
		}
		hints.Print(err)
		return hints.ExitCode(err)
	}
	return status
}

// commands are isolate's subcommands.
func commands() []*cli.Command {
	cmds := []*cli.Command{doctorCommand(), completionCommand(), manCommand()}
	for _, c := range cmds {
		c.OnUsageError = usageError
	}
	return cmds
}

// isCommand: the word is a subcommand, or asks for help, which lists them.
func isCommand(app *cli.App, word string) bool {
	if word == "-h" || word == "--help" {
		return true
	}
	for _, c := range app.Commands {
		if c.Name == word {
			return true
		}
	}
	return false
}

func usageError(_ *cli.Context, err error, _ bool) error {
	return &hints.Error{What: err.Error(), Hint: "see isolate --help"}
}

const usageText = `isolate [OPTIONS] PROGRAM [ARGS...]

   Runs PROGRAM in new user, mount, pid, uts, ipc, net and cgroup namespaces,
   without root. Options go before PROGRAM; everything after it is PROGRAM's.

EXAMPLES:
   isolate ps aux                      only the sandbox's processes, PID 1 first
   isolate sh -c 'id; hostname'        root inside, hostname "isolated"
   isolate -u 1000:1000 id             run as uid/gid 1000 inside
   isolate --clear-env -e FOO=bar env  a clean environment
   isolate -- ls -la                   "--" ends isolate's options
   isolate --timeout 10s make test     killed after 10s, exit status 124
   isolate --ulimit nofile=256 sh      at most 256 open files inside
   isolate --memory 512m --pids-limit 100 --cpus 1.5 make
                                       cgroup v2 limits (needs a delegated
                                       cgroup: see isolate doctor)
   isolate doctor                      can isolate run here? how to fix it
   isolate -- doctor                   runs a program named doctor: a
                                       subcommand is only ever the first word
   source <(isolate completion bash)   completion (also: zsh); man: isolate man
   isolate -- run                      runs a program named run (OCI command names too)

OCI RUNTIME (runc's command line, for podman, containerd, CRI-O; docs/oci.md):
   isolate [--root DIR] create|start|run|state|kill|delete|list|spec|features ...

   ids: container root is you; container ids 1.. are your ranges in
   /etc/subuid and /etc/subgid (through newuidmap/newgidmap). Without them
   only your own id is mapped, and isolate says so.

EXIT STATUS:
   PROGRAM's own; 128+N when it died of signal N; 125 when isolate failed;
   126 when PROGRAM cannot be executed; 127 when it is not found.`

func newApp(action func(*sandbox.Config) error) *cli.App {
	return &cli.App{
		Name:                      "isolate",
		Usage:                     "run a program in a rootless sandbox",
		UsageText:                 usageText + fsUsage,
		Version:                   version,
		HideHelpCommand:           true,
		DisableSliceFlagSeparator: true, // -e A=b,c is one variable
		Flags:                     flags(),
		OnUsageError:              usageError,
		Commands:                  commands(),
		ExitErrHandler:            func(*cli.Context, error) {}, // errors are printed once, by run
		Action: func(c *cli.Context) error {
			cfg, err := configFromCLI(c)
			if err != nil {
				return err
			}
			return action(cfg)
		},
	}
}

func flags() []cli.Flag {
	var f []cli.Flag
	for _, group := range [][]cli.Flag{coreFlags(), netFlags(), fsFlags(), securityFlags(), limitsFlags()} {
		f = append(f, group...)
	}
	return namesOnce(f)
}

func coreFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "hostname", Value: sandbox.DefaultHostname, Usage: "host name inside the sandbox"},
		&cli.StringSliceFlag{Name: "env", Aliases: []string{"e"}, Usage: "set KEY=VALUE inside, or pass KEY from isolate's environment (repeatable)"},
		&cli.BoolFlag{Name: "clear-env", Usage: "start from an empty environment (plus PATH, HOME and TERM) instead of isolate's"},
		&cli.StringFlag{Name: "workdir", Aliases: []string{"w"}, Usage: "working directory inside (default: the current one)"},
		&cli.StringFlag{Name: "user", Aliases: []string{"u"}, Usage: "UID[:GID] to run PROGRAM as inside the sandbox (default 0:0; GID defaults to UID)"},
		&cli.StringSliceFlag{Name: "uidmap", Usage: "explicit uid map range CONTAINER:HOST:SIZE (repeatable; replaces the default)"},
		&cli.StringSliceFlag{Name: "gidmap", Usage: "explicit gid map range CONTAINER:HOST:SIZE (repeatable; replaces the default)"},
		&cli.BoolFlag{Name: "no-init", Usage: "run PROGRAM itself as PID 1 (it then ignores signals it has no handler for)"},
		&cli.BoolFlag{Name: "tty", Aliases: []string{"t"}, Usage: "give PROGRAM a terminal of its own, joined to yours (job control, Ctrl-C and window size reach it)"},
		&cli.BoolFlag{Name: "interactive", Aliases: []string{"i"}, Usage: "keep standard input open (isolate always passes it; accepted as in docker)"},
		&cli.BoolFlag{Name: "quiet", Aliases: []string{"q"}, Usage: "print no notices"},
	}
}

func init() {
	cli.VersionPrinter = func(c *cli.Context) {
		fmt.Fprintf(c.App.Writer, "isolate version %s\n", c.App.Version)
	}
}
