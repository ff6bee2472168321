package geo

import (
	"regexp"
	"strings"
)

var (
	// Mainland mobile: 11 digits starting 13–19, optionally after +86/0086.
	mobilePattern = regexp.MustCompile(`^(?:\+?86|0086)?1[3-9]\d{9}$`)
	// Landline: area code 0 + 2–3 digits, 7–8 digit number, optional
	// extension: 0738-6812345, 07386812345, 010-12345678-123.
	landlinePattern = regexp.MustCompile(`^0\d{2,3}-?\d{7,8}(?:-\d{1,6})?$`)
)

// NormalizePhone checks that s is a mainland mobile or landline number and
// returns it without spaces (and without the +86 prefix of mobiles). An
// empty s is returned as is: a phone is often unknown.
func NormalizePhone(s string) (string, error) {
	t := strings.NewReplacer(" ", "", "\u00a0", "", "(", "", ")", "").Replace(strings.TrimSpace(s))
	if t == "" {
		return "", nil
	}
	if mobilePattern.MatchString(t) {
		return t[len(t)-11:], nil
	}
	if landlinePattern.MatchString(t) {
		return t, nil
	}
	return "", Errorf(EINVALID, "phone %q: want a mainland mobile (11 digits, 13x–19x) or a landline with its area code (e.g. 0738-6812345)", s)
}
