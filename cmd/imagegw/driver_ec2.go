package main

// The EC2 driver (aws-sdk-go-v2; real AWS or an EC2-compatible endpoint).
import _ "github.com/imagegw/imagegw/drivers/ec2"
