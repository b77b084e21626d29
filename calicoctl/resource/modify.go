package resource

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/calico-docker/calico-libnetwork/calicoctl/internal/cli"
	"github.com/calico-docker/calico-libnetwork/datastore"
	"github.com/calico-docker/calico-libnetwork/resources"
	"github.com/spf13/cobra"
	"sigs.k8s.io/yaml"
)

// modify reads one object, lets change edit it, validates the result and
// writes it back with a compare-and-swap on the version read, so a
// concurrent writer is never overwritten. A failed check writes nothing.
func (a *app) modify(ctx context.Context, kind, name string, change func(resources.Resource) error) (resources.Resource, error) {
	objs, err := a.objectsFromArgs(kind, []string{name})
	if err != nil {
		return nil, err
	}
	st, err := a.Store(ctx)
	if err != nil {
		return nil, err
	}
	want := objs[0]
	cur, err := st.Get(ctx, want.GetTypeMeta().Kind, want.Meta().Namespace, name)
	if errors.Is(err, datastore.ErrNotFound) {
		return nil, fmt.Errorf("%s not found: list them with calicoctl get %s", cli.Describe(want), resources.InfoOf(want).Plural)
	}
	if err != nil {
		return nil, err
	}
	if err := change(cur); err != nil {
		return nil, fmt.Errorf("nothing was changed: %w", err)
	}
	cur.Default()
	if err := cur.Validate(); err != nil {
		return nil, fmt.Errorf("nothing was changed: %w", err)
	}
	batch := []resources.Resource{cur}
	for _, check := range []func(context.Context, *datastore.Store, []resources.Resource, []resources.Resource) ([]cli.ObjectError, error){checkPoolWrites, checkTierWrites} {
		errs, err := check(ctx, st, batch, batch)
		if err != nil {
			return nil, err
		}
		if len(errs) > 0 {
			return nil, fmt.Errorf("nothing was changed: %w", errs[0].Err)
		}
	}
	if _, err := st.Update(ctx, cur); err != nil {
		return nil, fmt.Errorf("nothing was changed: %w", err)
	}
	return cur, nil
}

func (a *app) patchCommand() *cobra.Command {
	var patch, patchType string
	cmd := &cobra.Command{
		Use:   "patch KIND NAME -p PATCH",
		Short: "Change fields of one resource",
		Long: `Merge PATCH (JSON or YAML, RFC 7386 merge patch: objects merge, a null removes the
field, anything else replaces it) into the stored object and write it back if it is
still valid and unchanged since it was read. kind, apiVersion, metadata.name and
metadata.namespace cannot be patched.

KIND is a kind, its plural or an alias: ` + cli.KindHelp(),
		Example: `  calicoctl patch ippool default-ipv4-ippool -p '{"spec":{"natOutgoing":false}}'
  calicoctl patch felixconfiguration default -p 'spec: {logSeverityScreen: Debug}'
  calicoctl patch networkpolicy allow-web -n team-a -p '{"spec":{"order":100}}'`,
		Args:              cli.ArgsWith(cobra.ExactArgs(2)),
		ValidArgsFunction: a.CompleteKindThenNames,
		RunE: func(cmd *cobra.Command, args []string) error {
			if patch == "" {
				return cli.Usagef("give the patch with -p, e.g. -p '{\"spec\":{\"natOutgoing\":true}}'")
			}
			if err := checkPatchType(patchType, patch); err != nil {
				return err
			}
			obj, err := a.modify(cmd.Context(), args[0], args[1], func(cur resources.Resource) error { return applyPatch(cur, patch) })
			if err != nil {
				return err
			}
			fmt.Fprintf(a.Out, "Successfully patched 1 '%s' resource\n", obj.GetTypeMeta().Kind)
			return nil
		},
	}
	cmd.Flags().StringVarP(&patch, "patch", "p", "", "the merge patch, JSON or YAML")
	cmd.Flags().StringVarP(&patchType, "type", "t", "strategic",
		"calicoctl's patch types: strategic (the default), merge and json all merge an object patch as above; a JSON Patch list of operations (RFC 6902) is not supported")
	a.AddNamespaceFlag(cmd)
	return cmd
}

// checkPatchType accepts calicoctl's --type values. As in calicoctl,
// each applies an object patch by merging it (Calico's resources have no
// strategic merge keys); a list of RFC 6902 operations is refused.
func checkPatchType(t, patch string) error {
	switch t {
	case "strategic", "merge", "json":
	default:
		return cli.Usagef("--type %q: use strategic (the default), merge or json", t)
	}
	if p := strings.TrimSpace(patch); strings.HasPrefix(p, "[") || strings.HasPrefix(p, "- ") {
		return cli.Usagef("a JSON Patch list of operations (RFC 6902) is not supported: give the change as an object to merge, e.g. -p '{\"spec\":{\"disabled\":true}}'")
	}
	return nil
}

// applyPatch merges patch into obj in place, decoding the result strictly
// so a misspelt field is named.
func applyPatch(obj resources.Resource, patch string) error {
	pjs, err := yaml.YAMLToJSONStrict([]byte(patch))
	if err != nil {
		return fmt.Errorf("the patch is not valid JSON or YAML: %w", err)
	}
	var p any
	if err := json.Unmarshal(pjs, &p); err != nil {
		return fmt.Errorf("the patch is not valid JSON or YAML: %w", err)
	}
	pm, ok := p.(map[string]any)
	if !ok {
		return errors.New("the patch must be an object, such as {\"spec\":{...}}")
	}
	if err := checkPatchIdentity(pm); err != nil {
		return err
	}
	cjs, err := json.Marshal(obj)
	if err != nil {
		return err
	}
	var cur map[string]any
	if err := json.Unmarshal(cjs, &cur); err != nil {
		return err
	}
	merged, err := json.Marshal(mergePatch(cur, pm))
	if err != nil {
		return err
	}
	patched, err := resources.DecodeObject(merged)
	if err != nil {
		return err
	}
	return copyInto(obj, patched)
}

// checkPatchIdentity refuses a patch that would change what object it is.
func checkPatchIdentity(p map[string]any) error {
	for _, f := range []string{"kind", "apiVersion"} {
		if _, ok := p[f]; ok {
			return fmt.Errorf("%s cannot be patched: remove it from the patch", f)
		}
	}
	if md, ok := p["metadata"].(map[string]any); ok {
		for _, f := range []string{"name", "namespace"} {
			if _, ok := md[f]; ok {
				return fmt.Errorf("metadata.%s cannot be patched: create the object under the new name and delete the old one", f)
			}
		}
	}
	return nil
}

// mergePatch is RFC 7386's merge of patch into target.
func mergePatch(target, patch map[string]any) map[string]any {
	if target == nil {
		target = map[string]any{}
	}
	for k, v := range patch {
		switch pv := v.(type) {
		case nil:
			delete(target, k)
		case map[string]any:
			tv, _ := target[k].(map[string]any)
			target[k] = mergePatch(tv, pv)
		default:
			target[k] = v
		}
	}
	return target
}

// copyInto replaces *dst with *src (same kind) through JSON, keeping dst's
// pointer identity for the caller.
func copyInto(dst, src resources.Resource) error {
	js, err := json.Marshal(src)
	if err != nil {
		return err
	}
	return json.Unmarshal(js, dst)
}

func (a *app) labelCommand() *cobra.Command {
	var overwrite, remove bool
	cmd := &cobra.Command{
		Use:   "label KIND NAME (KEY=VALUE [--overwrite] | KEY --remove)",
		Short: "Set or remove a label of one resource",
		Long: `Set the label KEY to VALUE on a resource (refused if KEY is already set to another
value, unless --overwrite), or remove it with --remove. The change is written with a
compare-and-swap, so a concurrent change is never lost.

KIND is a kind, its plural or an alias: ` + cli.KindHelp(),
		Example: `  calicoctl label hostendpoint host1-eth0 role=k8s-worker
  calicoctl label workloadendpoint host1-libnetwork-0123 tier=web --overwrite
  calicoctl label globalnetworkset external-database role --remove`,
		Args:              cli.ArgsWith(cobra.ExactArgs(3)),
		ValidArgsFunction: a.CompleteKindThenNames,
		RunE: func(cmd *cobra.Command, args []string) error {
			key, value, hasValue := strings.Cut(args[2], "=")
			switch {
			case remove && hasValue:
				return cli.Usagef("--remove takes a label key only: calicoctl label %s %s %s --remove", args[0], args[1], key)
			case !remove && !hasValue:
				return cli.Usagef("give KEY=VALUE to set a label, or KEY --remove to remove it")
			}
			obj, err := a.modify(cmd.Context(), args[0], args[1], func(cur resources.Resource) error {
				return setLabel(cur, key, value, remove, overwrite)
			})
			if err != nil {
				return err
			}
			verb := "set"
			if remove {
				verb = "removed"
			}
			fmt.Fprintf(a.Out, "Successfully %s label %s on %s %s\n", verb, key, strings.ToLower(obj.GetTypeMeta().Kind), obj.Meta().Name)
			return nil
		},
	}
	cmd.Flags().BoolVar(&overwrite, "overwrite", false, "replace the label's value if it is already set")
	cmd.Flags().BoolVar(&remove, "remove", false, "remove the label KEY")
	a.AddNamespaceFlag(cmd)
	return cmd
}

func setLabel(obj resources.Resource, key, value string, remove, overwrite bool) error {
	m := obj.Meta()
	old, exists := m.Labels[key]
	switch {
	case remove && !exists:
		return fmt.Errorf("%s has no label %q", cli.Describe(obj), key)
	case remove:
		delete(m.Labels, key)
	case exists && old != value && !overwrite:
		return fmt.Errorf("%s already has label %s=%s: pass --overwrite to replace it", cli.Describe(obj), key, old)
	default:
		if m.Labels == nil {
			m.Labels = map[string]string{}
		}
		m.Labels[key] = value
	}
	v := resources.NewNetworkSet("x")
	v.Labels = map[string]string{key: value}
	if err := v.Validate(); err != nil && !remove {
		return fmt.Errorf("label %s=%s is not valid: keys are an optional DNS prefix and '/', then letters, digits, '-', '_' and '.'; values at most 63 such characters", key, value)
	}
	return nil
}

func (a *app) validateCommand() *cobra.Command {
	var file string
	cmd := &cobra.Command{
		Use:   "validate -f FILE",
		Short: "Check resources without storing them",
		Long: `Decode and validate every resource in FILE (or every YAML/JSON file under a
directory) exactly as apply would, without contacting the datastore. Every problem is
listed; the exit status is 1 if there is any.`,
		Example: `  calicoctl validate -f policy.yaml
  calicoctl validate -f manifests/`,
		Args: cli.ArgsWith(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if file == "" {
				return cli.Usagef("give the resources with -f FILE (or -f - for stdin)")
			}
			objs, err := a.ReadObjects(file, cli.CheckFull)
			if err != nil {
				return errors.New(strings.Replace(err.Error(), ": nothing was changed", "", 1))
			}
			fmt.Fprintf(a.Out, "Successfully validated %d resource(s)\n", len(objs))
			return nil
		},
	}
	a.AddFileFlags(cmd, &file)
	a.AddNamespaceFlag(cmd)
	return cmd
}
