package model

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Code is the small, fixed set of error classes a driver maps every cloud
// error to. Fronts translate a Code into their own status and envelope.
type Code int

// The error codes, after Go CDK's gcerrors and gRPC's codes.
const (
	OK                 Code = iota // not an error
	Unknown                        // an error with no code: treated as Internal
	NotFound                       // the resource does not exist
	InvalidArgument                // the request is malformed or names bad values
	AlreadyExists                  // the resource (or its name) exists already
	Unauthenticated                // credentials missing or rejected
	PermissionDenied               // credentials valid but not allowed
	FailedPrecondition             // the resource is in the wrong state (409)
	Unimplemented                  // the driver lacks the capability
	ResourceExhausted              // throttled or over quota; see Error.RetryAfter
	Unavailable                    // the cloud is unreachable or failing (502)
	DeadlineExceeded               // the cloud did not answer in time (504)
	Internal                       // a gateway bug
	Canceled                       // the client went away
)

var codeNames = [...]string{
	OK: "OK", Unknown: "Unknown", NotFound: "NotFound", InvalidArgument: "InvalidArgument",
	AlreadyExists: "AlreadyExists", Unauthenticated: "Unauthenticated",
	PermissionDenied: "PermissionDenied", FailedPrecondition: "FailedPrecondition",
	Unimplemented: "Unimplemented", ResourceExhausted: "ResourceExhausted",
	Unavailable: "Unavailable", DeadlineExceeded: "DeadlineExceeded", Internal: "Internal",
	Canceled: "Canceled",
}

// String returns the code's name, for example "NotFound".
func (c Code) String() string {
	if c >= 0 && int(c) < len(codeNames) {
		return codeNames[c]
	}
	return fmt.Sprintf("Code(%d)", int(c))
}

// Error is an error with a Code. Message is safe to show to a client; Err is
// the raw cause (an SDK error, say), kept for logs and errors.Is/As.
type Error struct {
	Code    Code
	Message string
	Err     error
	// RetryAfter, for ResourceExhausted and Unavailable, is how long a client
	// should wait before trying again; zero means unknown.
	RetryAfter time.Duration
	// InjectedStatus, when set, asks fronts to answer with this HTTP status:
	// only fault injection (the mock's realms 500..504) uses it.
	InjectedStatus int
}

// Error implements error. It shows the message and, if any, the cause.
func (e *Error) Error() string {
	switch {
	case e.Message != "" && e.Err != nil:
		return e.Message + ": " + e.Err.Error()
	case e.Message != "":
		return e.Message
	case e.Err != nil:
		return e.Err.Error()
	}
	return e.Code.String()
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// Errorf returns an *Error with code and a formatted client-safe message.
func Errorf(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Wrap returns an *Error with code wrapping cause, with a formatted message.
// If format is empty the cause's text becomes the message.
func Wrap(code Code, cause error, format string, args ...any) *Error {
	msg := fmt.Sprintf(format, args...)
	if format == "" && cause != nil {
		msg = cause.Error()
		return &Error{Code: code, Message: msg, Err: cause}
	}
	return &Error{Code: code, Message: msg, Err: cause}
}

// CodeOf returns the Code of err: OK for nil, the Code of the first *Error in
// its chain, DeadlineExceeded or Canceled for the context errors, else Unknown.
func CodeOf(err error) Code {
	if err == nil {
		return OK
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return DeadlineExceeded
	case errors.Is(err, context.Canceled):
		return Canceled
	}
	return Unknown
}

// MessageOf returns the client-safe message of err: the Message of its first
// *Error, or a generic text for errors without a code (never a raw cause,
// which may leak internals).
func MessageOf(err error) string {
	var e *Error
	if errors.As(err, &e) {
		if e.Message != "" {
			return e.Message
		}
		return e.Code.String()
	}
	switch CodeOf(err) {
	case DeadlineExceeded:
		return "the cloud did not answer in time"
	case Canceled:
		return "request canceled"
	}
	return "internal error"
}

// RetryAfterOf returns the RetryAfter hint of err's first *Error, or zero.
func RetryAfterOf(err error) time.Duration {
	var e *Error
	if errors.As(err, &e) {
		return e.RetryAfter
	}
	return 0
}

// IsNotFound reports whether err has code NotFound.
func IsNotFound(err error) bool { return CodeOf(err) == NotFound }
