package main

import (
	"math"
	"reflect"
	"testing"
)

func TestSplitWordsKeepsQuotedWordsWhole(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []string
	}{
		{"a  b\tc", []string{"a", "b", "c"}},
		{`sh -c 'kill $(cat "$X") 2>/dev/null; exit 0'`, []string{"sh", "-c", `kill $(cat "$X") 2>/dev/null; exit 0`}},
		{`a"b c"d`, []string{"ab cd"}},
		{`"\"x\\"`, []string{`"x\`}},
		{`''`, []string{""}},
	} {
		got, err := SplitWords(tc.in)
		if err != nil || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("SplitWords(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
	if _, err := SplitWords(`a 'b`); err == nil {
		t.Error("an unterminated quote was accepted")
	}
}

func TestConfLinesBecomeCommandsWithEnvAndPre(t *testing.T) {
	cmds, err := ParseConf(`
# comment
floor f: unshare -r {prog}
isolate i: PATH={work}/x {isolate} -q {prog}
tool c: crun run --bundle {bundle} {id}
pre c: sh -c 'true'
`)
	if err != nil {
		t.Fatal(err)
	}
	if len(cmds) != 3 || cmds[1].Kind != KindIsolate || !reflect.DeepEqual(cmds[1].Env, []string{"PATH={work}/x"}) {
		t.Fatalf("got %+v", cmds)
	}
	if !reflect.DeepEqual(cmds[2].Pre, []string{"sh", "-c", "true"}) || !cmds[2].UsesBundle() || cmds[1].UsesBundle() {
		t.Fatalf("got %+v", cmds[2])
	}
	got := Expand(cmds[1].Argv, Vars{Prog: []string{"sh", "-c", "echo a"}, Isolate: "/b/isolate"})
	if want := []string{"/b/isolate", "-q", "sh", "-c", "echo a"}; !reflect.DeepEqual(got, want) {
		t.Errorf("Expand = %q, want %q", got, want)
	}
}

func TestConfErrorsNameTheLine(t *testing.T) {
	for _, text := range []string{
		"tool a: true",                 // no floor
		"floor a: true\nfloor b: true", // two floors
		"floor a: true\nfast b: true",  // unknown kind
		"floor a: true\ntool a: true",  // a name twice
		"floor a true",                 // no colon
		"floor a: X=1",                 // only variables
		"floor a: true\npre b: true",   // pre for nothing
	} {
		if _, err := ParseConf(text); err == nil {
			t.Errorf("ParseConf(%q) accepted it", text)
		}
	}
}

func TestRatiosArePerRoundAndSkipFailedRuns(t *testing.T) {
	a := []float64{2, 4, math.NaN(), 9}
	b := []float64{1, 2, 3, 3}
	if got := RoundRatios(a, b); !reflect.DeepEqual(got, []float64{2, 2, 3}) {
		t.Errorf("RoundRatios = %v", got)
	}
	if m := Median([]float64{5, 1, 3}); m != 3 {
		t.Errorf("Median = %v", m)
	}
	if q := Quantile([]float64{1, 2, 3, 4, 5}, 0.25); q != 2 {
		t.Errorf("Quantile(.25) = %v", q)
	}
	if !math.IsNaN(Median(nil)) {
		t.Error("Median of nothing is not NaN")
	}
}
