package vsphere

import (
	"context"
	"crypto/x509"
	"errors"
	"net"
	"net/url"
	"reflect"
	"strings"

	"github.com/vmware/govmomi/fault"
	"github.com/vmware/govmomi/task"
	"github.com/vmware/govmomi/vim25/soap"
	"github.com/vmware/govmomi/vim25/types"

	"github.com/imagegw/imagegw/model"
)

// faultCodes maps vSphere faults to model codes, most specific first:
// NotAuthenticated is a NoPermission and InvalidPowerState an InvalidState,
// and fault.Is matches exact types, so order only matters for readability.
var faultCodes = []struct {
	fault types.BaseMethodFault
	code  model.Code
}{
	{&types.NotAuthenticated{}, model.Unauthenticated},
	{&types.InvalidLogin{}, model.Unauthenticated},
	{&types.NoPermission{}, model.PermissionDenied},
	{&types.ManagedObjectNotFound{}, model.NotFound},
	{&types.InvalidPowerState{}, model.FailedPrecondition},
	{&types.InvalidState{}, model.FailedPrecondition},
	{&types.TaskInProgress{}, model.FailedPrecondition},
	{&types.DuplicateName{}, model.AlreadyExists},
	{&types.AlreadyExists{}, model.AlreadyExists},
	{&types.InvalidName{}, model.InvalidArgument},
	{&types.InvalidArgument{}, model.InvalidArgument},
	{&types.RequestCanceled{}, model.Canceled},
}

// mapErr maps a raw govmomi error to a *model.Error, once: errors that
// already carry a model code pass through.
func mapErr(err error) error {
	if err == nil {
		return nil
	}
	var me *model.Error
	if errors.As(err, &me) {
		return err
	}
	if isFault(err) {
		for _, fc := range faultCodes {
			if fault.Is(err, fc.fault) {
				return model.Wrap(fc.code, err, "vSphere: %s", faultMessage(err))
			}
		}
		// A fault we have no class for: vCenter refused or failed.
		return model.Wrap(model.Unavailable, err, "vSphere: %s", faultMessage(err))
	}
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return model.Wrap(model.DeadlineExceeded, err, "vSphere did not answer in time")
	case errors.Is(err, context.Canceled):
		return model.Wrap(model.Canceled, err, "request canceled")
	}
	var (
		unknownAuthority x509.UnknownAuthorityError
		hostnameErr      x509.HostnameError
		certInvalid      x509.CertificateInvalidError
	)
	if soap.IsCertificateUntrusted(err) || errors.As(err, &unknownAuthority) ||
		errors.As(err, &hostnameErr) || errors.As(err, &certInvalid) ||
		strings.Contains(err.Error(), "thumbprint does not match") {
		return model.Wrap(model.Unavailable, err, "vSphere: TLS verification of vCenter failed (configure ca_file or thumbprint)")
	}
	var netErr net.Error
	var urlErr *url.Error
	if errors.As(err, &netErr) || errors.As(err, &urlErr) {
		return model.Wrap(model.Unavailable, err, "vSphere: cannot reach vCenter")
	}
	return model.Wrap(model.Unavailable, err, "vSphere: %v", err)
}

// isFault reports whether err carries a vSphere fault (a SOAP fault, a vim
// fault or a task's fault).
func isFault(err error) bool {
	var te task.Error
	return soap.IsSoapFault(err) || soap.IsVimFault(err) || errors.As(err, &te)
}

// codeOf classifies err the way mapErr does.
func codeOf(err error) model.Code { return model.CodeOf(mapErr(err)) }

// faultMessage returns a message for a fault a user can read: the server's
// own (localized) message where there is one, else one built from the fault.
func faultMessage(err error) string {
	var f types.BaseMethodFault
	msg := ""
	var te task.Error
	switch {
	case errors.As(err, &te):
		msg, f = te.LocalizedMessage, te.Fault()
	case soap.IsSoapFault(err):
		sf := soap.ToSoapFault(err)
		msg = sf.String
		f, _ = sf.VimFault().(types.BaseMethodFault)
	case soap.IsVimFault(err):
		f = soap.ToVimFault(err)
	}
	if msg != "" && !strings.HasPrefix(msg, "*types.") {
		return msg
	}
	return describeFault(f)
}

// describeFault words a fault that came without a message.
func describeFault(f types.BaseMethodFault) string {
	switch f := f.(type) {
	case nil:
		return "unknown fault"
	case *types.DuplicateName:
		return "the name '" + f.Name + "' already exists"
	case *types.InvalidArgument:
		return "invalid argument " + f.InvalidProperty
	case *types.SystemError:
		return f.Reason
	case *types.InvalidPowerState:
		return "the virtual machine is " + string(f.ExistingState)
	}
	if mf := f.GetMethodFault(); mf != nil && mf.FaultMessage != nil && len(mf.FaultMessage) > 0 && mf.FaultMessage[0].Message != "" {
		return mf.FaultMessage[0].Message
	}
	if mf := f.GetMethodFault(); mf != nil && mf.FaultCause != nil && mf.FaultCause.LocalizedMessage != "" {
		return mf.FaultCause.LocalizedMessage
	}
	t := reflect.TypeOf(f)
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return t.Name()
}
