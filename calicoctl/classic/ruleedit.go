package classic

import (
	"context"
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"github.com/calico-docker/calico-libnetwork/calicoctl/internal/cli"
	"github.com/calico-docker/calico-libnetwork/resources"
	"github.com/spf13/cobra"
)

const ruleGrammar = `RULE is the classic rule text, as profile rule show prints it:
  (allow|deny) [tcp|udp|icmp|icmpv6|NUMBER] [type N [code N]]
               [from [ports P,...] [tag T] [cidr C]] [to [ports P,...] [tag T] [cidr C]]
Ports are numbers or ranges MIN:MAX and need tcp or udp.`

func (a *app) ruleAddCommand() *cobra.Command {
	var at int
	cmd := &cobra.Command{
		Use:   "add PROFILE (inbound|outbound) RULE... [--at POSITION]",
		Short: "Add one rule to a profile",
		Long: `Add a rule to the profile's inbound (ingress) or outbound (egress) rules, at the end
or before the rule at POSITION (1 is the first), as the original calicoctl did. A tag
in the rule is handled as in rule update: the profile of that name gets its label.

Classic form: calicoctl profile PROFILE rule add inbound allow tcp to ports 80.

` + ruleGrammar,
		Example: `  calicoctl profile WEB rule add inbound allow tcp to ports 80,443
  calicoctl profile WEB rule add inbound --at 1 deny from cidr 10.9.0.0/16
  calicoctl profile DB rule add inbound allow tcp from tag WEB to ports 5432`,
		Args:              cli.ArgsWith(cobra.MinimumNArgs(3)),
		ValidArgsFunction: a.CompleteFirstName(resources.KindProfile),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.editRules(cmd.Context(), args[0], args[1], func(rules []resources.Rule) ([]resources.Rule, error) {
				rule, err := parseRuleWords(args[2:])
				if err != nil {
					return nil, err
				}
				pos := len(rules)
				if cmd.Flags().Changed("at") {
					if at < 1 || at > len(rules)+1 {
						return nil, cli.Usagef("--at %d: give a position from 1 to %d", at, len(rules)+1)
					}
					pos = at - 1
				}
				return slices.Insert(rules, pos, rule), nil
			})
		},
	}
	cmd.Flags().IntVar(&at, "at", 0, "insert before the rule at this position (1 is the first); default: append")
	return cmd
}

func (a *app) ruleRemoveCommand() *cobra.Command {
	var at int
	cmd := &cobra.Command{
		Use:   "remove PROFILE (inbound|outbound) (--at POSITION | RULE...)",
		Short: "Remove one rule from a profile",
		Long: `Remove the rule at POSITION (as numbered by profile rule show), or the first rule
equal to RULE, from the profile's inbound or outbound rules.

Classic form: calicoctl profile PROFILE rule remove inbound --at 2.

` + ruleGrammar,
		Example: `  calicoctl profile WEB rule remove inbound --at 2
  calicoctl profile WEB rule remove inbound allow tcp to ports 80,443`,
		Args:              cli.ArgsWith(cobra.MinimumNArgs(2)),
		ValidArgsFunction: a.CompleteFirstName(resources.KindProfile),
		RunE: func(cmd *cobra.Command, args []string) error {
			byPos := cmd.Flags().Changed("at")
			if byPos == (len(args) > 2) {
				return cli.Usagef("give either --at POSITION or the rule to remove, e.g. allow tcp to ports 80")
			}
			return a.editRules(cmd.Context(), args[0], args[1], func(rules []resources.Rule) ([]resources.Rule, error) {
				if byPos {
					if at < 1 || at > len(rules) {
						return nil, cli.Usagef("--at %d: the profile has %d such rule(s); list them with calicoctl profile %s rule show", at, len(rules), args[0])
					}
					return slices.Delete(rules, at-1, at), nil
				}
				rule, err := parseRuleWords(args[2:])
				if err != nil {
					return nil, err
				}
				i := slices.IndexFunc(rules, func(r resources.Rule) bool { return reflect.DeepEqual(r, rule) })
				if i < 0 {
					return nil, fmt.Errorf("no %s rule of profile %s is %q: list them with calicoctl profile %s rule show", args[1], args[0], strings.Join(args[2:], " "), args[0])
				}
				return slices.Delete(rules, i, i+1), nil
			})
		},
	}
	cmd.Flags().IntVar(&at, "at", 0, "remove the rule at this position (1 is the first)")
	return cmd
}

// editRules changes one direction's rules of a profile, with the checks
// and tag handling of rule update.
func (a *app) editRules(ctx context.Context, profile, direction string, edit func([]resources.Rule) ([]resources.Rule, error)) error {
	if direction != "inbound" && direction != "outbound" {
		return cli.Usagef("say which rules: inbound or outbound, not %q", direction)
	}
	st, cur, err := a.readProfile(ctx, profile)
	if err != nil {
		return err
	}
	ingress, egress := slices.Clone(cur.Spec.Ingress), slices.Clone(cur.Spec.Egress)
	target := &ingress
	if direction == "outbound" {
		target = &egress
	}
	if *target, err = edit(*target); err != nil {
		return err
	}
	up, err := planRuleUpdate(ctx, st, cur, ingress, egress, ruleTags(ingress, egress))
	if err != nil {
		return fmt.Errorf("nothing was changed: %w", err)
	}
	return a.writeRuleUpdate(ctx, st, up)
}

// ruleTags are the v0 tags (has(T) selectors) the rules reference.
func ruleTags(lists ...[]resources.Rule) []string {
	var tags []string
	for _, rules := range lists {
		for i := range rules {
			if r, err := v0RuleOf(&rules[i]); err == nil {
				tags = cli.AppendUnique(tags, r.SrcTag, r.DstTag)
			}
		}
	}
	return slices.DeleteFunc(tags, func(t string) bool { return t == "" })
}

// parseRuleWords reads the classic rule text into a v3 rule.
func parseRuleWords(words []string) (resources.Rule, error) {
	var r V0Rule
	if len(words) == 0 {
		return resources.Rule{}, cli.Usagef("give the rule, e.g. allow tcp to ports 80")
	}
	r.Action = words[0]
	rest := words[1:]
	if len(rest) > 0 && !isRuleKeyword(rest[0]) {
		r.Protocol, rest = rest[0], rest[1:]
	}
	side := ""
	for len(rest) > 0 {
		word := rest[0]
		if word == "from" || word == "to" {
			side, rest = word, rest[1:]
			continue
		}
		if len(rest) < 2 {
			return resources.Rule{}, cli.Usagef("rule: %q needs a value", word)
		}
		val := rest[1]
		rest = rest[2:]
		if err := r.setWord(side, word, val); err != nil {
			return resources.Rule{}, err
		}
	}
	rule, _, err := r.toV3("rule")
	if err != nil {
		return resources.Rule{}, cli.Usagef("%v", err)
	}
	return rule, nil
}

func isRuleKeyword(w string) bool {
	switch w {
	case "from", "to", "type", "code", "ports", "tag", "cidr":
		return true
	}
	return false
}

func (r *V0Rule) setWord(side, word, val string) error {
	num := func() (*int, error) {
		n, err := strconv.Atoi(val)
		if err != nil {
			return nil, cli.Usagef("rule: %s %q is not a number", word, val)
		}
		return &n, nil
	}
	var err error
	switch {
	case word == "type" && side == "":
		r.ICMPType, err = num()
	case word == "code" && side == "":
		r.ICMPCode, err = num()
	case side == "":
		return cli.Usagef("rule: %q must follow from or to, e.g. allow tcp to ports 80", word)
	case word == "ports":
		var ports []resources.Port
		for _, p := range strings.Split(val, ",") {
			port, perr := resources.ParsePort(p)
			if perr != nil {
				return cli.Usagef("rule: %v", perr)
			}
			ports = append(ports, port)
		}
		if side == "from" {
			r.SrcPorts = ports
		} else {
			r.DstPorts = ports
		}
	case word == "tag" && side == "from":
		r.SrcTag = val
	case word == "tag":
		r.DstTag = val
	case word == "cidr" && side == "from":
		r.SrcNet = val
	case word == "cidr":
		r.DstNet = val
	default:
		return cli.Usagef("rule: unknown word %q: use ports, tag or cidr after %s", word, side)
	}
	return err
}

func (a *app) profileTagCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "tag",
		Short: "Add or remove a profile's tags",
		Long: `calicoctl profile PROFILE tag add|remove TAG (the classic form) or
calicoctl profile tag add|remove PROFILE TAG. A v0 tag is the label TAG (value "") in
the profile's spec.labelsToApply, so every member carries it.`,
		Example: `  calicoctl profile WEB tag add FRONTEND
  calicoctl profile WEB tag remove FRONTEND`,
	}
	for _, verb := range []string{"add", "remove"} {
		remove := verb == "remove"
		cmd.AddCommand(&cobra.Command{
			Use:               verb + " PROFILE TAG",
			Short:             map[bool]string{false: "Give a profile's members a tag", true: "Take a tag from a profile's members"}[remove],
			Example:           "  calicoctl profile WEB tag " + verb + " FRONTEND",
			Args:              cli.ArgsWith(cobra.ExactArgs(2)),
			ValidArgsFunction: a.CompleteFirstName(resources.KindProfile),
			RunE: func(cmd *cobra.Command, args []string) error {
				return a.runTagEdit(cmd.Context(), args[0], args[1], remove)
			},
		})
	}
	return cmd
}

func (a *app) runTagEdit(ctx context.Context, profile, tag string, remove bool) error {
	if err := checkTag("tag", tag); err != nil {
		return cli.Usagef("%v", err)
	}
	st, cur, err := a.readProfile(ctx, profile)
	if err != nil {
		return err
	}
	_, has := cur.Spec.LabelsToApply[tag]
	switch {
	case remove && !has:
		return fmt.Errorf("profile %s has no tag %s: list its tags with calicoctl get profile %s -o yaml (labelsToApply)", profile, tag, profile)
	case remove:
		delete(cur.Spec.LabelsToApply, tag)
	case has:
		fmt.Fprintf(a.Out, "Profile %s already has tag %s\n", profile, tag)
		return nil
	default:
		cur.Spec.LabelsToApply = withTag(cur.Spec.LabelsToApply, tag)
	}
	if err := cur.Validate(); err != nil {
		return fmt.Errorf("nothing was changed: %w", err)
	}
	if _, err := st.Update(ctx, cur); err != nil {
		return fmt.Errorf("nothing was changed: %w", err)
	}
	fmt.Fprintf(a.Out, "%s tag %s %s profile %s\n", map[bool]string{false: "Added", true: "Removed"}[remove], tag, map[bool]string{false: "to", true: "from"}[remove], profile)
	return nil
}
