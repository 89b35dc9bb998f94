package vsphere

import (
	"context"
	"encoding/json"
	"sort"
	"sync"
	"time"

	"github.com/imagegw/imagegw/model"
	"github.com/imagegw/imagegw/store"
)

// pendingNS is the store namespace of clones in flight or failed.
const pendingNS = "vsphere.clones"

// clone is the record of an image being made by a vSphere task: the image
// id (the instance UUID given to the clone) is known before the VM exists,
// so the record is what GetImage answers from until the task ends. A failed
// clone keeps its record, so that the image reads FAILED with the fault's
// message, until it is deleted.
type clone struct {
	ID          string    `json:"id"`
	Name        string    `json:"name"`
	Description string    `json:"description,omitempty"`
	Source      string    `json:"source"` // source VM or template instance UUID
	Task        string    `json:"task,omitempty"`
	Started     time.Time `json:"started"`
	Failed      bool      `json:"failed,omitempty"`
	Error       string    `json:"error,omitempty"`
	// Actual is the instance UUID the template really has, when vCenter did
	// not apply the one the clone asked for: the record then stays as an
	// alias, so the image keeps its id.
	Actual string `json:"actual,omitempty"`
	// Token is the gateway's token for the create (model.CreateImage.Token),
	// also kept in the template's extraConfig (TokenKey), for FindCreated.
	Token string `json:"token,omitempty"`
}

// image is how a clone record shows as an image.
func (c clone) image(dc string) model.Image {
	img := model.Image{
		ID: c.ID, Name: c.Name, Description: c.Description, State: model.ImagePending,
		Created: c.Started, RootType: model.RootPersistent, DiskFormat: "vmdk",
		Native: map[string]string{"datacenter": dc, "source": c.Source},
	}
	if c.Task != "" {
		img.Native["task"] = c.Task
	}
	if c.Failed {
		img.State, img.StateReason = model.ImageFailed, c.Error
	}
	return img
}

// pendingStore keeps clone records durable (in the gateway's store) so that
// a restarted gateway still knows what a pending image id means.
type pendingStore interface {
	get(ctx context.Context, id string) (clone, bool, error)
	put(ctx context.Context, c clone) error
	remove(ctx context.Context, id string) error
	list(ctx context.Context) ([]clone, error)
}

// storePending keeps records in a store.Store, keyed by provider/id.
type storePending struct {
	st     store.Store
	prefix string
}

func (s storePending) get(ctx context.Context, id string) (clone, bool, error) {
	var c clone
	raw, err := store.Get(ctx, s.st, pendingNS, s.prefix+id)
	if model.IsNotFound(err) {
		return c, false, nil
	}
	if err != nil {
		return c, false, err
	}
	return c, true, json.Unmarshal(raw, &c)
}

func (s storePending) put(ctx context.Context, c clone) error {
	raw, err := json.Marshal(c)
	if err != nil {
		return err
	}
	return s.st.Update(ctx, func(tx store.Tx) error { return tx.Put(pendingNS, s.prefix+c.ID, raw) })
}

func (s storePending) remove(ctx context.Context, id string) error {
	err := s.st.Update(ctx, func(tx store.Tx) error { return tx.Delete(pendingNS, s.prefix+id) })
	if model.IsNotFound(err) {
		return nil
	}
	return err
}

func (s storePending) list(ctx context.Context) ([]clone, error) {
	var out []clone
	err := s.st.View(ctx, func(tx store.Tx) error {
		return tx.Scan(pendingNS, s.prefix, func(_ string, val []byte) error {
			var c clone
			if err := json.Unmarshal(val, &c); err != nil {
				return err
			}
			out = append(out, c)
			return nil
		})
	})
	return out, err
}

// memPending keeps records in memory, for a provider opened without a
// store (they are then lost with the process).
type memPending struct {
	mu sync.Mutex
	m  map[string]clone
}

func newMemPending() *memPending { return &memPending{m: map[string]clone{}} }

func (m *memPending) get(_ context.Context, id string) (clone, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	c, ok := m.m[id]
	return c, ok, nil
}

func (m *memPending) put(_ context.Context, c clone) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.m[c.ID] = c
	return nil
}

func (m *memPending) remove(_ context.Context, id string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.m, id)
	return nil
}

func (m *memPending) list(context.Context) ([]clone, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]clone, 0, len(m.m))
	for _, c := range m.m {
		out = append(out, c)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}
