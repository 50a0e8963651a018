// Package recent keeps the process's last failures answered, for the
// admin API's /upstream_errors/recent: a ring of fixed-size slots shared
// by every handler and kept across config reloads.
package recent

import (
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/caddy-upstream-errors/caddy-upstream-errors/internal/textsafe"
)

// Bounds of the ring's size.
const (
	Default = 100
	Max     = 10000
)

// requestIDBytes is what is kept of a request ID: the handler takes one of
// at most 128 bytes from a request.
const requestIDBytes = 128

// Failure is one failure the module answered, as the admin API shows it.
// The path has no query string: queries carry tokens.
type Failure struct {
	Time           time.Time `json:"time"`
	Server         string    `json:"server"`
	Host           string    `json:"host"`
	Method         string    `json:"method"`
	Path           string    `json:"path"`
	Status         int       `json:"status"`
	Cause          string    `json:"cause"`
	Upstream       string    `json:"upstream"`
	UpstreamStatus int       `json:"upstream_status,omitempty"`
	RequestID      string    `json:"request_id,omitempty"`
	// Duration is how long the request had run when it was answered,
	// in seconds, as Caddy's access log counts it.
	Duration float64 `json:"duration"`
	Error    string  `json:"error,omitempty"`
}

// The text fields of a slot, each copied into its own fixed region of the
// slot's array, so a write is one bounded copy that keeps no reference to
// the request (a path can be a megabyte; a substring would keep it all).
const (
	rfHost = iota
	rfMethod
	rfPath
	rfUpstream
	rfRequestID
	rfError
	rfCount
)

// recentCaps are the bytes kept of each text field; a longer value is cut
// and marked with an ellipsis when read.
var recentCaps = [rfCount]int{
	rfHost:      256,
	rfMethod:    32,
	rfPath:      512,
	rfUpstream:  256,
	rfRequestID: requestIDBytes,
	rfError:     512,
}

// recentOffsets are where each field starts in a slot's array.
var recentOffsets = func() (o [rfCount]int) {
	for i := 1; i < rfCount; i++ {
		o[i] = o[i-1] + recentCaps[i-1]
	}
	return o
}()

const recentBytes = 256 + 32 + 512 + 256 + requestIDBytes + 512

// recentSlot is one failure in the ring: fixed size, no pointers into the
// request. server and cause come from the config and the cause table.
type recentSlot struct {
	at             time.Time
	duration       time.Duration
	server, cause  string
	status         int32
	upstreamStatus int32
	lens           [rfCount]uint16
	cut            [rfCount]bool
	text           [recentBytes]byte
}

func (s *recentSlot) set(field int, v string) {
	off, c := recentOffsets[field], recentCaps[field]
	n := copy(s.text[off:off+c], v)
	s.lens[field] = uint16(n)
	s.cut[field] = n < len(v)
}

// redacted is what stands for a query in an error text.
const redacted = "…"

// setRedacted is set with each occurrence in v of a non-empty one of
// queries written as redacted.
func (s *recentSlot) setRedacted(field int, v string, queries *[2]string) {
	off, c := recentOffsets[field], recentCaps[field]
	n, cut := copyRedacted(s.text[off:off+c], v, queries)
	s.lens[field] = uint16(n)
	s.cut[field] = cut
}

// copyRedacted copies v into dst with each occurrence of a non-empty one
// of queries written as redacted, returning the bytes written and whether
// v was cut. The queries are found in the whole of v, so a cut never
// leaves the start of one.
func copyRedacted(dst []byte, v string, queries *[2]string) (n int, cut bool) {
	for {
		i, size := firstOf(v, queries)
		if i < 0 {
			k := copy(dst[n:], v)
			return n + k, k < len(v)
		}
		k := copy(dst[n:], v[:i])
		if n += k; k < i {
			return n, true
		}
		k = copy(dst[n:], redacted)
		if n += k; k < len(redacted) {
			return n, true // get drops the split character and marks the cut
		}
		v = v[i+size:]
	}
}

// firstOf returns where the first of the non-empty strings of qs is in v,
// the longer one where two start at the same place, and its length; -1
// if none is.
func firstOf(v string, qs *[2]string) (at, size int) {
	at = -1
	for _, q := range qs {
		if q == "" {
			continue
		}
		if i := strings.Index(v, q); i >= 0 && (at < 0 || i < at || i == at && len(q) > size) {
			at, size = i, len(q)
		}
	}
	return at, size
}

// get returns a field as safe text: invalid UTF-8 (a value cut in a
// character included) and control or bidi characters are dropped as in the
// plain-text body, and a cut value ends in an ellipsis.
func (s *recentSlot) get(field int) string {
	off := recentOffsets[field]
	v := string(s.text[off : off+int(s.lens[field])])
	if s.cut[field] {
		// drop a character the cut split
		for len(v) > 0 {
			r, size := utf8.DecodeLastRuneInString(v)
			if r != utf8.RuneError || size > 1 {
				break
			}
			v = v[:len(v)-1]
		}
		v += "…"
	}
	return textsafe.StripControl(v)
}

// recentRing is the process-wide buffer of the last failures answered.
// Its size is the largest that the loaded handlers configure.
var recentRing = struct {
	sync.Mutex
	slots []recentSlot
	next  uint64 // total writes; the newest is at (next-1) % len(slots)
	sizes map[any]int
}{sizes: make(map[any]int)}

// Register sizes the ring for a provisioned handler, owner, that keeps n
// failures; a size out of 1 to Max counts as Default (0 is the default,
// and the handler's Validate refuses the rest).
func Register(owner any, n int) {
	if n <= 0 || n > Max {
		n = Default
	}
	recentRing.Lock()
	defer recentRing.Unlock()
	recentRing.sizes[owner] = n
	resizeRecent()
}

// Unregister lets the ring shrink to what the handlers still loaded
// configure, once a reload has cleaned up the old config. The last one
// gone (Caddy stopping), what was kept stays readable.
func Unregister(owner any) {
	recentRing.Lock()
	defer recentRing.Unlock()
	if _, ok := recentRing.sizes[owner]; !ok {
		return
	}
	delete(recentRing.sizes, owner)
	if len(recentRing.sizes) > 0 {
		resizeRecent()
	}
}

// resizeRecent gives the ring the largest configured size, keeping the
// newest entries. The caller holds the lock.
func resizeRecent() {
	size := 0
	for _, n := range recentRing.sizes {
		size = max(size, n)
	}
	old := recentRing.slots
	if size == len(old) {
		return
	}
	slots := make([]recentSlot, size)
	kept := min(uint64(len(old)), recentRing.next, uint64(size))
	// oldest kept first, so the newest lands at kept-1
	for i := range kept {
		src := (recentRing.next - kept + i) % uint64(len(old))
		slots[i] = old[src]
	}
	recentRing.slots = slots
	recentRing.next = kept
}

// Entry is a failure to record. The text fields are copied, each cut to
// its bound, so the ring keeps no reference to the request.
type Entry struct {
	At                     time.Time
	Duration               time.Duration
	Server, Cause          string // from the config and the cause table
	Status, UpstreamStatus int
	Host, Method, Path     string
	Upstream, RequestID    string
	Error                  string
	// Queries are the request's raw query strings, as received and as
	// rewritten: wherever Error or Upstream quotes one (a URL in a
	// transport error, {uri} in an error directive's message, a dial
	// address made of the request), it is kept as "…", for queries carry
	// tokens.
	Queries [2]string
}

// Record writes e into the ring: one fixed-size copy under a lock held
// for nothing else. It allocates nothing.
func Record(e *Entry) {
	recentRing.Lock()
	defer recentRing.Unlock()
	if len(recentRing.slots) == 0 {
		return
	}
	s := &recentRing.slots[recentRing.next%uint64(len(recentRing.slots))]
	recentRing.next++
	s.at, s.duration = e.At, e.Duration
	s.server, s.cause = e.Server, e.Cause
	s.status, s.upstreamStatus = int32(e.Status), int32(e.UpstreamStatus)
	s.set(rfHost, e.Host)
	s.set(rfMethod, e.Method)
	s.set(rfPath, e.Path)
	s.setRedacted(rfUpstream, e.Upstream, &e.Queries)
	s.set(rfRequestID, e.RequestID)
	s.setRedacted(rfError, e.Error, &e.Queries)
}

// List returns up to limit of the last failures answered by this process,
// newest first; only those of cause if it is not empty. A limit of 0 or
// less returns every one kept.
func List(limit int, cause string) []Failure {
	recentRing.Lock()
	defer recentRing.Unlock()
	n := uint64(len(recentRing.slots))
	have := min(n, recentRing.next)
	if limit <= 0 || uint64(limit) > have {
		limit = int(have)
	}
	out := make([]Failure, 0, limit)
	for i := uint64(0); i < have && len(out) < limit; i++ {
		s := &recentRing.slots[(recentRing.next-1-i)%n]
		if cause != "" && s.cause != cause {
			continue
		}
		out = append(out, Failure{
			Time:           s.at,
			Server:         s.server,
			Host:           s.get(rfHost),
			Method:         s.get(rfMethod),
			Path:           s.get(rfPath),
			Status:         int(s.status),
			Cause:          s.cause,
			Upstream:       s.get(rfUpstream),
			UpstreamStatus: int(s.upstreamStatus),
			RequestID:      s.get(rfRequestID),
			Duration:       s.duration.Seconds(),
			Error:          s.get(rfError),
		})
	}
	return out
}
