package vsphere

import (
	"context"
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

// RecordUnstartedClone records a clone of image id named name by the create
// with token whose task is not known, as a gateway that stopped right after
// sending CloneVM_Task leaves it.
func RecordUnstartedClone(p drivers.Provider, id, name, source, token string) error {
	return p.(*provider).pending.put(context.Background(), clone{ID: id, Name: name, Source: source, Started: time.Now().UTC(), Token: token})
}
