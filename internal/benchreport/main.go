// Command benchreport runs the module's side-by-side benchmarks and prints
// how upstream_errors compares with a bare reverse_proxy in the same Caddy,
// as a markdown table of ratios.
//
//	go run ./internal/benchreport [-count 5] [-benchtime 1s]
//
// Each benchmark has a "module" sub-benchmark and a baseline sibling named
// "bare" or "stock". go test -count repeats a sub-benchmark back to back,
// so a slow spell on the machine would land on one side only; instead the
// test binary is run -count times, each run a round that measures both
// sides within seconds of each other. Ratios are taken per round and the
// median is reported, with the range across rounds.
package main

import (
	"bufio"
	"bytes"
	"flag"
	"fmt"
	"io"
	"log"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

const benchPattern = "BenchmarkPassThrough|BenchmarkPassThroughPaired|BenchmarkErrorPath|BenchmarkIntercepted|BenchmarkHandlerOverhead"

func main() {
	count := flag.Int("count", 5, "rounds to run; each runs every benchmark once")
	benchtime := flag.String("benchtime", "1s", "passed to -test.benchtime")
	pkg := flag.String("pkg", "./module/", "package holding the benchmarks")
	rawPath := flag.String("o", "", "also write the raw benchmark output here, for benchstat")
	flag.Parse()
	log.SetFlags(0)
	log.SetPrefix("benchreport: ")
	if *count < 1 {
		log.Fatal("-count must be at least 1")
	}
	if err := run(*pkg, *count, *benchtime, *rawPath); err != nil {
		log.Fatal(err)
	}
}

func run(pkg string, count int, benchtime, rawPath string) error {
	dir, err := goOutput("list", "-f", "{{.Dir}}", pkg)
	if err != nil {
		return err
	}
	tmp, err := os.MkdirTemp("", "benchreport")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)

	// one build for every round, so all rounds measure the same binary
	bin := filepath.Join(tmp, "bench.test")
	if _, err := goOutput("test", "-c", "-o", bin, pkg); err != nil {
		return err
	}

	raw := io.Discard
	if rawPath != "" {
		f, err := os.Create(rawPath)
		if err != nil {
			return err
		}
		defer f.Close()
		raw = f
	}

	args := []string{"-test.run=^$", "-test.bench=" + benchPattern, "-test.benchmem", "-test.count=1", "-test.benchtime=" + benchtime}
	var rounds []round
	var cpu string
	for i := range count {
		log.Printf("round %d of %d", i+1, count)
		cmd := exec.Command(bin, args...)
		cmd.Dir = dir // where go test would run it, for testdata
		var out bytes.Buffer
		cmd.Stdout = &out
		cmd.Stderr = &out
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("round %d: %v\n%s", i+1, err, out.Bytes())
		}
		r, c := parse(out.Bytes())
		if len(r.names) == 0 {
			return fmt.Errorf("round %d: no benchmark results\n%s", i+1, out.Bytes())
		}
		if c != "" {
			cpu = c
		}
		rounds = append(rounds, r)
		for _, line := range strings.SplitAfter(out.String(), "\n") {
			if strings.HasPrefix(line, "Benchmark") || i == 0 && isHeader(line) {
				if _, err := io.WriteString(raw, line); err != nil {
					return err
				}
			}
		}
	}

	cmdline := fmt.Sprintf("go test -run '^$' -bench '%s' -benchmem -count 1 -benchtime %s %s", benchPattern, benchtime, pkg)
	report(os.Stdout, rounds, cmdline, cpu, benchtime)
	return nil
}

// isHeader reports whether line is one of the configuration lines that
// benchstat reads, such as "cpu: ...".
func isHeader(line string) bool {
	for _, k := range []string{"goos:", "goarch:", "pkg:", "cpu:"} {
		if strings.HasPrefix(line, k) {
			return true
		}
	}
	return false
}

// goOutput runs the go command and returns its trimmed standard output.
func goOutput(args ...string) (string, error) {
	cmd := exec.Command("go", args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("go %s: %v\n%s", strings.Join(args, " "), err, stderr.Bytes())
	}
	return strings.TrimSpace(string(out)), nil
}

// round holds one run's results: benchmark name (without the Benchmark
// prefix and the GOMAXPROCS suffix) to unit to value, and the names in the
// order they ran.
type round struct {
	results map[string]map[string]float64
	names   []string
}

// benchLine matches a result line: name, iterations, then value-unit pairs.
var benchLine = regexp.MustCompile(`^Benchmark(\S+)\s+\d+\s+(.+)$`)

// procsSuffix is the -N that go test appends when GOMAXPROCS is not 1.
var procsSuffix = regexp.MustCompile(`-\d+$`)

// parse reads go test -bench output.
func parse(out []byte) (round, string) {
	r := round{results: make(map[string]map[string]float64)}
	var cpu string
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		line := sc.Text()
		if c, ok := strings.CutPrefix(line, "cpu: "); ok {
			cpu = c
			continue
		}
		m := benchLine.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		name := procsSuffix.ReplaceAllString(m[1], "")
		fields := strings.Fields(m[2])
		vals := make(map[string]float64)
		for i := 0; i+1 < len(fields); i += 2 {
			v, err := strconv.ParseFloat(fields[i], 64)
			if err != nil {
				continue
			}
			vals[fields[i+1]] = v
		}
		if _, ok := r.results[name]; !ok {
			r.names = append(r.names, name)
		}
		r.results[name] = vals
	}
	return r, cpu
}

// pair is a module sub-benchmark and its baseline.
type pair struct {
	module, base string
	baseLabel    string
}

// pairs finds each "…/module" benchmark and its "…/bare" or "…/stock"
// sibling, in the order they ran.
func pairs(r round) []pair {
	var ps []pair
	for _, name := range r.names {
		prefix, ok := strings.CutSuffix(name, "/module")
		if !ok {
			continue
		}
		for _, label := range []string{"bare", "stock"} {
			if _, ok := r.results[prefix+"/"+label]; ok {
				ps = append(ps, pair{module: name, base: prefix + "/" + label, baseLabel: label})
				break
			}
		}
	}
	return ps
}

// stat is the median of a value across n rounds and its range.
type stat struct {
	med, lo, hi float64
	n           int
}

// collect gathers f over the rounds that have both benchmarks of p.
func collect(rounds []round, p pair, f func(mod, base map[string]float64) (float64, bool)) stat {
	var vs []float64
	for _, r := range rounds {
		mod, base := r.results[p.module], r.results[p.base]
		if mod == nil || base == nil {
			continue
		}
		if v, ok := f(mod, base); ok {
			vs = append(vs, v)
		}
	}
	return median(vs)
}

// median returns the median of vs and its range.
func median(vs []float64) stat {
	if len(vs) == 0 {
		return stat{}
	}
	slices.Sort(vs)
	med := vs[len(vs)/2]
	if len(vs)%2 == 0 {
		med = (vs[len(vs)/2-1] + vs[len(vs)/2]) / 2
	}
	return stat{med: med, lo: vs[0], hi: vs[len(vs)-1], n: len(vs)}
}

// ratio returns mod[unit]/base[unit], or base/mod when invert is set.
func ratio(unit string, invert bool) func(mod, base map[string]float64) (float64, bool) {
	return func(mod, base map[string]float64) (float64, bool) {
		m, okm := mod[unit]
		b, okb := base[unit]
		if !okm || !okb || m == 0 || b == 0 {
			return 0, false
		}
		if invert {
			return b / m, true
		}
		return m / b, true
	}
}

// diff returns mod[unit]-base[unit].
func diff(unit string) func(mod, base map[string]float64) (float64, bool) {
	return func(mod, base map[string]float64) (float64, bool) {
		m, okm := mod[unit]
		b, okb := base[unit]
		return m - b, okm && okb
	}
}

// value returns side[unit], for the baseline or the module.
func value(unit string, module bool) func(mod, base map[string]float64) (float64, bool) {
	return func(mod, base map[string]float64) (float64, bool) {
		m := base
		if module {
			m = mod
		}
		v, ok := m[unit]
		return v, ok
	}
}

// perSecond turns ns/op into operations per second.
func perSecond(module bool) func(mod, base map[string]float64) (float64, bool) {
	ns := value("ns/op", module)
	return func(mod, base map[string]float64) (float64, bool) {
		v, ok := ns(mod, base)
		if !ok || v == 0 {
			return 0, false
		}
		return 1e9 / v, true
	}
}

// report prints the markdown tables.
func report(w io.Writer, rounds []round, cmdline, cpu, benchtime string) {
	ps := pairs(rounds[0])

	fmt.Fprintf(w, "## upstream_errors vs reverse_proxy alone\n\n")
	fmt.Fprintf(w, "Median over %d rounds (range in brackets); -benchtime %s", len(rounds), benchtime)
	if cpu != "" {
		fmt.Fprintf(w, "; cpu: %s", cpu)
	}
	fmt.Fprintf(w, ".\n\n")

	fmt.Fprintln(w, "| benchmark | baseline | baseline req/s | module req/s | throughput module/baseline | allocs/op module−baseline | B/op module/baseline |")
	fmt.Fprintln(w, "|---|---|--:|--:|--:|--:|--:|")
	var mem []pair
	var overhead, pass *pair
	for _, p := range ps {
		switch strings.TrimSuffix(p.module, "/module") {
		case "HandlerOverhead":
			overhead = &p
			continue
		case "PassThrough":
			pass = &p
		}
		if _, ok := rounds[0].results[p.module]["B/intercepted"]; ok {
			mem = append(mem, p)
			continue
		}
		fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %s | %s |\n",
			strings.TrimSuffix(p.module, "/module"), p.baseLabel,
			fmtValue(collect(rounds, p, perSecond(false))),
			fmtValue(collect(rounds, p, perSecond(true))),
			fmtRatio(collect(rounds, p, ratio("ns/op", true))),
			fmtDiff(collect(rounds, p, diff("allocs/op"))),
			fmtRatio(collect(rounds, p, ratio("B/op", false))))
	}

	if len(mem) > 0 {
		fmt.Fprintln(w)
		fmt.Fprintln(w, "Memory allocated per upstream error response by the whole process (client, Caddy, upstream); the difference is what adding upstream_errors to the route costs.")
		fmt.Fprintln(w)
		fmt.Fprintln(w, "| benchmark | baseline | baseline B/resp | module B/intercepted | module/baseline | module−baseline B | allocs/op module−baseline |")
		fmt.Fprintln(w, "|---|---|--:|--:|--:|--:|--:|")
		for _, p := range mem {
			fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %s | %s |\n",
				strings.TrimSuffix(p.module, "/module"), p.baseLabel,
				fmtValue(collect(rounds, p, value("B/intercepted", false))),
				fmtValue(collect(rounds, p, value("B/intercepted", true))),
				fmtRatio(collect(rounds, p, ratio("B/intercepted", false))),
				fmtDiff(collect(rounds, p, diff("B/intercepted"))),
				fmtDiff(collect(rounds, p, diff("allocs/op"))))
		}
	}

	if paired := pairedRatio(rounds); paired.n > 0 {
		fmt.Fprintf(w, "\nPass-through, paired (BenchmarkPassThroughPaired: one request through each route in turn, each timed): the module's time per request is %s of the bare proxy's, a throughput ratio of %.3f.\n",
			fmtRatio(paired), 1/paired.med)
	}

	if overhead != nil {
		added := collect(rounds, *overhead, diff("ns/op"))
		fmt.Fprintf(w, "\nThe module's own cost on the pass-through path, measured at the handler with no network (BenchmarkHandlerOverhead): %s ns and %s allocs per request",
			fmtDiff(added), fmtDiff(collect(rounds, *overhead, diff("allocs/op"))))
		if pass != nil {
			bare := collect(rounds, *pass, value("ns/op", false))
			if bare.med > 0 {
				fmt.Fprintf(w, ", %.3f%% of a proxied request (%.0f µs per request through the bare proxy)", 100*added.med/bare.med, bare.med/1e3)
			}
		}
		fmt.Fprintln(w, ".")
	}

	fmt.Fprintf(w, "\nThroughput is the inverse of ns/op: above 1 the module is faster. Each round, built once and run %d times:\n\n    %s\n", len(rounds), cmdline)
}

// pairedRatio collects BenchmarkPassThroughPaired's module/bare metric.
func pairedRatio(rounds []round) stat {
	var vs []float64
	for _, r := range rounds {
		if v, ok := r.results["PassThroughPaired"]["module/bare"]; ok {
			vs = append(vs, v)
		}
	}
	return median(vs)
}

// missing stands for a value no round produced.
const missing = "–"

func fmtValue(s stat) string {
	if s.n == 0 {
		return missing
	}
	return fmt.Sprintf("%.0f", s.med)
}

func fmtRatio(s stat) string {
	if s.n == 0 {
		return missing
	}
	return fmt.Sprintf("%.3f [%.3f–%.3f]", s.med, s.lo, s.hi)
}

func fmtDiff(s stat) string {
	if s.n == 0 {
		return missing
	}
	if s.lo == s.hi {
		return signed(s.med)
	}
	return fmt.Sprintf("%s [%s–%s]", signed(s.med), signed(s.lo), signed(s.hi))
}

// signed formats v with its sign, and a decimal only when it has one, as
// the median of an even count can.
func signed(v float64) string {
	if v == math.Trunc(v) {
		return fmt.Sprintf("%+.0f", v)
	}
	return fmt.Sprintf("%+.1f", v)
}
