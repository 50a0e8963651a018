package caddyfile_test

import (
	"strings"
	"testing"
)

// A bad value is reported at its own line wherever the directive sits:
// in a snippet imported into a handle block (with the import chain), and
// nested in another handle block, not at the line where a block ends.
func TestAdaptErrorsInSiteShapes(t *testing.T) {
	for _, tc := range []struct {
		name, file, want string
	}{
		{
			name: "snippet imported into a handle block",
			file: "(errors) {\n\tupstream_errors {\n\t\tretry_after 25h\n\t}\n}\n" +
				":8080 {\n\thandle /api/* {\n\t\timport errors\n\t\treverse_proxy legacy:8080\n\t}\n}\n",
			want: "retry_after: 25h0m0s is longer than the maximum, 24h0m0s, at Caddyfile:3 import chain ['Caddyfile:8 (import errors)']",
		},
		{
			name: "maintenance in a handle block",
			file: ":8080 {\n\thandle {\n\t\tupstream_errors {\n\t\t\tmaintenance {\n\t\t\t\twindow shop\n" +
				"\t\t\t\tallow 10.0.0.0/8\n\t\t\t\tallow 10.0.0.300\n\t\t\t}\n\t\t}\n\t\treverse_proxy legacy:8080\n\t}\n}\n",
			want: `maintenance: allow: "10.0.0.300" is not an IP address or CIDR range (such as 10.0.0.0/8), at Caddyfile:7`,
		},
		{
			name: "site level over handle blocks",
			file: ":8080 {\n\tupstream_errors {\n\t\tstatus timeout 404\n\t}\n\thandle /a/* {\n\t\treverse_proxy legacy:8080\n\t}\n}\n",
			want: `status: "timeout" maps to 404, which is not 500-599: upstream failures are answered with a 5xx status, at Caddyfile:3`,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := adapt(t, tc.file)
			if err == nil || !strings.Contains(err.Error(), "'upstream_errors': "+tc.want) {
				t.Errorf("got %v\nwant it to contain %s", err, tc.want)
			}
		})
	}
}
