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
