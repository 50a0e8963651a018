// Package adminapi adds the upstream_errors endpoints to Caddy's admin API,
// under /upstream_errors/. Each endpoint is an admin.api module of its own,
// so it gets Caddy's admin listener, origin checks and access control, and
// nothing is reachable from a site.
package adminapi
