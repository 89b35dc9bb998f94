// Package model holds the plain data types shared by every layer of imagegw:
// images, hardware profiles, realms, instances, jobs, queries and the small
// fixed set of error codes that drivers map cloud errors to.
//
// It imports nothing of ours, so drivers, the gateway, the store and the fronts
// can all depend on it.
package model
