package calicoctl

import (
	"strings"
	"testing"

	"github.com/calico-docker/calico-libnetwork/calicoctl/internal/cli"
	"github.com/spf13/cobra"
)

func allCommands(c *cobra.Command) []*cobra.Command {
	out := []*cobra.Command{c}
	for _, sub := range c.Commands() {
		out = append(out, allCommands(sub)...)
	}
	return out
}

func TestEveryCommandHasHelpWithExample(t *testing.T) {
	root := (&app{&cli.App{}}).rootCommand()
	cmds := allCommands(root)
	if len(cmds) < 9 {
		t.Fatalf("only %d commands", len(cmds))
	}
	for _, c := range cmds {
		if c.Hidden {
			continue
		}
		path := strings.Fields(c.CommandPath())[1:]
		t.Run(c.CommandPath(), func(t *testing.T) {
			r := runCLI("", nil, append(path, "--help")...)
			if r.code != 0 || !strings.Contains(r.stdout, "Examples:") || !strings.Contains(r.stdout, "Usage:") {
				t.Errorf("help lacks an example: %v", r)
			}
		})
	}
}

func TestCompletion(t *testing.T) {
	for _, shell := range []string{"bash", "zsh", "fish", "powershell"} {
		r := runCLI("", nil, "completion", shell)
		if r.code != 0 || !strings.Contains(r.stdout, "calicoctl") {
			t.Errorf("completion %s: %v", shell, r.code)
		}
	}
	if r := runCLI("", nil, "completion", "tcsh"); r.code != 1 || !strings.Contains(r.stderr, "tcsh") {
		t.Errorf("completion tcsh: %v", r)
	}
	r := runCLI("", nil, "__complete", "get", "ip")
	if r.code != 0 || !strings.Contains(r.stdout, "ippools\n") {
		t.Errorf("kind completion: %v", r)
	}
}

func TestCompletionOfNames(t *testing.T) {
	e := startEtcd(t)
	e.mustRun(t, goodPool, "apply", "-f", "-")
	r := e.run(t, "", "__complete", "delete", "ippool", "go")
	if r.code != 0 || !strings.Contains(r.stdout, "good-pool\n") {
		t.Errorf("name completion: %v", r)
	}
}

func TestVersion(t *testing.T) {
	r := runCLI("", nil, "version")
	if r.code != 0 || !strings.Contains(r.stdout, "Client Version:    "+cli.Version) {
		t.Errorf("version: %v", r)
	}
	if r := runCLI("", nil, "version", "extra"); r.code != 1 {
		t.Errorf("version extra: %v", r)
	}
}

// TestUnknownSubcommandsFail: a typo in a command never exits 0, in any
// command group (cobra alone prints the group's help and exits 0).
func TestUnknownSubcommandsFail(t *testing.T) {
	root := (&app{&cli.App{}}).rootCommand()
	groups := 0
	for _, c := range allCommands(root) {
		if !c.HasSubCommands() || c.Hidden {
			continue
		}
		groups++
		path := strings.Fields(c.CommandPath())[1:]
		t.Run(c.CommandPath(), func(t *testing.T) {
			r := runCLI("", nil, append(path, "no-such-verb")...)
			if r.code != cli.ExitFailure || !strings.Contains(r.stderr, "unknown") || !strings.Contains(r.stderr, `"no-such-verb"`) {
				t.Errorf("want exit 1 naming the unknown command, got %v", r)
			}
			if r := runCLI("", nil, path...); len(path) > 0 && (r.code != 0 || !strings.Contains(r.stdout, "Usage:")) {
				t.Errorf("the group alone should print its help: %v", r)
			}
		})
	}
	if groups < 3 {
		t.Fatalf("only %d command groups", groups)
	}
	for _, args := range [][]string{{"help", "nosuch"}, {"get", "--nosuchflag", "ippools"}, {"ipam", "split"}, {"node", "bgp", "peer", "add"}} {
		if r := runCLI("", nil, args...); r.code != cli.ExitFailure {
			t.Errorf("%v: want exit 1, got %v", args, r)
		}
	}
}

// TestUnknownSubcommandBeforeAFlag: a calicoctl verb this project lacks,
// given with its flags, is named as the unknown command, not as an
// unknown flag of the group.
func TestUnknownSubcommandBeforeAFlag(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"ipam", "configure", "--strictaffinity=true"}, `unknown command "configure" for "calicoctl ipam"`},
		{[]string{"convert", "-f", "policy.yaml"}, `unknown command "convert" for "calicoctl"`},
		{[]string{"datastore", "migrate", "export", "--bogus"}, `unknown command "migrate" for "calicoctl datastore"`},
	} {
		r := runCLI("", nil, tc.args...)
		if r.code != cli.ExitFailure || !strings.Contains(r.stderr, tc.want) {
			t.Errorf("%v: want exit 1 and %q, got %v", tc.args, tc.want, r)
		}
	}
}

// TestCalicoctlHabitsAccepted: flags and values calicoctl users' scripts
// pass are accepted: --allow-version-mismatch on every command, -o ps
// (calicoctl's name for the table).
func TestCalicoctlHabitsAccepted(t *testing.T) {
	for _, args := range [][]string{
		{"validate", "-f", "../resources/testdata/calico-docs/tier.yaml", "--allow-version-mismatch"},
		{"--allow-version-mismatch", "validate", "-f", "../resources/testdata/calico-docs/tier.yaml"},
	} {
		if r := runCLI("", nil, args...); r.code != 0 {
			t.Errorf("%v: %v", args, r)
		}
	}
	f, err := cli.ParseFormatOf("ps", "table", "wide")
	if err != nil || f != cli.FormatTable {
		t.Errorf("-o ps: %v, %v", f, err)
	}
}

// TestUnknownFlagsFail: an unknown flag fails every command, group or
// verb, in every group (exit 1, naming the flag), before anything runs;
// so do stray arguments to the classic forms.
func TestUnknownFlagsFail(t *testing.T) {
	root := (&app{&cli.App{}}).rootCommand()
	n := 0
	for _, c := range allCommands(root) {
		if c.Hidden {
			continue
		}
		n++
		path := strings.Fields(c.CommandPath())[1:]
		t.Run(c.CommandPath(), func(t *testing.T) {
			r := runCLI("", nil, append(path, "--no-such-flag")...)
			if r.code != cli.ExitFailure || !strings.Contains(r.stderr, "unknown flag: --no-such-flag") {
				t.Errorf("want exit 1 naming the flag, got %v", r)
			}
			r = runCLI("", nil, append(path, "-Z")...)
			if r.code != cli.ExitFailure || !strings.Contains(r.stderr, "unknown shorthand flag: 'Z'") {
				t.Errorf("want exit 1 naming the shorthand, got %v", r)
			}
		})
	}
	if n < 40 {
		t.Fatalf("only %d commands", n)
	}
	for _, args := range [][]string{
		{"profile", "WEB", "rule", "nosuch"},
		{"profile", "WEB", "tag", "nosuch", "T"},
		{"profile", "WEB", "member", "nosuch"},
		{"bgppeer", "rr", "add", "192.0.2.1", "as"},
		{"bgppeer", "rr", "add", "192.0.2.1", "is", "65000"},
		{"bgppeer", "rr", "nosuch"},
		{"pool", "add", "10.0.0.0/8", "extra"},
		{"ipam", "show", "extra"},
	} {
		if r := runCLI("", nil, args...); r.code != cli.ExitFailure {
			t.Errorf("%v: want exit 1, got %v", args, r)
		}
	}
}
