package taxonomy

import (
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
)

// docTable returns the rows of the markdown table in doc whose header row
// is header, each as its cells.
func docTable(t *testing.T, doc, header string) [][]string {
	t.Helper()
	i := strings.Index(doc, header+"\n")
	if i < 0 {
		t.Fatalf("docs/reference.md has no table %q", header)
	}
	var rows [][]string
	j := 0
	for line := range strings.SplitSeq(doc[i:], "\n") {
		if !strings.HasPrefix(line, "|") {
			break
		}
		if j++; j <= 2 {
			continue // the header and its rule
		}
		var cells []string
		for c := range strings.SplitSeq(strings.Trim(line, "|"), " | ") {
			cells = append(cells, strings.TrimSpace(c))
		}
		rows = append(rows, cells)
	}
	return rows
}

var codeSpan = regexp.MustCompile("^`([a-z_0-9]+)`$")

func causeName(t *testing.T, cell string) string {
	t.Helper()
	m := codeSpan.FindStringSubmatch(cell)
	if m == nil {
		t.Fatalf("cause cell %q is not a code span", cell)
	}
	return m[1]
}

// The reference's cause tables are what users read: they list the same
// causes as the table the module answers from, with the same status,
// Proxy-Status error and log level.
func TestReferenceMatchesTable(t *testing.T) {
	raw, err := os.ReadFile("../../docs/reference.md")
	if err != nil {
		t.Fatal(err)
	}
	doc := string(raw)
	errorType := regexp.MustCompile("`error=([a-z_]+)`")

	var upstream []string
	for _, row := range docTable(t, doc, "| cause | when | status | `Proxy-Status` |") {
		name := causeName(t, row[0])
		upstream = append(upstream, name)
		c, ok := Lookup(name)
		if !ok {
			t.Errorf("%s: documented, not in the table", name)
			continue
		}
		if n, err := strconv.Atoi(row[2][:3]); err != nil || n != c.Status {
			t.Errorf("%s: documented status %q, table %d", name, row[2], c.Status)
		}
		if retry := strings.Contains(row[2], "Retry-After"); retry != (c.Status == 503) {
			t.Errorf("%s: documented status %q: Retry-After goes with every 503", name, row[2])
		}
		m := errorType.FindStringSubmatch(row[3])
		switch {
		case c.ProxyError == "" && !strings.Contains(row[3], "received-status="):
			t.Errorf("%s: documented Proxy-Status %q, table received-status", name, row[3])
		case c.ProxyError != "" && (m == nil || m[1] != c.ProxyError):
			t.Errorf("%s: documented Proxy-Status %q, table error=%s", name, row[3], c.ProxyError)
		}
	}
	var want []string
	for _, c := range Table {
		if c.Class == Upstream && c.Answered {
			want = append(want, c.Name)
		}
	}
	if slices.Sort(upstream); !slices.Equal(upstream, sorted(want)) {
		t.Errorf("documented upstream causes %v, table %v", upstream, sorted(want))
	}
	if !strings.Contains(doc, "`"+HTTPResponseIncomplete+"`") {
		t.Errorf("%s is not documented", HTTPResponseIncomplete)
	}

	var client []string
	for _, row := range docTable(t, doc, "| cause | when | answer | logged |") {
		name := causeName(t, row[0])
		client = append(client, name)
		c, ok := Lookup(name)
		if !ok || c.Class != Client {
			t.Errorf("%s: documented as the client's, table %+v", name, c)
			continue
		}
		if !strings.HasSuffix(row[3], c.Level.CapitalString()) {
			t.Errorf("%s: documented logged %q, table level %s", name, row[3], c.Level.CapitalString())
		}
		if c.Answered != strings.HasPrefix(row[2], strconv.Itoa(c.Status)) {
			t.Errorf("%s: documented answer %q, table status %d", name, row[2], c.Status)
		}
		if c.ProxyError != "" && !strings.Contains(row[2], "error="+c.ProxyError) {
			t.Errorf("%s: documented answer %q lacks error=%s", name, row[2], c.ProxyError)
		}
	}
	want = nil
	for _, c := range Table {
		if c.Class == Client {
			want = append(want, c.Name)
		}
	}
	if slices.Sort(client); !slices.Equal(client, sorted(want)) {
		t.Errorf("documented client causes %v, table %v", client, sorted(want))
	}

	rows := docTable(t, doc, "| cause | when |")
	site := make([]string, 0, len(rows))
	for _, row := range rows {
		site = append(site, causeName(t, row[0]))
	}
	if slices.Sort(site); !slices.Equal(site, sorted(SiteCauses)) {
		t.Errorf("documented causes of the site's own errors %v, table %v", site, sorted(SiteCauses))
	}
}

func sorted(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}

// Every cause is answered with a detail and has one entry; a cause that
// is only logged has no status or detail to send.
func TestTableIsConsistent(t *testing.T) {
	seen := map[string]bool{}
	for _, c := range Table {
		if seen[c.Name] {
			t.Errorf("%s: twice", c.Name)
		}
		seen[c.Name] = true
		d := Detail(c.Name, c.Status, 0, c.Class == Site)
		if c.Answered && d == "" {
			t.Errorf("%s: no detail", c.Name)
		}
		if !c.Answered && (c.Status != 0 || c.Detail != "" || c.ProxyError != "") {
			t.Errorf("%s: only logged, but has an answer: %+v", c.Name, c)
		}
		if c.Timeout && c.Status != 504 {
			t.Errorf("%s: a timeout answered %d", c.Name, c.Status)
		}
	}
}

func TestGRPCCode(t *testing.T) {
	for _, tc := range []struct {
		cause  string
		status int
		want   codes.Code
	}{
		{HTTPResponseTimeout, 504, codes.DeadlineExceeded},
		{ConnectionReadTimeout, 504, codes.DeadlineExceeded},
		// the request never reached an upstream: safe to retry
		{ConnectionTimeout, 504, codes.Unavailable},
		{ConnectionRefused, 502, codes.Unavailable},
		{HTTPResponseStatus, 404, codes.Unimplemented},
		{ClientBodyIncomplete, 400, codes.Internal},
		{HTTPRequestDenied, 401, codes.Unauthenticated},
		{ProxyInternalResponse, 501, codes.Unknown},
	} {
		if got := GRPCCode(tc.cause, tc.status); got != tc.want {
			t.Errorf("GRPCCode(%s, %d) = %v, want %v", tc.cause, tc.status, got, tc.want)
		}
	}
}
