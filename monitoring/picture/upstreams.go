package main

import (
	"errors"
	"log"
	"net"
	"net/http"
	"time"
)

// upstreams are the loopback servers Caddy proxies to, by dial address.
type upstreams struct {
	// Healthy answers every request.
	Healthy string
	// Failing answers every request with a 500 page.
	Failing string
	// Stalled reads the request and never answers.
	Stalled string
	// Refused is a port where nothing listens.
	Refused string

	servers []*http.Server
	release func()
}

// startUpstreams starts the upstreams; close stops them.
func startUpstreams() (*upstreams, error) {
	u := &upstreams{}
	var err error
	if u.Refused, u.release, err = closedPort(); err != nil {
		return nil, err
	}
	for _, s := range []struct {
		addr *string
		h    http.HandlerFunc
	}{
		{&u.Healthy, func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write([]byte(`{"items":[1,2,3]}`))
		}},
		{&u.Failing, func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "text/html")
			w.WriteHeader(http.StatusInternalServerError)
			_, _ = w.Write([]byte("<h1>Internal Server Error</h1><pre>NullPointerException at BillingService.charge</pre>"))
		}},
		{&u.Stalled, func(_ http.ResponseWriter, r *http.Request) {
			// until the proxy gives up on it
			select {
			case <-r.Context().Done():
			case <-time.After(time.Minute):
			}
		}},
	} {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			u.close()
			return nil, err
		}
		srv := &http.Server{Handler: s.h, ReadHeaderTimeout: 10 * time.Second}
		u.servers = append(u.servers, srv)
		*s.addr = l.Addr().String()
		go func() {
			if err := srv.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
				log.Printf("upstream %s: %v", l.Addr(), err)
			}
		}()
	}
	return u, nil
}

// close stops the upstreams.
func (u *upstreams) close() {
	for _, s := range u.servers {
		_ = s.Close()
	}
	if u.release != nil {
		u.release()
	}
}
