package calicoctl

import (
	"github.com/calico-docker/calico-libnetwork/calicoctl/internal/cli"
	"github.com/spf13/cobra"
)

func (a *app) completionCommand(root *cobra.Command) *cobra.Command {
	return &cobra.Command{
		Use:   "completion bash|zsh|fish|powershell",
		Short: "Print a shell completion script",
		Long: `Print the completion script for a shell. It completes commands, flags, kinds
and (when etcd is reachable) object names.`,
		Example: `  source <(calicoctl completion bash)
  calicoctl completion zsh > "${fpath[1]}/_calicoctl"
  calicoctl completion fish > ~/.config/fish/completions/calicoctl.fish`,
		ValidArgs: []string{"bash", "zsh", "fish", "powershell"},
		Args:      cli.ArgsWith(cobra.MatchAll(cobra.ExactArgs(1), cobra.OnlyValidArgs)),
		RunE: func(_ *cobra.Command, args []string) error {
			switch args[0] {
			case "bash":
				return root.GenBashCompletionV2(a.Out, true)
			case "zsh":
				return root.GenZshCompletion(a.Out)
			case "fish":
				return root.GenFishCompletion(a.Out, true)
			default:
				return root.GenPowerShellCompletionWithDesc(a.Out)
			}
		},
	}
}
