package main

import (
	"fmt"
	"strings"
)

// Kind is a command's role in the comparison.
type Kind string

const (
	KindFloor   Kind = "floor"  // the C floor: every ratio is taken to it
	KindFloor1  Kind = "floor1" // the single-id C floor: a second ratio column
	KindTool    Kind = "tool"   // an alternative a user would pick
	KindIsolate Kind = "isolate"
)

// Command is one line of commands.conf.
type Command struct {
	Kind Kind
	Name string
	Line string   // as written, for RESULTS.md
	Env  []string // leading VAR=value words
	Argv []string // with placeholders
	Pre  []string // run before each memory measurement ("pre NAME: ...")
}

// Vars fill the placeholders of one run.
type Vars struct {
	Prog    []string
	Isolate string
	Work    string
	Bundle  string
	ID      string
}

// ParseConf reads commands.conf.
func ParseConf(text string) ([]*Command, error) {
	var cmds []*Command
	byName := map[string]*Command{}
	var pres [][2]string
	for i, raw := range strings.Split(text, "\n") {
		line := strings.TrimSpace(raw)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		head, rest, ok := strings.Cut(line, ":")
		f := strings.Fields(head)
		if !ok || len(f) != 2 {
			return nil, fmt.Errorf("line %d: want \"KIND NAME: COMMAND\", got %q", i+1, line)
		}
		words, err := SplitWords(rest)
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", i+1, err)
		}
		if len(words) == 0 {
			return nil, fmt.Errorf("line %d: no command", i+1)
		}
		kind, name := Kind(f[0]), f[1]
		if kind == "pre" {
			pres = append(pres, [2]string{name, strings.TrimSpace(rest)})
			continue
		}
		switch kind {
		case KindFloor, KindFloor1, KindTool, KindIsolate:
		default:
			return nil, fmt.Errorf("line %d: unknown kind %q (floor, floor1, tool, isolate or pre)", i+1, kind)
		}
		if byName[name] != nil {
			return nil, fmt.Errorf("line %d: %s named twice", i+1, name)
		}
		c := &Command{Kind: kind, Name: name, Line: strings.TrimSpace(rest)}
		for len(words) > 0 && isAssignment(words[0]) {
			c.Env = append(c.Env, words[0])
			words = words[1:]
		}
		if len(words) == 0 {
			return nil, fmt.Errorf("line %d: only variables, no command", i+1)
		}
		c.Argv = words
		byName[name] = c
		cmds = append(cmds, c)
	}
	for _, p := range pres {
		c := byName[p[0]]
		if c == nil {
			return nil, fmt.Errorf("pre %s: no such command", p[0])
		}
		words, _ := SplitWords(p[1])
		c.Pre = words
	}
	floors := 0
	for _, c := range cmds {
		if c.Kind == KindFloor {
			floors++
		}
	}
	if floors != 1 {
		return nil, fmt.Errorf("want exactly one floor command, found %d", floors)
	}
	return cmds, nil
}

func isAssignment(w string) bool {
	k, _, ok := strings.Cut(w, "=")
	if !ok || k == "" {
		return false
	}
	for _, r := range k {
		if !(r == '_' || r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9') {
			return false
		}
	}
	return true
}

// SplitWords splits like a shell without expansion: blanks separate words,
// single quotes keep everything, double quotes keep everything but \" and \\.
func SplitWords(s string) ([]string, error) {
	var words []string
	var cur strings.Builder
	inWord := false
	for i := 0; i < len(s); i++ {
		ch := s[i]
		switch {
		case ch == ' ' || ch == '\t':
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
				inWord = false
			}
		case ch == '\'':
			j := strings.IndexByte(s[i+1:], '\'')
			if j < 0 {
				return nil, fmt.Errorf("unterminated ' in %q", s)
			}
			cur.WriteString(s[i+1 : i+1+j])
			i += j + 1
			inWord = true
		case ch == '"':
			i++
			for ; i < len(s) && s[i] != '"'; i++ {
				if s[i] == '\\' && i+1 < len(s) && (s[i+1] == '"' || s[i+1] == '\\') {
					i++
				}
				cur.WriteByte(s[i])
			}
			if i >= len(s) {
				return nil, fmt.Errorf("unterminated \" in %q", s)
			}
			inWord = true
		default:
			cur.WriteByte(ch)
			inWord = true
		}
	}
	if inWord {
		words = append(words, cur.String())
	}
	return words, nil
}

// Expand fills the placeholders: the word {prog} becomes the program's
// words, the others are replaced inside words.
func Expand(words []string, v Vars) []string {
	r := strings.NewReplacer("{isolate}", v.Isolate, "{work}", v.Work, "{bundle}", v.Bundle, "{id}", v.ID)
	var out []string
	for _, w := range words {
		if w == "{prog}" {
			out = append(out, v.Prog...)
			continue
		}
		out = append(out, r.Replace(w))
	}
	return out
}

// UsesBundle reports whether the command runs an OCI bundle, whose program
// lives in its config.json rather than on the command line.
func (c *Command) UsesBundle() bool {
	for _, w := range c.Argv {
		if strings.Contains(w, "{bundle}") {
			return true
		}
	}
	return false
}
