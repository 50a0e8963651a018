package recent

import (
	"fmt"
	"strings"
	"sync"
	"testing"
)

// withRing gives a test the ring to itself, sized by owners of the given
// sizes, and restores it after.
func withRing(t *testing.T, sizes ...int) []*int {
	t.Helper()
	recentRing.Lock()
	saved, savedNext, savedSizes := recentRing.slots, recentRing.next, recentRing.sizes
	recentRing.slots, recentRing.next, recentRing.sizes = nil, 0, make(map[any]int)
	recentRing.Unlock()
	t.Cleanup(func() {
		recentRing.Lock()
		recentRing.slots, recentRing.next, recentRing.sizes = saved, savedNext, savedSizes
		recentRing.Unlock()
	})
	owners := make([]*int, 0, len(sizes))
	for _, n := range sizes {
		o := new(int)
		Register(o, n)
		owners = append(owners, o)
	}
	return owners
}

func write(path string, i int) {
	Record(&Entry{Server: "srv", Cause: "connection_refused", Status: 502, Path: path, Upstream: "127.0.0.1:1", RequestID: fmt.Sprint(i)})
}

func ids(limit int) string {
	fs := List(limit, "")
	out := make([]string, 0, len(fs))
	for _, f := range fs {
		out = append(out, f.RequestID)
	}
	return strings.Join(out, " ")
}

// The ring holds the largest size a loaded handler sets, keeps the newest
// entries when it shrinks or grows, and goes back to the remaining
// handlers' size once one is cleaned up.
func TestResize(t *testing.T) {
	owners := withRing(t, 3)
	for i := range 5 {
		write("/", i)
	}
	if got := ids(0); got != "4 3 2" {
		t.Fatalf("size 3 kept %q", got)
	}
	// a reload: the new config provisions before the old one cleans up
	big := new(int)
	Register(big, 5)
	if got := ids(0); got != "4 3 2" {
		t.Fatalf("after growing, %q", got)
	}
	write("/", 5)
	write("/", 6)
	if got := ids(0); got != "6 5 4 3 2" {
		t.Fatalf("size 5 kept %q", got)
	}
	small := new(int)
	Register(small, 2)
	Unregister(big)
	Unregister(owners[0])
	if got := ids(0); got != "6 5" {
		t.Fatalf("after shrinking to 2, %q", got)
	}
	if got := ids(1); got != "6" {
		t.Fatalf("limit 1: %q", got)
	}
	// the last handler gone (Caddy stopping), what was kept stays readable
	Unregister(small)
	if got := ids(0); got != "6 5" {
		t.Fatalf("with no handler loaded, %q", got)
	}
}

// A long value is cut to its field's size, at a character boundary and
// marked; control and bidi characters never reach the reader.
func TestFieldsBounded(t *testing.T) {
	withRing(t, 1)
	long := "/" + strings.Repeat("é", recentCaps[rfPath]) // two bytes each
	Record(&Entry{Cause: "connection_refused", Status: 502, Path: long, Error: "line\nbreak \u202eevil " + strings.Repeat("x", 1000)})
	f := List(0, "")[0]
	if len(f.Path) > recentCaps[rfPath]+len("…") || !strings.HasSuffix(f.Path, "…") || strings.ContainsRune(f.Path, '\uFFFD') {
		t.Errorf("path %d bytes, ends %q", len(f.Path), f.Path[len(f.Path)-8:])
	}
	if !strings.HasPrefix(f.Error, "linebreak evil xxx") || !strings.HasSuffix(f.Error, "…") || len(f.Error) > recentCaps[rfError]+len("…") {
		t.Errorf("error %q", f.Error)
	}
}

// Only the failures of the cause asked for are listed, newest first.
func TestListByCause(t *testing.T) {
	withRing(t, 4)
	for i, cause := range []string{"a", "b", "a", "b"} {
		Record(&Entry{Cause: cause, RequestID: fmt.Sprint(i)})
	}
	list := List(0, "a")
	got := make([]string, 0, len(list))
	for _, f := range list {
		got = append(got, f.RequestID)
	}
	if strings.Join(got, " ") != "2 0" {
		t.Errorf("cause a: %q", got)
	}
}

// Writers and readers share the ring safely (run with -race), and a write
// allocates nothing.
func TestConcurrent(t *testing.T) {
	withRing(t, 8)
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for i := range 200 {
				write("/p", w*1000+i)
				if i%10 == 0 {
					_ = List(0, "")
				}
			}
		})
	}
	wg.Wait()
	if n := len(List(0, "")); n != 8 {
		t.Errorf("%d kept, want 8", n)
	}
	e := &Entry{Cause: "connection_refused", Status: 502, Error: "dial tcp: connection refused", RequestID: "id"}
	if n := testing.AllocsPerRun(100, func() { Record(e) }); n != 0 {
		t.Errorf("a write allocates %v times", n)
	}
}

// A size out of range counts as the default: the handler's Provision runs
// before its Validate refuses it, and must not panic or allocate for it.
func TestSizeOutOfRange(t *testing.T) {
	withRing(t)
	for _, n := range []int{-1, 0, Max + 1} {
		o := new(int)
		Register(o, n)
		recentRing.Lock()
		size := len(recentRing.slots)
		recentRing.Unlock()
		if size != Default {
			t.Errorf("size %d: ring of %d", n, size)
		}
		Unregister(o)
	}
}

// The request's query strings, as received and as rewritten, are kept
// as "…" wherever the error text quotes them, the longer of two starting
// at one place, before the text is cut: no part of one is listed, even
// at the cut. Other text is kept, and the write allocates nothing.
func TestQueriesRedacted(t *testing.T) {
	withRing(t, 1)
	record := func(errText string, queries ...string) string {
		e := &Entry{Cause: "proxy_internal_error", Status: 500, Error: errText}
		copy(e.Queries[:], queries)
		if n := testing.AllocsPerRun(10, func() { Record(e) }); n != 0 {
			t.Errorf("a write allocates %v times", n)
		}
		return List(0, "")[0].Error
	}
	for _, tc := range []struct {
		errText string
		queries []string
		want    string
	}{
		{`denied for /err?token=s3cret`, []string{"token=s3cret", "token=s3cret"}, `denied for /err?…`},
		{`Get "http://up/p?token=s3cret&b=2": refused; token=s3cret again`, []string{"token=s3cret&b=2", "token=s3cret"}, `Get "http://up/p?…": refused; … again`},
		{`/new?sig=r3written from /old?token=s3cret`, []string{"token=s3cret", "sig=r3written"}, `/new?… from /old?…`},
		{`no query here`, []string{"", ""}, `no query here`},
		{`no query here`, nil, `no query here`},
		{`s3cret`, []string{"s3cret"}, `…`},
	} {
		if got := record(tc.errText, tc.queries...); got != tc.want {
			t.Errorf("%q with queries %q: %q, want %q", tc.errText, tc.queries, got, tc.want)
		}
	}
	// a query across the cut
	for _, at := range []int{recentCaps[rfError] - 6, recentCaps[rfError] - 3, recentCaps[rfError] - 1, recentCaps[rfError]} {
		got := record(strings.Repeat("x", at)+"?token=s3cret tail", "token=s3cret")
		if strings.Contains(got, "s3") || strings.Contains(got, "token") || !strings.HasSuffix(got, "…") || len(got) > recentCaps[rfError]+len("…") {
			t.Errorf("query at %d: ends %q (%d bytes)", at, got[max(0, len(got)-20):], len(got))
		}
	}
}
