package calicoctl

import (
	"context"
	"strings"
	"time"

	"github.com/calico-docker/calico-libnetwork/resources"
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
		Args:      argsWith(cobra.MatchAll(cobra.ExactArgs(1), cobra.OnlyValidArgs)),
		RunE: func(_ *cobra.Command, args []string) error {
			switch args[0] {
			case "bash":
				return root.GenBashCompletionV2(a.out, true)
			case "zsh":
				return root.GenZshCompletion(a.out)
			case "fish":
				return root.GenFishCompletion(a.out, true)
			default:
				return root.GenPowerShellCompletionWithDesc(a.out)
			}
		},
	}
}

// kindHelp lists the kinds with their plurals, for help texts.
func kindHelp() string {
	var parts []string
	for _, k := range resources.Kinds() {
		parts = append(parts, k.Plural)
	}
	return strings.Join(parts, ", ")
}

// completeKindThenNames completes a kind first, then names of that kind
// read from etcd (silently nothing when etcd is not reachable).
func (a *app) completeKindThenNames(cmd *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
	if len(args) == 0 {
		var out []string
		for _, k := range resources.Kinds() {
			if strings.HasPrefix(k.Plural, strings.ToLower(toComplete)) {
				out = append(out, k.Plural)
			}
		}
		return out, cobra.ShellCompDirectiveNoFileComp
	}
	info, err := resources.Lookup(args[0])
	if err != nil {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	ctx, cancel := context.WithTimeout(cmd.Context(), 3*time.Second)
	defer cancel()
	st, err := a.store(ctx)
	if err != nil {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	objs, _, err := a.list(ctx, st, info)
	if err != nil {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	var out []string
	for _, o := range objs {
		if n := o.Meta().Name; strings.HasPrefix(n, toComplete) {
			out = append(out, n)
		}
	}
	return out, cobra.ShellCompDirectiveNoFileComp
}
