package resources

import "time"

// APIVersion is the only apiVersion this product reads and writes.
const APIVersion = "projectcalico.org/v3"

// DefaultNamespace is the only namespace namespaced kinds may use: Docker
// has no namespaces, so (as on DC/OS) every namespaced object lives here.
const DefaultNamespace = "default"

// TypeMeta names the kind and API version of a stored object.
type TypeMeta struct {
	Kind       string `json:"kind,omitempty"`
	APIVersion string `json:"apiVersion,omitempty"`
}

// ObjectMeta is the metadata every resource carries.
type ObjectMeta struct {
	Name      string `json:"name,omitempty"`
	Namespace string `json:"namespace,omitempty"`
	// ResourceVersion is the etcd mod revision the object was read at.
	// An update that carries it is a compare-and-swap.
	ResourceVersion   string            `json:"resourceVersion,omitempty"`
	UID               string            `json:"uid,omitempty"`
	CreationTimestamp *time.Time        `json:"creationTimestamp,omitempty"`
	Labels            map[string]string `json:"labels,omitempty"`
	Annotations       map[string]string `json:"annotations,omitempty"`
}

// Resource is implemented by a pointer to every kind's struct.
type Resource interface {
	// GetObjectKind returns the type metadata; the registry keeps Kind set.
	GetTypeMeta() *TypeMeta
	// Meta returns the object metadata for reading and writing.
	Meta() *ObjectMeta
	// Default fills unset fields with Calico's defaults.
	Default()
	// Validate checks the object, returning a *FieldError or ValidationErrors.
	Validate() error
}

// GetTypeMeta implements Resource.
func (t *TypeMeta) GetTypeMeta() *TypeMeta { return t }

// Meta implements Resource.
func (m *ObjectMeta) Meta() *ObjectMeta { return m }
