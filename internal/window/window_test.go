package window

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/caddyserver/certmagic"
)

func TestValidateWindowName(t *testing.T) {
	for _, ok := range []string{"shop", "a", "Shop-2.eu_west", "z9"} {
		if err := ValidateName(ok); err != nil {
			t.Errorf("%q: %v", ok, err)
		}
	}
	// digits-only names are those of file_system storage's temporary files
	for _, bad := range []string{"", "0", "2357785124", "9shop", ".", "..", ".shop", "-shop", "_shop", "a/b", "../x", `a\b`, "a b", "shop%2F", "é", string(make([]byte, 65))} {
		if err := ValidateName(bad); err == nil {
			t.Errorf("%q: accepted", bad)
		}
	}
	if err := ValidateName("1shop"); err == nil || !strings.Contains(err.Error(), "must start with a letter") {
		t.Errorf("a name starting with a digit: %v, want an error saying it must start with a letter", err)
	}
}

// Windows round-trip through a file_system storage under the documented
// key; a missing key is off, and keys that are not windows are not listed.
func TestWindowStorageRoundTrip(t *testing.T) {
	dir := t.TempDir()
	s := &certmagic.FileStorage{Path: dir}
	ctx := context.Background()
	if st, err := Load(ctx, s, "shop"); err != nil || st.On {
		t.Fatalf("missing key: %+v, %v; want off", st, err)
	}
	if all, err := List(ctx, s); err != nil || len(all) != 0 {
		t.Fatalf("empty storage lists %v, %v", all, err)
	}
	until := time.Date(2026, 5, 1, 18, 0, 0, 0, time.UTC)
	if err := Store(ctx, s, "shop", State{On: true, Until: until}); err != nil {
		t.Fatal(err)
	}
	if err := Store(ctx, s, "blog", State{}); err != nil {
		t.Fatal(err)
	}
	if err := Store(ctx, s, "../escape", State{On: true}); err == nil {
		t.Error("stored an unsafe name")
	}
	if _, err := os.Stat(filepath.Join(dir, "upstream_errors", "maintenance", "shop")); err != nil {
		t.Errorf("not under the documented key: %v", err)
	}
	// something else under the prefix, and what file_system storage
	// writes a key through: a temporary file named with digits only
	for _, name := range []string{".hidden", "2357785124"} {
		if err := os.WriteFile(filepath.Join(dir, "upstream_errors", "maintenance", name), []byte(`{"on":true}`), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	all, err := List(ctx, s)
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 2 || !all["shop"].State.On || !all["shop"].State.Until.Equal(until) || all["blog"].State.On ||
		all["shop"].Err != nil || all["blog"].Err != nil {
		t.Errorf("listed %+v, want shop on until %s and blog off", all, until)
	}
	if _, err := Parse([]byte("garbage")); err == nil {
		t.Error("garbage parsed as a state")
	}
}

// A key that cannot be read or parsed is listed with its error beside the
// good ones, instead of failing the list.
func TestListBadKey(t *testing.T) {
	dir := t.TempDir()
	s := &certmagic.FileStorage{Path: dir}
	ctx := context.Background()
	if err := Store(ctx, s, "shop", State{On: true}); err != nil {
		t.Fatal(err)
	}
	prefix := filepath.Join(dir, "upstream_errors", "maintenance")
	if err := os.WriteFile(filepath.Join(prefix, "garbage"), []byte("not json"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(prefix, "dir"), 0o700); err != nil {
		t.Fatal(err)
	}
	all, err := List(ctx, s)
	if err != nil {
		t.Fatalf("a bad key failed the whole list: %v", err)
	}
	if l := all["shop"]; !l.State.On || l.Err != nil {
		t.Errorf("shop listed %+v, want on", l)
	}
	for _, bad := range []string{"garbage", "dir"} {
		if l, ok := all[bad]; !ok || l.Err == nil || l.State != (State{}) {
			t.Errorf("%s listed %+v (present: %v), want its error and no state", bad, l, ok)
		}
	}
}

// counting is a file_system storage counting the reads of values.
type counting struct {
	certmagic.FileStorage
	loads atomic.Int64
}

func (c *counting) Load(ctx context.Context, key string) ([]byte, error) {
	c.loads.Add(1)
	return c.FileStorage.Load(ctx, key)
}

// A value too long to be a state is refused by its size, without being
// read; a storage that does not know the size has it read and refused.
func TestLoadRefusesLongValueUnread(t *testing.T) {
	s := &counting{FileStorage: certmagic.FileStorage{Path: t.TempDir()}}
	ctx := context.Background()
	long := fmt.Appendf(nil, `{"on":true,"pad":"%s"}`, strings.Repeat("x", maxState))
	if err := s.Store(ctx, Key("shop"), long); err != nil {
		t.Fatal(err)
	}
	_, err := Load(ctx, s, "shop")
	if want := fmt.Sprintf("stored state is %d bytes, longer than %d", len(long), maxState); err == nil || err.Error() != want {
		t.Errorf("Load: %v, want %q", err, want)
	}
	if n := s.loads.Load(); n != 0 {
		t.Errorf("the long value was read %d times, want never", n)
	}
	all, err := List(ctx, s)
	if err != nil || all["shop"].Err == nil {
		t.Errorf("listed %+v, %v; want shop with an error", all, err)
	}
	if n := s.loads.Load(); n != 0 {
		t.Errorf("listing read the long value %d times, want never", n)
	}

	unknown := &sizeUnknown{FileStorage: s.FileStorage}
	if _, err := Load(ctx, unknown, "shop"); err == nil || !strings.Contains(err.Error(), "longer than") {
		t.Errorf("with the size unknown: %v, want the value refused once read", err)
	}
}

// sizeUnknown is a storage whose Stat reports no size.
type sizeUnknown struct{ certmagic.FileStorage }

func (s *sizeUnknown) Stat(ctx context.Context, key string) (certmagic.KeyInfo, error) {
	info, err := s.FileStorage.Stat(ctx, key)
	info.Size = 0
	return info, err
}

// Lists racing writes never fail and never show what is not a window:
// file_system storage writes each key through a temporary file in the
// same directory, which a list may see, half-written or gone.
func TestListWhileWriting(t *testing.T) {
	s := &certmagic.FileStorage{Path: t.TempDir()}
	ctx := context.Background()
	names := []string{"shop", "blog", "api"}
	for _, n := range names {
		if err := Store(ctx, s, n, State{}); err != nil {
			t.Fatal(err)
		}
	}
	const each = 200
	var (
		wg     sync.WaitGroup
		mu     sync.Mutex
		failed = map[string]int{} // each kind of failure, how often
	)
	fail := func(format string, args ...any) {
		mu.Lock()
		failed[fmt.Sprintf(format, args...)]++
		mu.Unlock()
	}
	for i := range each {
		wg.Go(func() {
			if err := Store(ctx, s, names[i%len(names)], State{On: i%2 == 0, Changed: time.Now()}); err != nil {
				fail("store failed: %v", err)
			}
		})
		wg.Go(func() {
			all, err := List(ctx, s)
			if err != nil {
				fail("list failed: %v", err)
				return
			}
			for name, l := range all {
				switch {
				case name != "shop" && name != "blog" && name != "api":
					fail("listed a window that is not one")
				case l.Err != nil:
					fail("listed %s with an error: %v", name, l.Err)
				}
			}
		})
	}
	wg.Wait()
	for what, n := range failed {
		t.Errorf("%s (%d times)", what, n)
	}
}

// Followed tells, by name, whether something follows a window until it
// stops, counting each follower.
func TestFollowed(t *testing.T) {
	if Followed("followed-test") {
		t.Fatal("followed before anyone follows it")
	}
	a := Follow("followed-test")
	b := Follow("followed-test")
	a()
	a() // once only
	if !Followed("followed-test") || Followed("followed-test2") {
		t.Error("one follower left: want followed, and no other name")
	}
	b()
	if Followed("followed-test") {
		t.Error("followed after the last follower stopped")
	}
}
