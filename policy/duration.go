package policy

import (
	"fmt"
	"strconv"
	"time"
)

// maxAge bounds minimumReleaseAge: ten years is more than any real use and
// keeps every sum far from overflow.
const maxAge = 10 * 365 * 24 * time.Hour

// ageUnits are the units ParseAge accepts.
var ageUnits = map[byte]time.Duration{
	'w': 7 * 24 * time.Hour,
	'd': 24 * time.Hour,
	'h': time.Hour,
	'm': time.Minute,
	's': time.Second,
}

// ParseAge parses an age such as "3d", "72h", "1w", "1d12h" or "90m": one
// or more whole numbers, each followed by its unit (w weeks, d days, h
// hours, m minutes, s seconds). "0d" is zero (the rule is off).
func ParseAge(s string) (time.Duration, error) {
	bad := func(why string) error {
		return fmt.Errorf("%q is not an age: %s (write a number and its unit: 3d, 72h, 1w, 1d12h; units w, d, h, m, s)", s, why)
	}
	if s == "" {
		return 0, bad("it is empty")
	}
	var total time.Duration
	for i := 0; i < len(s); {
		j := i
		for j < len(s) && s[j] >= '0' && s[j] <= '9' {
			j++
		}
		if j == i {
			return 0, bad(fmt.Sprintf("a number is missing at %q", s[i:]))
		}
		if j == len(s) {
			return 0, bad(fmt.Sprintf("%s has no unit", s[i:j]))
		}
		unit, ok := ageUnits[s[j]]
		if !ok {
			return 0, bad(fmt.Sprintf("unknown unit %q", s[j:j+1]))
		}
		n, err := strconv.ParseInt(s[i:j], 10, 64)
		if err != nil || n > int64(maxAge/unit) {
			return 0, bad("more than ten years")
		}
		total += time.Duration(n) * unit
		if total > maxAge {
			return 0, bad("more than ten years")
		}
		i = j + 1
	}
	return total, nil
}
