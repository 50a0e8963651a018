package testcaddy

import (
	"maps"

	"github.com/caddy-upstream-errors/caddy-upstream-errors/internal/taxonomy"
)

// ClientDetails is the problem detail of each 4xx status, upstream or the
// site's own, read from the cause table; key 0 is the detail of a 4xx
// without a sentence of its own.
var ClientDetails = func() map[int]string {
	m := map[int]string{0: taxonomy.ClientDetail}
	maps.Copy(m, taxonomy.ClientDetails)
	return m
}()

// LocalServerDetails is the detail of a 5xx the site answers by itself
// (handle_errors { upstream_errors }), which blames no upstream.
var LocalServerDetails = taxonomy.SiteDetails
