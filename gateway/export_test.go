package gateway

import "time"

// SetClock replaces the job runner's clock, for tests of its time limits.
// Call it before the gateway runs any job or create.
func SetClock(j *Jobs, now func() time.Time) { j.now = now }
