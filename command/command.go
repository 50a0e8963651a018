// Package command adds the `caddy upstream-errors` command family to the
// caddy binary. Each subcommand lives in a file of its own and adds itself
// with addSubcommand from that file's init.
package command

import (
	"errors"
	"fmt"
	"strings"

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
			cmd.RunE = refuseUnknown
			for _, build := range subcommands {
				cmd.AddCommand(build())
			}
		},
	})
}

// refuseUnknown is the RunE of a command that only groups others. Cobra
// refuses an unknown subcommand only on the root: below it, a command with
// no Run prints its help and exits 0, so a script would take a mistyped
// `maintenance of shop` for a switch that worked.
func refuseUnknown(cmd *cobra.Command, args []string) error {
	if len(args) == 0 || args[0] == "help" {
		return cmd.Help()
	}
	// cobra's default distance, which it sets only when the root suggests
	if cmd.SuggestionsMinimumDistance <= 0 {
		cmd.SuggestionsMinimumDistance = 2
	}
	msg := fmt.Sprintf("unknown command %q for %q", args[0], cmd.CommandPath())
	if s := cmd.SuggestionsFor(args[0]); len(s) > 0 {
		msg += "\n\nDid you mean this?\n\t" + strings.Join(s, "\n\t")
	}
	return errors.New(msg)
}
