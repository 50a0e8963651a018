package cpushare

import (
	"bytes"
	"math"
	"slices"
	"testing"

	"github.com/google/pprof/profile"
)

const (
	handler  = "example.com/mw.(*Handler).ServeHTTP"
	next     = "example.com/proxy.(*Handler).ServeHTTP"
	render   = "example.com/mw.render"
	writer   = "example.com/mw.(*writer).WriteHeader"
	encode   = "encoding/json.Marshal"
	serve    = "net/http.(*conn).serve"
	dial     = "net.(*Dialer).DialContext"
	sysWrite = "syscall.Write"
	// lookalike shares the handler's package path as a prefix only.
	lookalike = "example.com/mwx.Func"
)

var spec = Spec{Handler: handler, Next: next, Package: "example.com/mw"}

// builder makes a CPU profile the way runtime/pprof lays one out: a
// sample count and a CPU time per sample, stacks leaf first, one
// Location per call site with inlined calls as extra lines.
type builder struct {
	p     *profile.Profile
	funcs map[string]*profile.Function
}

func newBuilder() *builder {
	return &builder{
		p: &profile.Profile{
			SampleType: []*profile.ValueType{{Type: "samples", Unit: "count"}, {Type: "cpu", Unit: "nanoseconds"}},
			PeriodType: &profile.ValueType{Type: "cpu", Unit: "nanoseconds"},
			Period:     10_000_000,
		},
		funcs: make(map[string]*profile.Function),
	}
}

// loc makes a Location whose lines are names, the first inlined into the
// next and so on.
func (b *builder) loc(names ...string) *profile.Location {
	l := &profile.Location{ID: uint64(len(b.p.Location) + 1)}
	for _, n := range names {
		f, ok := b.funcs[n]
		if !ok {
			f = &profile.Function{ID: uint64(len(b.p.Function) + 1), Name: n}
			b.funcs[n] = f
			b.p.Function = append(b.p.Function, f)
		}
		l.Line = append(l.Line, profile.Line{Function: f})
	}
	b.p.Location = append(b.p.Location, l)
	return l
}

// sample adds a sample of cpu nanoseconds whose stack is locs, leaf first.
func (b *builder) sample(cpu int64, locs ...*profile.Location) {
	b.p.Sample = append(b.p.Sample, &profile.Sample{Value: []int64{cpu / 10_000_000, cpu}, Location: locs})
}

// build returns the profile after a round trip through its wire format,
// as a benchmark would parse it.
func (b *builder) build(t *testing.T) *profile.Profile {
	t.Helper()
	if err := b.p.CheckValid(); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := b.p.Write(&buf); err != nil {
		t.Fatal(err)
	}
	p, err := profile.Parse(&buf)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestMeasure(t *testing.T) {
	const (
		ownRender  = 70e6 // the handler rendering a body
		ownInlined = 30e6 // the handler encoding, inlined into it
		recursive  = 20e6 // the handler under itself, counted once
		proxied    = 300e6
		nested     = 40e6 // the handler's writer called by the proxy
		delegated  = 25e6 // the writer it wraps, called by the handler's
		lookalikes = 10e6 // a function of another package under the proxy
		elsewhere  = 530e6
	)
	b := newBuilder()
	b.sample(ownRender, b.loc(render), b.loc(handler), b.loc(serve))
	b.sample(ownInlined, b.loc(encode, handler), b.loc(serve))
	b.sample(recursive, b.loc(render), b.loc(handler), b.loc(handler), b.loc(serve))
	b.sample(proxied, b.loc(dial), b.loc(next), b.loc(handler), b.loc(serve))
	b.sample(nested, b.loc(writer), b.loc(next), b.loc(handler), b.loc(serve))
	b.sample(delegated, b.loc(sysWrite), b.loc(writer), b.loc(next), b.loc(handler), b.loc(serve))
	b.sample(lookalikes, b.loc(lookalike), b.loc(next), b.loc(handler), b.loc(serve))
	// the handler's package at work outside the handler is not its own
	b.sample(elsewhere, b.loc(render), b.loc(serve))

	got, err := Measure(b.build(t), spec)
	if err != nil {
		t.Fatal(err)
	}
	total := int64(ownRender + ownInlined + recursive + proxied + nested + delegated + lookalikes + elsewhere)
	own := int64(ownRender + ownInlined + recursive)
	if got.Total != total {
		t.Errorf("Total = %d; want %d", got.Total, total)
	}
	if under := own + proxied + nested + delegated + lookalikes; got.Handler != under {
		t.Errorf("Handler = %d; want %d", got.Handler, under)
	}
	if got.Own() != own {
		t.Errorf("Own() = %d; want %d", got.Own(), own)
	}
	if got.Nested != nested {
		t.Errorf("Nested = %d; want %d", got.Nested, int64(nested))
	}
	if want := 100 * float64(own) / float64(total); math.Abs(got.Percent()-want) > 1e-9 {
		t.Errorf("Percent() = %v; want %v", got.Percent(), want)
	}
	if want := 100 * float64(nested) / float64(total); math.Abs(got.NestedPercent()-want) > 1e-9 {
		t.Errorf("NestedPercent() = %v; want %v", got.NestedPercent(), want)
	}
	wantTop := []FuncValue{{render, ownRender + recursive}, {encode, ownInlined}}
	if top := got.Top(10); !slices.Equal(top, wantTop) {
		t.Errorf("Top(10) = %v; want %v", top, wantTop)
	}
	if top := got.Top(1); !slices.Equal(top, wantTop[:1]) {
		t.Errorf("Top(1) = %v; want %v", top, wantTop[:1])
	}
}

func TestMeasureSampleTypes(t *testing.T) {
	t.Run("only one value", func(t *testing.T) {
		p := &profile.Profile{SampleType: []*profile.ValueType{{Type: "samples", Unit: "count"}}}
		f := &profile.Function{ID: 1, Name: handler}
		l := &profile.Location{ID: 1, Line: []profile.Line{{Function: f}}}
		p.Function, p.Location = []*profile.Function{f}, []*profile.Location{l}
		p.Sample = []*profile.Sample{{Value: []int64{3}, Location: []*profile.Location{l}}}
		got, err := Measure(p, spec)
		if err != nil {
			t.Fatal(err)
		}
		if got.Total != 3 || got.Own() != 3 || got.Percent() != 100 {
			t.Errorf("got Total %d, Own %d, Percent %v; want 3, 3, 100", got.Total, got.Own(), got.Percent())
		}
	})
	t.Run("no cpu value", func(t *testing.T) {
		p := &profile.Profile{SampleType: []*profile.ValueType{{Type: "alloc_objects"}, {Type: "alloc_space"}}}
		if _, err := Measure(p, spec); err == nil {
			t.Error("Measure accepted a profile without CPU values")
		}
	})
	t.Run("empty profile", func(t *testing.T) {
		got, err := Measure(newBuilder().build(t), spec)
		if err != nil {
			t.Fatal(err)
		}
		if got.Percent() != 0 || got.NestedPercent() != 0 {
			t.Errorf("Percent() = %v, NestedPercent() = %v on an empty profile; want 0", got.Percent(), got.NestedPercent())
		}
	})
	t.Run("incomplete spec", func(t *testing.T) {
		if _, err := Measure(newBuilder().build(t), Spec{Handler: handler}); err == nil {
			t.Error("Measure accepted a Spec without Next")
		}
	})
}
