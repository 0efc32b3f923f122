package sandbox

import (
	"strings"
	"testing"
)

func TestValidate(t *testing.T) {
	ok := Config{Args: []string{"true"}, Hostname: "isolated", Cwd: "/"}
	if err := ok.Validate(); err != nil {
		t.Fatal(err)
	}
	cases := map[string]func(*Config){
		"no program given":             func(c *Config) { c.Args = nil },
		"not a valid host name":        func(c *Config) { c.Hostname = "a b" },
		"must not be empty":            func(c *Config) { c.Hostname = "" },
		"65 bytes":                     func(c *Config) { c.Hostname = strings.Repeat("a", 65) },
		"must be an absolute path":     func(c *Config) { c.Cwd = "tmp" },
		"non-empty KEY":                func(c *Config) { c.Env = []string{"=1"} },
		"argument contains a NUL byte": func(c *Config) { c.Args = []string{"echo", "a\x00b"} },
	}
	for want, mutate := range cases {
		c := ok
		mutate(&c)
		if err := c.Validate(); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("want %q, got %v", want, err)
		}
	}
	for _, h := range []string{"a", "a-b.c", "x1.example.org"} {
		if err := validHostname(h); err != nil {
			t.Errorf("%q: %v", h, err)
		}
	}
}
