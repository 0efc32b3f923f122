package main

import (
	"bytes"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
)

// output runs isolate's command line in-process and returns what it printed.
func output(t *testing.T, args ...string) string {
	t.Helper()
	app := newApp(nil)
	var b bytes.Buffer
	app.Writer = &b
	if err := app.Run(append([]string{"isolate"}, args...)); err != nil {
		t.Fatalf("isolate %q: %v", args, err)
	}
	return b.String()
}

// The committed man page is what the CLI definition generates: run
// `go generate ./cmd/isolate` after changing a flag.
func TestManPageIsGeneratedFromTheFlags(t *testing.T) {
	want := output(t, "man")
	got, err := os.ReadFile("../../docs/isolate.1")
	if err != nil || string(got) != want {
		t.Fatalf("docs/isolate.1 is stale (%v): run go generate ./cmd/isolate", err)
	}
	for _, flag := range []string{`\-\-ulimit`, `\-\-timeout`, `\-\-hostname`, `\fBdoctor\fR`} {
		if !strings.Contains(want, flag) {
			t.Errorf("man page lacks %s", flag)
		}
	}
	if _, err := exec.LookPath("man"); err == nil {
		cmd := exec.Command("man", "-l", "../../docs/isolate.1")
		cmd.Env = append(os.Environ(), "MANWIDTH=100", "MAN_KEEP_FORMATTING=")
		out, err := cmd.CombinedOutput()
		for _, text := range []string{"run a program in a rootless sandbox", "--ulimit VALUE", "--hostname VALUE", `(default: "isolated")`, "EXIT STATUS:"} {
			if err != nil || !strings.Contains(string(out), text) {
				t.Errorf("man -l docs/isolate.1 lacks %q: %v\n%s", text, err, out)
			}
		}
	}
}

// complete sources the bash script and completes the words, the last one
// being the word under the cursor.
func complete(t *testing.T, script string, words ...string) []string {
	t.Helper()
	var quoted []string
	for _, w := range words {
		quoted = append(quoted, "'"+w+"'")
	}
	prog := script + "\nCOMP_WORDS=(" + strings.Join(quoted, " ") + "); COMP_CWORD=" + itoa(len(words)-1) + "; _isolate; printf '%s\\n' \"${COMPREPLY[@]}\"\n"
	cmd := exec.Command("bash", "--norc", "-c", prog)
	cmd.Env = []string{"PATH=/usr/bin:/bin"}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("bash: %v\n%s", err, out)
	}
	return strings.Fields(string(out))
}

func itoa(i int) string { return strconv.Itoa(i) }

func has(list []string, w string) bool {
	for _, l := range list {
		if l == w {
			return true
		}
	}
	return false
}

func TestBashCompletion(t *testing.T) {
	if _, err := exec.LookPath("bash"); err != nil {
		t.Fatal("bash is needed for this test")
	}
	script := output(t, "completion", "bash")
	cases := []struct {
		words   []string
		want    []string
		notWant []string
	}{
		{[]string{"isolate", "--hostn"}, []string{"--hostname"}, nil},
		{[]string{"isolate", "--ulimit", "nof"}, []string{"nofile="}, nil},
		{[]string{"isolate", "doc"}, []string{"doctor"}, nil},
		{[]string{"isolate", "-q", "doc"}, nil, []string{"doctor"}}, // only the first word is a subcommand
		{[]string{"isolate", "-e", "A=b", "--timeout", "5s", "bas"}, []string{"bash"}, nil},
		{[]string{"isolate", "doctor", "--j"}, []string{"--json"}, nil},
		{[]string{"isolate", "completion", ""}, []string{"bash", "zsh"}, nil},
		{[]string{"isolate", "ls", "--host"}, nil, []string{"--hostname"}}, // PROGRAM's arguments are its own
		{[]string{"isolate", "--", "--host"}, nil, []string{"--hostname"}},
	}
	for _, c := range cases {
		got := complete(t, script, c.words...)
		for _, w := range c.want {
			if !has(got, w) {
				t.Errorf("completing %q: %v lacks %s", c.words, got, w)
			}
		}
		for _, w := range c.notWant {
			if has(got, w) {
				t.Errorf("completing %q offers %s: %v", c.words, w, got)
			}
		}
	}
}

func TestZshCompletionLoads(t *testing.T) {
	if _, err := exec.LookPath("zsh"); err != nil {
		t.Fatal("zsh is needed for this test (apt-get install zsh)")
	}
	script := output(t, "completion", "zsh")
	dir := t.TempDir()
	f := dir + "/_isolate"
	os.WriteFile(f, []byte(script), 0o644)
	// compinit replaces its dump file with mv: it must be a file of ours
	// (never /dev/null, which it would replace on the host).
	cmd := exec.Command("zsh", "-f", "-c", "zsh -n "+f+" && autoload -U compinit && compinit -u -d "+dir+"/zcompdump && source "+f+" && print -r -- $_comps[isolate]")
	cmd.Env = []string{"HOME=" + dir, "ZDOTDIR=" + dir, "PATH=/usr/bin:/bin"}
	out, err := cmd.CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != "_isolate" {
		t.Fatalf("zsh did not register _isolate: %v\n%s", err, out)
	}
}
