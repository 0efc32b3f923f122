package main

import (
	"fmt"
	"os"
	"strconv"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/urfave/cli/v2"

	"github.com/isolate-sandbox/isolate/pkg/hints"
	"github.com/isolate-sandbox/isolate/pkg/sandbox"
	"github.com/isolate-sandbox/isolate/pkg/userns"
)

// configFromCLI turns the parsed command line into a Config.
func configFromCLI(c *cli.Context) (*sandbox.Config, error) {
	cfg := &sandbox.Config{
		Args:     c.Args().Slice(),
		Hostname: c.String("hostname"),
		Cwd:      c.String("workdir"),
		NoInit:   c.Bool("no-init"),
		Quiet:    c.Bool("quiet"),
		TTY:      c.Bool("tty"),
	}
	if cfg.Cwd == "" {
		if wd, err := os.Getwd(); err == nil {
			cfg.Cwd = wd
		}
	}
	var err error
	if cfg.Env, err = buildEnv(os.Environ(), c.Bool("clear-env"), c.StringSlice("env")); err != nil {
		return nil, err
	}
	if s := c.String("user"); s != "" {
		if cfg.User, err = parseUser(s); err != nil {
			return nil, err
		}
	}
	if cfg.UIDMappings, err = parseMaps("--uidmap", c.StringSlice("uidmap")); err != nil {
		return nil, err
	}
	if cfg.GIDMappings, err = parseMaps("--gidmap", c.StringSlice("gidmap")); err != nil {
		return nil, err
	}
	for _, apply := range []func(*cli.Context, *sandbox.Config) error{applyNetFlags, applyFsFlags, applySecurityFlags, applyLimitsFlags} {
		if err := apply(c, cfg); err != nil {
			return nil, err
		}
	}
	return cfg, nil
}

// buildEnv is docker's -e: KEY=VALUE sets, a bare KEY copies isolate's own
// value (and is dropped when isolate has none). --clear-env keeps only what a
// shell needs to find programs and a terminal.
func buildEnv(host []string, clear bool, sets []string) ([]string, error) {
	env := map[string]string{}
	var order []string
	put := func(k, v string) {
		if _, ok := env[k]; !ok {
			order = append(order, k)
		}
		env[k] = v
	}
	hostVal := map[string]string{}
	for _, kv := range host {
		k, v, _ := strings.Cut(kv, "=")
		hostVal[k] = v
		if !clear {
			put(k, v)
		}
	}
	if clear {
		put("PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin")
		for _, k := range []string{"PATH", "HOME", "TERM"} {
			if v, ok := hostVal[k]; ok {
				put(k, v)
			}
		}
	}
	for _, s := range sets {
		k, v, hasValue := strings.Cut(s, "=")
		if k == "" || strings.ContainsAny(k, "\x00") {
			return nil, &hints.Error{What: fmt.Sprintf("--env %q", s), Why: fmt.Errorf("want KEY=VALUE or KEY")}
		}
		if !hasValue {
			hv, ok := hostVal[k]
			if !ok {
				continue
			}
			v = hv
		}
		put(k, v)
	}
	out := make([]string, 0, len(order))
	for _, k := range order {
		out = append(out, k+"="+env[k])
	}
	return out, nil
}

// parseUser reads UID[:GID]; names are not resolved, since the sandbox's
// /etc/passwd need not be the host's.
func parseUser(s string) (specs.User, error) {
	us, gs, hasGID := strings.Cut(s, ":")
	bad := func(why string) (specs.User, error) {
		return specs.User{}, &hints.Error{What: "--user " + s, Why: fmt.Errorf("%s", why), Hint: "use numeric UID[:GID], e.g. --user 1000:1000"}
	}
	uid, err := strconv.ParseUint(us, 10, 32)
	if err != nil {
		return bad("UID must be a number from 0 to 4294967294")
	}
	gid := uid
	if hasGID {
		if gid, err = strconv.ParseUint(gs, 10, 32); err != nil {
			return bad("GID must be a number from 0 to 4294967294")
		}
	}
	// (uid_t)-1 means "unchanged" to setresuid(2): never a real id.
	if uid == 1<<32-1 || gid == 1<<32-1 {
		return bad("4294967295 is not a valid id")
	}
	return specs.User{UID: uint32(uid), GID: uint32(gid)}, nil
}

func parseMaps(flag string, specsIn []string) ([]specs.LinuxIDMapping, error) {
	if len(specsIn) == 0 {
		return nil, nil
	}
	var m []specs.LinuxIDMapping
	for _, s := range specsIn {
		r, err := userns.ParseMapping(s)
		if err != nil {
			return nil, &hints.Error{What: flag, Why: err}
		}
		m = append(m, r)
	}
	if err := userns.ValidateMap(m); err != nil {
		return nil, &hints.Error{What: flag, Why: err}
	}
	return m, nil
}
