package window

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/caddyserver/certmagic"
)

func TestValidateWindowName(t *testing.T) {
	for _, ok := range []string{"shop", "a", "Shop-2.eu_west", "0"} {
		if err := ValidateName(ok); err != nil {
			t.Errorf("%q: %v", ok, err)
		}
	}
	for _, bad := range []string{"", ".", "..", ".shop", "-shop", "a/b", "../x", `a\b`, "a b", "shop%2F", "é", string(make([]byte, 65))} {
		if err := ValidateName(bad); err == nil {
			t.Errorf("%q: accepted", bad)
		}
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
	// something else under the prefix
	if err := os.WriteFile(filepath.Join(dir, "upstream_errors", "maintenance", ".hidden"), []byte("{}"), 0o600); err != nil {
		t.Fatal(err)
	}
	all, err := List(ctx, s)
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 2 || !all["shop"].On || !all["shop"].Until.Equal(until) || all["blog"].On {
		t.Errorf("listed %+v, want shop on until %s and blog off", all, until)
	}
	if _, err := Parse([]byte("garbage")); err == nil {
		t.Error("garbage parsed as a state")
	}
}
