package main

import (
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

func TestOCICommandOnlyAtTheStart(t *testing.T) {
	for args, want := range map[string]bool{
		"run x":                      true,
		"--root /r run x":            true,
		"--root=/r --log /l state x": true,
		"--systemd-cgroup delete x":  true,
		"-- run":                     false,
		"-e A=1 run":                 false,
		"--hostname h state":         false,
		"ls -la":                     false,
		"":                           false,
		"--root":                     false,
		"--log-format json features": true,
		"--debug --root /r list":     true,
		"sh -c run":                  false,
	} {
		if got := isOCICommand(strings.Fields(args)); got != want {
			t.Errorf("isOCICommand(%q) = %v, want %v", args, got, want)
		}
	}
}

func TestParseSignalTakesNamesAndNumbers(t *testing.T) {
	for in, want := range map[string]unix.Signal{"TERM": unix.SIGTERM, "SIGKILL": unix.SIGKILL, "hup": unix.SIGHUP, "9": unix.SIGKILL, "SIGRTMIN": 0} {
		got, err := parseSignal(in)
		if want == 0 {
			continue
		}
		if err != nil || got != want {
			t.Errorf("parseSignal(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, bad := range []string{"NOPE", "0", "65", "-1"} {
		if _, err := parseSignal(bad); err == nil {
			t.Errorf("parseSignal(%q) accepted", bad)
		}
	}
}
