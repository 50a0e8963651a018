package upstreamerrors

import "testing"

func TestSameJSONShape(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want bool
	}{
		{`{"n": [5], "s": "x"}`, `{"n": [0], "s": "0"}`, true},
		{`{"n": [], "s": ""}`, `{"n": [], "s": ""}`, true},
		{`{"n": [1,2]}`, `{"n": [0]}`, false},
		{`{"n": [true]}`, `{"n": [0]}`, false},
		{`{"n": [null]}`, `{"n": [0]}`, false},
		{`{"n": ["1"]}`, `{"n": [0]}`, false},
		{`{"n": [{}]}`, `{"n": [[]]}`, false},
		{`{"n": [0], "x": 1}`, `{"n": [0]}`, false},
	} {
		t.Run(tc.a, func(t *testing.T) {
			if got := sameJSONShape([]byte(tc.a), []byte(tc.b)); got != tc.want {
				t.Errorf("sameJSONShape(%s, %s) = %v, want %v", tc.a, tc.b, got, tc.want)
			}
		})
	}
}
