package resource

import (
	"context"
	"errors"
	"fmt"

	"github.com/calico-docker/calico-libnetwork/calicoctl/internal/cli"
	"github.com/calico-docker/calico-libnetwork/datastore"
	"github.com/calico-docker/calico-libnetwork/resources"
	"github.com/spf13/cobra"
)

func (a *app) getCommand() *cobra.Command {
	var file, output string
	cmd := &cobra.Command{
		Use:   "get (KIND [NAME...] | -f FILE) [-o yaml|json|wide|table|name]",
		Short: "Show resources",
		Long: `Show every object of KIND, the named ones, or the objects named in FILE.

Output (-o): table (default; stable columns per kind), wide (more columns), yaml, json,
name. With yaml or json, one NAME prints the bare object and anything else a kind: List,
which calicoctl apply -f accepts back. A NAME that does not exist is an error (exit 1)
after the others are printed.

KIND is a kind, its plural or an alias: ` + cli.KindHelp(),
		Example: `  calicoctl get ippools
  calicoctl get ippool default-ipv4-ippool -o yaml
  calicoctl get workloadendpoints -o wide
  calicoctl get -f policy.yaml -o json`,
		ValidArgsFunction: a.CompleteKindThenNames,
		RunE: func(cmd *cobra.Command, args []string) error {
			format, custom, err := cli.ParseGetFormat(output)
			if err != nil {
				return err
			}
			if file != "" && len(args) > 0 {
				return cli.Usagef("give either -f FILE or KIND [NAME...], not both")
			}
			if file == "" && len(args) == 0 {
				return cli.Usagef("give a kind, e.g. calicoctl get ippools; kinds: %s", cli.KindHelp())
			}
			return a.runGet(cmd.Context(), args, file, cli.Printer{Format: format, Custom: custom})
		},
	}
	a.AddFileFlags(cmd, &file)
	cmd.Flags().StringVarP(&output, "output", "o", "", "output format: "+cli.FormatNames+", custom-columns=COL,... (table headings, or HEADING:.json.path), go-template=TEMPLATE, go-template-file=FILE")
	_ = cmd.RegisterFlagCompletionFunc("output", cobra.FixedCompletions(cli.FormatList, cobra.ShellCompDirectiveNoFileComp))
	a.AddNamespaceFlag(cmd)
	cmd.Flags().BoolVarP(&a.AllNamespaces, "all-namespaces", "A", false, "list namespaced kinds in every namespace (adds a NAMESPACE column)")
	return cmd
}

func (a *app) runGet(ctx context.Context, args []string, file string, p cli.Printer) error {
	var want []resources.Resource
	var err error
	list := false
	switch {
	case file != "":
		want, err = a.ReadObjects(file, cli.CheckIdentity)
	case len(args) == 1:
		list = true
		err = a.CheckNamespaceFlag()
	default:
		want, err = a.objectsFromArgs(args[0], args[1:])
	}
	if err != nil {
		return err
	}
	st, err := a.Store(ctx)
	if err != nil {
		return err
	}
	var objs []resources.Resource
	var missing []error
	var info *resources.KindInfo
	var rev int64
	if list {
		if info, err = resources.Lookup(args[0]); err != nil {
			return cli.Usagef("%v", err)
		}
		if objs, rev, err = a.List(ctx, st, info); err != nil {
			return err
		}
	} else {
		objs, missing, err = fetch(ctx, st, want)
		if err != nil {
			return err
		}
	}
	if list || len(objs) > 0 {
		p.Out, p.Store, p.AllNamespaces, p.Revision = a.Out, st, a.AllNamespaces, rev
		if err := p.Print(ctx, info, objs, !list && len(want) == 1); err != nil {
			return err
		}
	}
	return errors.Join(missing...)
}

// fetch reads each wanted object; missing ones are returned as errors.
func fetch(ctx context.Context, st *datastore.Store, want []resources.Resource) (objs []resources.Resource, missing []error, err error) {
	for _, w := range want {
		m := w.Meta()
		obj, err := st.Get(ctx, w.GetTypeMeta().Kind, m.Namespace, m.Name)
		switch {
		case errors.Is(err, datastore.ErrNotFound):
			missing = append(missing, fmt.Errorf("%s not found: list them with calicoctl get %s", cli.Describe(w), resources.InfoOf(w).Plural))
		case err != nil:
			return nil, nil, err
		default:
			objs = append(objs, obj)
		}
	}
	return objs, missing, nil
}
