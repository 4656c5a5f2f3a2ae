package audit

import (
	"fmt"
	"unicode/utf8"
)

// maxReason bounds a reason taken from an error. Errors quote what a
// registry served (a media type, a predicate type, a subject name) and a
// hostile registry can make that megabytes long; every package carries its
// reason into findings and every report format, so 200 such packages took
// gigabytes to report. No honest reason comes near 4 KiB.
const maxReason = 4 << 10

// clipReason cuts s to maxReason bytes (at a character boundary) and says
// how much was left out.
func clipReason(s string) string {
	if len(s) <= maxReason {
		return s
	}
	cut := maxReason
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return fmt.Sprintf("%s... (%d more bytes)", s[:cut], len(s)-cut)
}
