package command

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"

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
  caddy upstream-errors maintenance on shop --until "$(date -u -d '+2 hours' +%Y-%m-%dT%H:%M:%SZ)"
  caddy upstream-errors maintenance off shop
  caddy upstream-errors maintenance status shop
  caddy upstream-errors maintenance status

--until (an RFC 3339 time; the date above is GNU's, on BSD and macOS use
date -u -v+2H +%Y-%m-%dT%H:%M:%SZ) or --for announce the end of the window
(Retry-After counts down to it); the window stays on until it is turned off.

"on" and "off" write the window even when no site of that Caddy follows
the name, as another node's config may; when the Caddy reports that none
of its sites does, the command warns on stderr (a mistyped name, say) and
still exits 0.

The admin address is --address; else the admin address of the config given
with --config (and --adapter), or of a Caddyfile in the current directory;
else Caddy's default, localhost:2019 (or $CADDY_ADMIN). Unlike "caddy
reload", it needs no config file.`,
			RunE: refuseUnknown,
		}
		cmd.AddCommand(
			maintenanceCommand("on <window>", "Turns a maintenance window on", http.MethodPut),
			maintenanceCommand("off <window>", "Turns a maintenance window off", http.MethodDelete),
			maintenanceCommand("status [<window>]", "Shows one maintenance window, or every stored one", http.MethodGet),
		)
		return cmd
	})
}

// maintenanceCommand builds one of on, off and status.
func maintenanceCommand(use, short, method string) *cobra.Command {
	cmd := &cobra.Command{
		Use:   use,
		Short: short,
		Args:  windowArgs(method != http.MethodGet),
	}
	cmd.Flags().String("address", "", "The address of the admin API of a running Caddy")
	cmd.Flags().StringP("config", "c", "", "A config file whose admin address to use")
	cmd.Flags().StringP("adapter", "a", "", "Name of config adapter to apply (when --config is used)")
	if method == http.MethodPut {
		cmd.Flags().String("until", "", "The announced end of the window, as an RFC 3339 time")
		cmd.Flags().String("for", "", "The announced end of the window, as a duration from now (90m, 2h)")
	}
	cmd.RunE = caddycmd.WrapCommandFuncForCobra(func(fl caddycmd.Flags) (int, error) {
		return runMaintenance(cmd, fl, method)
	})
	return cmd
}

// windowArgs accepts one window name, or none when it is optional; an
// error names the usage, which cobra does not print (Caddy silences it).
func windowArgs(required bool) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		switch {
		case len(args) == 0 && required:
			return fmt.Errorf("a window name is required; usage: %s", cmd.UseLine())
		case len(args) > 1:
			return fmt.Errorf("%d arguments, but one window name at most; usage: %s", len(args), cmd.UseLine())
		}
		return nil
	}
}

// runMaintenance sends one request to the admin API and prints its answer.
func runMaintenance(cmd *cobra.Command, fl caddycmd.Flags, method string) (int, error) {
	name := ""
	if args := fl.Args(); len(args) == 1 {
		name = args[0]
	}
	uri := adminapi.MaintenancePath
	if name != "" {
		if err := window.ValidateName(name); err != nil {
			return caddy.ExitCodeFailedStartup, err
		}
		uri += "/" + name
	}

	var body io.Reader
	if method == http.MethodPut {
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
	if method != http.MethodGet && !followed(out) {
		fmt.Fprintf(cmd.ErrOrStderr(), "warning: no site of the Caddy at %s follows window %q; check the name\n", addr, name)
	}
	var pretty bytes.Buffer
	if json.Indent(&pretty, out, "", "  ") == nil {
		out = pretty.Bytes()
	}
	if _, err := cmd.OutOrStdout().Write(out); err != nil {
		return caddy.ExitCodeFailedStartup, err
	}
	return caddy.ExitCodeSuccess, nil
}

// followed reports whether a window's state, as the admin API answers it,
// is followed by a site of that Caddy. A Caddy that does not say (one with
// an older module) is taken to follow it: the warning is for names known
// to be followed by nothing.
func followed(state []byte) bool {
	var st struct {
		Followed *bool `json:"followed"`
	}
	if json.Unmarshal(state, &st) != nil || st.Followed == nil {
		return true
	}
	return *st.Followed
}

// adminAddress finds the admin API: --address, else the admin address of
// --config or of a Caddyfile in the current directory, else Caddy's
// default. Unlike `caddy reload`, which has a config to send, it needs no
// config: like `caddy stop`, it falls back to the default address.
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
