package classic

import "strings"

// rootValueFlags are the root flags that take a value (see connFlags).
var rootValueFlags = map[string]bool{
	"-c": true, "--config": true, "--etcd-endpoints": true,
	"--etcd-ca-cert-file": true, "--etcd-cert-file": true, "--etcd-key-file": true,
}

// profileSubcommands are the words that follow "profile" itself; anything
// else there is a profile name (the classic form).
var profileSubcommands = map[string]bool{"show": true, "add": true, "remove": true, "member": true, "rule": true, "tag": true, "help": true}

// Args rewrites the classic "calicoctl profile NAME member add C" and
// "calicoctl profile NAME rule show|json|update" into the command tree's
// "profile member add NAME C" and "profile rule show NAME": cobra cannot
// take a positional argument before a subcommand.
func Args(args []string) []string {
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
