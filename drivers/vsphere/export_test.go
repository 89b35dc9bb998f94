package vsphere

import (
	"time"

	"github.com/imagegw/imagegw/drivers"
)

// SetSessionIdle shortens how long p keeps unused sessions, for tests.
func SetSessionIdle(p drivers.Provider, d time.Duration) {
	pp := p.(*provider)
	pp.mu.Lock()
	defer pp.mu.Unlock()
	pp.idle = d
}
