package calc

import (
	"maps"
	"slices"
	"strconv"
	"strings"
)

// labelSets interns endpoints' effective label maps: endpoints with equal
// labels share one map (in a fleet, the endpoints of one app or tier),
// which is never modified. Entries are counted and dropped with their
// last endpoint.
type labelSets map[string]*labelSet

type labelSet struct {
	key    string // held once: endpoints keep this string, not their own
	labels map[string]string
	refs   int
}

// share returns the shared map equal to labels (labels itself if it is
// new) and its key; release the key when the endpoint lets go of it.
func (ls labelSets) share(labels map[string]string) (map[string]string, string) {
	key := labelsKey(labels)
	if s, ok := ls[key]; ok {
		s.refs++
		return s.labels, s.key
	}
	ls[key] = &labelSet{key: key, labels: labels, refs: 1}
	return labels, key
}

// release drops one reference to the map of key ("" is none).
func (ls labelSets) release(key string) {
	if s, ok := ls[key]; ok {
		if s.refs--; s.refs <= 0 {
			delete(ls, key)
		}
	}
}

// labelsKey is a canonical text of labels: sorted, each name and value
// prefixed with its length (so no separator can be forged).
func labelsKey(labels map[string]string) string {
	var b strings.Builder
	for _, k := range slices.Sorted(maps.Keys(labels)) {
		v := labels[k]
		b.WriteString(strconv.Itoa(len(k)))
		b.WriteByte(':')
		b.WriteString(k)
		b.WriteString(strconv.Itoa(len(v)))
		b.WriteByte(':')
		b.WriteString(v)
	}
	return b.String()
}
