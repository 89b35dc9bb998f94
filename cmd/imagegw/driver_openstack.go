package main

// The OpenStack driver (Keystone, Glance, Nova through gophercloud v2).
import _ "github.com/imagegw/imagegw/drivers/openstack"
