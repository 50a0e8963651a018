// Package command adds the `caddy upstream-errors` command family to the
// caddy binary. Each subcommand lives in a file of its own and adds itself
// with addSubcommand from that file's init.
package command

import (
	"github.com/spf13/cobra"

	caddycmd "github.com/caddyserver/caddy/v2/cmd"
)

// subcommands build the family's subcommands; cobra asks for them only
// when the caddy binary builds its command tree, after every init ran.
var subcommands []func() *cobra.Command

// addSubcommand adds a subcommand to `caddy upstream-errors`.
func addSubcommand(build func() *cobra.Command) {
	subcommands = append(subcommands, build)
}

func init() {
	caddycmd.RegisterCommand(caddycmd.Command{
		Name:  "upstream-errors",
		Short: "Operates the upstream_errors handler",
		Long: `
Commands for the upstream_errors handler: run "caddy upstream-errors help"
for the list.`,
		CobraFunc: func(cmd *cobra.Command) {
			for _, build := range subcommands {
				cmd.AddCommand(build())
			}
		},
	})
}
