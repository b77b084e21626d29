package datastore

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/calico-docker/calico-libnetwork/calicoctl/internal/cli"
	"github.com/spf13/cobra"
)

func (a *app) datastoreCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:     "datastore",
		Short:   "Back up the datastore (an etcd snapshot)",
		Example: `  calicoctl datastore backup /root/calico-$(date +%F).db`,
	}
	cmd.AddCommand(&cobra.Command{
		Use:   "backup FILE",
		Short: "Write an etcd snapshot of the whole datastore to FILE (mode 0600)",
		Long: `Writes a consistent snapshot of etcd (pools, policies, profiles, IPAM allocations, endpoints,
the driver's records) to FILE, readable by its owner only: it holds every policy and label.
Restore it into a fresh single member with the daemon's etcd_restore_snapshot setting
(see docs/etcd.md); other hosts then join that member.`,
		Example: `  calicoctl datastore backup /root/calico.db`,
		Args:    cli.ArgsWith(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.runBackup(cmd.Context(), args[0])
		},
	})
	return cmd
}

// runBackup streams the snapshot to a temporary file next to path and
// renames it into place, so a failed backup never leaves a partial FILE.
func (a *app) runBackup(ctx context.Context, path string) error {
	st, err := a.Store(ctx)
	if err != nil {
		return err
	}
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("backup %s: %w", path, err)
	}
	tmp := f.Name()
	defer os.Remove(tmp) // after a successful rename this is a no-op
	n, err := st.Snapshot(ctx, f)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("backup %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("backup %s: %w", path, err)
	}
	fmt.Fprintf(a.Out, "Wrote %d bytes to %s\n", n, path)
	return nil
}
