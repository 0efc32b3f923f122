// Command isolate-bench compares isolate's start-up, memory and scaling with
// the tools a user would pick instead, side by side in one run.
//
// The machine is shared and noisy, so every command runs once per round, in
// a new random order each round, for many rounds; the report gives medians
// and the median of per-round ratios to the C floor (`unshare --map-auto
// -rnmpiuf --mount-proc true`), never a lone absolute time.
//
// It runs as the unprivileged user it measures; bench/run.sh prepares the
// machine as root and starts it. Usage: see -help.
package main

import (
	"flag"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

var (
	progTrue = []string{"true"}
	// The program says when it runs, so "started" is measured from outside
	// without polling /proc; then it is the `sleep` the issue asks for.
	progSleep1 = []string{"sh", "-c", "echo started; exec sleep 1"}
	progSleep3 = []string{"sh", "-c", "echo started; exec sleep 3"}
)

// Bench is one benchmark run.
type Bench struct {
	cmds      []*Command
	skipped   map[string]string // name → why
	work      string
	isolate   string
	launcher  *Launcher
	spec      []byte
	specErr   error
	bundles   map[string]string
	ids       int
	notes     []string
	versionOf [][2]string

	startup map[string]*startupResult
	memory  map[string][]Usage
	scale   map[string]map[int][]scaleRun

	rounds, warmup, memRounds, scaleRounds int
	scaleCounts                            []int
	began, ended                           time.Time
	loadAtStart                            string
	appendFile                             string
}

type startupResult struct {
	wall []float64 // ms per round, NaN for a failed run
	cpu  []float64 // user+system ms of the command and the children it waited for
	fail int
	last string // last error
}

type scaleRun struct {
	ok       int
	started  float64 // ms from the first launch to the last "started"
	usage    Usage
	complete bool // every sandbox printed "started"
}

func main() {
	conf := flag.String("conf", "bench/commands.conf", "the commands to compare")
	work := flag.String("work", "", "work directory (required; bundles, state, outputs)")
	isolate := flag.String("isolate", "", "the isolate binary under test (required)")
	out := flag.String("out", "", "directory for RESULTS.md and results.png (default: WORK/out)")
	rounds := flag.Int("rounds", 200, "start-up rounds")
	warmup := flag.Int("warmup", 10, "start-up rounds run first and not counted")
	memRounds := flag.Int("mem-rounds", 5, "memory measurements per command")
	scaleRounds := flag.Int("scale-rounds", 3, "repetitions of each scale step")
	scaleCounts := flag.String("scale", "1,10,50,100", "sandboxes started at once")
	only := flag.String("only", "", "comma-separated command names to run (default: all)")
	appendFile := flag.String("append", "", "a Markdown file appended to RESULTS.md (the optimisation log)")
	flag.Parse()
	if *work == "" || *isolate == "" {
		fmt.Fprintln(os.Stderr, "isolate-bench: -work and -isolate are required")
		os.Exit(2)
	}
	b := &Bench{
		work: absPath(*work), isolate: absPath(*isolate), skipped: map[string]string{},
		bundles: map[string]string{}, startup: map[string]*startupResult{},
		memory: map[string][]Usage{}, scale: map[string]map[int][]scaleRun{},
		rounds: *rounds, warmup: *warmup, memRounds: *memRounds, scaleRounds: *scaleRounds,
	}
	for _, s := range strings.Split(*scaleCounts, ",") {
		if n, err := strconv.Atoi(strings.TrimSpace(s)); err == nil && n > 0 {
			b.scaleCounts = append(b.scaleCounts, n)
		}
	}
	b.appendFile = *appendFile
	if err := b.main(*conf, *only, *out); err != nil {
		fmt.Fprintln(os.Stderr, "isolate-bench:", err)
		os.Exit(1)
	}
}

func absPath(p string) string {
	a, err := filepath.Abs(p)
	if err != nil {
		return p
	}
	return a
}

func (b *Bench) main(confPath, only, out string) error {
	text, err := os.ReadFile(confPath)
	if err != nil {
		return err
	}
	if b.cmds, err = ParseConf(string(text)); err != nil {
		return fmt.Errorf("%s: %w", confPath, err)
	}
	if only != "" {
		keep := map[string]bool{}
		for _, n := range strings.Split(only, ",") {
			keep[strings.TrimSpace(n)] = true
		}
		var cmds []*Command
		for _, c := range b.cmds {
			if keep[c.Name] || c.Kind == KindFloor {
				cmds = append(cmds, c)
			}
		}
		b.cmds = cmds
	}
	if out == "" {
		out = filepath.Join(b.work, "out")
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	if b.launcher, err = NewLauncher(); err != nil {
		return err
	}
	b.began = time.Now()
	if l, err := os.ReadFile("/proc/loadavg"); err == nil {
		b.loadAtStart = strings.Join(strings.Fields(string(l))[:3], " ")
	}
	if err := b.prepare(); err != nil {
		return fmt.Errorf("prepare: %w", err)
	}
	b.versions()
	b.preflight()
	if b.skipped[b.floor().Name] != "" {
		return fmt.Errorf("the floor %s does not run: %s", b.floor().Name, b.skipped[b.floor().Name])
	}
	b.runStartup()
	b.runMemory()
	b.runScale()
	b.ended = time.Now()
	return b.report(out)
}

func (b *Bench) floor() *Command { return b.byKind(KindFloor) }

func (b *Bench) byKind(k Kind) *Command {
	for _, c := range b.cmds {
		if c.Kind == k {
			return c
		}
	}
	return nil
}

func (b *Bench) byName(n string) *Command {
	for _, c := range b.cmds {
		if c.Name == n {
			return c
		}
	}
	return nil
}

// active are the commands that passed the preflight.
func (b *Bench) active() []*Command {
	var out []*Command
	for _, c := range b.cmds {
		if b.skipped[c.Name] == "" {
			out = append(out, c)
		}
	}
	return out
}

func (b *Bench) note(format string, args ...any) {
	s := fmt.Sprintf(format, args...)
	b.notes = append(b.notes, s)
	fmt.Fprintln(os.Stderr, "isolate-bench:", s)
}

func (b *Bench) progress(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "[%s] %s\n", time.Since(b.began).Round(time.Second), fmt.Sprintf(format, args...))
}

// argv builds one run of c with prog.
func (b *Bench) argv(c *Command, prog []string) ([]string, error) {
	v := Vars{Prog: prog, Isolate: b.isolate, Work: b.work}
	if c.UsesBundle() {
		d, err := b.bundleFor(prog)
		if err != nil {
			return nil, err
		}
		v.Bundle = d
	}
	b.ids++
	v.ID = fmt.Sprintf("isolate-bench-%d-%d", os.Getpid(), b.ids)
	return Expand(c.Argv, v), nil
}

// once runs c with prog to its end: wall and cpu time in ms, or an error
// with the command's last line of output.
func (b *Bench) once(c *Command, prog []string, errf *os.File) (wall, cpu float64, err error) {
	argv, err := b.argv(c, prog)
	if err != nil {
		return 0, 0, err
	}
	errf.Truncate(0)
	errf.Seek(0, 0)
	r, err := b.launcher.Start(argv, b.envFor(c), nil, errf)
	if err != nil {
		return 0, 0, err
	}
	e, inTime := r.Wait(2 * time.Minute)
	wall = float64(e.At.Sub(r.Start).Microseconds()) / 1000
	cpu = float64(e.Rusage.Utime.Nano()+e.Rusage.Stime.Nano()) / 1e6
	if !inTime {
		return wall, cpu, fmt.Errorf("timed out")
	}
	if !e.Status.Exited() || e.Status.ExitStatus() != 0 {
		msg, _ := os.ReadFile(errf.Name())
		return wall, cpu, fmt.Errorf("%s: %s", describeStatus(e.Status), errorLine(string(msg)))
	}
	return wall, cpu, nil
}

// preflight runs every command once with each program; a command that
// fails is skipped with its reason.
func (b *Bench) preflight() {
	errf, _ := os.CreateTemp(b.work, "stderr-")
	defer os.Remove(errf.Name())
	for _, c := range b.cmds {
		if _, _, err := b.once(c, progTrue, errf); err != nil {
			b.skipped[c.Name] = err.Error()
			b.progress("skip %s: %v", c.Name, err)
			continue
		}
		if _, err := b.sleepers(c, 1, progSleep1, false); err != nil {
			b.skipped[c.Name] = err.Error()
			b.progress("skip %s: %v", c.Name, err)
			continue
		}
		b.progress("ready %s", c.Name)
	}
}

// runStartup measures start-up and teardown of /bin/true, interleaved.
func (b *Bench) runStartup() {
	cmds := b.active()
	errs := map[string]*os.File{}
	for _, c := range cmds {
		errs[c.Name], _ = os.CreateTemp(b.work, "stderr-")
		defer os.Remove(errs[c.Name].Name())
		b.startup[c.Name] = &startupResult{}
	}
	for round := -b.warmup; round < b.rounds; round++ {
		order := append([]*Command(nil), cmds...)
		rand.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
		for _, c := range order {
			wall, cpu, err := b.once(c, progTrue, errs[c.Name])
			if round < 0 {
				continue
			}
			res := b.startup[c.Name]
			if err != nil {
				res.fail++
				res.last = err.Error()
				wall, cpu = math.NaN(), math.NaN()
			}
			res.wall = append(res.wall, wall)
			res.cpu = append(res.cpu, cpu)
		}
		if round >= 0 && (round+1)%25 == 0 {
			b.progress("start-up round %d/%d", round+1, b.rounds)
		}
	}
}

// runMemory measures the PSS of each tool's whole process tree while its
// program (sleep) runs.
func (b *Bench) runMemory() {
	cmds := b.active()
	for round := 0; round < b.memRounds; round++ {
		order := append([]*Command(nil), cmds...)
		rand.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
		for _, c := range order {
			if len(c.Pre) > 0 {
				pre := Expand(c.Pre, Vars{Isolate: b.isolate, Work: b.work})
				if out, err := b.launcher.RunQuiet(pre, b.envFor(c), time.Minute); err != nil {
					b.note("pre %s: %v: %s", c.Name, err, lastLine(out))
				}
				time.Sleep(200 * time.Millisecond) // let a killed pause process be reaped
			}
			runs, err := b.sleepers(c, 1, progSleep3, true)
			if err != nil {
				b.note("memory %s: %v", c.Name, err)
				continue
			}
			b.memory[c.Name] = append(b.memory[c.Name], runs.usage)
		}
	}
	b.progress("memory done")
}

// runScale starts n sandboxes at once, each running `sleep 1`.
func (b *Bench) runScale() {
	cmds := b.active()
	for _, c := range cmds {
		b.scale[c.Name] = map[int][]scaleRun{}
	}
	for _, n := range b.scaleCounts {
		rounds := b.scaleRounds
		if n == 1 && rounds < 10 {
			// One sandbox is the reference every count is compared with,
			// and the cheapest to repeat: repeat it enough to be steady.
			rounds = 10
		}
		for round := 0; round < rounds; round++ {
			order := append([]*Command(nil), cmds...)
			rand.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
			for _, c := range order {
				r, err := b.sleepers(c, n, progSleep1, true)
				if err != nil {
					b.note("scale %s ×%d: %v", c.Name, n, err)
				}
				b.scale[c.Name][n] = append(b.scale[c.Name][n], r)
			}
		}
		b.progress("scale %d done", n)
	}
}

// sleepers starts n copies of c running prog (which prints a line when it
// runs) at once; it waits until all printed, measures memory if asked, and
// waits for all to end.
func (b *Bench) sleepers(c *Command, n int, prog []string, withMemory bool) (scaleRun, error) {
	var res scaleRun
	before := processes()
	type one struct {
		run     *Run
		r, w    *os.File
		errf    *os.File
		started chan time.Time
	}
	all := make([]*one, n)
	env := b.envFor(c)
	argvs := make([][]string, n)
	for i := range all {
		argv, err := b.argv(c, prog)
		if err != nil {
			return res, err
		}
		argvs[i] = argv
		o := &one{started: make(chan time.Time, 1)}
		if o.r, o.w, err = os.Pipe(); err != nil {
			return res, err
		}
		o.errf, _ = os.CreateTemp(b.work, "stderr-")
		all[i] = o
	}
	defer func() {
		for _, o := range all {
			o.r.Close()
			o.errf.Close()
			os.Remove(o.errf.Name())
		}
	}()
	t0 := time.Now()
	var firstErr error
	for i, o := range all {
		var err error
		o.run, err = b.launcher.Start(argvs[i], env, o.w, o.errf)
		o.w.Close()
		if err != nil {
			firstErr = err
			close(o.started)
			continue
		}
		go func(o *one) {
			if t, ok := waitLine(o.r, 2*time.Minute); ok {
				o.started <- t
			}
			close(o.started)
		}(o)
	}
	last := t0
	res.complete = true
	for _, o := range all {
		t, ok := <-o.started
		if !ok {
			res.complete = false
			continue
		}
		if t.After(last) {
			last = t
		}
	}
	res.started = float64(last.Sub(t0).Microseconds()) / 1000
	if withMemory {
		// Let every process settle after the program's first line: the
		// program is `sleep` by then, and the tool is waiting.
		time.Sleep(300 * time.Millisecond)
		res.usage = measure(before, "sleep")
	}
	for _, o := range all {
		if o.run == nil {
			continue
		}
		e, inTime := o.run.Wait(2 * time.Minute)
		if inTime && e.Status.Exited() && e.Status.ExitStatus() == 0 {
			res.ok++
		} else if firstErr == nil {
			msg, _ := os.ReadFile(o.errf.Name())
			firstErr = fmt.Errorf("%s: %s", describeStatus(e.Status), errorLine(string(msg)))
		}
	}
	if firstErr == nil && !res.complete {
		firstErr = fmt.Errorf("a sandbox never printed its start line")
	}
	return res, firstErr
}
