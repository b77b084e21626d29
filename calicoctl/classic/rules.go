package classic

import (
	"context"
	"errors"
	"fmt"
	"maps"

	"github.com/calico-docker/calico-libnetwork/calicoctl/internal/cli"
	"github.com/calico-docker/calico-libnetwork/datastore"
	"github.com/calico-docker/calico-libnetwork/resources"
	"github.com/spf13/cobra"
)

func (a *app) profileRuleCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "rule",
		Short: "Show or replace a profile's rules in the v0 form",
		Long: `calicoctl profile PROFILE rule show|json|update|add|remove (the classic form) or
calicoctl profile rule show|json|update|add|remove PROFILE.`,
		Example: `  calicoctl profile WEB rule show
  calicoctl profile WEB rule json > web.json
  calicoctl profile WEB rule update < web.json`,
	}
	cmd.AddCommand(a.ruleShowCommand(), a.ruleJSONCommand(), a.ruleUpdateCommand(), a.ruleAddCommand(), a.ruleRemoveCommand())
	return cmd
}

func (a *app) ruleShowCommand() *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:   "show PROFILE [-o table|json|yaml]",
		Short: "Print a profile's rules",
		Long: `Print the profile's inbound (ingress) and outbound (egress) rules, numbered from 1,
as the original calicoctl did ("allow tcp to ports 80 from tag WEB"). A rule that has
no v0 form (Log, Pass, negations, arbitrary selectors) is printed in the v3 form,
marked [v3]. -o json prints the v0 JSON that rule update reads (as rule json does),
-o yaml the same as YAML; both fail when a rule has no v0 form.`,
		Example: `  calicoctl profile WEB rule show
  calicoctl profile WEB rule show -o json`,
		Args:              cli.ArgsWith(cobra.ExactArgs(1)),
		ValidArgsFunction: a.CompleteFirstName(resources.KindProfile),
		RunE: func(cmd *cobra.Command, args []string) error {
			format, err := cli.ParseFormatOf(output, "table", "json", "yaml")
			if err != nil {
				return err
			}
			return a.runRuleShow(cmd.Context(), args[0], format)
		},
	}
	cli.AddOutputFlag(cmd, &output, "table", "json", "yaml")
	return cmd
}

func (a *app) ruleJSONCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "json PROFILE",
		Short: "Print a profile's rules as the v0 JSON that rule update reads",
		Long: `Print {"id": PROFILE, "inbound_rules": [...], "outbound_rules": [...]}. Rules take
action (allow|deny), protocol (tcp|udp|icmp|icmpv6), src_tag, src_net, src_ports,
dst_tag, dst_net, dst_ports, icmp_type, icmp_code and ip_version. It fails when a rule
has no v0 form; see the profile with calicoctl get profile PROFILE -o yaml then.`,
		Example:           `  calicoctl profile WEB rule json > web.json`,
		Args:              cli.ArgsWith(cobra.ExactArgs(1)),
		ValidArgsFunction: a.CompleteFirstName(resources.KindProfile),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.runRuleShow(cmd.Context(), args[0], cli.FormatJSON)
		},
	}
}

func (a *app) readProfile(ctx context.Context, name string) (*datastore.Store, *resources.Profile, error) {
	if err := cli.CheckName(resources.KindProfile, name); err != nil {
		return nil, nil, cli.Usagef("%v", err)
	}
	st, err := a.Store(ctx)
	if err != nil {
		return nil, nil, err
	}
	p, err := datastore.GetAs[*resources.Profile](ctx, st, "", name)
	if errors.Is(err, datastore.ErrNotFound) {
		return nil, nil, fmt.Errorf("profile %s does not exist: create it with calicoctl profile add %s (or profile %s member add CONTAINER)", name, name, name)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("read profile %q: %w", name, err)
	}
	return st, p, nil
}

func (a *app) runRuleShow(ctx context.Context, name string, format cli.OutputFormat) error {
	_, p, err := a.readProfile(ctx, name)
	if err != nil {
		return err
	}
	if format == cli.FormatJSON || format == cli.FormatYAML {
		rules, err := v0RulesOf(p)
		if err != nil {
			return err
		}
		return cli.WriteStructured(a.Out, format, rules)
	}
	for _, d := range []struct {
		title string
		rules []resources.Rule
	}{{"Inbound rules:", p.Spec.Ingress}, {"Outbound rules:", p.Spec.Egress}} {
		fmt.Fprintln(a.Out, d.title)
		for i := range d.rules {
			text := "[v3] " + cli.DescribeRule(&d.rules[i])
			if r, err := v0RuleOf(&d.rules[i]); err == nil {
				text = r.text()
			}
			fmt.Fprintf(a.Out, "  %2d %s\n", i+1, text)
		}
	}
	return nil
}

func (a *app) ruleUpdateCommand() *cobra.Command {
	var file string
	cmd := &cobra.Command{
		Use:   "update PROFILE [-f FILE]",
		Short: "Replace a profile's rules with v0 JSON read from stdin",
		Long: `Read {"id": PROFILE, "inbound_rules": [...], "outbound_rules": [...]} (the v0 form
printed by rule json) from stdin or -f FILE and store it as the profile's v3 ingress
and egress rules; its labelsToApply are kept. The JSON is checked completely before
anything is written: a bad rule changes nothing.

Mapping: action allow|deny → Allow|Deny; protocol → protocol; src_net/dst_net →
source/destination nets; src_ports/dst_ports → ports (numbers or "min:max");
icmp_type/icmp_code → icmp type/code; ip_version → ipVersion; src_tag/dst_tag T →
selector has(T). A profile named T (including PROFILE itself) is given the label T
(value "") in labelsToApply, so its members carry the tag, as they did in v0. A tag
no profile of that name carries matches nothing until one does (a warning says so).`,
		Example: `  calicoctl profile PROF_GROUP1 rule update < prof_group1.json
  calicoctl profile rule update WEB -f web.json`,
		Args:              cli.ArgsWith(cobra.ExactArgs(1)),
		ValidArgsFunction: a.CompleteFirstName(resources.KindProfile),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.runRuleUpdate(cmd.Context(), args[0], file)
		},
	}
	cmd.Flags().StringVarP(&file, "filename", "f", "-", "file with the v0 rules JSON; - reads stdin")
	return cmd
}

// ruleUpdate is a checked rule update, ready to write.
type ruleUpdate struct {
	profile   *resources.Profile   // with the new rules
	tagOwners []*resources.Profile // other profiles gaining their tag label
	orphans   []string             // tags no profile of that name exists for
}

func (a *app) runRuleUpdate(ctx context.Context, name, file string) error {
	if err := cli.CheckName(resources.KindProfile, name); err != nil {
		return cli.Usagef("%v", err)
	}
	r, source, done, err := a.OpenInput(file)
	if err != nil {
		return err
	}
	rules, err := DecodeV0Rules(r)
	done()
	if err != nil {
		return fmt.Errorf("%s: nothing was changed: %w", source, err)
	}
	if rules.ID != "" && rules.ID != name {
		return fmt.Errorf(`%s: nothing was changed: the rules are for profile %q ("id"), not %q: fix "id" or the profile name`, source, rules.ID, name)
	}
	ingress, egress, tags, err := rules.toV3()
	if err != nil {
		return fmt.Errorf("%s: nothing was changed: %w", source, err)
	}
	st, cur, err := a.readProfile(ctx, name)
	if err != nil {
		return err
	}
	up, err := planRuleUpdate(ctx, st, cur, ingress, egress, tags)
	if err != nil {
		return fmt.Errorf("nothing was changed: %w", err)
	}
	return a.writeRuleUpdate(ctx, st, up)
}

// planRuleUpdate builds and validates every write before any happens.
func planRuleUpdate(ctx context.Context, st *datastore.Store, cur *resources.Profile, ingress, egress []resources.Rule, tags []string) (*ruleUpdate, error) {
	p := *cur
	p.Spec.Ingress, p.Spec.Egress = ingress, egress
	p.Spec.LabelsToApply = maps.Clone(cur.Spec.LabelsToApply)
	up := &ruleUpdate{profile: &p}
	for _, tag := range tags {
		if tag == p.Name {
			p.Spec.LabelsToApply = withTag(p.Spec.LabelsToApply, tag)
			continue
		}
		owner, err := datastore.GetAs[*resources.Profile](ctx, st, "", tag)
		switch {
		case errors.Is(err, datastore.ErrNotFound):
			up.orphans = append(up.orphans, tag)
			continue
		case err != nil:
			return nil, fmt.Errorf("read profile %q (for tag %s): %w", tag, tag, err)
		}
		if _, ok := owner.Spec.LabelsToApply[tag]; !ok {
			owner.Spec.LabelsToApply = withTag(owner.Spec.LabelsToApply, tag)
			if err := owner.Validate(); err != nil {
				return nil, err
			}
			up.tagOwners = append(up.tagOwners, owner)
		}
	}
	if err := p.Validate(); err != nil {
		return nil, err
	}
	return up, nil
}

func withTag(labels map[string]string, tag string) map[string]string {
	if labels == nil {
		labels = map[string]string{}
	}
	if _, ok := labels[tag]; !ok {
		labels[tag] = ""
	}
	return labels
}

func (a *app) writeRuleUpdate(ctx context.Context, st *datastore.Store, up *ruleUpdate) error {
	p := up.profile
	if _, err := st.Update(ctx, p); err != nil {
		if errors.Is(err, datastore.ErrConflict) {
			return fmt.Errorf("nothing was changed: profile %s changed while the rules were checked: run the update again", p.Name)
		}
		return fmt.Errorf("nothing was changed: %w", err)
	}
	fmt.Fprintf(a.Out, "Updated rules of profile %s: %d inbound, %d outbound\n", p.Name, len(p.Spec.Ingress), len(p.Spec.Egress))
	var errs []error
	for _, owner := range up.tagOwners {
		if _, err := st.Update(ctx, owner); err != nil {
			errs = append(errs, fmt.Errorf("give profile %s its tag label %s: %w; add it with calicoctl apply (labelsToApply: {%s: \"\"})", owner.Name, owner.Name, err, owner.Name))
			continue
		}
		fmt.Fprintf(a.Out, "Profile %s now applies its tag %s (label %s) to its members\n", owner.Name, owner.Name, owner.Name)
	}
	for _, tag := range up.orphans {
		fmt.Fprintf(a.Err, "Warning: no profile %s carries tag %s yet, so rules on it match nothing until one does (calicoctl profile add %s)\n", tag, tag, tag)
	}
	return errors.Join(errs...)
}
