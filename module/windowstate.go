package upstreamerrors

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"strings"
	"time"

	"github.com/caddyserver/certmagic"
)

// Named maintenance windows live in the storage Caddy is configured with
// (the `storage` global option), one key per window:
//
//	upstream_errors/maintenance/<window>
//
// holding a WindowState as JSON. The handler and the admin API share the
// state only through these keys, so every Caddy process using the same
// storage follows the same windows. A window that has no key is off.
const WindowKeyPrefix = "upstream_errors/maintenance/"

// WindowKey returns the storage key of the window named name.
func WindowKey(name string) string { return WindowKeyPrefix + name }

// WindowState is a named maintenance window's state, as stored.
type WindowState struct {
	// On is true while the window is in progress.
	On bool `json:"on"`

	// Until is the announced end of the window, zero if none was given.
	// Retry-After counts the seconds left until it; the window stays on
	// until it is turned off.
	Until time.Time `json:"until,omitzero"`

	// Changed is when the state was last written.
	Changed time.Time `json:"changed,omitzero"`
}

// maxWindowName bounds a window name; it is part of a storage key and a URL.
const maxWindowName = 64

// ValidateWindowName checks a window name: 1 to 64 letters, digits, '.',
// '-' or '_', starting with a letter or digit, so it is safe as a storage
// key, a file name and a URL path segment.
func ValidateWindowName(name string) error {
	if name == "" {
		return errors.New("a window name is required")
	}
	if len(name) > maxWindowName {
		return fmt.Errorf("window name %q is longer than %d characters", name, maxWindowName)
	}
	for i, c := range name {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case i > 0 && (c == '.' || c == '-' || c == '_'):
		default:
			return fmt.Errorf("window name %q may hold only letters, digits, '.', '-' and '_', and must start with a letter or digit", name)
		}
	}
	return nil
}

// maxWindowState bounds what is parsed of a stored state.
const maxWindowState = 4096

// ParseWindowState decodes a stored state.
func ParseWindowState(b []byte) (WindowState, error) {
	var st WindowState
	if len(b) > maxWindowState {
		return st, fmt.Errorf("stored state is longer than %d bytes", maxWindowState)
	}
	if err := json.Unmarshal(b, &st); err != nil {
		return WindowState{}, fmt.Errorf("stored state is not valid JSON: %v", err)
	}
	return st, nil
}

// LoadWindow reads the window named name from s; a window without a key
// is off.
func LoadWindow(ctx context.Context, s certmagic.Storage, name string) (WindowState, error) {
	b, err := s.Load(ctx, WindowKey(name))
	if errors.Is(err, fs.ErrNotExist) {
		return WindowState{}, nil
	}
	if err != nil {
		return WindowState{}, err
	}
	return ParseWindowState(b)
}

// StoreWindow writes the window named name to s.
func StoreWindow(ctx context.Context, s certmagic.Storage, name string, st WindowState) error {
	if err := ValidateWindowName(name); err != nil {
		return err
	}
	b, err := json.Marshal(st)
	if err != nil {
		return err
	}
	return s.Store(ctx, WindowKey(name), b)
}

// ListWindows reads every window stored in s, by name. Keys that are not
// a valid window are left out.
func ListWindows(ctx context.Context, s certmagic.Storage) (map[string]WindowState, error) {
	keys, err := s.List(ctx, strings.TrimSuffix(WindowKeyPrefix, "/"), false)
	if errors.Is(err, fs.ErrNotExist) {
		keys, err = nil, nil
	}
	if err != nil {
		return nil, err
	}
	out := make(map[string]WindowState, len(keys))
	for _, k := range keys {
		name := path.Base(k)
		if ValidateWindowName(name) != nil || WindowKey(name) != k {
			continue
		}
		st, err := LoadWindow(ctx, s, name)
		if err != nil {
			return nil, fmt.Errorf("window %q: %v", name, err)
		}
		out[name] = st
	}
	return out, nil
}
