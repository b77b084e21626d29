package datastore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/calico-docker/calico-libnetwork/resources"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// Prefix is the root of every key this product writes.
const Prefix = "/calico"

const resourcePrefix = Prefix + "/resources/v3/projectcalico.org/"

// Errors callers branch on; wrapped errors match with errors.Is.
var (
	ErrNotFound      = errors.New("not found")
	ErrAlreadyExists = errors.New("already exists")
	ErrConflict      = errors.New("update conflict: the object changed since it was read; read it again and retry")
)

// Store is a typed view of the resources in etcd. It is safe for
// concurrent use.
type Store struct {
	cli *clientv3.Client
	now func() time.Time
}

// New returns a Store over an etcd client.
func New(cli *clientv3.Client) *Store { return &Store{cli: cli, now: time.Now} }

// Client returns the underlying etcd client (used by package ipam).
func (s *Store) Client() *clientv3.Client { return s.cli }

// KeyFor returns the etcd key of an object.
func KeyFor(kind, namespace, name string) (string, error) {
	k, err := resources.Lookup(kind)
	if err != nil {
		return "", err
	}
	if k.Namespaced {
		if namespace == "" {
			namespace = resources.DefaultNamespace
		}
		return resourcePrefix + k.Plural + "/" + namespace + "/" + name, nil
	}
	return resourcePrefix + k.Plural + "/" + name, nil
}

func listPrefix(kind, namespace string) (string, error) {
	k, err := resources.Lookup(kind)
	if err != nil {
		return "", err
	}
	p := resourcePrefix + k.Plural + "/"
	if k.Namespaced && namespace != "" {
		p += namespace + "/"
	}
	return p, nil
}

func keyOf(r resources.Resource) (string, error) {
	m := r.Meta()
	return KeyFor(r.GetTypeMeta().Kind, m.Namespace, m.Name)
}

func describe(r resources.Resource) string {
	return fmt.Sprintf("%s %q", r.GetTypeMeta().Kind, r.Meta().Name)
}

// encode strips the resource version (it lives in etcd's ModRevision).
func encode(r resources.Resource) (string, error) {
	rv := r.Meta().ResourceVersion
	r.Meta().ResourceVersion = ""
	defer func() { r.Meta().ResourceVersion = rv }()
	b, err := json.Marshal(r)
	return string(b), err
}

func decode(kind string, value []byte, modRev int64) (resources.Resource, error) {
	obj, err := resources.New(kind)
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(value, obj); err != nil {
		return nil, fmt.Errorf("decode stored %s: %w", kind, err)
	}
	obj.Meta().ResourceVersion = strconv.FormatInt(modRev, 10)
	return obj, nil
}

// prepare defaults and validates r before a write.
func prepare(r resources.Resource) error {
	r.Default()
	if r.GetTypeMeta().APIVersion == "" {
		r.GetTypeMeta().APIVersion = resources.APIVersion
	}
	return r.Validate()
}

// Get reads one object.
func (s *Store) Get(ctx context.Context, kind, namespace, name string) (resources.Resource, error) {
	key, err := KeyFor(kind, namespace, name)
	if err != nil {
		return nil, err
	}
	resp, err := s.cli.Get(ctx, key)
	if err != nil {
		return nil, fmt.Errorf("get %s %q: %w", kind, name, err)
	}
	if len(resp.Kvs) == 0 {
		return nil, fmt.Errorf("%s %q: %w", kind, name, ErrNotFound)
	}
	k, _ := resources.Lookup(kind)
	return decode(k.Kind, resp.Kvs[0].Value, resp.Kvs[0].ModRevision)
}

// List reads every object of a kind (namespace "" = all namespaces) and
// returns the etcd revision the list was read at, for a following Watch.
func (s *Store) List(ctx context.Context, kind, namespace string) ([]resources.Resource, int64, error) {
	prefix, err := listPrefix(kind, namespace)
	if err != nil {
		return nil, 0, err
	}
	resp, err := s.cli.Get(ctx, prefix, clientv3.WithPrefix())
	if err != nil {
		return nil, 0, fmt.Errorf("list %s: %w", kind, err)
	}
	k, _ := resources.Lookup(kind)
	out := make([]resources.Resource, 0, len(resp.Kvs))
	for _, kv := range resp.Kvs {
		obj, err := decode(k.Kind, kv.Value, kv.ModRevision)
		if err != nil {
			return nil, 0, fmt.Errorf("%s: %w", kv.Key, err)
		}
		out = append(out, obj)
	}
	return out, resp.Header.Revision, nil
}

// Create stores a new object; ErrAlreadyExists if the name is taken.
func (s *Store) Create(ctx context.Context, r resources.Resource) (resources.Resource, error) {
	return s.CreateIf(ctx, r)
}

// CreateIf stores a new object if the conditions hold, atomically:
// ErrAlreadyExists if the name is taken, ErrConflict if a condition failed
// (read again, check again, retry).
func (s *Store) CreateIf(ctx context.Context, r resources.Resource, conds ...Cond) (resources.Resource, error) {
	if err := prepare(r); err != nil {
		return nil, err
	}
	key, err := keyOf(r)
	if err != nil {
		return nil, err
	}
	if r.Meta().CreationTimestamp == nil {
		t := s.now().UTC().Truncate(time.Second)
		r.Meta().CreationTimestamp = &t
	}
	val, err := encode(r)
	if err != nil {
		return nil, err
	}
	cmps := []clientv3.Cmp{Absent(key).cmp()}
	for _, c := range conds {
		cmps = append(cmps, c.cmp())
	}
	txn := s.cli.Txn(ctx).If(cmps...).Then(clientv3.OpPut(key, val))
	if len(conds) > 0 { // tell a taken name from a failed condition
		txn = txn.Else(clientv3.OpGet(key, clientv3.WithKeysOnly()))
	}
	resp, err := txn.Commit()
	if err != nil {
		return nil, fmt.Errorf("create %s: %w", describe(r), err)
	}
	if !resp.Succeeded {
		if len(conds) == 0 || len(resp.Responses[0].GetResponseRange().Kvs) > 0 {
			return nil, fmt.Errorf("create %s: %w", describe(r), ErrAlreadyExists)
		}
		return nil, fmt.Errorf("create %s: %w", describe(r), ErrConflict)
	}
	r.Meta().ResourceVersion = strconv.FormatInt(resp.Header.Revision, 10)
	return r, nil
}

// Update replaces an existing object. With metadata.resourceVersion set it
// is a compare-and-swap (ErrConflict on mismatch); without, last write wins.
func (s *Store) Update(ctx context.Context, r resources.Resource) (resources.Resource, error) {
	return s.put(ctx, r, false)
}

// Apply creates or replaces an object (calicoctl apply).
func (s *Store) Apply(ctx context.Context, r resources.Resource) (resources.Resource, error) {
	return s.put(ctx, r, true)
}

func (s *Store) put(ctx context.Context, r resources.Resource, upsert bool) (resources.Resource, error) {
	if err := prepare(r); err != nil {
		return nil, err
	}
	key, err := keyOf(r)
	if err != nil {
		return nil, err
	}
	for attempt := 0; attempt < 5; attempt++ {
		cur, err := s.cli.Get(ctx, key)
		if err != nil {
			return nil, fmt.Errorf("update %s: %w", describe(r), err)
		}
		var cmp clientv3.Cmp
		switch {
		case len(cur.Kvs) == 0 && !upsert:
			return nil, fmt.Errorf("update %s: %w", describe(r), ErrNotFound)
		case len(cur.Kvs) == 0:
			cmp = clientv3.Compare(clientv3.CreateRevision(key), "=", 0)
			if r.Meta().CreationTimestamp == nil {
				t := s.now().UTC().Truncate(time.Second)
				r.Meta().CreationTimestamp = &t
			}
		default:
			rev := cur.Kvs[0].ModRevision
			if rv := r.Meta().ResourceVersion; rv != "" && rv != strconv.FormatInt(rev, 10) {
				return nil, fmt.Errorf("update %s: %w", describe(r), ErrConflict)
			}
			cmp = clientv3.Compare(clientv3.ModRevision(key), "=", rev)
			keepCreation(r, cur.Kvs[0].Value)
		}
		val, err := encode(r)
		if err != nil {
			return nil, err
		}
		resp, err := s.cli.Txn(ctx).If(cmp).Then(clientv3.OpPut(key, val)).Commit()
		if err != nil {
			return nil, fmt.Errorf("update %s: %w", describe(r), err)
		}
		if resp.Succeeded {
			r.Meta().ResourceVersion = strconv.FormatInt(resp.Header.Revision, 10)
			return r, nil
		}
		if r.Meta().ResourceVersion != "" {
			return nil, fmt.Errorf("update %s: %w", describe(r), ErrConflict)
		}
	}
	return nil, fmt.Errorf("update %s: %w", describe(r), ErrConflict)
}

// keepCreation carries the stored creation timestamp and UID into r.
func keepCreation(r resources.Resource, stored []byte) {
	var old struct {
		Metadata resources.ObjectMeta `json:"metadata"`
	}
	if json.Unmarshal(stored, &old) != nil {
		return
	}
	if r.Meta().CreationTimestamp == nil {
		r.Meta().CreationTimestamp = old.Metadata.CreationTimestamp
	}
	if r.Meta().UID == "" {
		r.Meta().UID = old.Metadata.UID
	}
}

// Delete removes an object and returns what was stored. A non-empty
// resourceVersion makes it conditional (ErrConflict on mismatch).
func (s *Store) Delete(ctx context.Context, kind, namespace, name, resourceVersion string) (resources.Resource, error) {
	key, err := KeyFor(kind, namespace, name)
	if err != nil {
		return nil, err
	}
	var cmps []clientv3.Cmp
	if resourceVersion != "" {
		rv, err := strconv.ParseInt(resourceVersion, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("delete %s %q: resourceVersion %q is not a number", kind, name, resourceVersion)
		}
		cmps = append(cmps, clientv3.Compare(clientv3.ModRevision(key), "=", rv))
	}
	resp, err := s.cli.Txn(ctx).If(cmps...).Then(clientv3.OpDelete(key, clientv3.WithPrevKV())).Commit()
	if err != nil {
		return nil, fmt.Errorf("delete %s %q: %w", kind, name, err)
	}
	if !resp.Succeeded {
		return nil, fmt.Errorf("delete %s %q: %w", kind, name, ErrConflict)
	}
	del := resp.Responses[0].GetResponseDeleteRange()
	if del.Deleted == 0 {
		return nil, fmt.Errorf("%s %q: %w", kind, name, ErrNotFound)
	}
	k, _ := resources.Lookup(kind)
	return decode(k.Kind, del.PrevKvs[0].Value, del.PrevKvs[0].ModRevision)
}

// kindOfKey maps a resource key back to its Kind ("" when not a resource key).
func kindOfKey(key string) string {
	rest, ok := strings.CutPrefix(key, resourcePrefix)
	if !ok {
		return ""
	}
	plural, _, _ := strings.Cut(rest, "/")
	k, err := resources.Lookup(plural)
	if err != nil {
		return ""
	}
	return k.Kind
}
