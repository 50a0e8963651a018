package upstreamerrors_test

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"os"
	"reflect"
	"runtime"
	"runtime/pprof"
	"strings"
	"testing"

	"github.com/google/pprof/profile"

	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp/reverseproxy"

	"github.com/caddy-upstream-errors/caddy-upstream-errors/internal/cpushare"
	"github.com/caddy-upstream-errors/caddy-upstream-errors/internal/testcaddy"
	upstreamerrors "github.com/caddy-upstream-errors/caddy-upstream-errors/module"
)

// profileDir, if set, keeps each BenchmarkCPUShare profile there, for
// go tool pprof: cpushare-CAUSE-ROUTE-*.pprof.
var profileDir = flag.String("cpushare.dir", "", "write BenchmarkCPUShare's CPU profiles to this `directory`")

// shareSpec names the module's handler and the reverse_proxy it wraps as a
// profile spells them, taken from the functions themselves so a rename
// cannot leave the measure silently at zero.
var shareSpec = cpushare.Spec{
	Handler: funcName((*upstreamerrors.Handler).ServeHTTP),
	Next:    funcName((*reverseproxy.Handler).ServeHTTP),
	Package: reflect.TypeFor[upstreamerrors.Handler]().PkgPath(),
}

// serverSpec measures the work Caddy's server does outside its handler
// chain: (*Server).ServeHTTP but not its serveHTTP, which runs the routes.
// That is where stock Caddy logs a handler's error and writes its status,
// the work the module does inside its handler instead.
var serverSpec = cpushare.Spec{
	Handler: funcName((*caddyhttp.Server).ServeHTTP),
	Next:    strings.TrimSuffix(funcName((*caddyhttp.Server).ServeHTTP), "ServeHTTP") + "serveHTTP",
}

func funcName(f any) string {
	return runtime.FuncForPC(reflect.ValueOf(f).Pointer()).Name()
}

// BenchmarkCPUShare loads Caddy with requests on one path at a time and
// reports what each costs the whole process (Caddy, the loopback client
// and the upstream alike):
//
//   - cpu-ns/op: the process's CPU time (user and system) per request, so
//     benchstat holds a module route against stock's for the same failure;
//   - module-%: from a CPU profile taken meanwhile, the module's own share:
//     samples under its ServeHTTP but not under reverse_proxy's, over all;
//   - nested-%: the self time of the module's functions that reverse_proxy
//     calls, such as its response writer, which module-% leaves out;
//   - server-%: Caddy's server outside its handler chain, where stock
//     logs a handler's error and writes its status;
//   - answer-ns/op: CPU per request spent answering apart from proxying:
//     the module's own share plus server-%, of cpu-ns/op. On stock's
//     routes it is the server's alone, so the two hold the module's whole
//     error handling against stock's;
//   - samples: the profile's size (100 a CPU second).
//
// With -test.v it logs the functions that take the module's own share, as
// a percentage of all samples.
func BenchmarkCPUShare(b *testing.B) {
	closed := testcaddy.ClosedPort(b)
	ok := testcaddy.HTTPServer(b, fixedResponse(http.StatusOK, passSize))
	page := testcaddy.HTTPServer(b, fixedResponse(http.StatusInternalServerError, errorPageSize))
	base := startBenchCaddy(b, fmt.Sprintf(`
handle /pass/mod {
	upstream_errors
	reverse_proxy %[1]s
}
handle /pass/bare {
	reverse_proxy %[1]s
}
handle /500/mod {
	upstream_errors
	reverse_proxy %[2]s
}
handle /500/stock {
	%[4]s
}
handle /500/passon {
	reverse_proxy %[2]s
}
handle /refused/mod {
	upstream_errors
	reverse_proxy %[3]s
}
handle /refused/stock {
	reverse_proxy %[3]s
}`, ok, page, closed, stockReplace(page)))
	c := benchClient(b)
	normalized := want{status: http.StatusBadGateway, size: -1, contentType: problemType}
	stockError := want{status: http.StatusBadGateway, size: 0}

	for _, p := range []struct {
		name, path string
		want       want
	}{
		{"cause=pass/route=bare", "/pass/bare", want{status: http.StatusOK, size: passSize}},
		{"cause=pass/route=module", "/pass/mod", want{status: http.StatusOK, size: passSize}},
		{"cause=status_500/route=stock", "/500/stock", stockError},
		{"cause=status_500/route=passon", "/500/passon", want{status: http.StatusInternalServerError, size: errorPageSize}},
		{"cause=status_500/route=module", "/500/mod", normalized},
		{"cause=refused/route=stock", "/refused/stock", stockError},
		{"cause=refused/route=module", "/refused/mod", normalized},
	} {
		b.Run(p.name, func(b *testing.B) {
			// four clients per P keep Caddy busy while some wait
			b.SetParallelism(4)
			var buf bytes.Buffer
			if err := pprof.StartCPUProfile(&buf); err != nil {
				b.Fatalf("starting the CPU profile (not with -cpuprofile): %v", err)
			}
			cpu0, cpuOK := processCPU()
			benchParallel(b, c, base+p.path, p.want)
			cpu1, _ := processCPU()
			pprof.StopCPUProfile()
			perOp := float64(cpu1-cpu0) / float64(b.N)
			if cpuOK {
				b.ReportMetric(perOp, "cpu-ns/op")
			}

			if *profileDir != "" {
				// one file per run: go tool pprof merges them
				f, err := os.CreateTemp(*profileDir, "cpushare-"+fileName(p.name)+"-*.pprof")
				if err == nil {
					_, err = f.Write(buf.Bytes())
					err = errors.Join(err, f.Close())
				}
				if err != nil {
					b.Fatal(err)
				}
			}
			prof, err := profile.Parse(&buf)
			if err != nil {
				b.Fatal(err)
			}
			share, err := cpushare.Measure(prof, shareSpec)
			if err != nil {
				b.Fatal(err)
			}
			server, err := cpushare.Measure(prof, serverSpec)
			if err != nil {
				b.Fatal(err)
			}
			if server.Handler == 0 && prof.Period > 0 && server.Total/prof.Period >= 50 {
				b.Fatalf("no sample under %s in %d samples", serverSpec.Handler, server.Total/prof.Period)
			}
			module := strings.HasSuffix(p.name, "/route=module")
			if module && share.Handler == 0 && prof.Period > 0 && share.Total/prof.Period >= 50 {
				// every request runs through the module: none of them
				// in a profile this large means the names in shareSpec
				// no longer match the code
				b.Fatalf("no sample under %s in %d samples", shareSpec.Handler, share.Total/prof.Period)
			}
			if module {
				b.ReportMetric(share.Percent(), "module-%")
				b.ReportMetric(share.NestedPercent(), "nested-%")
			}
			b.ReportMetric(server.Percent(), "server-%")
			if cpuOK && share.Total > 0 {
				// the answer's cost apart from proxying: the module's own
				// work and the server's around the chain on its routes,
				// the server's alone on stock's, where it logs the error
				// and writes the status
				own := float64(share.Own()+server.Own()) / float64(share.Total)
				b.ReportMetric(own*perOp, "answer-ns/op")
			}
			if prof.Period > 0 {
				b.ReportMetric(float64(share.Total/prof.Period), "samples")
			}
			if testing.Verbose() {
				for _, f := range share.Top(10) {
					b.Logf("%6.2f%% %s", 100*float64(f.Value)/float64(share.Total), f.Func)
				}
			}
		})
	}
}

// fileName turns a sub-benchmark's name, cause=refused/route=module, into
// a file name's part, refused-module.
func fileName(name string) string {
	var parts []string
	for part := range strings.SplitSeq(name, "/") {
		_, v, _ := strings.Cut(part, "=")
		parts = append(parts, v)
	}
	return strings.Join(parts, "-")
}
