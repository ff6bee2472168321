package geo

import (
	"errors"
	"fmt"
)

// Error codes. Every error a store or the domain returns to a caller that
// must react to it carries one of these codes, so that api can map it to an
// HTTP status without looking at message text.
const (
	ENOTFOUND    = "not_found"   // the thing asked for does not exist
	EINVALID     = "invalid"     // the input is wrong; Detail says what and where
	ECONFLICT    = "conflict"    // the input is fine but clashes with current state
	EUNAVAILABLE = "unavailable" // a dependency (PostgreSQL) cannot be reached now
	EFORBIDDEN   = "forbidden"   // the caller may not do this to this thing (a person outside their scope)
	EINTERNAL    = "internal"    // a bug or an unexpected failure; never shown in detail
)

// Error is a domain error with a stable code and a human message that is safe
// to show to a client. Problems optionally locate what is wrong, one entry per
// offending feature or parameter.
type Error struct {
	Code     string
	Message  string
	Problems []Problem
}

// Problem locates one defect in an input: which feature or parameter, and why.
type Problem struct {
	// Where names the offending thing: a parameter ("lon"), a feature
	// ("grids.geojson: feature 12 (431321101001003)") or a JSON path.
	Where string `json:"where"`
	// Reason says what is wrong and what was expected.
	Reason string `json:"reason"`
	// Location, when known, is the lon/lat where a geometry is wrong.
	Location []float64 `json:"location,omitempty"`
}

// String is "where: reason", the form messages quote.
func (p Problem) String() string { return p.Where + ": " + p.Reason }

// Invalid returns an EINVALID error made of problems, its message that of
// the first: handlers send it as a 400 that names every field at fault.
func Invalid(problems ...Problem) *Error {
	msg := "invalid input"
	if len(problems) > 0 {
		msg = problems[0].String()
	}
	return &Error{Code: EINVALID, Message: msg, Problems: problems}
}

// Invalidf is Invalid with one problem.
func Invalidf(where, format string, args ...any) *Error {
	return Invalid(Problem{Where: where, Reason: fmt.Sprintf(format, args...)})
}

func (e *Error) Error() string {
	if len(e.Problems) == 0 {
		return e.Message
	}
	return fmt.Sprintf("%s (%d problems, first: %s: %s)", e.Message, len(e.Problems), e.Problems[0].Where, e.Problems[0].Reason)
}

// Errorf returns an *Error with the given code and formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of err if it is (or wraps) an *Error, and
// EINTERNAL otherwise. A nil error has no code.
func ErrorCode(err error) string {
	var e *Error
	if err == nil {
		return ""
	} else if errors.As(err, &e) {
		return e.Code
	}
	return EINTERNAL
}

// ErrorMessage returns the client-safe message of err if it is an *Error, and
// "internal error" otherwise, so that driver errors never reach a client.
func ErrorMessage(err error) string {
	var e *Error
	if err == nil {
		return ""
	} else if errors.As(err, &e) {
		return e.Message
	}
	return "internal error"
}
