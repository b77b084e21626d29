package classic

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/calico-docker/calico-libnetwork/calicoctl/internal/cli"
	"github.com/calico-docker/calico-libnetwork/datastore"
	"github.com/calico-docker/calico-libnetwork/resources"
	"github.com/spf13/cobra"
)

func (a *app) profileMemberCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "member",
		Short: "Add containers to a profile",
		Long: `calicoctl profile PROFILE member add CONTAINER (the classic form) or
calicoctl profile member add PROFILE CONTAINER.`,
		Example: `  calicoctl profile PROF_GROUP1 member add group1-node1`,
	}
	cmd.AddCommand(&cobra.Command{
		Use:   "add PROFILE CONTAINER",
		Short: "Add a profile to a container's endpoints",
		Long: `Append PROFILE to spec.profiles of every WorkloadEndpoint of CONTAINER, so the
container gets the profile's tags (labelsToApply) and, when no policy selects it, its
rules. CONTAINER is a container name or ID (or ID prefix), a WorkloadEndpoint name or
a Docker endpoint ID. A missing profile is created first, as in the original
calicoctl: its members reach each other, everything else is denied inbound.

Classic form: calicoctl profile PROFILE member add CONTAINER.`,
		Example: `  calicoctl profile PROF_GROUP1 member add group1-node1
  calicoctl profile member add PROF_GROUP1 47f2320c9d08`,
		Args:              cli.ArgsWith(cobra.ExactArgs(2)),
		ValidArgsFunction: a.CompleteFirstName(resources.KindProfile),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.runMemberAdd(cmd.Context(), args[0], args[1])
		},
	})
	return cmd
}

func (a *app) runMemberAdd(ctx context.Context, profile, container string) error {
	if err := cli.CheckName(resources.KindProfile, profile); err != nil {
		return cli.Usagef("%v", err)
	}
	st, err := a.Store(ctx)
	if err != nil {
		return err
	}
	ix, err := cli.LoadEndpoints(ctx, st)
	if err != nil {
		return err
	}
	weps, err := ix.Match(container)
	if err != nil {
		return fmt.Errorf("nothing was changed: %w", err)
	}
	if _, err := datastore.GetAs[*resources.Profile](ctx, st, "", profile); errors.Is(err, datastore.ErrNotFound) {
		if err := checkProfileName(profile); err != nil {
			return err
		}
		created, err := a.ensureProfile(ctx, st, profile)
		if err != nil {
			return err
		}
		if created {
			fmt.Fprintf(a.Out, "Created profile %s\n", profile)
		}
	} else if err != nil {
		return fmt.Errorf("read profile %q: %w", profile, err)
	}
	changed := 0
	for _, w := range weps {
		added, err := addProfileTo(ctx, st, w, profile)
		if err != nil {
			return err
		}
		if added {
			changed++
		}
	}
	if changed == 0 {
		fmt.Fprintf(a.Out, "%s is already a member of %s\n", container, profile)
		return nil
	}
	fmt.Fprintf(a.Out, "Added %s to %s\n", container, profile)
	return nil
}

// addProfileTo appends profile to an endpoint's profiles with a
// compare-and-swap, re-reading on a conflict (the driver may update the
// endpoint at the same time).
func addProfileTo(ctx context.Context, st *datastore.Store, w *resources.WorkloadEndpoint, profile string) (bool, error) {
	ns, name := w.Namespace, w.Name
	for range 5 {
		if slices.Contains(w.Spec.Profiles, profile) {
			return false, nil
		}
		w.Spec.Profiles = append(w.Spec.Profiles, profile)
		_, err := st.Update(ctx, w)
		if err == nil {
			return true, nil
		}
		if !errors.Is(err, datastore.ErrConflict) {
			return false, fmt.Errorf("add profile %s to workload endpoint %s: %w", profile, w.Name, err)
		}
		if w, err = datastore.GetAs[*resources.WorkloadEndpoint](ctx, st, ns, name); err != nil {
			return false, fmt.Errorf("re-read workload endpoint %s: %w", name, err)
		}
	}
	return false, fmt.Errorf("add profile %s to workload endpoint %s: it kept changing; retry", profile, name)
}
