package calicoctl

import (
	"strings"

	"github.com/spf13/cobra"
)

// addOperatorCommands registers the operator commands: the classic
// (v0-era) command forms mapped onto v3 resources, policy explain, IPAM
// audit and status.
func (a *app) addOperatorCommands(root *cobra.Command) {
	root.AddCommand(
		a.poolCommand(), a.profileCommand(), a.endpointCommand(), a.bgpPeerCommand(),
		a.statusCommand(), a.nodeCommand(), a.policyCommand(), a.ipamCommand(),
		a.clusterCommand(), a.datastoreCommand(),
	)
}

// addOutputFlag registers -o with the formats a command supports.
func addOutputFlag(cmd *cobra.Command, output *string, formats ...string) {
	cmd.Flags().StringVarP(output, "output", "o", "", "output format: "+strings.Join(formats, "|"))
	_ = cmd.RegisterFlagCompletionFunc("output", cobra.FixedCompletions(formats, cobra.ShellCompDirectiveNoFileComp))
}

// parseFormatOf parses -o, accepting only the formats listed.
func parseFormatOf(s string, formats ...string) (outputFormat, error) {
	f, err := parseFormat(s)
	if err != nil {
		return "", usagef("output format %q is not supported here: use -o %s", s, strings.Join(formats, "|"))
	}
	for _, ok := range formats {
		if string(f) == ok {
			return f, nil
		}
	}
	return "", usagef("output format %q is not supported here: use -o %s", s, strings.Join(formats, "|"))
}

// rootValueFlags are the root flags that take a value (see connFlags).
var rootValueFlags = map[string]bool{
	"-c": true, "--config": true, "--etcd-endpoints": true,
	"--etcd-ca-cert-file": true, "--etcd-cert-file": true, "--etcd-key-file": true,
}

// profileSubcommands are the words that follow "profile" itself; anything
// else there is a profile name (the classic form).
var profileSubcommands = map[string]bool{"show": true, "add": true, "remove": true, "member": true, "rule": true, "tag": true, "help": true}

// classicArgs rewrites the classic "calicoctl profile NAME member add C" and
// "calicoctl profile NAME rule show|json|update" into the command tree's
// "profile member add NAME C" and "profile rule show NAME": cobra cannot
// take a positional argument before a subcommand.
func classicArgs(args []string) []string {
	i := 0
	for i < len(args) && strings.HasPrefix(args[i], "-") && args[i] != "--" {
		if rootValueFlags[args[i]] {
			i++
		}
		i++
	}
	if i+2 >= len(args) || args[i] != "profile" || profileSubcommands[args[i+1]] || strings.HasPrefix(args[i+1], "-") {
		return args
	}
	verb := args[i+2]
	if verb != "member" && verb != "rule" && verb != "tag" {
		return args
	}
	out := append([]string{}, args[:i+1]...)
	out = append(out, verb)
	rest := args[i+3:]
	if len(rest) > 0 && !strings.HasPrefix(rest[0], "-") {
		out = append(out, rest[0]) // add, show, json, update, remove
		rest = rest[1:]
	}
	out = append(out, args[i+1])
	return append(out, rest...)
}

// completeFirstName completes the first argument with names of kind read
// from etcd (silently nothing when etcd is not reachable).
func (a *app) completeFirstName(kind string) cobra.CompletionFunc {
	return func(cmd *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
		if len(args) > 0 {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		return a.completeKindThenNames(cmd, []string{kind}, toComplete)
	}
}
