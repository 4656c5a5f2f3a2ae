package npmrig

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// ErrOutput reports npm output that holds no audit summary, or one that
// cannot be read unambiguously.
var ErrOutput = errors.New("npmrig: unreadable npm output")

// summary is what `npm audit signatures` reports in text form.
type summary struct {
	audited             int
	signatures          int
	attestations        int
	invalidSignatures   int
	invalidAttestations int
	missing             int
}

// outputLine is one kind of summary line npm prints (npm 9 to 11), in the
// singular and plural forms of lib/utils/verify-signatures.js.
type outputLine struct {
	name string
	re   *regexp.Regexp
	set  func(*summary, int)
}

var outputLines = []outputLine{
	{"audited", regexp.MustCompile(`^audited (\d+) packages? in \d+s$`),
		func(s *summary, n int) { s.audited = n }},
	{"verified registry signatures", regexp.MustCompile(`^(\d+) (?:package has a|packages have) verified registry signatures?$`),
		func(s *summary, n int) { s.signatures = n }},
	{"verified attestations", regexp.MustCompile(`^(\d+) (?:package has a|packages have) verified attestations?$`),
		func(s *summary, n int) { s.attestations = n }},
	{"missing registry signatures", regexp.MustCompile(`^(\d+) (?:package has a|packages have) missing registry signatures? but the registry is providing signing keys:$`),
		func(s *summary, n int) { s.missing = n }},
	{"invalid registry signatures", regexp.MustCompile(`^(\d+) (?:package has an|packages have) invalid registry signatures?:$`),
		func(s *summary, n int) { s.invalidSignatures = n }},
	{"invalid attestations", regexp.MustCompile(`^(\d+) (?:package has an|packages have) invalid attestations?:$`),
		func(s *summary, n int) { s.invalidAttestations = n }},
}

// ansi matches the colour and style escapes chalk writes.
var ansi = regexp.MustCompile("\x1b\\[[0-9;]*m")

// maxCount bounds every count read from npm's output.
const maxCount = 100_000_000

// parseOutput reads the summary of `npm audit signatures` from its text
// output. It fails when the "audited N packages" line is absent, when a kind
// of line appears twice, when a count is out of range, or when the counts
// contradict each other (more verified, missing or invalid packages than
// audited ones, or a singular line with a count other than 1).
func parseOutput(out []byte) (summary, error) {
	var s summary
	seen := make([]bool, len(outputLines))
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 0, 64*1024), 1<<20)
	for sc.Scan() {
		line := strings.TrimSpace(ansi.ReplaceAllString(sc.Text(), ""))
		for i, ol := range outputLines {
			m := ol.re.FindStringSubmatch(line)
			if m == nil {
				continue
			}
			if seen[i] {
				return summary{}, fmt.Errorf("%w: %q reported twice", ErrOutput, ol.name)
			}
			seen[i] = true
			n, err := strconv.Atoi(m[1])
			if err != nil || n < 0 || n > maxCount {
				return summary{}, fmt.Errorf("%w: %s count %q out of range", ErrOutput, ol.name, m[1])
			}
			// npm writes "audited 0 package" (its plural needs more than
			// one) and the other lines only with a count of at least one.
			singular := !strings.Contains(line, " packages ")
			if i == 0 && singular != (n <= 1) || i > 0 && singular != (n == 1) {
				return summary{}, fmt.Errorf("%w: %q: count and grammatical number disagree", ErrOutput, line)
			}
			ol.set(&s, n)
			break
		}
	}
	if err := sc.Err(); err != nil {
		return summary{}, fmt.Errorf("%w: %w", ErrOutput, err)
	}
	if !seen[0] {
		return summary{}, fmt.Errorf("%w: no \"audited N packages\" line", ErrOutput)
	}
	if s.signatures > s.audited || s.attestations > s.audited || s.missing > s.audited ||
		s.invalidSignatures+s.invalidAttestations > s.audited {
		return summary{}, fmt.Errorf("%w: more packages verified, missing or invalid than the %d audited", ErrOutput, s.audited)
	}
	return s, nil
}
