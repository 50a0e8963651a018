package main

import (
	"math"
	"strconv"
	"strings"
	"time"
)

// valueTicks returns round values for a value axis from 0 to at least
// top, their step, and the axis' end, the last of them. An axis with
// nothing above 0 goes to 1.
func valueTicks(top float64) (ticks []float64, step float64) {
	if !(top > 0) || math.IsInf(top, 0) {
		top = 1
	}
	raw := top / 4
	mag := math.Pow(10, math.Floor(math.Log10(raw)))
	step = 10 * mag
	for _, m := range []float64{1, 2, 5} {
		if m*mag >= raw {
			step = m * mag
			break
		}
	}
	n := int(math.Ceil(top/step - 1e-9))
	for i := 0; i <= n; i++ {
		ticks = append(ticks, float64(i)*step)
	}
	return ticks, step
}

// tickEvery are the spacings a time axis picks from.
var tickEvery = []time.Duration{
	5 * time.Second, 10 * time.Second, 15 * time.Second, 30 * time.Second,
	time.Minute, 2 * time.Minute, 5 * time.Minute, 10 * time.Minute, 15 * time.Minute, 30 * time.Minute,
	time.Hour, 2 * time.Hour, 3 * time.Hour, 6 * time.Hour, 12 * time.Hour, 24 * time.Hour,
}

// timeTicks returns the round times from start to end, at most about
// max of them, and their labels in UTC.
func timeTicks(start, end time.Time, maxTicks int) (ticks []time.Time, labels []string) {
	every := tickEvery[len(tickEvery)-1]
	for _, d := range tickEvery {
		if end.Sub(start)/d <= time.Duration(maxTicks) {
			every = d
			break
		}
	}
	layout := "15:04"
	if every < time.Minute {
		layout = "15:04:05"
	}
	for t := start.Truncate(every); !t.After(end); t = t.Add(every) {
		if t.Before(start) {
			continue
		}
		ticks = append(ticks, t)
		labels = append(labels, t.UTC().Format(layout))
	}
	return ticks, labels
}

// formatTick writes an axis value; step, the axis' spacing, sets the
// decimals, so a value off by a rounding error reads as its tick.
func formatTick(unit string, v, step float64) string {
	scale, suffix := unitOf(unit)
	decimals := max(0, int(-math.Floor(math.Log10(step*scale)+1e-9)))
	return trimZeros(strconv.FormatFloat(v*scale, 'f', decimals, 64)) + suffix
}

// trimZeros drops the zeros ending a decimal fraction, and its point if
// nothing is left of it.
func trimZeros(s string) string {
	if strings.Contains(s, ".") {
		s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	}
	return s
}

// formatValue writes a value with three significant digits, as legends
// and tables show it.
func formatValue(unit string, v float64) string {
	if math.IsNaN(v) {
		return "–"
	}
	scale, suffix := unitOf(unit)
	v *= scale
	decimals := 0
	if a := math.Abs(v); a > 0 && a < 100 {
		decimals = min(6, 2-int(math.Floor(math.Log10(a))))
	}
	return trimZeros(strconv.FormatFloat(v, 'f', decimals, 64)) + suffix
}

// unitOf returns how Grafana shows values of unit: the factor and the
// suffix.
func unitOf(unit string) (scale float64, suffix string) {
	switch unit {
	case "percentunit":
		return 100, "%"
	case "reqps":
		return 1, " req/s"
	}
	return 1, ""
}
