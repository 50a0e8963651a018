package command

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	caddycmd "github.com/caddyserver/caddy/v2/cmd"

	"github.com/caddy-upstream-errors/caddy-upstream-errors/internal/placement"
)

func init() {
	addSubcommand(func() *cobra.Command {
		cmd := &cobra.Command{
			Use:   "check [--config <path>] [--adapter <name>]",
			Short: "Reports where upstream_errors cannot act in a config",
			Long: `
Adapts the config as "caddy adapt" does and reports every place where the
upstream_errors directive cannot act: behind a handler that always answers
(reverse_proxy, php_fastcgi, respond, file_server, ...) in the same route,
in a block with no proxy after it to cover, or with an intercept list that
names no 5xx status. Each finding names the site, the route and what to move
where. Such a config adapts, validates and runs, and the upstream's pages,
stack traces and headers reach clients.

Exits with status 1 when there is a finding, so it can gate a CI job.

The config is found as "caddy adapt" finds it: --config, or a Caddyfile in
the current directory.`,
			Args: cobra.NoArgs,
			RunE: func(cmd *cobra.Command, _ []string) error {
				configFile, _ := cmd.Flags().GetString("config")
				adapter, _ := cmd.Flags().GetString("adapter")
				return runCheck(cmd, configFile, adapter)
			},
		}
		cmd.Flags().StringP("config", "c", "", "Configuration file (default: the Caddyfile in the current directory)")
		cmd.Flags().StringP("adapter", "a", "", "Name of config adapter to apply")
		return cmd
	})
}

// errFindings makes the command exit with status 1 after its report.
var errFindings = errors.New("upstream_errors cannot act in some places of this config")

func runCheck(cmd *cobra.Command, configFile, adapter string) error {
	cfg, file, _, err := caddycmd.LoadConfig(configFile, adapter)
	if err != nil {
		return err
	}
	if len(cfg) == 0 {
		return fmt.Errorf("no config to check: give --config, or run it where a Caddyfile is")
	}
	findings, err := placement.Check(cfg)
	if err != nil {
		return fmt.Errorf("%s: %w", file, err)
	}
	out := cmd.OutOrStdout()
	if len(findings) == 0 {
		fmt.Fprintf(out, "%s: upstream_errors can act everywhere it is placed\n", file)
		return nil
	}
	for _, f := range findings {
		fmt.Fprintf(out, "%s: %s\n", file, f)
	}
	fmt.Fprintf(out, "%d finding(s)\n", len(findings))
	cmd.SilenceUsage = true
	return errFindings
}
