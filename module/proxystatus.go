package upstreamerrors

import (
	"sync"
	"sync/atomic"

	"github.com/dunglas/httpsfv"

	"github.com/caddy-upstream-errors/caddy-upstream-errors/internal/taxonomy"
)

// proxyStatus returns the Proxy-Status field value (RFC 9209) for f: the
// received status for a replaced response, the cause's error type for a
// failure. The values are serialized once per name by httpsfv and looked
// up here, so a response costs no formatting and no allocation.
func proxyStatus(name string, f failure) string {
	t := proxyStatusFor(name)
	if f.upstreamStatus != 0 && !f.invalid {
		if f.upstreamStatus >= 100 && f.upstreamStatus < len(t.received) {
			return t.received[f.upstreamStatus]
		}
		return t.bare
	}
	if v, ok := t.errors[f.cause]; ok {
		return v
	}
	return t.errors[causeUpstreamError]
}

// proxyStatusValues are the serialized Proxy-Status values for one name.
type proxyStatusValues struct {
	name     string
	bare     string
	errors   map[string]string // by cause
	received [600]string       // by upstream status
}

var (
	proxyStatusMu     sync.Mutex
	proxyStatusTables atomic.Pointer[[]*proxyStatusValues]
)

// proxyStatusFor returns the values for name, building them on first use.
// Configured names are few, so the published list is scanned without a
// lock or an allocation.
func proxyStatusFor(name string) *proxyStatusValues {
	if p := proxyStatusTables.Load(); p != nil {
		for _, t := range *p {
			if t.name == name {
				return t
			}
		}
	}
	proxyStatusMu.Lock()
	defer proxyStatusMu.Unlock()
	var list []*proxyStatusValues
	if p := proxyStatusTables.Load(); p != nil {
		for _, t := range *p {
			if t.name == name {
				return t
			}
		}
		list = append(list, *p...)
	}
	t := buildProxyStatus(name)
	list = append(list, t)
	proxyStatusTables.Store(&list)
	return t
}

// buildProxyStatus serializes every value name can be sent with.
func buildProxyStatus(name string) *proxyStatusValues {
	t := &proxyStatusValues{name: name, errors: make(map[string]string, len(causes))}
	t.bare = marshalProxyStatus(name, "", nil)
	for _, c := range taxonomy.Table {
		switch {
		case !c.Answered:
		case c.ProxyError != "":
			t.errors[c.Name] = marshalProxyStatus(name, "error", httpsfv.Token(c.ProxyError))
		default:
			// a replaced response says received-status instead
			t.errors[c.Name] = t.bare
		}
	}
	for s := 100; s < len(t.received); s++ {
		t.received[s] = marshalProxyStatus(name, "received-status", int64(s))
	}
	return t
}

// marshalProxyStatus serializes a one-member list: name as a token when it
// is one (as in RFC 9209's examples), an sf-string otherwise, with one
// parameter unless key is empty.
func marshalProxyStatus(name, key string, value any) string {
	var bare any = httpsfv.Token(name)
	if !isSFToken(name) {
		bare = name
	}
	item := httpsfv.NewItem(bare)
	if key != "" {
		item.Params.Add(key, value)
	}
	s, err := httpsfv.Marshal(httpsfv.List{item})
	if err != nil && name != DefaultProxyStatusName {
		// validProxyStatusName keeps unserializable names out of the
		// config; this is the last resort for one that got through
		return marshalProxyStatus(DefaultProxyStatusName, key, value)
	}
	return s
}

// isSFToken reports whether s is an RFC 8941 token.
func isSFToken(s string) bool {
	if s == "" {
		return false
	}
	if c := s[0]; (c < 'a' || c > 'z') && (c < 'A' || c > 'Z') && c != '*' {
		return false
	}
	for i := 1; i < len(s); i++ {
		c := s[i]
		if !validTokenByte(c) && c != ':' && c != '/' {
			return false
		}
	}
	return true
}

// validProxyStatusName reports whether s can be sent as an sf-string:
// printable ASCII only.
func validProxyStatusName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return false
		}
	}
	return true
}
