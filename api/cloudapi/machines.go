package cloudapi

import (
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/gorilla/mux"

	"github.com/imagegw/imagegw/gateway"
	"github.com/imagegw/imagegw/model"
)

// machineJSON is the read-only part of a CloudAPI Machine that clients
// need to pick a machine to image (ListMachines, GetMachine): the driver's
// instances under their UUIDs.
type machineJSON struct {
	ID        string   `json:"id"`
	Name      string   `json:"name"`
	Type      string   `json:"type"`
	State     string   `json:"state"`
	Image     string   `json:"image,omitempty"`
	Package   string   `json:"package,omitempty"`
	IPs       []string `json:"ips"`
	PrimaryIP string   `json:"primaryIp,omitempty"`
	Created   string   `json:"created,omitempty"`
}

// machineState maps an instance state to CloudAPI's.
func machineState(s string) string {
	switch strings.ToUpper(s) {
	case "RUNNING":
		return "running"
	case "STOPPED":
		return "stopped"
	case "PENDING", "STARTING":
		return "provisioning"
	case "STOPPING":
		return "stopping"
	}
	return strings.ToLower(s)
}

func (c *call) toMachine(sess *gateway.Session, in model.Instance) machineJSON {
	m := machineJSON{ID: sess.ID(gateway.SchemeUUID, gateway.KindInstances, in.ID), Name: in.Name,
		Type: "virtualmachine", State: machineState(in.State), Package: in.ProfileID,
		IPs: append(append([]string{}, in.PublicAddresses...), in.PrivateAddresses...)}
	if in.ImageID != "" {
		m.Image = sess.ID(gateway.SchemeUUID, gateway.KindImages, in.ImageID)
	}
	if len(m.IPs) > 0 {
		m.PrimaryIP = m.IPs[0]
	}
	if !in.Created.IsZero() {
		m.Created = in.Created.UTC().Format(time.RFC3339)
	}
	return m
}

// listMachines is ListMachines, without filters.
func (f *Front) listMachines(c *call) error {
	sess, err := c.session()
	if err != nil {
		return err
	}
	insts, err := sess.ListInstances(c.r.Context())
	if err != nil {
		return err
	}
	out := make([]machineJSON, 0, len(insts))
	for _, in := range insts {
		out = append(out, c.toMachine(sess, in))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return sendList(c, out)
}

// getMachine is GetMachine: a machine UUID or a native instance id.
func (f *Front) getMachine(c *call) error {
	sess, err := c.session()
	if err != nil {
		return err
	}
	id := mux.Vars(c.r)["id"]
	native, err := sess.ResolveInstance(c.r.Context(), gateway.SchemeUUID, id)
	if err == nil {
		var in model.Instance
		if in, err = sess.GetInstance(c.r.Context(), native); err == nil {
			return c.sendJSON(http.StatusOK, c.toMachine(sess, in))
		}
	}
	if model.IsNotFound(err) {
		return notFound("machine " + id + " not found")
	}
	return err
}
