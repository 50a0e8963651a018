package upstreamerrors

import (
	"encoding/json"
	"fmt"
	"testing"
)

// appendJSONString must agree with encoding/json byte for byte, so the
// built-in body is what json.Marshal would have written.
func TestAppendJSONStringMatchesEncodingJSON(t *testing.T) {
	for _, s := range []string{
		"", "plain", `q"uote`, `back\slash`, "<script>&</script>", "tab\tnl\nbs\bff\fcr\r",
		"\x00\x01\x1f\x7f", "é漢字🙂", "\u2028\u2029", "bad\xffutf8\xc5", "\xed\xa0\x80", "/p%20ath?x=1",
	} {
		t.Run(fmt.Sprintf("%q", s), func(t *testing.T) {
			want, _ := json.Marshal(s)
			if got := appendJSONString(nil, s); string(got) != string(want) {
				t.Errorf("appendJSONString(%q) = %s, want %s", s, got, want)
			}
		})
	}
}

func FuzzAppendJSONString(f *testing.F) {
	f.Add("a\"b\\c<d>&\u2028\xff")
	f.Fuzz(func(t *testing.T, s string) {
		want, _ := json.Marshal(s)
		if got := appendJSONString(nil, s); string(got) != string(want) {
			t.Fatalf("appendJSONString(%q) = %s, want %s", s, got, want)
		}
	})
}
