package figures

import "strings"

// A person's key in the person level's tables is who they are, not their
// name alone (namesakes are common in a township): the phone, a colon, the
// name, as the registry knows a person (SQL figures_person_key, migration
// 0032). Phones are digits, so the first colon ends the phone.

// SplitPersonKey is the phone and the name of a person level's key; both
// are "" for the row of incidents with no assignee.
func SplitPersonKey(key string) (phone, name string) {
	phone, name, _ = strings.Cut(key, ":")
	return phone, name
}
