// Package window keeps the named maintenance windows in Caddy's storage,
// shared by the handler, the admin API and the caddy subcommand.
package window

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"strings"
	"sync"
	"time"

	"github.com/caddyserver/certmagic"
)

// Named maintenance windows live in the storage Caddy is configured with
// (the `storage` global option), one key per window:
//
//	upstream_errors/maintenance/<window>
//
// holding a State as JSON. The handler and the admin API share the
// state only through these keys, so every Caddy process using the same
// storage follows the same windows. A window that has no key is off.
const KeyPrefix = "upstream_errors/maintenance/"

// Key returns the storage key of the window named name.
func Key(name string) string { return KeyPrefix + name }

// State is a named maintenance window's state, as stored.
type State struct {
	// On is true while the window is in progress.
	On bool `json:"on"`

	// Until is the announced end of the window, zero if none was given.
	// Retry-After counts the seconds left until it; the window stays on
	// until it is turned off.
	Until time.Time `json:"until,omitzero"`

	// Changed is when the state was last written.
	Changed time.Time `json:"changed,omitzero"`
}

// maxName bounds a window name; it is part of a storage key and a URL.
const maxName = 64

// ValidateName checks a window name: 1 to 64 letters, digits, '.',
// '-' or '_', starting with a letter, so it is safe as a storage key, a
// file name and a URL path segment, and never one of the digits-only
// names file_system storage gives its temporary files while it writes a
// key.
func ValidateName(name string) error {
	if name == "" {
		return errors.New("a window name is required")
	}
	if len(name) > maxName {
		return fmt.Errorf("window name %q is longer than %d characters", name, maxName)
	}
	for i, c := range name {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z':
		case i > 0 && (c >= '0' && c <= '9' || c == '.' || c == '-' || c == '_'):
		default:
			return fmt.Errorf("window name %q may hold only letters, digits, '.', '-' and '_', and must start with a letter", name)
		}
	}
	return nil
}

// maxState bounds a stored state: what is read of it and what is parsed.
const maxState = 4096

// checkSize refuses a stored state of size bytes that is too long to be
// one, before it is read.
func checkSize(size int64) error {
	if size > maxState {
		return fmt.Errorf("stored state is %d bytes, longer than %d", size, maxState)
	}
	return nil
}

// Parse decodes a stored state.
func Parse(b []byte) (State, error) {
	var st State
	if err := checkSize(int64(len(b))); err != nil {
		return st, err
	}
	if err := json.Unmarshal(b, &st); err != nil {
		return State{}, fmt.Errorf("stored state is not valid JSON: %v", err)
	}
	return st, nil
}

// Load reads the window named name from s; a window without a key
// is off. The key's size is looked at first, so a value too long to be a
// state is refused without being read; a storage that reports a size of
// 0 (unknown) has the value read, and refused after.
func Load(ctx context.Context, s certmagic.Storage, name string) (State, error) {
	key := Key(name)
	info, err := s.Stat(ctx, key)
	if errors.Is(err, fs.ErrNotExist) {
		return State{}, nil
	}
	if err != nil {
		return State{}, err
	}
	if err := checkSize(info.Size); err != nil {
		return State{}, err
	}
	b, err := s.Load(ctx, key)
	if errors.Is(err, fs.ErrNotExist) {
		return State{}, nil
	}
	if err != nil {
		return State{}, err
	}
	return Parse(b)
}

// Store writes the window named name to s.
func Store(ctx context.Context, s certmagic.Storage, name string, st State) error {
	if err := ValidateName(name); err != nil {
		return err
	}
	b, err := json.Marshal(st)
	if err != nil {
		return err
	}
	return s.Store(ctx, Key(name), b)
}

// Listed is a window as List found it: its state, or why it could not be
// read.
type Listed struct {
	State State
	// Err is why the window's key could not be read or parsed; State is
	// then zero.
	Err error
}

// List reads every window stored in s, by name. Keys that are not a
// window's (among them the temporary files file_system storage writes a
// key through) are left out; a window whose key cannot be read or parsed
// is listed with the error, so one bad key does not hide the others.
func List(ctx context.Context, s certmagic.Storage) (map[string]Listed, error) {
	keys, err := s.List(ctx, strings.TrimSuffix(KeyPrefix, "/"), false)
	if errors.Is(err, fs.ErrNotExist) {
		keys, err = nil, nil
	}
	if err != nil {
		return nil, err
	}
	out := make(map[string]Listed, len(keys))
	for _, k := range keys {
		name := path.Base(k)
		if ValidateName(name) != nil || Key(name) != k {
			continue
		}
		st, err := Load(ctx, s, name)
		if err != nil && ctx.Err() != nil {
			// out of time: the rest would fail the same way
			return nil, err
		}
		out[name] = Listed{State: st, Err: err}
	}
	return out, nil
}

// followed counts, by window name, the readers of this process following
// a window for its handlers.
var followed struct {
	sync.Mutex
	n map[string]int
}

// Follow records that a handler of this process follows the window named
// name, until the returned function is called (once).
func Follow(name string) (unfollow func()) {
	followed.Lock()
	defer followed.Unlock()
	if followed.n == nil {
		followed.n = make(map[string]int)
	}
	followed.n[name]++
	return sync.OnceFunc(func() {
		followed.Lock()
		defer followed.Unlock()
		if followed.n[name]--; followed.n[name] <= 0 {
			delete(followed.n, name)
		}
	})
}

// Followed reports whether a handler of this process follows the window
// named name.
func Followed(name string) bool {
	followed.Lock()
	defer followed.Unlock()
	return followed.n[name] > 0
}
