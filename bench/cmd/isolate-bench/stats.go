package main

import (
	"math"
	"sort"
)

// Quantile of xs (linear interpolation between closest ranks); NaN when
// empty. xs is not modified.
func Quantile(xs []float64, q float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	pos := q * float64(len(s)-1)
	lo := int(math.Floor(pos))
	hi := int(math.Ceil(pos))
	return s[lo] + (s[hi]-s[lo])*(pos-float64(lo))
}

// Median of xs.
func Median(xs []float64) float64 { return Quantile(xs, 0.5) }

// RoundRatios divides a by b round by round, where both ran; a round in
// which either failed (NaN) is left out. The median of these ratios is
// robust to the machine's noise drifting between rounds, because both
// commands of a ratio ran close together in time.
func RoundRatios(a, b []float64) []float64 {
	var r []float64
	for i := range a {
		if i < len(b) && !math.IsNaN(a[i]) && !math.IsNaN(b[i]) && b[i] > 0 {
			r = append(r, a[i]/b[i])
		}
	}
	return r
}

// Valid drops the NaNs (failed runs).
func Valid(xs []float64) []float64 {
	var out []float64
	for _, x := range xs {
		if !math.IsNaN(x) {
			out = append(out, x)
		}
	}
	return out
}
