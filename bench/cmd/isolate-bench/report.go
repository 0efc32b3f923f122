package main

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

func (b *Bench) report(out string) error {
	var w strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&w, format, args...) }
	floor := b.floor()
	floor1 := b.byKind(KindFloor1)
	crun := b.byName("crun")

	p("# isolate benchmark results\n\n")
	p("Made by `bench/run.sh` (`%s`), %s, in %s.\n",
		strings.Join(os.Args, " "), b.began.UTC().Format("2006-01-02 15:04 UTC"), b.ended.Sub(b.began).Round(time.Second))
	p("Every command ran as the unprivileged user `%s` (uid %d), in a private mount namespace where the\n", userName(), os.Getuid())
	p("cgroup2 mount `/sys/fs/cgroup/unified` is unmounted (crun and podman refuse hybrid cgroups), the\n")
	p("same for every tool; the host's mounts are not changed.\n\n")

	p("## Machine\n\n")
	p("- load average at the start: %s (the machine is shared; hence the interleaving)\n", b.loadAtStart)
	for _, kv := range machine() {
		p("- %s: %s\n", kv[0], kv[1])
	}
	p("\n## Versions\n\n")
	for _, kv := range b.versionOf {
		p("- %s: %s\n", kv[0], kv[1])
	}
	p("\n## Commands\n\n")
	p("`{prog}` is `true` for start-up, `sh -c 'echo started; exec sleep N'` for memory and scale (the\n")
	p("line tells the benchmark the program runs). For crun and runc the program is the `process.args` of\n")
	p("an OCI bundle made from `crun spec --rootless` (busybox root filesystem, read-only, uid/gid map of\n")
	p("the caller's own id only, which is that template's); podman runs an image imported from the same\n")
	p("root filesystem. The environment is `%s` plus the variables on the line.\n\n", strings.Join(b.baseEnv(), " "))
	p("| name | kind | command |\n|---|---|---|\n")
	for _, c := range b.cmds {
		line := c.Line
		if why := b.skipped[c.Name]; why != "" {
			line += "<br>**skipped**: " + why
		}
		p("| %s | %s | `%s` |\n", c.Name, c.Kind, strings.ReplaceAll(line, "|", "\\|"))
	}
	for _, c := range b.cmds {
		if len(c.Pre) > 0 {
			p("\nBefore each memory measurement of %s: `%s`.\n", c.Name, strings.Join(c.Pre, " "))
		}
	}

	// Start-up.
	p("\n## Start-up and teardown of `true`\n\n")
	p("%d rounds after %d warm-up rounds; every command once per round in a new random order. Wall time\n", b.rounds, b.warmup)
	p("is from fork to reaped exit; CPU is user+system time of the command and the children it waited\n")
	p("for. Ratios are the median of the per-round ratios (the two commands ran in the same round).\n\n")
	p("| command | median ms | p25–p75 ms | × %s | × %s | × crun | CPU ms | failed |\n|---|---:|---:|---:|---:|---:|---:|---:|\n",
		floor.Name, nameOr(floor1, "floor1"))
	ratio := func(c, to *Command) float64 {
		if to == nil || b.startup[to.Name] == nil || b.startup[c.Name] == nil {
			return math.NaN()
		}
		return Median(RoundRatios(b.startup[c.Name].wall, b.startup[to.Name].wall))
	}
	for _, c := range b.active() {
		r := b.startup[c.Name]
		if r == nil {
			continue
		}
		wall := Valid(r.wall)
		p("| %s | %.2f | %.2f–%.2f | %s | %s | %s | %.2f | %d |\n", c.Name, Median(wall), Quantile(wall, .25), Quantile(wall, .75),
			fmtRatio(ratio(c, floor)), fmtRatio(ratio(c, floor1)), fmtRatio(ratio(c, crun)), Median(Valid(r.cpu)), r.fail)
	}
	for _, c := range b.active() {
		if r := b.startup[c.Name]; r != nil && r.fail > 0 {
			p("\n%s failed %d times; last: %s\n", c.Name, r.fail, r.last)
		}
	}

	// Memory.
	p("\n## Memory while the program runs\n\n")
	p("Sum of the proportional set size (PSS, `/proc/PID/smaps_rollup`) of every process the command\n")
	p("started, its daemons included (the benchmark is a child subreaper, so processes that detach stay in\n")
	p("its tree), measured 300 ms after the program printed its line; median of %d runs. \"Tool\" leaves\n", b.memRounds)
	p("out the program itself (`sleep`).\n\n")
	p("| command | whole tree MB | tool MB | processes | per process (kB, median run) |\n|---|---:|---:|---:|---|\n")
	memTool := map[string]float64{}
	for _, c := range b.active() {
		us := b.memory[c.Name]
		if len(us) == 0 {
			continue
		}
		sort.Slice(us, func(i, j int) bool { return us[i].TotalKB < us[j].TotalKB })
		mid := us[len(us)/2]
		var tot, tool, cnt []float64
		for _, u := range us {
			tot = append(tot, float64(u.TotalKB)/1024)
			tool = append(tool, float64(u.TotalKB-u.ProgramKB)/1024)
			cnt = append(cnt, float64(u.Count))
		}
		memTool[c.Name] = Median(tool)
		var parts []string
		for comm, kb := range mid.ByComm {
			parts = append(parts, fmt.Sprintf("%s %d", comm, kb))
		}
		sort.Strings(parts)
		extra := ""
		if mid.Unread > 0 {
			extra = fmt.Sprintf(" (%d unreadable)", mid.Unread)
		}
		p("| %s | %.1f | %.1f | %.0f | %s%s |\n", c.Name, Median(tot), Median(tool), Median(cnt), strings.Join(parts, ", "), extra)
	}

	// Scale.
	p("\n## Scale: sandboxes started at once, each running `sleep 1`\n\n")
	p("All launched back to back; \"all started\" is the time from the first launch to the last program's\n")
	p("line; \"per sandbox\" divides it by the count; \"× 1\" compares that with one sandbox alone; memory\n")
	p("is the whole tree's PSS at that moment divided by the programs still running (when starting all\n")
	p("takes longer than the 1 s sleep, few are left, so that column overstates). Median of %d\n", b.scaleRounds)
	p("repetitions (10 for one sandbox); \"ok\" counts sandboxes that exited 0 over all repetitions.\n\n")
	p("| command | n | ok | all started ms | per sandbox ms | × 1 | MB per sandbox |\n|---|---:|---:|---:|---:|---:|---:|\n")
	scaleRatio := map[string]float64{}
	for _, c := range b.active() {
		var single float64
		for _, n := range b.scaleCounts {
			runs := b.scale[c.Name][n]
			if len(runs) == 0 {
				continue
			}
			ok := 0
			var started, mem []float64
			for _, r := range runs {
				ok += r.ok
				if r.complete {
					started = append(started, r.started)
				}
				if r.usage.Programs > 0 {
					mem = append(mem, float64(r.usage.TotalKB)/1024/float64(r.usage.Programs))
				}
			}
			st := Median(started)
			per := st / float64(n)
			if n == 1 {
				single = per
			}
			x := per / single
			scaleRatio[fmt.Sprintf("%s/%d", c.Name, n)] = x
			p("| %s | %d | %d/%d | %.1f | %.2f | %s | %.1f |\n", c.Name, n, ok, n*len(runs), st, per, fmtRatio(x), Median(mem))
		}
	}

	// Targets.
	last := 0
	if len(b.scaleCounts) > 0 {
		last = b.scaleCounts[len(b.scaleCounts)-1]
	}
	p("\n## Targets (issue 8)\n\n")
	p("| isolate command | × %s (≤ 1.1) | × crun (≤ 0.5) | tool MB (≤ 8) | per sandbox at %d × 1 (≤ 2) |\n|---|---:|---:|---:|---:|\n",
		floor.Name, last)
	for _, c := range b.active() {
		if c.Kind != KindIsolate {
			continue
		}
		p("| %s | %s | %s | %.1f | %s |\n", c.Name, fmtRatio(ratio(c, floor)), fmtRatio(ratio(c, crun)), memTool[c.Name], fmtRatio(scaleRatio[fmt.Sprintf("%s/%d", c.Name, last)]))
	}
	p("\nisolate-single-id does the work of %s (one id, no helper), so its fair floor is that column.\n", nameOr(floor1, "the single-id floor"))

	if len(b.notes) > 0 {
		p("\n## Notes from the run\n\n")
		for _, n := range b.notes {
			p("- %s\n", n)
		}
	}

	// Chart.
	if err := b.chart(out, ratio, memTool); err != nil {
		p("\n(chart not made: %v)\n", err)
	} else {
		p("\n![start-up ratio and memory](results.png)\n")
	}
	if b.appendFile != "" {
		text, err := os.ReadFile(b.appendFile)
		if err != nil {
			return err
		}
		p("\n%s", text)
	}
	return os.WriteFile(filepath.Join(out, "RESULTS.md"), []byte(w.String()), 0o644)
}

func nameOr(c *Command, s string) string {
	if c == nil {
		return s
	}
	return c.Name
}

func fmtRatio(x float64) string {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return "–"
	}
	return fmt.Sprintf("%.2f", x)
}

func userName() string {
	if u := os.Getenv("USER"); u != "" {
		return u
	}
	b, _ := os.ReadFile("/etc/passwd")
	for _, l := range strings.Split(string(b), "\n") {
		f := strings.Split(l, ":")
		if len(f) > 2 && f[2] == fmt.Sprint(os.Getuid()) {
			return f[0]
		}
	}
	return fmt.Sprint(os.Getuid())
}

func machine() [][2]string {
	var u unix.Utsname
	unix.Uname(&u)
	kernel := unix.ByteSliceToString(u.Release[:]) + " " + unix.ByteSliceToString(u.Machine[:])
	cpu := ""
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(l, "model name"); ok {
				cpu = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(v), ":"))
				break
			}
		}
	}
	mem := ""
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		mem = strings.Join(strings.Fields(firstLine(string(b)))[1:], " ")
	}
	deb, _ := os.ReadFile("/etc/debian_version")
	load, _ := os.ReadFile("/proc/loadavg")
	return [][2]string{
		{"kernel", kernel},
		{"CPU", fmt.Sprintf("%s, %d online", cpu, runtime.NumCPU())},
		{"memory", mem},
		{"Debian", strings.TrimSpace(string(deb))},
		{"load average at the end", strings.Join(strings.Fields(string(load))[:3], " ")},
		{"Go (benchmark)", runtime.Version()},
	}
}

// chart draws the start-up ratios and the tools' memory with gnuplot.
func (b *Bench) chart(out string, ratio func(c, to *Command) float64, memTool map[string]float64) error {
	var startup, memory strings.Builder
	for _, c := range b.active() {
		if r := ratio(c, b.floor()); !math.IsNaN(r) {
			fmt.Fprintf(&startup, "%q %.3f\n", c.Name, r)
		}
		if m, ok := memTool[c.Name]; ok {
			fmt.Fprintf(&memory, "%q %.2f\n", c.Name, m)
		}
	}
	sd, md := filepath.Join(b.work, "startup.dat"), filepath.Join(b.work, "memory.dat")
	if err := os.WriteFile(sd, []byte(startup.String()), 0o644); err != nil {
		return err
	}
	if err := os.WriteFile(md, []byte(memory.String()), 0o644); err != nil {
		return err
	}
	script := fmt.Sprintf(`set terminal pngcairo size 1200,1000 font ",11"
set output %q
set multiplot layout 2,1
set style data histograms
set style fill solid 0.8 border -1
set boxwidth 0.7
set grid ytics
set xtics rotate by -30 left
set key off
set logscale y
set yrange [*:*]
set title "start-up + teardown of true: median per-round ratio to %s (log scale; lower is better)"
set ylabel "× C floor"
plot %q using 2:xtic(1) lc rgb "#4477aa", 1 with lines lc rgb "#cc3311" dt 2 title "C floor"
set yrange [0.1:*]
set title "memory of the tool's processes while the program runs (PSS, MB, log scale; lower is better)"
set ylabel "MB"
plot %q using 2:xtic(1) lc rgb "#228833"
unset multiplot
`, filepath.Join(out, "results.png"), b.floor().Name, sd, md)
	gp := filepath.Join(b.work, "chart.gp")
	if err := os.WriteFile(gp, []byte(script), 0o644); err != nil {
		return err
	}
	msg, err := b.launcher.RunQuiet([]string{"gnuplot", gp}, b.baseEnv(), time.Minute)
	if err != nil {
		return fmt.Errorf("gnuplot: %v: %s", err, lastLine(msg))
	}
	return nil
}
