package main

import "github.com/urfave/cli/v2"

// namesOnce makes each flag's Names() a stored slice. urfave/cli v2 computes
// it on every call, with a regexp replacement per name (cli.FlagNames), and
// calls it quadratically while parsing: for each flag not given, IsSet looks
// the name up through every flag's Names() (runFlagActions, lookupFlag).
// With isolate's 40-odd flags that was about half a millisecond of every
// start. The wrappers embed the flag, so every other method (Apply, the help
// and man-page text, IsSet, Get...) is the flag's own.
func namesOnce(fs []cli.Flag) []cli.Flag {
	for i, f := range fs {
		names := f.Names()
		switch t := f.(type) {
		case *cli.BoolFlag:
			fs[i] = &boolFlag{t, names}
		case *cli.StringFlag:
			fs[i] = &stringFlag{t, names}
		case *cli.StringSliceFlag:
			fs[i] = &stringSliceFlag{t, names}
		case *cli.IntFlag:
			fs[i] = &intFlag{t, names}
		}
	}
	return fs
}

type boolFlag struct {
	*cli.BoolFlag
	names []string
}

func (f *boolFlag) Names() []string { return f.names }

type stringFlag struct {
	*cli.StringFlag
	names []string
}

func (f *stringFlag) Names() []string { return f.names }

type stringSliceFlag struct {
	*cli.StringSliceFlag
	names []string
}

func (f *stringSliceFlag) Names() []string { return f.names }

type intFlag struct {
	*cli.IntFlag
	names []string
}

func (f *intFlag) Names() []string { return f.names }
