package main

import _ "github.com/imagegw/imagegw/drivers/vsphere" // the vSphere driver (govmomi)
