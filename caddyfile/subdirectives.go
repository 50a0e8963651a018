package caddyfile

import (
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"

	"github.com/caddy-upstream-errors/caddy-upstream-errors/internal/suggest"
)

// subdirectives are the names Unmarshal accepts inside the block, sorted,
// for the error on an unknown one. TestSubdirectivesListed keeps the list
// in step with Unmarshal and the syntax in the package doc.
var subdirectives = []string{
	"discard_limit",
	"format",
	"intercept",
	"keep_headers",
	"maintenance",
	"member",
	"metrics",
	"pass_json",
	"proxy_status",
	"recent",
	"request_id_header",
	"retry_after",
	"status",
	"template",
	"type",
}

// unknownSubdirective reports a name Unmarshal does not know, with the
// nearest valid one when it looks like a typo and the whole list, so the
// fix needs no trip to the docs.
func unknownSubdirective(d *caddyfile.Dispenser, sub string) error {
	return d.Errf("unknown subdirective %q%s", sub, suggest.Hint(sub, subdirectives, "valid subdirectives", subdirectives))
}
