package cloudapi_test

import "testing"

// TestMachines lists and gets the mock's instances as machines, under the
// spec's UUID vectors, with the state and package a client picks by.
func TestMachines(t *testing.T) {
	e := setup(t, "")
	a := e.alice
	const inst1 = "c9e8aefe-3fa6-5f5f-b513-824b401ed2f4"
	r := a.do("GET", "/alice/machines", nil)
	want(t, r, 200, "")
	var list []map[string]any
	r.json(t, &list)
	found := false
	for _, m := range list {
		if m["id"] == inst1 {
			found = m["name"] == "MockUserInstance" && m["state"] == "running" && m["package"] == "m1-small"
		}
	}
	if !found {
		t.Errorf("machines = %v; want inst1 (%s) running with package m1-small", list, inst1)
	}
	r = a.do("GET", "/alice/machines/"+inst1, nil)
	want(t, r, 200, "")
	var m map[string]any
	r.json(t, &m)
	if m["id"] != inst1 || m["image"] != "f36efaeb-a523-5e10-88e6-0263970c6030" {
		t.Errorf("machine = %v; want inst1 made from img3", m)
	}
	want(t, a.do("GET", "/alice/machines/00000000-0000-4000-8000-000000000000", nil), 404, "ResourceNotFound")
	want(t, a.do("POST", "/alice/machines", nil), 405, "BadMethod")
}
