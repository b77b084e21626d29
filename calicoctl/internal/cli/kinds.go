package cli

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/calico-docker/calico-libnetwork/datastore"
	"github.com/calico-docker/calico-libnetwork/resources"
	"github.com/spf13/cobra"
)

// KindHelp lists the kinds with their plurals, for help texts.
func KindHelp() string {
	var parts []string
	for _, k := range resources.Kinds() {
		parts = append(parts, k.Plural)
	}
	return strings.Join(parts, ", ")
}

// CompleteKindThenNames completes a kind first, then names of that kind
// read from etcd (silently nothing when etcd is not reachable).
func (a *App) CompleteKindThenNames(cmd *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
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
	st, err := a.Store(ctx)
	if err != nil {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	objs, _, err := a.List(ctx, st, info)
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

// CompleteFirstName completes the first argument with names of kind read
// from etcd (silently nothing when etcd is not reachable).
func (a *App) CompleteFirstName(kind string) cobra.CompletionFunc {
	return func(cmd *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
		if len(args) > 0 {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		return a.CompleteKindThenNames(cmd, []string{kind}, toComplete)
	}
}

// AddOutputFlag registers -o with the formats a command supports.
func AddOutputFlag(cmd *cobra.Command, output *string, formats ...string) {
	cmd.Flags().StringVarP(output, "output", "o", "", "output format: "+strings.Join(formats, "|"))
	_ = cmd.RegisterFlagCompletionFunc("output", cobra.FixedCompletions(formats, cobra.ShellCompDirectiveNoFileComp))
}

// ParseFormatOf parses -o, accepting only the formats listed.
func ParseFormatOf(s string, formats ...string) (OutputFormat, error) {
	f, err := parseFormat(s)
	if err != nil {
		return "", Usagef("output format %q is not supported here: use -o %s", s, strings.Join(formats, "|"))
	}
	for _, ok := range formats {
		if string(f) == ok {
			return f, nil
		}
	}
	return "", Usagef("output format %q is not supported here: use -o %s", s, strings.Join(formats, "|"))
}

// List reads every object of a kind (of the -n namespace, or of all with
// -A), in calicoctl's order: tiers by order, others by key.
func (a *App) List(ctx context.Context, st *datastore.Store, info *resources.KindInfo) ([]resources.Resource, int64, error) {
	ns := ""
	if info.Namespaced && !a.AllNamespaces {
		ns = a.Namespace
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
