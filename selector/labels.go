package selector

// Labels is the input a selector is evaluated against.
type Labels interface {
	// Get returns the value of the label key and whether it is present.
	Get(key string) (value string, ok bool)
}

// GlobalLabels is implemented by label sets that can declare themselves
// global (not namespaced). global() is true only for a label set that
// implements it and whose IsGlobal returns true.
type GlobalLabels interface {
	Labels
	IsGlobal() bool
}

// Map adapts a plain map to [Labels]. It is namespaced: global() is false.
type Map map[string]string

// Get returns the value of key and whether it is present.
func (m Map) Get(key string) (string, bool) {
	v, ok := m[key]
	return v, ok
}

// GlobalMap adapts a map of a global (non-namespaced) object, such as a host
// endpoint, to [GlobalLabels]: global() is true for it.
type GlobalMap map[string]string

// Get returns the value of key and whether it is present.
func (m GlobalMap) Get(key string) (string, bool) {
	v, ok := m[key]
	return v, ok
}

// IsGlobal reports true: a GlobalMap always declares itself global.
func (GlobalMap) IsGlobal() bool { return true }

var (
	_ Labels       = Map(nil)
	_ GlobalLabels = GlobalMap(nil)
)
