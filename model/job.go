package model

import "time"

// Job states.
const (
	JobRunning   = "running"
	JobSucceeded = "succeeded"
	JobFailed    = "failed"
)

// Job kinds.
const (
	JobCreateImage = "create_image"
	JobCopyImage   = "copy_image"
	JobCloneImage  = "clone_image"
	JobDeleteImage = "delete_image"
	JobExportImage = "export_image"
)

// Job is the durable record of a long operation that the gateway follows
// until a terminal state, across restarts too.
type Job struct {
	ID       string // UUID
	Kind     string // JobCreateImage, ...
	Driver   string
	Provider string
	// Target is the native id of the resource the job drives (the new image).
	Target string
	// Caller is the keyed hash of the credentials that started the job
	// (never the credentials themselves).
	Caller   string
	State    string // JobRunning, JobSucceeded, JobFailed
	Error    string // why it failed
	Attempts int    // polls so far
	Created  time.Time
	Updated  time.Time
	Log      []JobLogEntry
	// Params are kind-specific inputs (name, version, ...).
	Params map[string]string
}

// JobLogEntry is one line of a job's log.
type JobLogEntry struct {
	Time    time.Time
	Message string
}

// Terminal reports whether the job has finished.
func (j Job) Terminal() bool { return j.State == JobSucceeded || j.State == JobFailed }
