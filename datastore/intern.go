package datastore

import (
	"slices"
	"strconv"
	"strings"

	"github.com/calico-docker/calico-libnetwork/resources"
)

// internMax bounds an interner: past it, it starts afresh (objects keep
// what they share; later ones share new copies), so values that never
// repeat cannot grow it without bound.
const internMax = 1 << 16

// interner shares equal strings, string lists and label maps among the
// objects one key space decodes: a fleet's endpoints repeat their node,
// network, profile, identity labels and app labels thousands of times.
// Only the syncer's objects are interned: they go to the cache, whose
// objects nobody modifies (Store.Get and List hand out private copies).
// One goroutine uses it.
type interner struct {
	strs   map[string]string
	lists  map[string][]string
	labels map[string]map[string]string
}

func newInterner() *interner {
	return &interner{strs: map[string]string{}, lists: map[string][]string{}, labels: map[string]map[string]string{}}
}

// full starts afresh once the tables hold internMax entries.
func (in *interner) full() {
	if len(in.strs)+len(in.lists)+len(in.labels) >= internMax {
		*in = *newInterner()
	}
}

func (in *interner) str(s string) string {
	if s == "" {
		return ""
	}
	if v, ok := in.strs[s]; ok {
		return v
	}
	in.full()
	in.strs[s] = s
	return s
}

func (in *interner) list(l []string) []string {
	if len(l) == 0 {
		return l
	}
	var b strings.Builder
	for _, s := range l {
		writeKey(&b, s)
	}
	key := b.String()
	if v, ok := in.lists[key]; ok {
		return v
	}
	in.full()
	l = slices.Clip(l) // an append by a holder never writes into the shared array
	for i, s := range l {
		l[i] = in.str(s)
	}
	in.lists[key] = l
	return l
}

// writeKey appends s to a key, prefixed with its length (so no separator
// can be forged by the values).
func writeKey(b *strings.Builder, s string) {
	b.WriteString(strconv.Itoa(len(s)))
	b.WriteByte(':')
	b.WriteString(s)
}

// labelMap returns the shared map equal to m (m itself, its strings
// interned, if none yet).
func (in *interner) labelMap(m map[string]string) map[string]string {
	if len(m) == 0 {
		return m
	}
	var buf [16]string // no allocation for the usual few labels
	keys, n := buf[:0], 0
	for k, v := range m {
		keys, n = append(keys, k), n+len(k)+len(v)+8
	}
	slices.Sort(keys)
	var b strings.Builder
	b.Grow(n)
	for _, k := range keys {
		writeKey(&b, k)
		writeKey(&b, m[k])
	}
	key := b.String()
	if v, ok := in.labels[key]; ok {
		return v
	}
	in.full()
	shared := make(map[string]string, len(m))
	for k, v := range m {
		shared[in.str(k)] = in.str(v)
	}
	in.labels[key] = shared
	return shared
}

// object interns what objects of its kind commonly repeat: type and
// metadata for every kind, and a WorkloadEndpoint's spec fields shared by
// the endpoints of one node or network.
func (in *interner) object(r resources.Resource) {
	tm, om := r.GetTypeMeta(), r.Meta()
	tm.Kind, tm.APIVersion = in.str(tm.Kind), in.str(tm.APIVersion)
	om.Namespace = in.str(om.Namespace)
	om.Labels, om.Annotations = in.labelMap(om.Labels), in.labelMap(om.Annotations)
	w, ok := r.(*resources.WorkloadEndpoint)
	if !ok {
		return
	}
	s := &w.Spec
	s.Orchestrator, s.Node, s.Network = in.str(s.Orchestrator), in.str(s.Node), in.str(s.Network)
	s.IPv4Gateway, s.IPv6Gateway = in.str(s.IPv4Gateway), in.str(s.IPv6Gateway)
	s.Profiles = in.list(s.Profiles)
}
