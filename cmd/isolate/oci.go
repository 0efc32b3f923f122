package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/urfave/cli/v2"
	"golang.org/x/sys/unix"

	"github.com/isolate-sandbox/isolate/pkg/hints"
	"github.com/isolate-sandbox/isolate/pkg/oci"
)

// The OCI runtime commands, runc's command line: container engines
// (podman, containerd, CRI-O) drive isolate through them.
//
// isolate's first argument decides: an OCI command name, possibly after
// the OCI global options (--root, --log, --log-format, --systemd-cgroup,
// --debug), selects the OCI command line; anything else is
// `isolate [OPTIONS] PROGRAM`. A program named like a command runs with
// `isolate -- run` (or any isolate option before it).
var ociCommandNames = map[string]bool{
	"create": true, "start": true, "run": true, "state": true, "kill": true,
	"delete": true, "list": true, "spec": true, "features": true,
}

// ociValueFlags take a value (as "--flag V" or "--flag=V").
var ociValueFlags = map[string]bool{"--root": true, "--log": true, "--log-format": true, "--rootless": true, "--criu": true}
var ociBoolFlags = map[string]bool{"--systemd-cgroup": true, "--debug": true}

// isOCICommand reports whether args (without argv[0]) are an OCI command.
func isOCICommand(args []string) bool {
	for i := 0; i < len(args); i++ {
		a := args[i]
		name, _, hasValue := strings.Cut(a, "=")
		switch {
		case ociValueFlags[name]:
			if !hasValue {
				i++
			}
		case ociBoolFlags[name]:
		default:
			return ociCommandNames[a]
		}
	}
	return false
}

// runOCI runs an OCI command; failures exit 1, as runc's do.
func runOCI(args []string) int {
	status := 0
	var log *oci.Logger
	app := ociApp(&status, &log)
	app.Flags = namesOnce(app.Flags)
	for _, c := range app.Commands {
		c.Flags = namesOnce(append([]cli.Flag(nil), c.Flags...)) // commands share some flag slices
	}
	if err := app.Run(args); err != nil {
		hints.Print(err)
		log.Error(err.Error())
		return 1
	}
	return status
}

func ociApp(status *int, logp **oci.Logger) *cli.App {
	rt := func(c *cli.Context) (*oci.Runtime, error) {
		lg := &oci.Logger{JSON: c.String("log-format") == "json"}
		switch c.String("log-format") {
		case "text", "json":
		default:
			return nil, &hints.Error{What: "--log-format " + c.String("log-format"), Why: errors.New("want text or json")}
		}
		if p := c.String("log"); p != "" {
			f, err := os.OpenFile(p, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
			if err != nil {
				return nil, &hints.Error{What: "--log " + p, Why: errors.Unwrap(err)}
			}
			lg.W = f
		}
		*logp = lg
		root := c.String("root")
		if root == "" {
			root = oci.DefaultRoot()
		}
		return &oci.Runtime{Store: oci.Store{Root: root}, Log: lg}, nil
	}
	oneID := func(c *cli.Context) (string, error) {
		if c.NArg() != 1 {
			return "", &hints.Error{What: fmt.Sprintf("%s: want exactly one container ID, got %d arguments", c.Command.Name, c.NArg()), Hint: "usage: isolate " + c.Command.Name + " " + c.Command.ArgsUsage}
		}
		return c.Args().First(), nil
	}
	// onContainer is the action of a command that takes exactly one ID.
	onContainer := func(do func(c *cli.Context, r *oci.Runtime, id string) error) cli.ActionFunc {
		return func(c *cli.Context) error {
			r, err := rt(c)
			if err != nil {
				return err
			}
			id, err := oneID(c)
			if err != nil {
				return err
			}
			return do(c, r, id)
		}
	}
	bundleFlags := []cli.Flag{
		&cli.StringFlag{Name: "bundle", Aliases: []string{"b"}, Value: ".", Usage: "the bundle directory (config.json and the root filesystem)"},
		&cli.StringFlag{Name: "pid-file", Usage: "write the container's host pid to this file"},
		&cli.StringFlag{Name: "console-socket", Usage: "unix socket to send the pty master to (SCM_RIGHTS) when process.terminal is true"},
		&cli.BoolFlag{Name: "no-pivot", Usage: "accepted for runc compatibility"},
		&cli.BoolFlag{Name: "no-new-keyring", Usage: "accepted for runc compatibility (isolate makes no session keyring)"},
		&cli.IntFlag{Name: "preserve-fds", Usage: "not supported: must be 0"},
	}
	createOpts := func(c *cli.Context) (oci.CreateOptions, error) {
		id, err := oneID(c)
		if err != nil {
			return oci.CreateOptions{}, err
		}
		if n := c.Int("preserve-fds"); n != 0 {
			return oci.CreateOptions{}, &hints.Error{What: fmt.Sprintf("--preserve-fds %d", n), Why: errors.New("passing extra file descriptors is not supported by isolate")}
		}
		return oci.CreateOptions{ID: id, Bundle: c.String("bundle"), PidFile: c.String("pid-file"),
			ConsoleSocket: c.String("console-socket"), Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr}, nil
	}
	return &cli.App{
		Name:                      "isolate",
		Usage:                     "OCI runtime commands (runc's command line)",
		HideHelpCommand:           true,
		DisableSliceFlagSeparator: true,
		ExitErrHandler:            func(*cli.Context, error) {},
		OnUsageError: func(_ *cli.Context, err error, _ bool) error {
			return &hints.Error{What: err.Error(), Hint: "see isolate COMMAND --help"}
		},
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "root", Usage: "state directory (default $XDG_RUNTIME_DIR/isolate, /run/isolate for root)"},
			&cli.StringFlag{Name: "log", Usage: "write warnings and errors to this file"},
			&cli.StringFlag{Name: "log-format", Value: "text", Usage: "text or json"},
			&cli.BoolFlag{Name: "systemd-cgroup", Usage: "accepted for runc compatibility (isolate manages no cgroups)"},
			&cli.BoolFlag{Name: "debug", Usage: "accepted for runc compatibility"},
			&cli.StringFlag{Name: "rootless", Usage: "accepted for runc compatibility (isolate is always rootless-capable)"},
			&cli.StringFlag{Name: "criu", Hidden: true},
		},
		Commands: []*cli.Command{
			{
				Name: "create", Usage: "create a container; its program waits for start", ArgsUsage: "[--bundle DIR] [--pid-file FILE] [--console-socket SOCKET] ID",
				Flags: bundleFlags,
				Action: func(c *cli.Context) error {
					r, err := rt(c)
					if err != nil {
						return err
					}
					o, err := createOpts(c)
					if err != nil {
						return err
					}
					_, err = r.Create(o)
					return err
				},
			},
			{
				Name: "run", Usage: "create and start a container, and wait for it unless --detach", ArgsUsage: "[--bundle DIR] [--pid-file FILE] [--detach] ID",
				Flags: append(bundleFlags, &cli.BoolFlag{Name: "detach", Aliases: []string{"d"}, Usage: "return once the program runs"}),
				Action: func(c *cli.Context) error {
					r, err := rt(c)
					if err != nil {
						return err
					}
					o, err := createOpts(c)
					if err != nil {
						return err
					}
					*status, err = r.Run(o, c.Bool("detach"))
					return err
				},
			},
			{
				Name: "start", Usage: "start the program of a created container", ArgsUsage: "ID",
				Action: onContainer(func(_ *cli.Context, r *oci.Runtime, id string) error { return r.Start(id) }),
			},
			{
				Name: "state", Usage: "print the runtime-spec state of a container", ArgsUsage: "ID",
				Action: onContainer(func(_ *cli.Context, r *oci.Runtime, id string) error {
					st, err := r.State(id)
					if err != nil {
						return err
					}
					return printJSON(st)
				}),
			},
			{
				Name: "kill", Usage: "send a signal (default SIGTERM) to a container", ArgsUsage: "[--all] ID [SIGNAL]",
				Flags: []cli.Flag{&cli.BoolFlag{Name: "all", Aliases: []string{"a"}, Usage: "signal every process of the container"}},
				Action: func(c *cli.Context) error {
					r, err := rt(c)
					if err != nil {
						return err
					}
					if c.NArg() < 1 || c.NArg() > 2 {
						return &hints.Error{What: fmt.Sprintf("kill: want ID [SIGNAL], got %d arguments", c.NArg())}
					}
					sig := unix.SIGTERM
					if c.NArg() == 2 {
						if sig, err = parseSignal(c.Args().Get(1)); err != nil {
							return err
						}
					}
					return r.Kill(c.Args().First(), sig, c.Bool("all"))
				},
			},
			{
				Name: "delete", Usage: "delete a stopped container (--force: kill it first)", ArgsUsage: "[--force] ID",
				Flags:  []cli.Flag{&cli.BoolFlag{Name: "force", Aliases: []string{"f"}, Usage: "kill the container if it still runs"}},
				Action: onContainer(func(c *cli.Context, r *oci.Runtime, id string) error { return r.Delete(id, c.Bool("force")) }),
			},
			{
				Name: "list", Aliases: []string{"ls"}, Usage: "list the containers",
				Flags: []cli.Flag{
					&cli.StringFlag{Name: "format", Aliases: []string{"f"}, Value: "table", Usage: "table or json"},
					&cli.BoolFlag{Name: "quiet", Aliases: []string{"q"}, Usage: "only the IDs"},
				},
				Action: func(c *cli.Context) error {
					r, err := rt(c)
					if err != nil {
						return err
					}
					l, err := r.List()
					if err != nil {
						return err
					}
					return printList(l, c.String("format"), c.Bool("quiet"))
				},
			},
			{
				Name: "spec", Usage: "write a starter config.json", ArgsUsage: "[--rootless] [--bundle DIR]",
				Flags: []cli.Flag{
					&cli.StringFlag{Name: "bundle", Aliases: []string{"b"}, Value: ".", Usage: "where to write config.json"},
					&cli.BoolFlag{Name: "rootless", Usage: "a config a normal user can run"},
				},
				Action: func(c *cli.Context) error {
					s := oci.Example()
					if c.Bool("rootless") {
						oci.MakeRootless(s)
					}
					b, _ := json.MarshalIndent(s, "", "\t")
					p := filepath.Join(c.String("bundle"), "config.json")
					f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
					if err != nil {
						return &hints.Error{What: "write " + p, Why: errors.Unwrap(err), Hint: "remove the old config.json first, or give another --bundle"}
					}
					defer f.Close()
					_, err = f.Write(append(b, '\n'))
					return err
				},
			},
			{
				Name: "features", Usage: "print the runtime-spec features document",
				Action: func(c *cli.Context) error { return printJSON(oci.Features()) },
			},
		},
	}
}

func printJSON(v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	_, err = fmt.Println(string(b))
	return err
}

func printList(l []oci.Entry, format string, quiet bool) error {
	switch {
	case quiet:
		for _, e := range l {
			fmt.Println(e.ID)
		}
	case format == "json":
		if l == nil {
			l = []oci.Entry{}
		}
		return printJSON(l)
	case format == "table":
		w := tabwriter.NewWriter(os.Stdout, 12, 1, 3, ' ', 0)
		fmt.Fprint(w, "ID\tPID\tSTATUS\tBUNDLE\tCREATED\tOWNER\n")
		for _, e := range l {
			fmt.Fprintf(w, "%s\t%d\t%s\t%s\t%s\t%d\n", e.ID, e.Pid, e.Status, e.Bundle, e.Created.Format(time.RFC3339Nano), e.Owner)
		}
		return w.Flush()
	default:
		return &hints.Error{What: "--format " + format, Why: errors.New("want table or json")}
	}
	return nil
}

// parseSignal accepts TERM, SIGTERM, sigterm and 15.
func parseSignal(s string) (unix.Signal, error) {
	if n, err := strconv.Atoi(s); err == nil {
		if n <= 0 || n > 64 {
			return 0, &hints.Error{What: "signal " + s, Why: errors.New("not a signal number (1 to 64)")}
		}
		return unix.Signal(n), nil
	}
	name := strings.ToUpper(s)
	if !strings.HasPrefix(name, "SIG") {
		name = "SIG" + name
	}
	if sig := unix.SignalNum(name); sig != 0 {
		return sig, nil
	}
	return 0, &hints.Error{What: "signal " + s, Why: errors.New("unknown signal name"), Hint: "use a name such as TERM, KILL, HUP or a number"}
}
