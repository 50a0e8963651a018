// Package cpushare measures how much of a process's CPU a middleware
// handler spends on its own, from a CPU profile: the samples whose stack
// holds the handler but not the next handler it wraps, over all samples.
package cpushare

import (
	"cmp"
	"errors"
	"slices"
	"strings"

	"github.com/google/pprof/profile"
)

// Spec names the functions, as a profile spells them (import path,
// receiver and method), that delimit a handler's own work.
type Spec struct {
	// Handler is the handler measured, such as
	// "example.com/m.(*Handler).ServeHTTP".
	Handler string
	// Next is the handler it wraps; time spent under it is not the
	// handler's own.
	Next string
	// Package, if set, is the handler's import path: its functions
	// running under Next (a response writer's methods, called by Next)
	// are counted in Share.Nested.
	Package string
}

// Share is a profile's samples split by where they ran, in the unit of
// the profile's CPU sample value (nanoseconds for runtime/pprof).
type Share struct {
	// Total is every sample in the profile.
	Total int64
	// Handler is the samples with Spec.Handler on the stack (its
	// cumulative time).
	Handler int64
	// Next is the samples with both Spec.Handler and Spec.Next on the stack.
	Next int64
	// Nested is the part of Next spent in Spec.Package's functions
	// themselves (self time: not what they call, such as the writer
	// they wrap, which the stack without them would run too).
	Nested int64
	// Flat is the handler's own samples (Handler minus Next) by the
	// function that was running, inlined frames included.
	Flat map[string]int64
}

// Own is the handler's own samples: under it, but not under Next.
func (s Share) Own() int64 { return s.Handler - s.Next }

// Percent is Own as a percentage of Total, or 0 for an empty profile.
func (s Share) Percent() float64 { return percent(s.Own(), s.Total) }

// NestedPercent is Nested as a percentage of Total.
func (s Share) NestedPercent() float64 { return percent(s.Nested, s.Total) }

func percent(part, total int64) float64 {
	if total == 0 {
		return 0
	}
	return 100 * float64(part) / float64(total)
}

// FuncValue is a function and its samples.
type FuncValue struct {
	Func  string
	Value int64
}

// Top returns the n functions with the most of the handler's own flat
// samples, most first, ties by name.
func (s Share) Top(n int) []FuncValue {
	fs := make([]FuncValue, 0, len(s.Flat))
	for f, v := range s.Flat {
		fs = append(fs, FuncValue{f, v})
	}
	slices.SortFunc(fs, func(a, b FuncValue) int {
		return cmp.Or(cmp.Compare(b.Value, a.Value), strings.Compare(a.Func, b.Func))
	})
	return fs[:min(n, len(fs))]
}

// Measure splits p's samples according to spec. It uses the sample value
// of type "cpu" (runtime/pprof's nanoseconds), or the only one there is.
func Measure(p *profile.Profile, spec Spec) (Share, error) {
	if spec.Handler == "" || spec.Next == "" {
		return Share{}, errors.New("cpushare: Spec.Handler and Spec.Next are required")
	}
	vi, err := cpuIndex(p)
	if err != nil {
		return Share{}, err
	}
	s := Share{Flat: make(map[string]int64)}
	for _, sample := range p.Sample {
		if vi >= len(sample.Value) {
			return Share{}, errors.New("cpushare: a sample lacks the CPU value")
		}
		v := sample.Value[vi]
		s.Total += v
		fs := frames(sample)
		handler := slices.Index(fs, spec.Handler)
		if handler < 0 {
			continue
		}
		s.Handler += v
		// frames run from the leaf to the root: the first Next is the
		// innermost, and the frames before it ran under it
		next := slices.Index(fs, spec.Next)
		if next < 0 {
			s.Flat[fs[0]] += v
			continue
		}
		s.Next += v
		if spec.Package != "" && next > 0 && inPackage(fs[0], spec.Package) {
			s.Nested += v
		}
	}
	return s, nil
}

// cpuIndex finds the index of the CPU time in p's sample values.
func cpuIndex(p *profile.Profile) (int, error) {
	for i, st := range p.SampleType {
		if st.Type == "cpu" {
			return i, nil
		}
	}
	if len(p.SampleType) == 1 {
		return 0, nil
	}
	return 0, errors.New("cpushare: the profile has no \"cpu\" sample type")
}

// frames lists the functions on a sample's stack from the leaf to the
// root, inlined calls included (a Location's lines run callee first).
func frames(s *profile.Sample) []string {
	var fs []string
	for _, loc := range s.Location {
		for _, line := range loc.Line {
			if line.Function != nil {
				fs = append(fs, line.Function.Name)
			}
		}
	}
	if len(fs) == 0 {
		fs = append(fs, "?")
	}
	return fs
}

// inPackage reports whether fn, a function name as a profile spells it,
// belongs to the package with import path pkg (and not to one whose path
// merely starts the same way).
func inPackage(fn, pkg string) bool {
	rest, ok := strings.CutPrefix(fn, pkg)
	return ok && strings.HasPrefix(rest, ".")
}
