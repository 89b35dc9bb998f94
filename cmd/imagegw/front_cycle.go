package main

import _ "github.com/imagegw/imagegw/api/cycle" // the Cycle-style front at /v1
