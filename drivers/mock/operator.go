package mock

import "github.com/imagegw/imagegw/model"

// OperatorCredentials returns the credentials the gateway acts with when
// it checks or resolves image and hardware types on its own (no client
// credentials): the mock's published user and password, so that a mock
// provider needs no configured credentials.
func (p *Provider) OperatorCredentials() model.Credentials {
	return model.Credentials{User: User, Password: Password}
}
