package main

import (
	"reflect"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/isolate-sandbox/isolate/pkg/sandbox"
)

func TestBuildEnv(t *testing.T) {
	host := []string{"PATH=/host/bin", "HOME=/home/a", "SECRET=1", "TERM=xterm"}
	cases := []struct {
		clear bool
		sets  []string
		want  []string
	}{
		{false, nil, host},
		{false, []string{"A=b,c", "SECRET=2"}, []string{"PATH=/host/bin", "HOME=/home/a", "SECRET=2", "TERM=xterm", "A=b,c"}},
		{true, nil, []string{"PATH=/host/bin", "HOME=/home/a", "TERM=xterm"}},
		{true, []string{"SECRET", "MISSING", "E="}, []string{"PATH=/host/bin", "HOME=/home/a", "TERM=xterm", "SECRET=1", "E="}},
	}
	for _, c := range cases {
		got, err := buildEnv(host, c.clear, c.sets)
		if err != nil || !reflect.DeepEqual(got, c.want) {
			t.Errorf("buildEnv(clear=%v, %q) = %q, %v; want %q", c.clear, c.sets, got, err, c.want)
		}
	}
	if got, _ := buildEnv(nil, true, nil); !reflect.DeepEqual(got, []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}) {
		t.Errorf("--clear-env without a host PATH = %q, want the standard PATH", got)
	}
	if _, err := buildEnv(host, false, []string{"=x"}); err == nil {
		t.Error("an empty key was accepted")
	}
}

func TestParseUser(t *testing.T) {
	good := map[string]specs.User{"0": {}, "1000": {UID: 1000, GID: 1000}, "1000:5": {UID: 1000, GID: 5}}
	for s, want := range good {
		if got, err := parseUser(s); err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("parseUser(%q) = %v, %v", s, got, err)
		}
	}
	for _, s := range []string{"", "root", "1:", ":1", "-1", "4294967295", "1:4294967295", "1:2:3"} {
		if _, err := parseUser(s); err == nil {
			t.Errorf("parseUser(%q) accepted", s)
		}
	}
}

func TestArgumentsAfterProgramAreNotParsed(t *testing.T) {
	var args []string
	app := newApp(func(cfg *sandbox.Config) error { args = cfg.Args; return nil })
	if err := app.Run([]string{"isolate", "-q", "ls", "-la", "--hostname", "x"}); err != nil {
		t.Fatal(err)
	}
	if strings.Join(args, " ") != "ls -la --hostname x" {
		t.Errorf("program args = %q", args)
	}
}
