package testcaddy

import (
	"net"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
)

// GRPCHealthServer runs a real gRPC server with the standard health
// service on loopback (cleartext HTTP/2) until the test ends. The returned
// server's SetServingStatus pushes updates to Watch streams.
func GRPCHealthServer(t testing.TB) (string, *health.Server) {
	t.Helper()
	hs := health.NewServer()
	addr := serveGRPC(t, func(srv *grpc.Server) { healthpb.RegisterHealthServer(srv, hs) })
	return addr, hs
}

// serveGRPC serves a gRPC server with the services register adds on a
// loopback port until the test ends, and returns its address.
func serveGRPC(t testing.TB, register func(*grpc.Server)) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer()
	register(srv)
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = srv.Serve(l)
	}()
	t.Cleanup(func() {
		srv.Stop()
		<-done
	})
	return l.Addr().String()
}

// GRPCClient dials addr over cleartext HTTP/2 (h2c), as a gRPC client does
// without TLS, and closes the connection when the test ends.
func GRPCClient(t testing.TB, addr string) *grpc.ClientConn {
	t.Helper()
	cc, err := grpc.NewClient("passthrough:///"+addr,
		grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cc.Close() })
	return cc
}
