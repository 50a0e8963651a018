package upstreamerrors_test

import (
	"encoding/json"
	"io"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/caddy-upstream-errors/caddy-upstream-errors/internal/testcaddy"
)

// samplingRecipe returns the global options of docs/maintenance.md's log
// sampling recipe, writing to logPath, and its numbers.
func samplingRecipe(t *testing.T, logPath string) (global string, interval time.Duration, first, thereafter int) {
	t.Helper()
	data, err := os.ReadFile("../docs/maintenance.md")
	if err != nil {
		t.Fatal(err)
	}
	var recipe string
	for _, m := range regexp.MustCompile("(?s)```caddyfile\\n(.*?)```").FindAllStringSubmatch(string(data), -1) {
		if strings.Contains(m[1], "sampling {") {
			recipe = m[1]
		}
	}
	// the global options block, without its braces
	global, _, ok := strings.Cut(strings.TrimPrefix(recipe, "{\n"), "\n}\n")
	if !ok {
		t.Fatalf("no global options block with sampling in the docs:\n%s", recipe)
	}
	output := regexp.MustCompile(`output file \S+`)
	if !output.MatchString(global) {
		t.Fatalf("the recipe writes no file:\n%s", global)
	}
	global = output.ReplaceAllString(global, "output file "+logPath)
	number := func(name string) string {
		m := regexp.MustCompile(`\b` + name + ` (\S+)`).FindStringSubmatch(global)
		if m == nil {
			t.Fatalf("the recipe has no %s", name)
		}
		return m[1]
	}
	interval, err = time.ParseDuration(number("interval"))
	if err != nil {
		t.Fatal(err)
	}
	if first, err = strconv.Atoi(number("first")); err != nil {
		t.Fatal(err)
	}
	if thereafter, err = strconv.Atoi(number("thereafter")); err != nil {
		t.Fatal(err)
	}
	return global, interval, first, thereafter
}

// With the docs' sampling recipe, a backend dying under load writes a
// bounded number of entries per interval, while every response is still
// normalized and counted.
func TestLogSamplingRecipe(t *testing.T) {
	logPath := filepath.Join(t.TempDir(), "upstream-errors.log")
	global, interval, first, thereafter := samplingRecipe(t, logPath)
	c := testcaddy.StartCaddyfile(t, "upstream_errors\nreverse_proxy "+testcaddy.ClosedPort(t),
		testcaddy.Options{Admin: true, Global: global})
	const series = `caddy_http_upstream_errors_total{cause="connection_refused",class="5xx",server="srv0",status="502"}`
	counted := scrape(t, c, series)

	const requests, clients = 600, 8
	var (
		wg     sync.WaitGroup
		mu     sync.Mutex
		wrong  []string
		next   = make(chan int, requests)
		before = time.Now()
	)
	for i := range requests {
		next <- i
	}
	close(next)
	for range clients {
		wg.Go(func() {
			for range next {
				res, err := c.Client.Get(c.URL("/"))
				if err != nil {
					mu.Lock()
					wrong = append(wrong, err.Error())
					mu.Unlock()
					continue
				}
				body, _ := io.ReadAll(res.Body)
				res.Body.Close()
				var p testcaddy.Problem
				if res.StatusCode != 502 || res.Header.Get("Content-Type") != "application/problem+json" ||
					json.Unmarshal(body, &p) != nil || p.Cause != "connection_refused" {
					mu.Lock()
					wrong = append(wrong, res.Status+" "+string(body))
					mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(before)
	if len(wrong) > 0 {
		t.Fatalf("%d of %d responses not normalized, such as %s", len(wrong), requests, wrong[0])
	}
	if got := scrape(t, c, series); got != counted+requests {
		t.Errorf("%s went from %v to %v, want +%d: every response counted", series, counted, got, requests)
	}

	entries := testcaddy.ReadEntries(t, logPath, testcaddy.LoggerName)
	if len(entries) == 0 {
		t.Fatal("the sampled log has no entries")
	}
	perSecond := make(map[int64]int)
	for _, e := range entries {
		if e["level"] != "error" || e["cause"] != "connection_refused" {
			t.Errorf("unexpected entry in the sampled log: %v", e)
		}
		ts, _ := e["ts"].(float64)
		perSecond[int64(ts)]++
	}
	// each interval keeps the first entries, then one in thereafter; the
	// requests span at most this many intervals, however slow the machine
	intervals := int(elapsed/interval) + 2
	if limit := intervals*first + requests/thereafter; len(entries) > limit {
		t.Errorf("%d entries for %d failures in %v, want at most %d", len(entries), requests, elapsed.Round(time.Millisecond), limit)
	}
	// a second of wall time overlaps at most this many intervals
	overlap := int(math.Ceil(float64(time.Second)/float64(interval))) + 1
	for sec, n := range perSecond {
		if limit := overlap*first + requests/thereafter; n > limit {
			t.Errorf("%d entries in the second at %d, want at most %d", n, sec, limit)
		}
	}
	// the default log does not get them unsampled instead
	if n := len(c.Entries(testcaddy.LoggerName)); n != 0 {
		t.Errorf("the default log has %d of the module's entries", n)
	}
}
