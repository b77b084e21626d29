package classic

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/calico-docker/calico-libnetwork/calicoctl/internal/cli"
	"github.com/calico-docker/calico-libnetwork/datastore"
	"github.com/calico-docker/calico-libnetwork/resources"
	"github.com/calico-docker/calico-libnetwork/selector"
	"github.com/spf13/cobra"
)

func (a *app) profileCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "profile",
		Short: "Classic profile commands (show, add, remove, member add, rule show|json|update)",
		Long: `The profile commands of the original calicoctl, working on v3 Profile resources.

A v0 tag T is the label T (value "") in a profile's spec.labelsToApply, and a rule's
src_tag/dst_tag T is the selector has(T). A profile created here carries its own
name as tag and allows ingress from that tag and all egress, as v0's did (and as
the profile calico-libnetwork creates for a Docker network).

The classic forms "calicoctl profile NAME member add CONTAINER",
"calicoctl profile NAME rule show|json|update|add|remove" and
"calicoctl profile NAME tag add|remove TAG" work as written.`,
		Example: `  calicoctl profile show --detailed
  calicoctl profile PROF_GROUP1 member add group1-node1
  calicoctl profile PROF_GROUP1 rule update < prof_group1.json
  calicoctl profile PROF_GROUP1 rule show`,
		Args: cli.ArgsWith(cobra.ArbitraryArgs),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return cmd.Help()
			}
			return cli.Usagef("unknown profile command %q: use profile show|add|remove, or profile NAME member add CONTAINER, profile NAME rule show|json|update|add|remove, profile NAME tag add|remove TAG", strings.Join(args, " "))
		},
	}
	cmd.AddCommand(a.profileShowCommand(), a.profileAddCommand(), a.profileRemoveCommand(),
		a.profileMemberCommand(), a.profileRuleCommand(), a.profileTagCommand())
	return cmd
}

func (a *app) profileShowCommand() *cobra.Command {
	var output string
	var detailed bool
	cmd := &cobra.Command{
		Use:   "show [--detailed] [-o table|wide|yaml|json]",
		Short: "List profiles with their member endpoints",
		Long: `List every profile and how many workload endpoints use it. --detailed (or -o wide)
adds the tags (labelsToApply), rule counts and member containers; -o yaml|json prints
the Profile resources.

Columns: NAME, ENDPOINTS; detailed: + LABELS, INBOUND RULES, OUTBOUND RULES, MEMBERS.`,
		Example: `  calicoctl profile show
  calicoctl profile show --detailed
  calicoctl profile show -o yaml`,
		Args: cli.ArgsWith(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			format, err := cli.ParseFormatOf(output, "table", "wide", "yaml", "json")
			if err != nil {
				return err
			}
			if detailed && format == cli.FormatTable {
				format = cli.FormatWide
			}
			return a.runProfileShow(cmd.Context(), format)
		},
	}
	cmd.Flags().BoolVar(&detailed, "detailed", false, "show tags, rule counts and members (same as -o wide)")
	cli.AddOutputFlag(cmd, &output, "table", "wide", "yaml", "json")
	return cmd
}

func (a *app) runProfileShow(ctx context.Context, format cli.OutputFormat) error {
	st, err := a.Store(ctx)
	if err != nil {
		return err
	}
	profiles, _, err := datastore.ListAs[*resources.Profile](ctx, st, "")
	if err != nil {
		return fmt.Errorf("list profiles: %w", err)
	}
	if format == cli.FormatYAML || format == cli.FormatJSON {
		objs := make([]resources.Resource, len(profiles))
		for i, p := range profiles {
			objs[i] = p
		}
		info, _ := resources.Lookup(resources.KindProfile)
		return cli.Printer{Out: a.Out, Format: format, Store: st}.Print(ctx, info, objs, false)
	}
	ix, err := cli.LoadEndpoints(ctx, st)
	if err != nil {
		return err
	}
	t := cli.Table{Header: []string{"NAME", "ENDPOINTS"}}
	if format == cli.FormatWide {
		t.Header = append(t.Header, "LABELS", "INBOUND RULES", "OUTBOUND RULES", "MEMBERS")
	}
	for _, p := range profiles {
		var members []string
		for _, w := range ix.Weps {
			if slices.Contains(w.Spec.Profiles, p.Name) {
				members = cli.AppendUnique(members, cli.FirstSet(cli.ContainerName(w), w.Name))
			}
		}
		row := []string{p.Name, strconv.Itoa(countMembers(ix, p.Name))}
		if format == cli.FormatWide {
			row = append(row, cli.LabelString(p.Spec.LabelsToApply), strconv.Itoa(len(p.Spec.Ingress)),
				strconv.Itoa(len(p.Spec.Egress)), strings.Join(members, ","))
		}
		t.Rows = append(t.Rows, row)
	}
	return t.Write(a.Out)
}

func countMembers(ix *cli.EndpointIndex, profile string) int {
	n := 0
	for _, w := range ix.Weps {
		if slices.Contains(w.Spec.Profiles, profile) {
			n++
		}
	}
	return n
}

// DefaultProfile is the profile the classic commands create: it carries
// its own name as tag (label NAME: ""), allows ingress from that tag and
// all egress. It is the profile driver.NewNetworkProfile creates for a
// Docker network (a test checks they stay equal).
func DefaultProfile(name string) *resources.Profile {
	p := resources.NewProfile(name)
	p.Spec.Ingress = []resources.Rule{{Action: resources.ActionAllow, Source: resources.EntityRule{Selector: tagSelector(name)}}}
	p.Spec.Egress = []resources.Rule{{Action: resources.ActionAllow}}
	p.Spec.LabelsToApply = map[string]string{name: ""}
	return p
}

// checkProfileName checks a profile name given on the command line.
func checkProfileName(name string) error {
	p := resources.NewProfile(name)
	if err := p.Validate(); err != nil {
		return cli.Usagef("profile name %q: %v", name, err)
	}
	if selector.ValidateKey(name) != nil {
		return cli.Usagef("profile name %q cannot be a tag (a label key): use letters, digits, '_', '-' and '.', starting and ending with a letter or digit", name)
	}
	return nil
}

// ensureProfile creates the default profile name unless it exists.
func (a *app) ensureProfile(ctx context.Context, st *datastore.Store, name string) (created bool, err error) {
	_, err = datastore.GetAs[*resources.Profile](ctx, st, "", name)
	if err == nil {
		return false, nil
	}
	if !errors.Is(err, datastore.ErrNotFound) {
		return false, fmt.Errorf("read profile %q: %w", name, err)
	}
	_, err = st.Create(ctx, DefaultProfile(name))
	if errors.Is(err, datastore.ErrAlreadyExists) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("create profile %q: %w", name, err)
	}
	return true, nil
}

func (a *app) profileAddCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "add NAME",
		Short: "Create a profile whose members reach each other",
		Long: `Create profile NAME with tag NAME (label NAME in labelsToApply), ingress allowed from
that tag and all egress allowed. An existing profile is left unchanged.`,
		Example: `  calicoctl profile add WEB`,
		Args:    cli.ArgsWith(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkProfileName(args[0]); err != nil {
				return err
			}
			st, err := a.Store(cmd.Context())
			if err != nil {
				return err
			}
			created, err := a.ensureProfile(cmd.Context(), st, args[0])
			if err != nil {
				return err
			}
			if created {
				fmt.Fprintf(a.Out, "Created profile %s\n", args[0])
			} else {
				fmt.Fprintf(a.Out, "Profile %s already exists\n", args[0])
			}
			return nil
		},
	}
}

func (a *app) profileRemoveCommand() *cobra.Command {
	var noCheck bool
	cmd := &cobra.Command{
		Use:   "remove NAME [--no-check]",
		Short: "Delete a profile",
		Long: `Delete profile NAME. It is refused while workload endpoints use the profile (their
traffic would fall to the default deny), unless --no-check.`,
		Example: `  calicoctl profile remove WEB`,
		Args:    cli.ArgsWith(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, name := cmd.Context(), args[0]
			if err := cli.CheckName(resources.KindProfile, name); err != nil {
				return cli.Usagef("%v", err)
			}
			st, err := a.Store(ctx)
			if err != nil {
				return err
			}
			if !noCheck {
				ix, err := cli.LoadEndpoints(ctx, st)
				if err != nil {
					return err
				}
				if n := countMembers(ix, name); n > 0 {
					return fmt.Errorf("profile %s is used by %d endpoint(s): nothing was changed; remove those containers first, or use --no-check", name, n)
				}
			}
			if _, err := st.Delete(ctx, resources.KindProfile, "", name, ""); err != nil {
				if errors.Is(err, datastore.ErrNotFound) {
					return fmt.Errorf("profile %s does not exist: list them with calicoctl profile show", name)
				}
				return err
			}
			fmt.Fprintf(a.Out, "Deleted profile %s\n", name)
			return nil
		},
	}
	cmd.Flags().BoolVar(&noCheck, "no-check", false, "delete even while endpoints use the profile")
	return cmd
}
