package main

import (
	"fmt"
	"strings"

	"github.com/urfave/cli/v2"
)

//go:generate sh -c "go run -tags urfave_cli_no_docs . man > ../../docs/isolate.1"

// manCommand prints isolate(1), made from the same definitions as --help,
// so the page cannot drift from the flags (docs/isolate.1 is its output).
func manCommand() *cli.Command {
	return &cli.Command{
		Name:  "man",
		Usage: "print the manual page (roff): isolate man | man -l -",
		Action: func(c *cli.Context) error {
			_, err := fmt.Fprint(c.App.Writer, manPage(c.App))
			return err
		},
	}
}

// manPage renders the page itself rather than with urfave/cli's ToMan:
// that one goes through a Markdown library whose package init builds
// tables of HTML entities, about 0.7 ms of CPU at every start of isolate
// and of its sandbox child, whether or not a man page is ever printed.
// The build tag urfave_cli_no_docs leaves it out (scripts/test.sh,
// bench/run.sh and the README build with it); without the tag isolate
// works the same, only starts slower.
func manPage(app *cli.App) string {
	var b strings.Builder
	w := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }
	w(`.TH ISOLATE 1`)
	w(`.SH NAME`)
	w(`%s \- %s`, app.Name, roffEscape(app.Usage))
	w(`.SH SYNOPSIS`)
	w(`.B %s`, app.Name)
	w(`[\fIOPTIONS\fR] \fIPROGRAM\fR [\fIARGS\fR...]`)
	w(`.br`)
	w(`.B %s`, app.Name)
	w(`\fICOMMAND\fR [\fIARGS\fR...]`)
	w(`.SH DESCRIPTION`)
	// The usage text is laid out for a terminal (columns, indented
	// examples): it is kept as it is, in no-fill mode.
	w(`.nf`)
	for _, line := range strings.Split(strings.TrimRight(app.UsageText, "\n"), "\n") {
		w(`%s`, roffLine(line))
	}
	w(`.fi`)
	w(`.SH OPTIONS`)
	for _, f := range app.Flags {
		w(`.TP`)
		w(`%s`, manFlagHead(f))
		if d, ok := f.(cli.DocGenerationFlag); ok {
			usage := d.GetUsage()
			if def := d.GetDefaultText(); d.TakesValue() && def != "" && def != `""` && def != "[]" && !strings.Contains(usage, "(default") {
				usage += " (default: " + def + ")"
			}
			w(`%s`, roffLine(usage))
		}
	}
	w(`.SH COMMANDS`)
	for _, c := range app.Commands {
		w(`.TP`)
		w(`\fB%s\fR`, roffEscape(c.Name))
		w(`%s`, roffLine(c.Usage))
	}
	w(`.SH SEE ALSO`)
	w(`unshare(1), bwrap(1), newuidmap(1), newgidmap(1), subuid(5), slirp4netns(1), pasta(1), user_namespaces(7), namespaces(7)`)
	return b.String()
}

// manFlagHead is "--name, -n VALUE" in roff: names bold, the value italic.
func manFlagHead(f cli.Flag) string {
	var names []string
	for _, n := range f.Names() {
		dash := `\-\-`
		if len(n) == 1 {
			dash = `\-`
		}
		names = append(names, `\fB`+dash+roffEscape(n)+`\fR`)
	}
	head := strings.Join(names, ", ")
	if d, ok := f.(cli.DocGenerationFlag); ok && d.TakesValue() {
		head += ` \fIVALUE\fR`
	}
	return head
}

// roffLine escapes a line of text so that roff prints it as it is: a line
// that starts with a dot or a quote would be a request (groff(7)).
func roffLine(s string) string {
	s = roffEscape(s)
	if strings.HasPrefix(s, ".") || strings.HasPrefix(s, "'") {
		s = `\&` + s
	}
	return s
}

// roffEscape: a backslash is roff's escape character; a hyphen that is
// not \- may be printed as a hyphen rather than a minus sign.
func roffEscape(s string) string {
	return strings.NewReplacer(`\`, `\e`, `-`, `\-`).Replace(s)
}
