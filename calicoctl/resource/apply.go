package resource

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/calico-docker/calico-libnetwork/calicoctl/internal/cli"
	"github.com/calico-docker/calico-libnetwork/datastore"
	"github.com/calico-docker/calico-libnetwork/resources"
	"github.com/spf13/cobra"
)

// writeAction is one of the file-driven verbs (apply, create, replace,
// delete -f): how to check each object against the store, and how to write it.
type writeAction struct {
	verb, past string
	level      cli.CheckLevel
	// check sees the stored object (nil when absent) before any write;
	// skip=true leaves the object alone (--skip-exists, --skip-not-exists).
	check func(obj, cur resources.Resource) (skip bool, err error)
	write func(ctx context.Context, st *datastore.Store, obj resources.Resource) error
}

// writeNote documents the all-or-nothing checks and partial failures.
const writeNote = `

Every object is decoded, validated and checked against the datastore before any is
written: if one fails, nothing is changed and each problem is listed. Objects are then
written in order. Should a write still fail (another client changed the object in
between), the rest are still written, the output says "Partial success: <verb> N out of M"
and lists each error ("Hit error: ..."), and the exit status is 1.`

func (a *app) fileCommand(use, short, long, example string, act *writeAction) *cobra.Command {
	var file string
	cmd := &cobra.Command{
		Use: use, Short: short, Long: long + writeNote, Example: example,
		Args: cli.ArgsWith(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if file == "" {
				return cli.Usagef("give the resources with -f FILE (or -f - for stdin)")
			}
			return a.runWrite(cmd.Context(), file, act)
		},
	}
	a.AddFileFlags(cmd, &file)
	a.AddNamespaceFlag(cmd)
	return cmd
}

func (a *app) applyCommand() *cobra.Command {
	act := &writeAction{verb: "apply", past: "applied", level: cli.CheckFull,
		check: checkVersion,
		write: func(ctx context.Context, st *datastore.Store, obj resources.Resource) error {
			if p, ok := obj.(*resources.IPPool); ok {
				return writePool(ctx, st, p, true) // pool_rules.go
			}
			_, err := st.Apply(ctx, obj)
			return err
		}}
	cmd := a.fileCommand("apply -f FILE", "Create or replace resources from a file",
		`Create each resource in FILE that does not exist and replace the spec of each that does.
An object carrying metadata.resourceVersion is only replaced if it is unchanged
since that version (compare-and-swap).`,
		`  calicoctl apply -f pool.yaml
  cat policy.json | calicoctl apply -f -`, act)
	return cmd
}

func (a *app) createCommand() *cobra.Command {
	var skipExists bool
	act := &writeAction{verb: "create", past: "created", level: cli.CheckFull,
		check: func(obj, cur resources.Resource) (bool, error) {
			if cur == nil {
				return false, nil
			}
			if skipExists {
				return true, nil
			}
			return false, fmt.Errorf("%s already exists: use calicoctl apply -f or replace -f to change it, or --skip-exists", cli.Describe(obj))
		},
		write: func(ctx context.Context, st *datastore.Store, obj resources.Resource) error {
			if p, ok := obj.(*resources.IPPool); ok {
				return writePool(ctx, st, p, false) // pool_rules.go
			}
			_, err := st.Create(ctx, obj)
			return err
		}}
	cmd := a.fileCommand("create -f FILE", "Create resources from a file",
		`Create every resource in FILE. If any of them already exists nothing is created
(unless --skip-exists, which leaves existing ones untouched).`,
		`  calicoctl create -f profile.yaml
  calicoctl create --skip-exists -f pools.yaml`, act)
	cmd.Flags().BoolVar(&skipExists, "skip-exists", false, "leave resources that already exist alone instead of failing")
	return cmd
}

func (a *app) replaceCommand() *cobra.Command {
	act := &writeAction{verb: "replace", past: "replaced", level: cli.CheckFull,
		check: func(obj, cur resources.Resource) (bool, error) {
			if cur == nil {
				return false, fmt.Errorf("%s does not exist: create it with calicoctl create -f or apply -f", cli.Describe(obj))
			}
			return checkVersion(obj, cur)
		},
		write: func(ctx context.Context, st *datastore.Store, obj resources.Resource) error {
			_, err := st.Update(ctx, obj)
			return err
		}}
	cmd := a.fileCommand("replace -f FILE", "Replace existing resources from a file",
		`Replace the spec of every resource in FILE; each must already exist. An object
carrying metadata.resourceVersion (as printed by calicoctl get -o yaml) is only replaced
if it has not changed since (compare-and-swap).`,
		`  calicoctl get ippool pool1 -o yaml > pool1.yaml   # edit it, then
  calicoctl replace -f pool1.yaml`, act)
	return cmd
}

// checkVersion fails when obj carries a resourceVersion the store has moved past.
func checkVersion(obj, cur resources.Resource) (bool, error) {
	rv := obj.Meta().ResourceVersion
	if rv == "" || cur == nil || rv == cur.Meta().ResourceVersion {
		return false, nil
	}
	if _, err := strconv.ParseInt(rv, 10, 64); err != nil {
		return false, fmt.Errorf("%s: metadata.resourceVersion %q is not a revision number: remove it or copy it from calicoctl get -o yaml", cli.Describe(obj), rv)
	}
	return false, fmt.Errorf("%s changed since resourceVersion %s (now %s): get it again, re-apply your change and retry, or remove metadata.resourceVersion to overwrite",
		cli.Describe(obj), rv, cur.Meta().ResourceVersion)
}

// runWrite reads and checks FILE, then writes its objects.
func (a *app) runWrite(ctx context.Context, file string, act *writeAction) error {
	objs, err := a.ReadObjects(file, act.level)
	if err != nil {
		return err
	}
	return a.writeObjects(ctx, objs, act)
}

// writeObjects checks every object against the store and only then
// writes them in order; a write failure does not stop the others.
func (a *app) writeObjects(ctx context.Context, objs []resources.Resource, act *writeAction) error {
	st, err := a.Store(ctx)
	if err != nil {
		return err
	}
	todo, skipped, err := preflight(ctx, st, objs, act)
	if err != nil {
		return err
	}
	var errs []error
	for _, obj := range todo {
		if err := act.write(ctx, st, obj); err != nil {
			errs = append(errs, err) // the store's errors name the operation and object
		}
	}
	return a.report(act, objs, skipped, errs)
}

// preflight reads each object's stored state and runs act.check on it,
// returning every failure at once (so nothing is written).
func preflight(ctx context.Context, st *datastore.Store, objs []resources.Resource, act *writeAction) (todo []resources.Resource, skipped int, err error) {
	var errs []cli.ObjectError
	for i, obj := range objs {
		m := obj.Meta()
		cur, err := st.Get(ctx, obj.GetTypeMeta().Kind, m.Namespace, m.Name)
		switch {
		case errors.Is(err, datastore.ErrNotFound):
			cur = nil
		case err != nil:
			return nil, 0, fmt.Errorf("nothing was changed: read %s: %w", cli.Describe(obj), err)
		}
		skip, err := act.check(obj, cur)
		switch {
		case err != nil:
			errs = append(errs, cli.ObjectError{Index: i + 1, Err: err})
		case skip:
			skipped++
		default:
			todo = append(todo, obj)
		}
	}
	if act.verb != "delete" {
		poolErrs, err := checkPoolWrites(ctx, st, objs, todo) // pool_rules.go
		if err != nil {
			return nil, 0, err
		}
		errs = append(errs, poolErrs...)
		tierErrs, err := checkTierWrites(ctx, st, objs, todo) // tier_rules.go
		if err != nil {
			return nil, 0, err
		}
		errs = append(errs, tierErrs...)
	} else {
		for i, obj := range objs {
			if err := checkDelete(ctx, st, obj); err != nil && contains(todo, obj) { // tier_rules.go
				errs = append(errs, cli.ObjectError{Index: i + 1, Err: err})
			}
		}
	}
	if len(errs) > 0 {
		return nil, 0, &cli.InputError{Source: act.verb, Problem: "cannot be " + act.past, Total: len(objs), Errs: errs}
	}
	return todo, skipped, nil
}

// report prints calicoctl's summary: success, partial success or failure.
func (a *app) report(act *writeAction, objs []resources.Resource, skipped int, errs []error) error {
	what := countLabel(objs)
	done := len(objs) - skipped - len(errs)
	if len(errs) == 0 {
		fmt.Fprintf(a.Out, "Successfully %s %d %s\n", act.past, done, what)
		if skipped > 0 {
			fmt.Fprintf(a.Out, "Skipped %d resource(s) (see --skip-exists / --skip-not-exists)\n", skipped)
		}
		return nil
	}
	if done > 0 {
		fmt.Fprintf(a.Out, "Partial success: %s %d out of %d %s\n", act.past, done, len(objs), what)
	} else {
		fmt.Fprintf(a.Err, "Failed to %s %d %s\n", act.verb, len(objs)-skipped, what)
	}
	for _, err := range errs {
		fmt.Fprintf(a.Err, "Hit error: %v\n", err)
	}
	return &cli.SilentError{Err: cli.ErrorList(errs)}
}

// countLabel is "'IPPool' resource(s)" when all objects share a kind.
func countLabel(objs []resources.Resource) string {
	kind := ""
	for i, o := range objs {
		k := o.GetTypeMeta().Kind
		if i > 0 && k != kind {
			return "resource(s)"
		}
		kind = k
	}
	if kind == "" {
		return "resource(s)"
	}
	return fmt.Sprintf("'%s' resource(s)", kind)
}
