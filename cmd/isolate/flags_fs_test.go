package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/isolate-sandbox/isolate/pkg/mounts"
)

func TestFsFlagsBecomeTheSpec(t *testing.T) {
	wd, _ := os.Getwd()
	cfg, err := parse(t, "true")
	if err != nil || cfg.FS.WritableDir != wd || cfg.FS.Rootfs != "" {
		t.Fatalf("default: %+v, %v", cfg.FS, err)
	}
	cfg, _ = parse(t, "--no-cwd", "true")
	if !cfg.FS.NoCwd {
		t.Errorf("--no-cwd keeps %q writable", cfg.FS.WritableDir)
	}
	cfg, _ = parse(t, "--rootfs", "rel/root", "-v", "data:/data:ro", "--tmpfs", "/t:size=1m", "--overlay", "--overlay-dir", "keep", "true")
	want := mounts.Spec{
		Rootfs: filepath.Join(wd, "rel/root"), Overlay: true, OverlayDir: filepath.Join(wd, "keep"),
		Volumes: []mounts.Volume{{Source: filepath.Join(wd, "data"), Dest: "/data", ReadOnly: true}},
		Tmpfs:   []mounts.Tmpfs{{Dest: "/t", Options: []string{"size=1m"}}},
	}
	if cfg.Cwd != "/" || cfg.FS.Rootfs != want.Rootfs || cfg.FS.OverlayDir != want.OverlayDir ||
		cfg.FS.Volumes[0] != want.Volumes[0] || cfg.FS.Tmpfs[0].Options[0] != "size=1m" || cfg.FS.WritableDir != "" {
		t.Errorf("got %+v cwd %q", cfg.FS, cfg.Cwd)
	}
	cfg, _ = parse(t, "--rootfs", "/r", "-w", "/srv", "true")
	if cfg.Cwd != "/srv" {
		t.Errorf("-w with --rootfs: cwd %q", cfg.Cwd)
	}
	cfg, _ = parse(t, "-v", "/a:/b", "true")
	if len(cfg.FS.Volumes) != 1 {
		t.Errorf("-v is --volume: %+v", cfg.FS.Volumes)
	}
}

func TestFsFlagErrors(t *testing.T) {
	for args, want := range map[string]string{
		"-v /a":              "--volume /a: want SRC:DST[:ro|rw]",
		"--tmpfs /t:size=x":  `--tmpfs /t:size=x: size="x"`,
		"--read-only":        "--read-only: needs --rootfs",
		"-v /a:/b:rx":        `unknown option "rx"`,
		"--tmpfs relative/x": "must be an absolute path",
	} {
		_, err := parse(t, append(strings.Fields(args), "true")...)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want %q", args, err, want)
		}
	}
}
