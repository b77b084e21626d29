package resource

import (
	"fmt"

	"github.com/calico-docker/calico-libnetwork/calicoctl/internal/cli"
	"github.com/calico-docker/calico-libnetwork/resources"
	"github.com/spf13/cobra"
)

func (a *app) deleteCommand() *cobra.Command {
	var file string
	var skipNotExists bool
	act := &writeAction{verb: "delete", past: "deleted", level: cli.CheckIdentity,
		check: func(obj, cur resources.Resource) (bool, error) {
			if cur != nil {
				return checkVersion(obj, cur)
			}
			if skipNotExists {
				return true, nil
			}
			return false, fmt.Errorf("%s does not exist: list them with calicoctl get %s, or pass --skip-not-exists",
				cli.Describe(obj), resources.InfoOf(obj).Plural)
		},
		write: deleteObject} // pool_rules.go
	cmd := &cobra.Command{
		Use:   "delete (-f FILE | KIND NAME...)",
		Short: "Delete resources by file or by kind and name",
		Long: `Delete the resources named in FILE (only kind, metadata.name and, if present,
metadata.resourceVersion matter), or the named objects of KIND. Every object is checked
to exist first: if any does not, nothing is deleted (unless --skip-not-exists).

KIND is a kind, its plural or an alias: ` + cli.KindHelp() + writeNote,
		Example: `  calicoctl delete ippool pool1
  calicoctl delete profiles dev test
  calicoctl delete -f policy.yaml`,
		ValidArgsFunction: a.CompleteKindThenNames,
		RunE: func(cmd *cobra.Command, args []string) error {
			switch {
			case file != "" && len(args) > 0:
				return cli.Usagef("give either -f FILE or KIND NAME..., not both")
			case file != "":
				return a.runWrite(cmd.Context(), file, act)
			case len(args) < 2:
				return cli.Usagef("give -f FILE, or a kind and at least one name: calicoctl delete ippool NAME")
			}
			objs, err := a.objectsFromArgs(args[0], args[1:])
			if err != nil {
				return err
			}
			return a.writeObjects(cmd.Context(), objs, act)
		},
	}
	a.AddFileFlags(cmd, &file)
	cmd.Flags().BoolVar(&skipNotExists, "skip-not-exists", false, "succeed for objects that do not exist")
	a.AddNamespaceFlag(cmd)
	return cmd
}

// objectsFromArgs builds empty objects of KIND named by the arguments.
func (a *app) objectsFromArgs(kind string, names []string) ([]resources.Resource, error) {
	if err := a.CheckNamespaceFlag(); err != nil {
		return nil, err
	}
	info, err := resources.Lookup(kind)
	if err != nil {
		return nil, cli.Usagef("%v", err)
	}
	objs := make([]resources.Resource, 0, len(names))
	seen := map[string]bool{}
	for _, n := range names {
		if err := cli.CheckName(info.Kind, n); err != nil {
			return nil, cli.Usagef("%v", err)
		}
		if seen[n] {
			continue
		}
		seen[n] = true
		obj := info.New()
		obj.Meta().Name = n
		if info.Namespaced {
			obj.Meta().Namespace = a.Namespace
		}
		objs = append(objs, obj)
	}
	return objs, nil
}
