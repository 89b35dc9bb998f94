package vsphere

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/task"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/types"

	"github.com/imagegw/imagegw/drivers"
	"github.com/imagegw/imagegw/model"
)

// driver is a provider acting with one set of credentials.
type driver struct {
	p *provider
	s *session // nil when there are no credentials at all
}

// Interface checks.
var (
	_ drivers.Driver            = (*driver)(nil)
	_ drivers.ImageUpdater      = (*driver)(nil)
	_ drivers.ImageCopier       = (*driver)(nil)
	_ drivers.ImageCloner       = (*driver)(nil)
	_ drivers.RealmLister       = (*driver)(nil)
	_ drivers.InstanceLister    = (*driver)(nil)
	_ drivers.CredentialChecker = (*driver)(nil)
	_ drivers.FeatureReporter   = (*driver)(nil)
	_ drivers.CreateFinder      = (*driver)(nil)
)

// Option names of model.CreateImage.Options.
const optMarkAsTemplate = "mark_as_template"

func (d *driver) do(ctx context.Context, fn func(ctx context.Context, st *state) error) error {
	if d.s == nil {
		return model.Errorf(model.Unauthenticated, "vSphere provider %s needs a user name and password", d.p.name)
	}
	return d.s.do(ctx, fn)
}

// CheckCredentials logs in.
func (d *driver) CheckCredentials(ctx context.Context) error {
	return d.do(ctx, func(context.Context, *state) error { return nil })
}

// Features says that created images keep their name and description.
func (d *driver) Features() model.Features {
	return model.Features{CreateName: true, CreateDescription: true}
}

// normID returns the instance UUID an id names, or false when id cannot be
// one.
func normID(id string) (string, bool) {
	u, err := uuid.Parse(id)
	if err != nil {
		return "", false
	}
	return u.String(), true
}

// withProfiles sets the ids of the hardware profiles an image can be
// deployed with: every profile whose architecture allows the image's. The
// profiles are known without asking vCenter (their limits are not needed
// for this), so a front need not list them for every image list.
func (d *driver) withProfiles(img model.Image) model.Image {
	if d.p.profiles == nil {
		img.HardwareProfiles = []string{defaultProfileID}
		if img.Architecture != "" && img.Architecture != "x86_64" && img.Architecture != "i386" {
			img.HardwareProfiles = []string{}
		}
		return img
	}
	img.HardwareProfiles = []string{}
	for _, hp := range d.p.profiles {
		if a, ok := hp.Property(model.PropArchitecture); !ok || img.Architecture == "" || a.Contains(img.Architecture) {
			img.HardwareProfiles = append(img.HardwareProfiles, hp.ID)
		}
	}
	return img
}

func imageNotFound(id string) error { return model.Errorf(model.NotFound, "image %s not found", id) }
func instanceNotFound(id string) error {
	return model.Errorf(model.NotFound, "instance %s not found", id)
}

// listVMs reads every VM of the datacenter with one retrieval over the
// session's container view.
func listVMs(ctx context.Context, st *state) ([]mo.VirtualMachine, error) {
	var vms []mo.VirtualMachine
	err := st.vmView.Retrieve(ctx, []string{"VirtualMachine"}, vmProps, &vms)
	return vms, err
}

// findVM finds a VM by instance UUID in dc: a search, then one retrieval.
func findVM(ctx context.Context, st *state, dc datacenter, id string, props []string) (mo.VirtualMachine, bool, error) {
	var vm mo.VirtualMachine
	ref, err := object.NewSearchIndex(st.c).FindByUuid(ctx, object.NewDatacenter(st.c, dc.ref), id, true, types.NewBool(true))
	if err != nil || ref == nil {
		return vm, false, err
	}
	err = st.collector().RetrieveOne(ctx, ref.Reference(), props, &vm)
	if err != nil && codeOf(err) == model.NotFound {
		return vm, false, nil // deleted in between
	}
	return vm, err == nil, err
}

// ListImages returns the datacenter's templates, read with one property
// retrieval, and the images still being made (or failed) by this gateway.
func (d *driver) ListImages(ctx context.Context, _ model.ImageQuery) ([]model.Image, error) {
	out := []model.Image{}
	err := d.do(ctx, func(ctx context.Context, st *state) error {
		clones, err := d.p.pending.list(ctx)
		if err != nil {
			return err
		}
		alias := map[string]string{}
		for _, c := range clones {
			if c.Actual != "" {
				alias[c.Actual] = c.ID
			}
		}
		vms, err := listVMs(ctx, st)
		if err != nil {
			return err
		}
		out = out[:0]
		seen := make(map[string]bool, len(vms))
		for _, vm := range vms {
			if isTemplate(vm) {
				img := toImage(vm, st.dc.name)
				if id, ok := alias[img.ID]; ok {
					img.ID = id
				}
				seen[img.ID] = true
				out = append(out, d.withProfiles(img))
			}
		}
		for _, c := range clones {
			if !seen[c.ID] && c.Actual == "" {
				out = append(out, d.withProfiles(c.image(st.dc.name)))
			}
		}
		return nil
	})
	return out, err
}

// GetImage returns a template, or the state of a clone in flight.
func (d *driver) GetImage(ctx context.Context, id string) (model.Image, error) {
	var img model.Image
	err := d.do(ctx, func(ctx context.Context, st *state) error {
		var err error
		img, err = d.getImage(ctx, st, id)
		img = d.withProfiles(img)
		return err
	})
	return img, err
}

func (d *driver) getImage(ctx context.Context, st *state, id string) (model.Image, error) {
	uid, ok := normID(id)
	if !ok {
		return model.Image{}, imageNotFound(id)
	}
	lookup, img, err := d.resolve(ctx, st, uid)
	if err != nil || img != nil {
		return deref(img), err
	}
	vm, found, err := findVM(ctx, st, st.dc, lookup, vmProps)
	if err != nil {
		return model.Image{}, err
	}
	if !found || !isTemplate(vm) {
		return model.Image{}, d.notFound(ctx, uid, lookup)
	}
	out := toImage(vm, st.dc.name)
	out.ID = uid
	return d.withProfiles(out), nil
}

// resolve says where the image uid is: still being made or failed (img),
// or a template to look up by the instance UUID lookup (uid itself, or the
// UUID vCenter gave a clone instead).
func (d *driver) resolve(ctx context.Context, st *state, uid string) (lookup string, img *model.Image, err error) {
	c, pending, err := d.p.pending.get(ctx, uid)
	if err != nil || !pending {
		return uid, nil, err
	}
	if c.Actual == "" {
		got, done, err := d.resolveClone(ctx, st, c)
		if err != nil {
			return "", nil, err
		}
		if !done {
			return "", &got, nil
		}
		if c, pending, err = d.p.pending.get(ctx, uid); err != nil || !pending || c.Actual == "" {
			return uid, nil, err
		}
	}
	return c.Actual, nil, nil
}

// notFound is NotFound for uid, forgetting an alias whose template is gone.
func (d *driver) notFound(ctx context.Context, uid, lookup string) error {
	if lookup != uid {
		_ = d.p.pending.remove(ctx, uid)
	}
	return imageNotFound(uid)
}

func deref(img *model.Image) model.Image {
	if img == nil {
		return model.Image{}
	}
	return *img
}

// resolveClone follows a clone record: the image while the task runs or
// after it failed, or done when the template exists (the record is then
// removed and the caller reads the template).
func (d *driver) resolveClone(ctx context.Context, st *state, c clone) (img model.Image, done bool, err error) {
	if c.Failed {
		return c.image(st.dc.name), false, nil
	}
	if c.Task == "" {
		return d.failClone(ctx, st, c, "the clone was not started")
	}
	var t mo.Task
	err = st.collector().RetrieveOne(ctx, types.ManagedObjectReference{Type: "Task", Value: c.Task}, []string{"info.state", "info.error", "info.result"}, &t)
	switch {
	case err != nil && codeOf(err) == model.NotFound:
		// vCenter forgot the task: the template tells what happened.
		vm, found, ferr := findVM(ctx, st, st.dc, c.ID, []string{"name"})
		if ferr != nil {
			return img, false, ferr
		}
		if found {
			return img, true, d.finishClone(ctx, st, c, vm.Self)
		}
		return d.failClone(ctx, st, c, "the clone task is no longer known to vCenter")
	case err != nil:
		return img, false, err
	}
	switch t.Info.State {
	case types.TaskInfoStateSuccess:
		ref, ok := t.Info.Result.(types.ManagedObjectReference)
		if !ok {
			return d.failClone(ctx, st, c, "the clone task returned no virtual machine")
		}
		return img, true, d.finishClone(ctx, st, c, ref)
	case types.TaskInfoStateError:
		msg := "the clone failed"
		if t.Info.Error != nil {
			msg = faultMessage(task.Error{LocalizedMethodFault: t.Info.Error})
		}
		return d.failClone(ctx, st, c, msg)
	}
	return c.image(st.dc.name), false, nil
}

// finishClone makes the new template match what CreateImage promised and
// drops the record. vCenter may not apply a clone spec's annotation, nor
// its instance UUID (vcsim before v0.50 does not; vCenter reassigns one
// that conflicts), and a template's UUID cannot be reconfigured: the
// annotation is set here, and a different UUID is kept in the record as an
// alias, so the image keeps the id it was given.
func (d *driver) finishClone(ctx context.Context, st *state, c clone, ref types.ManagedObjectReference) error {
	var vm mo.VirtualMachine
	err := st.collector().RetrieveOne(ctx, ref, []string{"config.instanceUuid", "config.annotation"}, &vm)
	if err != nil && codeOf(err) != model.NotFound {
		return err
	}
	if err != nil || vm.Config == nil {
		return d.p.pending.remove(ctx, c.ID)
	}
	// The token (extraConfig) cannot be set here: a template can be
	// reconfigured only in its name and annotation. vCenter applies the
	// clone spec's extraConfig.
	if c.Description != "" && vm.Config.Annotation != c.Description {
		if err := d.reconfigure(ctx, st, ref, types.VirtualMachineConfigSpec{Annotation: c.Description}); err != nil {
			return err
		}
	}
	if actual := strings.ToLower(vm.Config.InstanceUuid); actual != c.ID {
		c.Actual = actual
		return d.p.pending.put(ctx, c)
	}
	return d.p.pending.remove(ctx, c.ID)
}

// failClone records a clone's failure and makes sure it left no VM behind.
func (d *driver) failClone(ctx context.Context, st *state, c clone, msg string) (model.Image, bool, error) {
	if vm, found, err := findVM(ctx, st, st.dc, c.ID, []string{"name"}); err != nil {
		return model.Image{}, false, err
	} else if found {
		if err := d.destroy(ctx, st, vm.Self); err != nil {
			return model.Image{}, false, err
		}
	}
	c.Failed, c.Error = true, msg
	if err := d.p.pending.put(ctx, c); err != nil {
		return model.Image{}, false, err
	}
	return c.image(st.dc.name), false, nil
}

// wait waits for a task the request needs finished, at most task_timeout.
func (d *driver) wait(ctx context.Context, t *object.Task) error {
	tctx, cancel := context.WithTimeout(ctx, d.p.settings.TaskTimeout)
	defer cancel()
	err := t.Wait(tctx)
	if err != nil && errors.Is(tctx.Err(), context.DeadlineExceeded) && ctx.Err() == nil {
		return model.Wrap(model.DeadlineExceeded, err, "vSphere task %s did not finish within %v", t.Reference().Value, d.p.settings.TaskTimeout)
	}
	return err
}

func (d *driver) destroy(ctx context.Context, st *state, ref types.ManagedObjectReference) error {
	t, err := object.NewVirtualMachine(st.c, ref).Destroy(ctx)
	if err != nil {
		return err
	}
	return d.wait(ctx, t)
}

func (d *driver) reconfigure(ctx context.Context, st *state, ref types.ManagedObjectReference, spec types.VirtualMachineConfigSpec) error {
	t, err := object.NewVirtualMachine(st.c, ref).Reconfigure(ctx, spec)
	if err != nil {
		return err
	}
	return d.wait(ctx, t)
}

// CreateImage clones a VM to a template and returns at once with the new
// image PENDING while the clone task runs. With the option
// mark_as_template=true, a powered-off VM itself becomes the template
// instead (and the image is AVAILABLE at once).
func (d *driver) CreateImage(ctx context.Context, req model.CreateImage) (model.Image, error) {
	mark := false
	if v, ok := req.Options[optMarkAsTemplate]; ok && v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return model.Image{}, model.Errorf(model.InvalidArgument, "%s must be true or false, not %q", optMarkAsTemplate, v)
		}
		mark = b
	}
	srcID, ok := normID(req.InstanceID)
	if !ok {
		return model.Image{}, instanceNotFound(req.InstanceID)
	}
	newID := uuid.NewString() // chosen once, so a retried login reuses it
	var img model.Image
	err := d.do(ctx, func(ctx context.Context, st *state) error {
		vm, found, err := findVM(ctx, st, st.dc, srcID, srcProps)
		if err != nil {
			return err
		}
		if !found || isTemplate(vm) {
			return instanceNotFound(req.InstanceID)
		}
		if mark {
			img, err = d.markAsTemplate(ctx, st, vm, req)
			return err
		}
		name := req.Name
		if name == "" {
			name = vm.Name + "-image-" + newID[:8]
		}
		c := clone{ID: newID, Name: name, Description: req.Description, Source: srcID, Started: time.Now().UTC(), Token: req.Token}
		spec := types.VirtualMachineCloneSpec{
			Location: types.VirtualMachineRelocateSpec{Pool: vm.ResourcePool},
			Template: true,
		}
		img, err = d.startClone(ctx, st, vm.Self, *vm.Parent, spec, c)
		return err
	})
	return img, err
}

// startClone records the clone, starts the task and returns the PENDING
// image. A fault vCenter raises against the request itself (no such
// object, no permission, bad state, name taken) is returned as an error and
// forgets the record; any other fault is the image's failure.
func (d *driver) startClone(ctx context.Context, st *state, src, folder types.ManagedObjectReference, spec types.VirtualMachineCloneSpec, c clone) (model.Image, error) {
	if spec.Config == nil {
		spec.Config = &types.VirtualMachineConfigSpec{}
	}
	spec.Config.InstanceUuid = c.ID
	spec.Config.Annotation = c.Description
	// The create's token, or none: a clone would otherwise inherit the
	// source's (vCenter copies extraConfig).
	spec.Config.ExtraConfig = tokenConfig(c.Token)
	if err := d.p.pending.put(ctx, c); err != nil {
		return model.Image{}, err
	}
	t, err := object.NewVirtualMachine(st.c, src).Clone(ctx, object.NewFolder(st.c, folder), c.Name, spec)
	if err != nil {
		if isFault(err) && codeOf(err) == model.Unavailable {
			img, _, ferr := d.failClone(ctx, st, c, faultMessage(err))
			return d.withProfiles(img), ferr
		}
		_ = d.p.pending.remove(ctx, c.ID)
		return model.Image{}, err
	}
	c.Task = t.Reference().Value
	if err := d.p.pending.put(ctx, c); err != nil {
		return model.Image{}, err
	}
	return d.withProfiles(c.image(st.dc.name)), nil
}

func (d *driver) markAsTemplate(ctx context.Context, st *state, vm mo.VirtualMachine, req model.CreateImage) (model.Image, error) {
	if vm.Runtime.PowerState != types.VirtualMachinePowerStatePoweredOff {
		return model.Image{}, model.Errorf(model.FailedPrecondition,
			"instance %s is %s: %s=true needs a powered-off virtual machine", req.InstanceID, vm.Runtime.PowerState, optMarkAsTemplate)
	}
	spec := types.VirtualMachineConfigSpec{}
	if req.Name != "" && req.Name != vm.Name {
		spec.Name = req.Name
	}
	if req.Description != "" {
		spec.Annotation = req.Description
	}
	if req.Token != "" {
		spec.ExtraConfig = tokenConfig(req.Token)
	}
	if spec.Name != "" || spec.Annotation != "" || spec.ExtraConfig != nil {
		if err := d.reconfigure(ctx, st, vm.Self, spec); err != nil {
			return model.Image{}, err
		}
	}
	if err := object.NewVirtualMachine(st.c, vm.Self).MarkAsTemplate(ctx); err != nil {
		return model.Image{}, err
	}
	var out mo.VirtualMachine
	if err := st.collector().RetrieveOne(ctx, vm.Self, vmProps, &out); err != nil {
		return model.Image{}, err
	}
	return d.withProfiles(toImage(out, st.dc.name)), nil
}

// TokenKey is the extraConfig key a new template carries (set by the clone,
// or by the reconfigure before mark_as_template) whose value is the
// gateway's token for the create (its job id), for FindCreated.
const TokenKey = "imagegw.job"

// tokenConfig sets TokenKey to token; "" removes it.
func tokenConfig(token string) []types.BaseOptionValue {
	return []types.BaseOptionValue{&types.OptionValue{Key: TokenKey, Value: token}}
}

// tokenOf is vm's TokenKey value, "" without one (config.extraConfig read).
func tokenOf(vm mo.VirtualMachine) string {
	if vm.Config == nil {
		return ""
	}
	for _, o := range vm.Config.ExtraConfig {
		if ov := o.GetOptionValue(); ov != nil && ov.Key == TokenKey {
			s, _ := ov.Value.(string)
			return s
		}
	}
	return ""
}

// FindCreated returns the image made by the create with token, or
// model.NotFound. A clone this gateway recorded with the token is that
// image, while it runs or after it failed. Otherwise (the clone's answer
// was lost, or the record went) it is the datacenter's template whose
// extraConfig has TokenKey = token: one retrieval of which VMs are
// templates over the session's view, one of the templates' extraConfig;
// vSphere cannot filter on a value, so the match is here. VMs deployed from
// the template and clones of it made outside the gateway inherit the key:
// only templates count, the oldest first.
func (d *driver) FindCreated(ctx context.Context, token string) (model.Image, error) {
	if token == "" {
		return model.Image{}, model.Errorf(model.NotFound, "no image has an empty %s", TokenKey)
	}
	var img model.Image
	err := d.do(ctx, func(ctx context.Context, st *state) error {
		clones, err := d.p.pending.list(ctx)
		if err != nil {
			return err
		}
		var rec *clone
		alias := map[string]string{}
		for i, c := range clones {
			if c.Token == token {
				rec = &clones[i]
			}
			if c.Actual != "" {
				alias[c.Actual] = c.ID
			}
		}
		if rec != nil && (rec.Task != "" || rec.Failed) {
			img, err = d.getImage(ctx, st, rec.ID)
			return err
		}
		ref, found, err := findToken(ctx, st, token)
		if err != nil {
			return err
		}
		if !found {
			return model.Errorf(model.NotFound, "no template of datacenter %s has %s=%s", st.dc.name, TokenKey, token)
		}
		if rec != nil {
			// The clone was sent but its task not recorded (the gateway
			// stopped, or the answer was lost): this is its template.
			if err := d.finishClone(ctx, st, *rec, ref); err != nil {
				return err
			}
		}
		var vm mo.VirtualMachine
		if err := st.collector().RetrieveOne(ctx, ref, vmProps, &vm); err != nil {
			return err
		}
		img = toImage(vm, st.dc.name)
		if id, ok := alias[img.ID]; ok {
			img.ID = id
		}
		img = d.withProfiles(img)
		return nil
	})
	return img, err
}

// findToken finds the oldest template of st's datacenter whose TokenKey is
// token.
func findToken(ctx context.Context, st *state, token string) (types.ManagedObjectReference, bool, error) {
	var vms []mo.VirtualMachine
	for attempt := 1; ; attempt++ {
		vms = vms[:0]
		if err := st.vmView.Retrieve(ctx, []string{"VirtualMachine"}, []string{"config.template"}, &vms); err != nil {
			return types.ManagedObjectReference{}, false, err
		}
		refs := make([]types.ManagedObjectReference, 0, len(vms))
		for _, vm := range vms {
			if isTemplate(vm) {
				refs = append(refs, vm.Self)
			}
		}
		if len(refs) == 0 {
			return types.ManagedObjectReference{}, false, nil
		}
		vms = vms[:0]
		err := st.collector().Retrieve(ctx, refs, []string{"config.template", "config.createDate", "config.extraConfig"}, &vms)
		if err == nil {
			break
		}
		if attempt == 3 || codeOf(err) != model.NotFound {
			return types.ManagedObjectReference{}, false, err
		}
		// A template went between the two reads: read again.
	}
	var best *mo.VirtualMachine
	for i, vm := range vms {
		if !isTemplate(vm) || tokenOf(vm) != token {
			continue
		}
		if best == nil || created(vm).Before(created(*best)) {
			best = &vms[i]
		}
	}
	if best == nil {
		return types.ManagedObjectReference{}, false, nil
	}
	return best.Self, true, nil
}

func created(vm mo.VirtualMachine) time.Time {
	if vm.Config == nil || vm.Config.CreateDate == nil {
		return time.Time{}
	}
	return *vm.Config.CreateDate
}

// DeleteImage destroys a template (Destroy_Task, waited for), or forgets a
// failed clone. A VM that is not a template is FailedPrecondition.
func (d *driver) DeleteImage(ctx context.Context, id string) error {
	uid, ok := normID(id)
	if !ok {
		return imageNotFound(id)
	}
	return d.do(ctx, func(ctx context.Context, st *state) error {
		lookup, img, err := d.resolve(ctx, st, uid)
		switch {
		case err != nil:
			return err
		case img != nil && img.State == model.ImageFailed:
			return d.p.pending.remove(ctx, uid)
		case img != nil:
			return model.Errorf(model.FailedPrecondition, "image %s is still being created", id)
		}
		vm, found, err := findVM(ctx, st, st.dc, lookup, []string{"name", "config.template"})
		if err != nil {
			return err
		}
		if !found {
			return d.notFound(ctx, uid, lookup)
		}
		if !isTemplate(vm) {
			return model.Errorf(model.FailedPrecondition, "%s is a virtual machine, not a template", id)
		}
		if err := d.destroy(ctx, st, vm.Self); err != nil {
			return err
		}
		if lookup != uid {
			return d.p.pending.remove(ctx, uid)
		}
		return nil
	})
}

// UpdateImage renames a template or changes its annotation.
func (d *driver) UpdateImage(ctx context.Context, id string, u model.ImageUpdate) (model.Image, error) {
	if len(u.Tags) > 0 {
		return model.Image{}, model.Errorf(model.InvalidArgument, "vSphere templates have no tags here")
	}
	if u.Name != nil && strings.TrimSpace(*u.Name) == "" {
		return model.Image{}, model.Errorf(model.InvalidArgument, "an image name cannot be empty")
	}
	uid, ok := normID(id)
	if !ok {
		return model.Image{}, imageNotFound(id)
	}
	var img model.Image
	err := d.do(ctx, func(ctx context.Context, st *state) error {
		lookup, pimg, err := d.resolve(ctx, st, uid)
		if err != nil {
			return err
		}
		if pimg != nil {
			return model.Errorf(model.FailedPrecondition, "image %s is %s", id, strings.ToLower(pimg.State))
		}
		vm, found, err := findVM(ctx, st, st.dc, lookup, vmProps)
		if err != nil {
			return err
		}
		if !found || !isTemplate(vm) {
			return d.notFound(ctx, uid, lookup)
		}
		spec := types.VirtualMachineConfigSpec{}
		if u.Name != nil && *u.Name != vm.Name {
			spec.Name = *u.Name
		}
		if u.Description != nil && (vm.Config == nil || *u.Description != vm.Config.Annotation) {
			spec.Annotation = *u.Description
			if spec.Annotation == "" {
				spec.Annotation = " " // vSphere ignores an empty annotation in a spec
			}
		}
		if spec.Name != "" || spec.Annotation != "" {
			if err := d.reconfigure(ctx, st, vm.Self, spec); err != nil {
				return err
			}
			if err := st.collector().RetrieveOne(ctx, vm.Self, vmProps, &vm); err != nil {
				return err
			}
		}
		img = toImage(vm, st.dc.name)
		img.ID = uid
		img = d.withProfiles(img)
		return nil
	})
	return img, err
}

// CloneImage copies a template within the provider's datacenter.
func (d *driver) CloneImage(ctx context.Context, req model.CloneImage) (model.Image, error) {
	return d.copyTemplate(ctx, "", req.SourceImageID, req.Name, req.Description)
}

// CopyImage clones a template of another provider of the same vCenter
// (another datacenter) into this provider's datacenter.
func (d *driver) CopyImage(ctx context.Context, req model.CopyImage) (model.Image, error) {
	if req.SourceProvider.Driver != "" && req.SourceProvider.Driver != DriverID {
		return model.Image{}, model.Errorf(model.InvalidArgument, "cannot copy from driver %s into vsphere", req.SourceProvider.Driver)
	}
	src, err := decodeSettings(req.SourceProvider)
	if err != nil {
		return model.Image{}, err
	}
	if !d.p.sameEndpoint(src) {
		return model.Image{}, model.Errorf(model.Unimplemented, "driver vsphere copies images only between datacenters of the same vCenter")
	}
	dc := src.Datacenter
	if dc == "" {
		dc = "\x00only" // the vCenter's only datacenter
	}
	return d.copyTemplate(ctx, dc, req.SourceImageID, req.Name, req.Description)
}

// copyTemplate clones the template id of datacenter srcDC ("" for the
// provider's own) to a new template in the provider's datacenter, placed on
// a host (and its first datastore) of that datacenter.
func (d *driver) copyTemplate(ctx context.Context, srcDC, id, name, desc string) (model.Image, error) {
	uid, ok := normID(id)
	if !ok {
		return model.Image{}, imageNotFound(id)
	}
	newID := uuid.NewString()
	var img model.Image
	err := d.do(ctx, func(ctx context.Context, st *state) (err error) {
		from := st.dc
		switch {
		case srcDC == "\x00only" && len(st.dcs) == 1:
			from = st.dcs[0]
		case srcDC == "\x00only":
			return model.Errorf(model.InvalidArgument, "the source provider names no datacenter and vCenter has %d", len(st.dcs))
		case srcDC != "":
			var ok bool
			if from, ok = st.datacenter(srcDC); !ok {
				return model.Errorf(model.NotFound, "datacenter %s not found", srcDC)
			}
		}
		lookup := uid
		if srcDC == "" { // an image of this provider may be an alias
			var pimg *model.Image
			if lookup, pimg, err = d.resolve(ctx, st, uid); err != nil {
				return err
			} else if pimg != nil {
				return model.Errorf(model.FailedPrecondition, "image %s is %s", id, strings.ToLower(pimg.State))
			}
		}
		vm, found, err := findVM(ctx, st, from, lookup, vmProps)
		if err != nil {
			return err
		}
		if !found || !isTemplate(vm) {
			return imageNotFound(id)
		}
		loc, err := placement(ctx, st)
		if err != nil {
			return err
		}
		c := clone{ID: newID, Name: name, Description: desc, Source: uid, Started: time.Now().UTC()}
		if c.Name == "" {
			c.Name = vm.Name
			if from.ref == st.dc.ref {
				c.Name = vm.Name + "-copy-" + newID[:8]
			}
		}
		if c.Description == "" && vm.Config != nil {
			c.Description = vm.Config.Annotation
		}
		img, err = d.startClone(ctx, st, vm.Self, st.dc.vmFolder, types.VirtualMachineCloneSpec{Location: loc, Template: true}, c)
		return err
	})
	return img, err
}

// placement picks where a copied template lives in the provider's
// datacenter: the first connected host, its compute resource's root pool
// and its first datastore.
func placement(ctx context.Context, st *state) (types.VirtualMachineRelocateSpec, error) {
	var loc types.VirtualMachineRelocateSpec
	var hosts []mo.HostSystem
	if err := st.hostView.Retrieve(ctx, []string{"HostSystem"}, []string{"parent", "datastore", "runtime.connectionState"}, &hosts); err != nil {
		return loc, err
	}
	for _, h := range hosts {
		if h.Runtime.ConnectionState != types.HostSystemConnectionStateConnected || len(h.Datastore) == 0 || h.Parent == nil {
			continue
		}
		var cr mo.ComputeResource
		if err := st.collector().RetrieveOne(ctx, *h.Parent, []string{"resourcePool"}, &cr); err != nil {
			return loc, err
		}
		if cr.ResourcePool == nil {
			continue
		}
		host, ds := h.Self, h.Datastore[0]
		return types.VirtualMachineRelocateSpec{Pool: cr.ResourcePool, Host: &host, Datastore: &ds}, nil
	}
	return loc, model.Errorf(model.FailedPrecondition, "datacenter %s has no connected host with a datastore", st.dc.name)
}

// ListHardwareProfiles returns the configured profiles, or the default one
// with its limits read from the datacenter's hosts (with the request's or
// the operator's credentials; without any, vSphere's own maxima).
func (d *driver) ListHardwareProfiles(ctx context.Context) ([]model.HardwareProfile, error) {
	if d.p.profiles != nil {
		return append([]model.HardwareProfile(nil), d.p.profiles...), nil
	}
	if d.s == nil {
		return []model.HardwareProfile{defaultProfile(builtinMaxCPU, builtinMaxMemoryMB, "builtin")}, nil
	}
	var hp model.HardwareProfile
	err := d.do(ctx, func(ctx context.Context, st *state) error {
		var hosts []mo.HostSystem
		if err := st.hostView.Retrieve(ctx, []string{"HostSystem"}, []string{"summary.hardware.numCpuCores", "summary.hardware.memorySize"}, &hosts); err != nil {
			return err
		}
		var cores int16
		var mem int64
		for _, h := range hosts {
			if hw := h.Summary.Hardware; hw != nil && (hw.NumCpuCores > cores || (hw.NumCpuCores == cores && hw.MemorySize > mem)) {
				cores, mem = hw.NumCpuCores, hw.MemorySize
			}
		}
		if cores == 0 {
			hp = defaultProfile(builtinMaxCPU, builtinMaxMemoryMB, "builtin")
			return nil
		}
		hp = defaultProfile(int(cores), mem/(1024*1024), "hosts")
		return nil
	})
	if model.CodeOf(err) == model.Unauthenticated {
		// Profiles never need credentials: fall back to the built-in limits.
		return []model.HardwareProfile{defaultProfile(builtinMaxCPU, builtinMaxMemoryMB, "builtin")}, nil
	}
	if err != nil {
		return nil, err
	}
	return []model.HardwareProfile{hp}, nil
}

// ListRealms returns vCenter's datacenters.
func (d *driver) ListRealms(ctx context.Context) ([]model.Realm, error) {
	var out []model.Realm
	err := d.do(ctx, func(_ context.Context, st *state) error {
		out = make([]model.Realm, 0, len(st.dcs))
		for _, dc := range st.dcs {
			out = append(out, model.Realm{ID: dc.name, Name: dc.name, State: "AVAILABLE"})
		}
		return nil
	})
	return out, err
}

// GetRealm returns one datacenter by name.
func (d *driver) GetRealm(ctx context.Context, id string) (model.Realm, error) {
	var r model.Realm
	err := d.do(ctx, func(_ context.Context, st *state) error {
		dc, ok := st.datacenter(id)
		if !ok {
			return model.Errorf(model.NotFound, "realm %s not found", id)
		}
		r = model.Realm{ID: dc.name, Name: dc.name, State: "AVAILABLE"}
		return nil
	})
	return r, err
}

// ListInstances returns the datacenter's VMs that are not templates.
func (d *driver) ListInstances(ctx context.Context) ([]model.Instance, error) {
	out := []model.Instance{}
	err := d.do(ctx, func(ctx context.Context, st *state) error {
		vms, err := listVMs(ctx, st)
		if err != nil {
			return err
		}
		out = out[:0]
		for _, vm := range vms {
			if !isTemplate(vm) && vm.Config != nil {
				out = append(out, toInstance(vm, st.dc.name))
			}
		}
		return nil
	})
	return out, err
}

// GetInstance returns one VM that is not a template.
func (d *driver) GetInstance(ctx context.Context, id string) (model.Instance, error) {
	uid, ok := normID(id)
	if !ok {
		return model.Instance{}, instanceNotFound(id)
	}
	var in model.Instance
	err := d.do(ctx, func(ctx context.Context, st *state) error {
		vm, found, err := findVM(ctx, st, st.dc, uid, vmProps)
		if err != nil {
			return err
		}
		if !found || isTemplate(vm) {
			return instanceNotFound(id)
		}
		in = toInstance(vm, st.dc.name)
		return nil
	})
	return in, err
}

func (d *driver) String() string { return fmt.Sprintf("vsphere driver for %s", d.p.name) }
