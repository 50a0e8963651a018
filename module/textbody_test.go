package upstreamerrors

import (
	"strings"
	"testing"
	"unicode"
)

// The built-in text body carries no control or bidi character from a
// request value.
func TestTextBodyStripsBidiAndC1(t *testing.T) {
	v := bodyValues{Status: 502, Title: "Bad Gateway", Detail: "d", RequestID: "id\u202egnp.exe\u009b2J"}
	out := string(renderText(v))
	if strings.ContainsFunc(out, func(r rune) bool {
		return r != '\n' && (unicode.IsControl(r) || unicode.Is(unicode.Bidi_Control, r))
	}) {
		t.Errorf("text body keeps a control or bidi character: %q", out)
	}
	if !strings.Contains(out, "Request ID: idgnp.exe2J\n") {
		t.Errorf("text body lost the visible characters: %q", out)
	}
}
