package caddyfile_test

import "testing"

func TestAdaptPassJSON(t *testing.T) {
	for _, tc := range []struct{ block, want string }{
		{"pass_json 4xx 5xx", `{"handler":"upstream_errors","intercept":["4xx","5xx"],"pass_json":["4xx","5xx"]}`},
		{"pass_json 5xx", `{"handler":"upstream_errors","intercept":["4xx","5xx"],"pass_json":["5xx"]}`},
		// off must survive the JSON: an empty list, not a missing field
		{"pass_json off", `{"handler":"upstream_errors","intercept":["4xx","5xx"],"pass_json":[]}`},
	} {
		t.Run(tc.block, func(t *testing.T) {
			got, err := adapt(t, site("\tupstream_errors {\n\t\tintercept 4xx 5xx\n\t\t"+tc.block+"\n\t}\n\treverse_proxy legacy:8080"))
			if err != nil {
				t.Fatalf("%s: %v", tc.block, err)
			}
			if want := compact(t, routeJSON(tc.want+","+proxyJSON)); compact(t, got) != want {
				t.Errorf("%s:\n got %s\nwant %s", tc.block, compact(t, got), want)
			}
		})
	}
}

func TestAdaptPassJSONErrors(t *testing.T) {
	const prefix = "parsing caddyfile tokens for 'upstream_errors': "
	for _, tc := range []struct{ block, want string }{
		{"pass_json", "pass_json needs status classes (4xx, 5xx) or off, at Caddyfile:3"},
		{"pass_json json", `pass_json: "json" is not a status class; want 4xx or 5xx (or off for none), at Caddyfile:3`},
		{"pass_json 404", `pass_json: "404" is not a status class; want 4xx or 5xx (or off for none), at Caddyfile:3`},
		{"pass_json off 4xx", `pass_json: off cannot be combined with classes ["4xx"], at Caddyfile:3`},
		{"pass_json 4xx\n\t\tpass_json 5xx", "pass_json: set twice; give it once, at Caddyfile:4"},
	} {
		t.Run(tc.block, func(t *testing.T) {
			_, err := adapt(t, site("\tupstream_errors {\n\t\t"+tc.block+"\n\t}\n\treverse_proxy legacy:8080"))
			if err == nil || err.Error() != prefix+tc.want {
				t.Errorf("%q:\n got %v\nwant %s", tc.block, err, prefix+tc.want)
			}
		})
	}
}
