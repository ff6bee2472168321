package geo

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// This file is the resident's feedback (回访): when an incident closes and
// the reporter left a mobile number, an SMS asks them to rate the handling
// by a link; 不满意 reopens the case for a dispatcher to decide.

// Rating is a resident's verdict.
type Rating string

// The three answers a township is assessed on.
const (
	RatingSatisfied   Rating = "satisfied"           // 满意
	RatingBasic       Rating = "basically_satisfied" // 基本满意
	RatingUnsatisfied Rating = "unsatisfied"         // 不满意
)

// Ratings lists the answers, best first.
var Ratings = []Rating{RatingSatisfied, RatingBasic, RatingUnsatisfied}

// Chinese is r as the resident reads it.
func (r Rating) Chinese() string {
	switch r {
	case RatingSatisfied:
		return "满意"
	case RatingBasic:
		return "基本满意"
	case RatingUnsatisfied:
		return "不满意"
	}
	return string(r)
}

// RatingValidity is how long a rating link can be answered.
const RatingValidity = 30 * 24 * time.Hour

// MaxRatingComment bounds what a resident may add.
const MaxRatingComment = 500

// RatingRequest is a resident's answer to a rating request.
type RatingRequest struct {
	Rating  string `json:"rating"`
	Comment string `json:"comment"`
}

// Check checks r whole.
func (r RatingRequest) Check() (Rating, string, error) {
	var probs []Problem
	rating := Rating(r.Rating)
	if !slices.Contains(Ratings, rating) {
		probs = append(probs, Problem{Where: "rating", Reason: fmt.Sprintf("got %q, want one of %v", Clip(r.Rating), Ratings)})
	}
	comment := strings.TrimSpace(r.Comment)
	if utf8.RuneCountInString(comment) > MaxRatingComment {
		probs = append(probs, Problem{Where: "comment", Reason: fmt.Sprintf("at most %d characters", MaxRatingComment)})
	}
	if len(probs) > 0 {
		return "", "", Invalid(probs...)
	}
	return rating, comment, nil
}

// NewRatingToken returns a fresh token for a rating link: 128 random bits,
// URL-safe.
func NewRatingToken() string {
	var b [16]byte
	rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// HashRatingToken is what the store keeps of a token.
func HashRatingToken(token string) [32]byte {
	return sha256.Sum256([]byte("wangge rating\x00" + token))
}

// RatingChange is what a rating does to the incident it rates: an event
// that records it, and for 不满意 the incident reopened (with the
// resident's words) for a dispatcher to decide.
func RatingChange(inc *Incident, r Rating, comment string) (IncidentChange, error) {
	note := "回访：" + r.Chinese()
	if comment != "" {
		note += "。" + comment
	}
	if r != RatingUnsatisfied {
		return IncidentChange{Action: ActComment, Note: note, To: inc.Status}, nil
	}
	to, err := Transition(inc.Status, ActReopen)
	if err != nil {
		// Already reopened by someone else: the rating is still recorded.
		return IncidentChange{Action: ActComment, Note: note, To: inc.Status}, nil
	}
	return IncidentChange{Action: ActReopen, Note: note, To: to}, nil
}

// RatingStore keeps ratings. Every method returns EUNAVAILABLE when the
// database cannot be reached.
type RatingStore interface {
	// RateIncident records rating r for the request of token (ENOTFOUND
	// when unknown or expired, ECONFLICT when already answered) and applies
	// the change decide returns to the incident, in one transaction.
	RateIncident(ctx context.Context, token string, r Rating, comment string, at time.Time,
		decide func(*Incident) (IncidentChange, error)) (*Incident, error)
}
