package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Env is the environment every command starts from; a command's own
// VAR=value words override it.
func (b *Bench) baseEnv() []string {
	return []string{
		"PATH=/usr/local/bin:/usr/bin:/bin:/usr/local/sbin:/usr/sbin:/sbin",
		"HOME=" + filepath.Join(b.work, "home"),
		"XDG_RUNTIME_DIR=" + filepath.Join(b.work, "run"),
		"LANG=C",
	}
}

func (b *Bench) envFor(c *Command) []string {
	env := b.baseEnv()
	for _, kv := range c.Env {
		k, _, _ := strings.Cut(kv, "=")
		kv = Expand([]string{kv}, Vars{Isolate: b.isolate, Work: b.work})[0]
		replaced := false
		for i, e := range env {
			if strings.HasPrefix(e, k+"=") {
				env[i], replaced = kv, true
			}
		}
		if !replaced {
			env = append(env, kv)
		}
	}
	return env
}

// prepare makes the work directory's fixtures: the run-time and home
// directories, a PATH without the uid helpers, the busybox root filesystem
// for the OCI runtimes and podman's image of it.
func (b *Bench) prepare() error {
	for _, d := range []string{"home", "run", "state", "bundles", "nohelpers", "rootfs/bin", "rootfs/proc", "rootfs/dev", "rootfs/sys", "rootfs/tmp", "rootfs/etc"} {
		if err := os.MkdirAll(filepath.Join(b.work, d), 0o700); err != nil {
			return err
		}
	}
	// podman wants its run-time directory private to the user.
	os.Chmod(filepath.Join(b.work, "run"), 0o700)
	os.Chmod(filepath.Join(b.work, "rootfs"), 0o755)
	for _, name := range []string{"true", "sh", "sleep"} {
		p, err := lookPath(name, b.baseEnv())
		if err != nil {
			return err
		}
		link := filepath.Join(b.work, "nohelpers", name)
		os.Remove(link)
		if err := os.Symlink(p, link); err != nil {
			return err
		}
	}
	bb, err := lookPath("busybox", b.baseEnv())
	if err != nil {
		return fmt.Errorf("busybox (a static one, Debian's busybox-static) is needed for the OCI root filesystem: %w", err)
	}
	data, err := os.ReadFile(bb)
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(b.work, "rootfs/bin/busybox"), data, 0o755); err != nil {
		return err
	}
	for _, applet := range []string{"sh", "true", "sleep", "echo", "cat"} {
		link := filepath.Join(b.work, "rootfs/bin", applet)
		os.Remove(link)
		if err := os.Symlink("busybox", link); err != nil {
			return err
		}
	}
	if err := b.loadSpec(); err != nil {
		b.specErr = err
	}
	// podman needs an image; it cannot pull one here, so it imports the same
	// busybox root filesystem.
	if _, err := b.launcher.RunQuiet([]string{"podman", "image", "exists", "localhost/isolate-bench"}, b.baseEnv(), time.Minute); err != nil {
		out, err := b.launcher.RunQuiet([]string{"sh", "-c", "tar -C \"$1\" -c . | podman import - localhost/isolate-bench", "sh", filepath.Join(b.work, "rootfs")}, b.baseEnv(), 5*time.Minute)
		if err != nil {
			b.note("podman import failed (%v): %s", err, lastLine(out))
		}
	}
	return nil
}

// loadSpec takes `crun spec --rootless` as the template for the bundles.
func (b *Bench) loadSpec() error {
	dir, err := os.MkdirTemp(b.work, "spec-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	out, err := b.launcher.RunQuiet([]string{"sh", "-c", "cd \"$1\" && crun spec --rootless", "sh", dir}, b.baseEnv(), time.Minute)
	if err != nil {
		return fmt.Errorf("crun spec --rootless: %v: %s", err, lastLine(out))
	}
	data, err := os.ReadFile(filepath.Join(dir, "config.json"))
	if err != nil {
		return err
	}
	b.spec = data
	return nil
}

// bundleFor returns an OCI bundle whose process is prog (made once).
func (b *Bench) bundleFor(prog []string) (string, error) {
	key := strings.Join(prog, "\x00")
	if d, ok := b.bundles[key]; ok {
		return d, nil
	}
	if b.spec == nil {
		return "", b.specErr
	}
	var spec map[string]any
	if err := json.Unmarshal(b.spec, &spec); err != nil {
		return "", err
	}
	process := spec["process"].(map[string]any)
	process["terminal"] = false
	process["args"] = prog
	spec["root"] = map[string]any{"path": filepath.Join(b.work, "rootfs"), "readonly": true}
	linux := spec["linux"].(map[string]any)
	// runc wants the maps written out; crun fills the same default in.
	own := func(id int) []map[string]int { return []map[string]int{{"containerID": 0, "hostID": id, "size": 1}} }
	linux["uidMappings"] = own(os.Getuid())
	linux["gidMappings"] = own(os.Getgid())
	data, err := json.MarshalIndent(spec, "", "\t")
	if err != nil {
		return "", err
	}
	dir := filepath.Join(b.work, "bundles", fmt.Sprint(len(b.bundles)))
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", err
	}
	if err := os.WriteFile(filepath.Join(dir, "config.json"), data, 0o600); err != nil {
		return "", err
	}
	b.bundles[key] = dir
	return dir, nil
}

// versions records the version of every program compared.
func (b *Bench) versions() {
	seen := map[string]bool{}
	for _, c := range b.cmds {
		bin := Expand(c.Argv[:1], Vars{Isolate: b.isolate, Work: b.work})[0]
		if seen[bin] {
			continue
		}
		seen[bin] = true
		out, err := b.launcher.RunQuiet([]string{bin, "--version"}, b.envFor(c), 30*time.Second)
		v := firstLine(out)
		if err != nil && v == "" {
			v = "unknown (" + err.Error() + ")"
		}
		b.versionOf = append(b.versionOf, [2]string{filepath.Base(bin), v})
	}
}

func firstLine(s string) string {
	s = strings.TrimSpace(s)
	l, _, _ := strings.Cut(s, "\n")
	return strings.TrimSpace(l)
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return strings.TrimSpace(lines[len(lines)-1])
}

// errorLine picks the line that says what failed: the last one that is not
// a hint.
func errorLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		if l := strings.TrimSpace(lines[i]); l != "" && !strings.HasPrefix(l, "hint:") {
			return l
		}
	}
	return lastLine(s)
}
