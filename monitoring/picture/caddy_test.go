package main

import (
	"encoding/json"
	"maps"
	"testing"
)

// Each path of the site goes to its upstream, after upstream_errors with
// per-upstream metrics and the maintenance flag file, and every path the
// story sends to is routed.
func TestCaddyConfig(t *testing.T) {
	u := &upstreams{Healthy: "127.0.0.1:1", Failing: "127.0.0.1:2", Stalled: "127.0.0.1:3", Refused: "127.0.0.1:4"}
	data, err := caddyConfig("127.0.0.1:2019", 8080, "/tmp/flag", u)
	if err != nil {
		t.Fatal(err)
	}
	type handler struct {
		Handler   string
		Upstreams []struct{ Dial string }
		Transport map[string]any
		Metrics   map[string]any
		Routes    []struct {
			Match  []struct{ Path []string }
			Handle []handler
		}
		Maintenance struct{ File string }
	}
	var cfg struct {
		Admin struct{ Listen string }
		Apps  struct {
			HTTP struct {
				Metrics *struct{}
				Servers map[string]struct {
					Listen []string
					Routes []struct{ Handle []handler }
				}
			}
		}
	}
	if err := json.Unmarshal(data, &cfg); err != nil {
		t.Fatal(err)
	}
	if cfg.Admin.Listen != "127.0.0.1:2019" || cfg.Apps.HTTP.Metrics == nil {
		t.Errorf("admin %q, metrics %v", cfg.Admin.Listen, cfg.Apps.HTTP.Metrics)
	}
	srv := cfg.Apps.HTTP.Servers["srv0"]
	if len(srv.Routes) != 1 || len(srv.Routes[0].Handle) != 2 {
		t.Fatalf("routes %+v", srv.Routes)
	}
	ue, sub := srv.Routes[0].Handle[0], srv.Routes[0].Handle[1]
	if ue.Handler != "upstream_errors" || ue.Metrics["per_upstream"] != true || ue.Maintenance.File != "/tmp/flag" {
		t.Errorf("first handler %+v", ue)
	}
	routed := map[string]string{}
	for _, r := range sub.Routes {
		h := r.Handle[0]
		routed[r.Match[0].Path[0]] = h.Upstreams[0].Dial
		if h.Upstreams[0].Dial == u.Stalled && h.Transport["response_header_timeout"] != "1s" {
			t.Errorf("the stalled upstream's transport %v", h.Transport)
		}
	}
	want := map[string]string{pathHealthy: u.Healthy, pathFailing: u.Failing, pathStalled: u.Stalled, pathRefused: u.Refused}
	if !maps.Equal(routed, want) {
		t.Errorf("routes %v, want %v", routed, want)
	}
	for _, p := range story.Phases {
		for _, s := range p.Streams {
			if routed[s.Path] == "" {
				t.Errorf("phase %s sends to %s, which is not routed", p.Name, s.Path)
			}
		}
	}
}
