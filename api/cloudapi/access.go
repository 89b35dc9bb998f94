package cloudapi

import (
	"net/http"

	"github.com/imagegw/imagegw/gateway"
	"github.com/imagegw/imagegw/model"
)

// noCredentials turns the gateway's refusal of empty credentials (an
// account with none for the driver, on a provider that is not anonymous)
// into 403 NotAuthorized: the account is authenticated, the gateway just
// does not lend it the operator's credentials.
func noCredentials(err error, login string, t gateway.Target) error {
	if err != nil && model.MessageOf(err) == gateway.ErrCredentialsRequired {
		return newErr(http.StatusForbidden, "NotAuthorized", "account "+login+" has no credentials for driver "+t.Driver+
			", and provider "+t.Provider+" does not lend its own (anonymous: false)")
	}
	return err
}

// An imageOp is what a request does with an image, for the ownership
// rule: any account may read (and clone) a public image and its own;
// only its owner may change, export or delete one.
type imageOp string

const (
	opRead   imageOp = "read"
	opClone  imageOp = "clone"
	opUpdate imageOp = "update"
	opExport imageOp = "export"
	opDelete imageOp = "delete"
)

// ownerOnly reports whether op needs the caller to own the image.
func (op imageOp) ownerOnly() bool { return op == opUpdate || op == opExport || op == opDelete }

// isPublic is an image's CloudAPI public flag: what the cloud says, else
// public when it is neither the caller's nor made through the gateway (a
// cloud's shared catalog), private when an account made it here.
func isPublic(img model.Image, m model.ImageMeta, mine bool) bool {
	switch img.Visibility {
	case model.VisibilityPublic:
		return true
	case model.VisibilityPrivate, model.VisibilityShared:
		return false
	}
	return !mine && m.Creator == ""
}

// loadImageFor is loadImage with the ownership rule applied: another
// account's private image, or any image of another account for an
// owner-only op, is 403 NotAuthorized. The owner is the account the
// gateway recorded as the image's creator (the overlay's Creator), else the
// account whose cloud identity owns it.
func (c *call) loadImageFor(op imageOp) (string, model.Image, error) {
	id, img, err := c.loadImage()
	if err != nil {
		return id, img, err
	}
	if c.allowed(img, op) {
		return id, img, nil
	}
	return "", model.Image{}, newErr(http.StatusForbidden, "NotAuthorized",
		c.login+" is not allowed to "+string(op)+" image "+id+": it belongs to another account")
}

// allowed reports whether the caller may do op with img:
//
//   - its own image (the creator the gateway recorded, else its cloud
//     identity's): anything;
//   - another account's (a different recorded creator): read and clone when
//     public, nothing else;
//   - no recorded creator, public and not the caller's cloud identity's:
//     read and clone;
//   - no recorded creator and private: the cloud showed it to the caller's
//     credentials, so the cloud decides (its own answer comes back).
func (c *call) allowed(img model.Image, op imageOp) bool {
	var m model.ImageMeta
	if img.Meta != nil {
		m = *img.Meta
	}
	_, mine := c.owner(img, m)
	switch {
	case mine:
		return true
	case m.Creator != "" || isPublic(img, m, mine):
		return !op.ownerOnly() && isPublic(img, m, mine)
	}
	return true
}
