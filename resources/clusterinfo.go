package resources

// KindClusterInformation is the Kind of ClusterInformation.
const KindClusterInformation = "ClusterInformation"

// ClusterInformationName is the one ClusterInformation's name.
const ClusterInformationName = "default"

// ClusterInformation describes the cluster: its GUID, type, the version
// of the daemons that last wrote it, and whether the datastore is ready.
// The daemon writes it; users read it (calicoctl version).
type ClusterInformation struct {
	TypeMeta   `json:",inline"`
	ObjectMeta `json:"metadata"`
	Spec       ClusterInformationSpec `json:"spec"`
}

// ClusterInformationSpec is the content of ClusterInformation.
type ClusterInformationSpec struct {
	ClusterGUID    string `json:"clusterGUID,omitempty"`
	ClusterType    string `json:"clusterType,omitempty"`
	CalicoVersion  string `json:"calicoVersion,omitempty"`
	DatastoreReady *bool  `json:"datastoreReady,omitempty"`
	Variant        string `json:"variant,omitempty"`
}

// NewClusterInformation returns an empty ClusterInformation named name.
func NewClusterInformation(name string) *ClusterInformation {
	return &ClusterInformation{TypeMeta: typeMeta(KindClusterInformation), ObjectMeta: ObjectMeta{Name: name}}
}

// Default implements Resource.
func (c *ClusterInformation) Default() {}

// Validate implements Resource.
func (c *ClusterInformation) Validate() error {
	v := newValidator(c)
	if c.Name != ClusterInformationName {
		v.add("metadata.name", c.Name, "must be %q: there is one ClusterInformation per cluster", ClusterInformationName)
	}
	if c.Spec.ClusterGUID != "" && !looseName.MatchString(c.Spec.ClusterGUID) {
		v.add("spec.clusterGUID", c.Spec.ClusterGUID, "must be letters, digits, '-', '_' or '.' (a hex GUID)")
	}
	return v.err()
}

// Ready reports datastoreReady, which defaults to true as in Calico.
func (c *ClusterInformation) Ready() bool {
	return c == nil || c.Spec.DatastoreReady == nil || *c.Spec.DatastoreReady
}
