package ipamdriver

import (
	"context"

	dipam "github.com/docker/go-plugins-helpers/ipam"
)

// Driver also implements go-plugins-helpers' ipam.Ipam, for callers that
// serve it with ipam.NewHandler; Handler() is preferred (strict decoding,
// request contexts).
var _ dipam.Ipam = (*Driver)(nil)

func background() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), RequestTimeout)
}

// GetCapabilities implements ipam.Ipam.
func (d *Driver) GetCapabilities() (*dipam.CapabilitiesResponse, error) {
	return d.Capabilities(), nil
}

// GetDefaultAddressSpaces implements ipam.Ipam.
func (d *Driver) GetDefaultAddressSpaces() (*dipam.AddressSpacesResponse, error) {
	return d.AddressSpaces(), nil
}

// RequestPool implements ipam.Ipam.
func (d *Driver) RequestPool(r *dipam.RequestPoolRequest) (*dipam.RequestPoolResponse, error) {
	ctx, cancel := background()
	defer cancel()
	return d.RequestPoolContext(ctx, r)
}

// ReleasePool implements ipam.Ipam.
func (d *Driver) ReleasePool(r *dipam.ReleasePoolRequest) error {
	ctx, cancel := background()
	defer cancel()
	return d.ReleasePoolContext(ctx, r)
}

// RequestAddress implements ipam.Ipam.
func (d *Driver) RequestAddress(r *dipam.RequestAddressRequest) (*dipam.RequestAddressResponse, error) {
	ctx, cancel := background()
	defer cancel()
	return d.RequestAddressContext(ctx, r)
}

// ReleaseAddress implements ipam.Ipam.
func (d *Driver) ReleaseAddress(r *dipam.ReleaseAddressRequest) error {
	ctx, cancel := background()
	defer cancel()
	return d.ReleaseAddressContext(ctx, r)
}
