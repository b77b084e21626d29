package cli

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/calico-docker/calico-libnetwork/resources"
	"github.com/spf13/cobra"
)

// CheckLevel says how much of each object read from a file is checked.
type CheckLevel int

const (
	CheckIdentity CheckLevel = iota // kind, namespace and name (get, delete)
	CheckFull                       // everything Validate checks (writes)
)

// InputError lists every problem found in one input before any write.
type InputError struct {
	Source  string // the file, or the operation
	Problem string // "are invalid", "cannot be deleted"
	Total   int
	Errs    []ObjectError
}

// ObjectError is the problem with the index'th (1-based) object.
type ObjectError struct {
	Index int
	Err   error
}

func (e *InputError) Error() string {
	if e.Total == 1 && len(e.Errs) == 1 {
		return fmt.Sprintf("%s: nothing was changed: %v", e.Source, e.Errs[0].Err)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s: nothing was changed: %d of %d resource(s) %s:", e.Source, len(e.Errs), e.Total, e.Problem)
	for _, oe := range e.Errs {
		fmt.Fprintf(&b, "\n  resource %d: %v", oe.Index, oe.Err)
	}
	return b.String()
}

func (e *InputError) Unwrap() []error {
	out := make([]error, len(e.Errs))
	for i, oe := range e.Errs {
		out[i] = oe.Err
	}
	return out
}

// AddNamespaceFlag registers -n/--namespace on cmd.
func (a *App) AddNamespaceFlag(cmd *cobra.Command) {
	cmd.Flags().StringVarP(&a.Namespace, "namespace", "n", resources.DefaultNamespace,
		"namespace of namespaced kinds (WorkloadEndpoint, NetworkPolicy, NetworkSet, StagedNetworkPolicy)")
}

// CheckNamespaceFlag rejects a namespace that no object could be in.
func (a *App) CheckNamespaceFlag() error {
	v := resources.NewNetworkSet("x")
	v.Namespace = a.Namespace
	if err := v.Validate(); err != nil {
		return Usagef("-n %q is not a valid namespace: use lower-case letters, digits and '-', e.g. -n %s", a.Namespace, resources.DefaultNamespace)
	}
	return nil
}

// AddFileFlags registers -f/--filename (into file), and calicoctl's
// -R/--recursive and --skip-empty, on cmd.
func (a *App) AddFileFlags(cmd *cobra.Command, file *string) {
	cmd.Flags().StringVarP(file, "filename", "f", "", FileFlagUsage)
	cmd.Flags().BoolVarP(&a.recursive, "recursive", "R", false,
		"accepted for calicoctl's scripts: a directory given to -f is always read recursively")
	cmd.Flags().BoolVar(&a.SkipEmpty, "skip-empty", false,
		"skip files (or stdin) without any resource instead of failing")
}

// FileFlagUsage describes -f.
const FileFlagUsage = `YAML or JSON file of one or more resources ("---" separated documents, a kind: List or a top-level list), a directory (every .yaml, .yml and .json file in it, recursively), or - for stdin`

// inputFile is one file (or stdin) of resources.
type inputFile struct {
	name string
	r    io.Reader
}

// openInputs opens FILE ("-" is stdin) or every .yaml, .yml and .json
// file under the directory FILE, recursively, in lexical order.
func (a *App) openInputs(file string) ([]inputFile, func(), error) {
	if file == "-" {
		return []inputFile{{"stdin", a.In}}, func() {}, nil
	}
	st, err := os.Stat(file)
	if err != nil {
		return nil, nil, fmt.Errorf("cannot read %s: %w", file, err)
	}
	paths := []string{file}
	if st.IsDir() {
		if paths, err = manifestFiles(file); err != nil {
			return nil, nil, err
		}
	}
	var out []inputFile
	closeAll := func() {
		for _, f := range out {
			f.r.(*os.File).Close()
		}
	}
	for _, p := range paths {
		f, err := os.Open(p)
		if err != nil {
			closeAll()
			return nil, nil, fmt.Errorf("cannot read %s: %w", p, err)
		}
		out = append(out, inputFile{p, f})
	}
	return out, closeAll, nil
}

// manifestFiles lists the YAML and JSON files under dir, recursively.
func manifestFiles(dir string) ([]string, error) {
	var out []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		switch strings.ToLower(filepath.Ext(p)) {
		case ".yaml", ".yml", ".json":
			if !d.IsDir() {
				out = append(out, p)
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("cannot read directory %s: %w", dir, err)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s is a directory without .yaml, .yml or .json files: give a file, or - for stdin", dir)
	}
	return out, nil
}

// decodeInputs decodes every input; errors name the file. With
// skipEmpty a file without any object is skipped.
func decodeInputs(files []inputFile, skipEmpty bool) ([]resources.Resource, error) {
	var objs []resources.Resource
	for _, f := range files {
		got, err := resources.Decode(f.r)
		if skipEmpty && errors.Is(err, resources.ErrNoResources) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("%s: nothing was changed: %w", f.name, err)
		}
		objs = append(objs, got...)
	}
	return objs, nil
}

// ReadObjects decodes FILE and checks every object in it, returning all
// problems at once so nothing is written when any object is bad.
func (a *App) ReadObjects(file string, level CheckLevel) ([]resources.Resource, error) {
	if err := a.CheckNamespaceFlag(); err != nil {
		return nil, err
	}
	files, done, err := a.openInputs(file)
	if err != nil {
		return nil, err
	}
	defer done()
	source := files[0].name
	if len(files) > 1 {
		source = file
	}
	objs, err := decodeInputs(files, a.SkipEmpty)
	if err != nil {
		return nil, err
	}
	var errs []ObjectError
	seen := map[string]int{}
	for i, obj := range objs {
		if err := a.checkObject(obj, level); err != nil {
			errs = append(errs, ObjectError{Index: i + 1, Err: err})
			continue
		}
		id := objectID(obj)
		if first, dup := seen[id]; dup {
			errs = append(errs, ObjectError{Index: i + 1, Err: fmt.Errorf("%s is also resource %d: give each object once", Describe(obj), first)})
			continue
		}
		seen[id] = i + 1
	}
	if len(errs) > 0 {
		return nil, &InputError{Source: source, Problem: "are invalid; fix them and run again", Total: len(objs), Errs: errs}
	}
	return objs, nil
}

// checkObject fills the namespace and checks one decoded object.
func (a *App) checkObject(obj resources.Resource, level CheckLevel) error {
	info := resources.InfoOf(obj)
	m := obj.Meta()
	switch {
	case !info.Namespaced && m.Namespace != "":
		return &resources.FieldError{Kind: info.Kind, Name: m.Name, Field: "metadata.namespace", Value: m.Namespace,
			Msg: info.Kind + " is not namespaced: remove metadata.namespace"}
	case info.Namespaced && m.Namespace == "":
		m.Namespace = a.Namespace
	}
	if level == CheckFull {
		return obj.Validate()
	}
	if err := CheckName(info.Kind, m.Name); err != nil {
		return &resources.FieldError{Kind: info.Kind, Field: "metadata.name", Value: m.Name, Msg: err.Error()}
	}
	if info.Namespaced {
		ns := resources.NewNetworkSet("x")
		ns.Namespace = m.Namespace
		if err := ns.Validate(); err != nil {
			return &resources.FieldError{Kind: info.Kind, Name: m.Name, Field: "metadata.namespace", Value: m.Namespace,
				Msg: "is not a valid namespace: use lower-case letters, digits and '-'"}
		}
	}
	return nil
}

// CheckName rejects names that cannot be an object's name (used for
// names given on the command line and for identity-only checks).
func CheckName(kind, name string) error {
	switch {
	case name == "":
		return fmt.Errorf("a %s name is required", kind)
	case len(name) > 253:
		return fmt.Errorf("%s name is longer than 253 characters", kind)
	case strings.ContainsAny(name, "/ \t\r\n"):
		return fmt.Errorf("%s name %q contains '/' or white space, which no name may", kind, name)
	}
	return nil
}

func objectID(obj resources.Resource) string {
	m := obj.Meta()
	return obj.GetTypeMeta().Kind + "/" + m.Namespace + "/" + m.Name
}

func Describe(obj resources.Resource) string {
	return fmt.Sprintf("%s %q", obj.GetTypeMeta().Kind, obj.Meta().Name)
}

// ErrorList joins errors one per line, for summaries.
func ErrorList(errs []error) error { return errors.Join(errs...) }

// OpenInput opens one FILE, "-" meaning stdin (commands that read one
// document that is not a resource, such as profile rules update).
func (a *App) OpenInput(file string) (io.Reader, string, func(), error) {
	if file == "-" {
		return a.In, "stdin", func() {}, nil
	}
	f, err := os.Open(file)
	if err != nil {
		return nil, file, nil, fmt.Errorf("cannot read %s: %w", file, err)
	}
	if st, err := f.Stat(); err == nil && st.IsDir() {
		f.Close()
		return nil, file, nil, fmt.Errorf("%s is a directory: give a JSON file, or - for stdin", file)
	}
	return f, file, func() { f.Close() }, nil
}
