package main

// The Triton driver (triton-go; any Triton CloudAPI endpoint).
import _ "github.com/imagegw/imagegw/drivers/triton"
