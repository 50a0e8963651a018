package upstreamerrors

import (
	"bytes"
	"html"
	"strconv"
	"sync"
)

// bodyKey names the parts of a built-in body that depend only on the
// failure, not on the request: a handler answers few distinct ones.
type bodyKey struct {
	status int
	cause  string
	detail string
}

// bodyParts are the request-independent pieces of one built-in body.
type bodyParts struct {
	// jsonHead is the problem object up to the instance's value.
	jsonHead []byte
	// jsonCause is the cause member that follows the instance.
	jsonCause []byte
	// htmlHead and htmlTail surround the request ID on the page;
	// htmlNoID is the page for a response without one.
	htmlHead, htmlTail, htmlNoID []byte
	// headRefreshAt and noIDRefreshAt are where a refresh goes in
	// htmlHead and htmlNoID, or -1.
	headRefreshAt, noIDRefreshAt int
}

// bodyCache holds the parts of each built-in body, built on first use, so
// the error path writes a body by appending a few strings instead of
// encoding and executing templates.
type bodyCache struct {
	mu    sync.RWMutex
	parts map[bodyKey]*bodyParts
}

// maxCachedBodies bounds the cache; the keys come from fixed tables, so
// it is only reached by a status_map spanning many statuses.
const maxCachedBodies = 4096

// bodyParts returns the parts for v, building them on first use.
func (h *Handler) bodyParts(v *bodyValues) *bodyParts {
	k := bodyKey{status: v.Status, cause: v.Cause, detail: v.Detail}
	c := h.bodies
	if c != nil {
		c.mu.RLock()
		p := c.parts[k]
		c.mu.RUnlock()
		if p != nil {
			return p
		}
	}
	p := h.buildParts(v)
	if c != nil {
		c.mu.Lock()
		if c.parts == nil {
			c.parts = make(map[bodyKey]*bodyParts)
		}
		if len(c.parts) < maxCachedBodies {
			c.parts[k] = p
		}
		c.mu.Unlock()
	}
	return p
}

// htmlIDMark stands for the request ID while the page is split around it;
// it holds nothing the HTML escaper changes.
const htmlIDMark = "upstream-errors-request-id-mark"

// buildParts renders the request-independent parts for v.
func (h *Handler) buildParts(v *bodyValues) *bodyParts {
	p := new(bodyParts)
	b := make([]byte, 0, 192)
	b = append(b, `{"type":`...)
	b = appendJSONString(b, v.Type)
	b = append(b, `,"title":`...)
	b = appendJSONString(b, v.Title)
	b = append(b, `,"status":`...)
	b = strconv.AppendInt(b, int64(v.Status), 10)
	b = append(b, `,"detail":`...)
	b = appendJSONString(b, v.Detail)
	b = append(b, `,"instance":`...)
	p.jsonHead = b
	p.jsonCause = appendJSONString([]byte(`,"cause":`), v.Cause)

	withID := *v
	withID.RequestID = htmlIDMark
	page := renderHTML(withID)
	if head, tail, ok := bytes.Cut(page, []byte(htmlIDMark)); ok {
		p.htmlHead, p.htmlTail = head, tail
	}
	noID := *v
	noID.RequestID = ""
	p.htmlNoID = renderHTML(noID)
	p.headRefreshAt = refreshOffset(p.htmlHead)
	p.noIDRefreshAt = refreshOffset(p.htmlNoID)
	return p
}

// htmlRefreshAfter is the line of the built-in page that a refresh follows.
const htmlRefreshAfter = "<meta charset=\"utf-8\">\n"

// refreshOffset returns where a refresh goes in page, or -1.
func refreshOffset(page []byte) int {
	i := bytes.Index(page, []byte(htmlRefreshAfter))
	if i < 0 {
		return -1
	}
	return i + len(htmlRefreshAfter)
}

// appendJSONBody appends the problem object for v: the cached head, the
// request's instance and ID, then any configured members.
func (h *Handler) appendJSONBody(b []byte, p *bodyParts, v *bodyValues, members func(name string) string) []byte {
	b = append(b, p.jsonHead...)
	b = appendJSONString(b, v.Instance)
	b = append(b, p.jsonCause...)
	if v.RequestID != "" {
		b = append(b, `,"request_id":`...)
		b = appendJSONString(b, v.RequestID)
	}
	for _, name := range h.memberNames {
		b = append(b, ',')
		b = appendJSONString(b, name)
		b = append(b, ':')
		b = appendJSONString(b, members(name))
	}
	return append(b, '}', '\n')
}

// appendHTMLBody appends the page for v from its cached halves, with a
// refresh when v has one.
func appendHTMLBody(b []byte, p *bodyParts, v *bodyValues) []byte {
	withID := v.RequestID != "" && p.htmlHead != nil
	page, at := p.htmlNoID, p.noIDRefreshAt
	if withID {
		page, at = p.htmlHead, p.headRefreshAt
	}
	if v.Refresh > 0 && at >= 0 {
		b = append(b, page[:at]...)
		b = append(b, `<meta http-equiv="refresh" content="`...)
		b = strconv.AppendInt(b, int64(v.Refresh), 10)
		b = append(b, "\">\n"...)
		page = page[at:]
	}
	b = append(b, page...)
	if !withID {
		return b
	}
	b = append(b, html.EscapeString(v.RequestID)...)
	return append(b, p.htmlTail...)
}

// statusText returns the decimal status without allocating for the
// statuses HTTP defines.
func statusText(n int) string {
	if n >= 100 && n < 600 {
		return statusStrings[n-100]
	}
	return strconv.Itoa(n)
}

var statusStrings = func() (s [500]string) {
	for i := range s {
		s[i] = strconv.Itoa(i + 100)
	}
	return s
}()
