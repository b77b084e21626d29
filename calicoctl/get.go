package calicoctl

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"

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

KIND is a kind, its plural or an alias: ` + kindHelp(),
		Example: `  calicoctl get ippools
  calicoctl get ippool default-ipv4-ippool -o yaml
  calicoctl get workloadendpoints -o wide
  calicoctl get -f policy.yaml -o json`,
		ValidArgsFunction: a.completeKindThenNames,
		RunE: func(cmd *cobra.Command, args []string) error {
			format, custom, err := parseGetFormat(output)
			if err != nil {
				return err
			}
			if file != "" && len(args) > 0 {
				return usagef("give either -f FILE or KIND [NAME...], not both")
			}
			if file == "" && len(args) == 0 {
				return usagef("give a kind, e.g. calicoctl get ippools; kinds: %s", kindHelp())
			}
			return a.runGet(cmd.Context(), args, file, printer{format: format, custom: custom})
		},
	}
	cmd.Flags().StringVarP(&file, "filename", "f", "", fileFlagUsage)
	cmd.Flags().StringVarP(&output, "output", "o", "", "output format: "+formatNames+", custom-columns=COL,... (table headings, or HEADING:.json.path), go-template=TEMPLATE, go-template-file=FILE")
	_ = cmd.RegisterFlagCompletionFunc("output", cobra.FixedCompletions(formatList, cobra.ShellCompDirectiveNoFileComp))
	a.addNamespaceFlag(cmd)
	cmd.Flags().BoolVarP(&a.allNamespaces, "all-namespaces", "A", false, "list namespaced kinds in every namespace (adds a NAMESPACE column)")
	return cmd
}

func (a *app) runGet(ctx context.Context, args []string, file string, p printer) error {
	var want []resources.Resource
	var err error
	list := false
	switch {
	case file != "":
		want, err = a.readObjects(file, checkIdentity)
	case len(args) == 1:
		list = true
		err = a.checkNamespaceFlag()
	default:
		want, err = a.objectsFromArgs(args[0], args[1:])
	}
	if err != nil {
		return err
	}
	st, err := a.store(ctx)
	if err != nil {
		return err
	}
	var objs []resources.Resource
	var missing []error
	var info *resources.KindInfo
	var rev int64
	if list {
		if info, err = resources.Lookup(args[0]); err != nil {
			return usagef("%v", err)
		}
		if objs, rev, err = a.list(ctx, st, info); err != nil {
			return err
		}
	} else {
		objs, missing, err = fetch(ctx, st, want)
		if err != nil {
			return err
		}
	}
	if list || len(objs) > 0 {
		p.w, p.st, p.allNamespaces, p.revision = a.out, st, a.allNamespaces, rev
		if err := p.print(ctx, info, objs, !list && len(want) == 1); err != nil {
			return err
		}
	}
	return errors.Join(missing...)
}

// list reads every object of a kind (of the -n namespace, or of all with
// -A), in calicoctl's order: tiers by order, others by key.
func (a *app) list(ctx context.Context, st *datastore.Store, info *resources.KindInfo) ([]resources.Resource, int64, error) {
	ns := ""
	if info.Namespaced && !a.allNamespaces {
		ns = a.namespace
	}
	objs, rev, err := st.List(ctx, info.Kind, ns)
	if err != nil {
		return nil, 0, fmt.Errorf("list %s: %w", info.Plural, err)
	}
	if info.Kind == resources.KindTier {
		slices.SortStableFunc(objs, func(x, y resources.Resource) int {
			return compareOrder(x.(*resources.Tier).Spec.Order, y.(*resources.Tier).Spec.Order)
		})
	}
	return objs, rev, nil
}

// compareOrder orders by order ascending, unset last.
func compareOrder(x, y *float64) int {
	switch {
	case x == nil && y == nil:
		return 0
	case x == nil:
		return 1
	case y == nil:
		return -1
	}
	return cmp.Compare(*x, *y)
}

// fetch reads each wanted object; missing ones are returned as errors.
func fetch(ctx context.Context, st *datastore.Store, want []resources.Resource) (objs []resources.Resource, missing []error, err error) {
	for _, w := range want {
		m := w.Meta()
		obj, err := st.Get(ctx, w.GetTypeMeta().Kind, m.Namespace, m.Name)
		switch {
		case errors.Is(err, datastore.ErrNotFound):
			missing = append(missing, fmt.Errorf("%s not found: list them with calicoctl get %s", describe(w), resources.InfoOf(w).Plural))
		case err != nil:
			return nil, nil, err
		default:
			objs = append(objs, obj)
		}
	}
	return objs, missing, nil
}
