package main

import _ "github.com/imagegw/imagegw/api/coopr" // the Coopr front at /v2/imagetypes and /v2/hardwaretypes
