package command

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"

	"github.com/spf13/cobra"

	caddycmd "github.com/caddyserver/caddy/v2/cmd"

	"github.com/caddyserver/caddy/v2"

	"github.com/caddy-upstream-errors/caddy-upstream-errors/adminapi"
	"github.com/caddy-upstream-errors/caddy-upstream-errors/internal/window"
)

func init() {
	addSubcommand(func() *cobra.Command {
		cmd := &cobra.Command{
			Use:   "maintenance on|off|status [<window>]",
			Short: "Switches named maintenance windows on every Caddy sharing the storage",
			Long: `
Switches a named maintenance window through the admin API of a running
Caddy. The window is kept in the storage Caddy is configured with, so every
Caddy process using that storage follows it within about a second:

  caddy upstream-errors maintenance on shop --for 30m
  caddy upstream-errors maintenance on shop --until 2026-05-01T18:00:00Z
  caddy upstream-errors maintenance off shop
  caddy upstream-errors maintenance status [shop]

--until or --for announce the end of the window (Retry-After counts down
to it); the window stays on until it is turned off. The admin address is
found as "caddy reload" finds it: --address, else the admin address of
--config or of a Caddyfile in the current directory, else localhost:2019.`,
		}
		cmd.AddCommand(
			maintenanceCommand("on <window>", "Turns a maintenance window on", http.MethodPut, true),
			maintenanceCommand("off <window>", "Turns a maintenance window off", http.MethodDelete, false),
			maintenanceCommand("status [<window>]", "Shows one maintenance window, or every stored one", http.MethodGet, false),
		)
		return cmd
	})
}

// maintenanceCommand builds one of on, off and status.
func maintenanceCommand(use, short, method string, end bool) *cobra.Command {
	cmd := &cobra.Command{
		Use:   use,
		Short: short,
		Args:  cobra.RangeArgs(0, 1),
	}
	cmd.Flags().String("address", "", "The address of the admin API of a running Caddy")
	cmd.Flags().StringP("config", "c", "", "A config file whose admin address to use")
	cmd.Flags().StringP("adapter", "a", "", "Name of config adapter to apply (when --config is used)")
	if end {
		cmd.Flags().String("until", "", "The announced end of the window, as an RFC 3339 time")
		cmd.Flags().String("for", "", "The announced end of the window, as a duration from now (90m, 2h)")
	}
	cmd.RunE = caddycmd.WrapCommandFuncForCobra(func(fl caddycmd.Flags) (int, error) {
		return runMaintenance(fl, method, end)
	})
	return cmd
}

// runMaintenance sends one request to the admin API and prints its answer.
func runMaintenance(fl caddycmd.Flags, method string, end bool) (int, error) {
	args := fl.Args()
	name := ""
	if len(args) == 1 {
		name = args[0]
	}
	uri := adminapi.MaintenancePath
	if name != "" || method != http.MethodGet {
		if err := window.ValidateName(name); err != nil {
			return caddy.ExitCodeFailedStartup, err
		}
		uri += "/" + name
	}

	var body io.Reader
	if end {
		req := adminapi.MaintenanceRequest{Until: fl.String("until"), For: fl.String("for")}
		if req.Until != "" && req.For != "" {
			return caddy.ExitCodeFailedStartup, errors.New("give --until or --for, not both")
		}
		if req.Until != "" || req.For != "" {
			b, err := json.Marshal(req)
			if err != nil {
				return caddy.ExitCodeFailedStartup, err
			}
			body = bytes.NewReader(b)
		}
	}

	addr, err := adminAddress(fl)
	if err != nil {
		return caddy.ExitCodeFailedStartup, fmt.Errorf("couldn't determine admin API address: %v", err)
	}
	resp, err := caddycmd.AdminAPIRequest(addr, method, uri, nil, body)
	if err != nil {
		return caddy.ExitCodeFailedStartup, err
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return caddy.ExitCodeFailedStartup, fmt.Errorf("reading the answer: %v", err)
	}
	var pretty bytes.Buffer
	if json.Indent(&pretty, out, "", "  ") == nil {
		out = pretty.Bytes()
	}
	if _, err := os.Stdout.Write(out); err != nil {
		return caddy.ExitCodeFailedStartup, err
	}
	return caddy.ExitCodeSuccess, nil
}

// adminAddress finds the admin API as `caddy reload` does: --address, else
// the admin address of --config or of a Caddyfile in the current
// directory, else Caddy's default.
func adminAddress(fl caddycmd.Flags) (string, error) {
	if addr := fl.String("address"); addr != "" {
		return addr, nil
	}
	config, configFile, _, err := caddycmd.LoadConfig(fl.String("config"), fl.String("adapter"))
	if err != nil {
		return "", err
	}
	return caddycmd.DetermineAdminAPIAddress("", config, configFile, fl.String("adapter"))
}
