package main

import (
	"math"
	"testing"
	"time"
)

// A value axis reaches past the highest value, in at most six round
// steps (1, 2 or 5 times a power of ten) from 0.
func TestValueTicks(t *testing.T) {
	for _, top := range []float64{0, math.NaN(), 0.001, 0.0123, 0.2, 0.283, 1, 2.84, 4, 7, 123, 1e6} {
		ticks, step := valueTicks(top)
		last := ticks[len(ticks)-1]
		if ticks[0] != 0 || len(ticks) < 2 || len(ticks) > 6 {
			t.Errorf("top %g: ticks %v", top, ticks)
		}
		if top > 0 && (last < top || last > 2.5*top) {
			t.Errorf("top %g: axis ends at %g", top, last)
		}
		mant := step / math.Pow(10, math.Floor(math.Log10(step)))
		if math.Abs(mant-1) > 1e-9 && math.Abs(mant-2) > 1e-9 && math.Abs(mant-5) > 1e-9 {
			t.Errorf("top %g: step %g is not round", top, step)
		}
	}
}

// Values read in the panel's unit, with three significant digits.
func TestFormat(t *testing.T) {
	for _, c := range []struct {
		unit string
		v    float64
		want string
	}{
		{"percentunit", 0.001, "0.1%"},
		{"percentunit", 0.28342, "28.3%"},
		{"reqps", 2.8412, "2.84 req/s"},
		{"reqps", 0, "0 req/s"},
		{"short", 243.2, "243"},
		{"short", 1234.6, "1235"},
		{"", 0.000123456, "0.000123"},
		{"reqps", math.NaN(), "–"},
	} {
		if got := formatValue(c.unit, c.v); got != c.want {
			t.Errorf("formatValue(%q, %g) = %q, want %q", c.unit, c.v, got, c.want)
		}
	}
	for _, c := range []struct {
		unit    string
		v, step float64
		want    string
	}{
		{"percentunit", 0.05, 0.05, "5%"},
		{"percentunit", 0.0015, 0.0005, "0.15%"},
		{"reqps", 1.5, 0.5, "1.5 req/s"},
		{"reqps", 2, 0.5, "2 req/s"},
		{"reqps", 0.30000000000000004, 0.1, "0.3 req/s"},
	} {
		if got := formatTick(c.unit, c.v, c.step); got != c.want {
			t.Errorf("formatTick(%q, %g, %g) = %q, want %q", c.unit, c.v, c.step, got, c.want)
		}
	}
}

// Time ticks fall on round times inside the span, no more than asked.
func TestTimeTicks(t *testing.T) {
	start := time.Date(2026, 1, 1, 12, 0, 7, 0, time.UTC)
	for _, c := range []struct {
		span   time.Duration
		max    int
		every  time.Duration
		layout string
	}{
		{4 * time.Minute, 8, 30 * time.Second, "15:04:05"},
		{4 * time.Minute, 5, time.Minute, "15:04"},
		{10 * time.Minute, 6, 2 * time.Minute, "15:04"},
	} {
		ticks, labels := timeTicks(start, start.Add(c.span), c.max)
		if len(ticks) == 0 || len(ticks) > c.max || len(labels) != len(ticks) {
			t.Errorf("%s: %d ticks %q", c.span, len(ticks), labels)
			continue
		}
		for i, tk := range ticks {
			if tk.Before(start) || tk.After(start.Add(c.span)) || tk.Truncate(c.every) != tk {
				t.Errorf("%s: tick %s", c.span, tk)
			}
			if labels[i] != tk.Format(c.layout) {
				t.Errorf("%s: label %q for %s", c.span, labels[i], tk)
			}
		}
	}
}
