package fetch

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
)

// npmrcEntry is one setting of an npmrc file, after ini unquoting and
// ${VAR} expansion.
type npmrcEntry struct {
	Key   string
	Value string
	Array bool // written as key[]=value
	Line  int  // 1-based line number
}

// parseNpmrc parses an npmrc file the way npm's ini reader does:
//
//   - one key=value per line; a line that is only a key means key=true;
//   - whole-line comments start with ';' or '#'; in unquoted values an
//     unescaped ';' or '#' starts an inline comment (\; and \# escape them);
//   - values in double quotes are JSON strings ("\n" is a newline), values in
//     single quotes are taken literally;
//   - key[]=value appends to a list (ca[]=...);
//   - ${VAR} in keys and values is replaced from env; ${VAR?} is replaced by
//     the empty string when VAR is unset; \${VAR} stays literal. An unset
//     ${VAR} without '?' is an error naming the file and line (npm would
//     send the literal text as a credential);
//   - keys inside a [section] are not npm settings and are ignored.
//
// Errors wrap ErrConfig and name the file and line but never quote the
// line: it may hold a credential.
func parseNpmrc(data []byte, file string, env map[string]string) ([]npmrcEntry, error) {
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	var out []npmrcEntry
	inSection := false
	for i, raw := range strings.Split(string(data), "\n") {
		lineNo := i + 1
		line := strings.TrimSpace(strings.TrimSuffix(raw, "\r"))
		if line == "" || line[0] == ';' || line[0] == '#' {
			continue
		}
		if line[0] == '[' {
			if !strings.HasSuffix(line, "]") {
				return nil, fmt.Errorf("%w: %s:%d: unterminated [section] header", ErrConfig, file, lineNo)
			}
			inSection = strings.TrimSpace(line[1:len(line)-1]) != ""
			continue
		}
		rawKey, rawVal, hasEq := strings.Cut(line, "=")
		if strings.TrimSpace(rawKey) == "" {
			return nil, fmt.Errorf("%w: %s:%d: setting has no key before '='", ErrConfig, file, lineNo)
		}
		if inSection {
			continue
		}
		key, err := expandEnv(iniUnquote(rawKey), env)
		if err != nil {
			return nil, fmt.Errorf("%w: %s:%d: in key: %w", ErrConfig, file, lineNo, err)
		}
		val := "true"
		if hasEq {
			val, err = expandEnv(iniUnquote(rawVal), env)
			if err != nil {
				return nil, fmt.Errorf("%w: %s:%d: in value: %w", ErrConfig, file, lineNo, err)
			}
		}
		e := npmrcEntry{Key: strings.TrimSpace(key), Value: val, Line: lineNo}
		if k, ok := strings.CutSuffix(e.Key, "[]"); ok {
			e.Key, e.Array = k, true
		}
		if e.Key == "" {
			return nil, fmt.Errorf("%w: %s:%d: setting has an empty key", ErrConfig, file, lineNo)
		}
		out = append(out, e)
	}
	return out, nil
}

// iniUnquote mirrors the ini package's handling of a key or value: quoted
// strings are unquoted (double quotes as JSON), unquoted text is cut at the
// first unescaped ';' or '#' and \; \# \\ are unescaped.
func iniUnquote(s string) string {
	s = strings.TrimSpace(s)
	if len(s) >= 2 && (s[0] == '"' && s[len(s)-1] == '"' || s[0] == '\'' && s[len(s)-1] == '\'') {
		if s[0] == '\'' {
			return s[1 : len(s)-1]
		}
		var v string
		if err := json.Unmarshal([]byte(s), &v); err == nil {
			return v
		}
		return s
	}
	var b strings.Builder
	esc := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case esc:
			if c != '\\' && c != ';' && c != '#' {
				b.WriteByte('\\')
			}
			b.WriteByte(c)
			esc = false
		case c == ';' || c == '#':
			return strings.TrimSpace(b.String())
		case c == '\\':
			esc = true
		default:
			b.WriteByte(c)
		}
	}
	if esc {
		b.WriteByte('\\')
	}
	return strings.TrimSpace(b.String())
}

// errUnsetVar is wrapped into ErrConfig by the callers, which add the file
// and line.
type errUnsetVar string

func (e errUnsetVar) Error() string {
	return fmt.Sprintf("${%s} is not set in the environment (write ${%s?} if it may be unset)", string(e), string(e))
}

// expandEnv replaces ${NAME} and ${NAME?} from env as npm's env-replace does:
// a run of 2n backslashes before "${" leaves n backslashes and the value, a
// run of 2n+1 leaves n backslashes and the literal "${NAME}".
func expandEnv(s string, env map[string]string) (string, error) {
	if !strings.Contains(s, "${") {
		return s, nil
	}
	var b strings.Builder
	i := 0
	for i < len(s) {
		j := strings.Index(s[i:], "${")
		if j < 0 {
			b.WriteString(s[i:])
			break
		}
		start := i + j
		// the maximal run of backslashes just before "${"
		bs := start
		for bs > i && s[bs-1] == '\\' {
			bs--
		}
		end := strings.IndexByte(s[start+2:], '}')
		if end < 0 {
			b.WriteString(s[i:])
			break
		}
		body := s[start+2 : start+2+end]
		name, optional := strings.CutSuffix(body, "?")
		if name == "" || strings.ContainsAny(name, "${}?") {
			// not a variable reference: copy "${" and go on after it
			b.WriteString(s[i : start+2])
			i = start + 2
			continue
		}
		b.WriteString(s[i:bs])
		nEsc := start - bs
		b.WriteString(strings.Repeat(`\`, nEsc/2))
		if nEsc%2 == 1 {
			b.WriteString(s[start : start+3+end])
		} else {
			v, ok := env[name]
			if !ok && !optional {
				return "", errUnsetVar(name)
			}
			b.WriteString(v)
		}
		i = start + 3 + end
	}
	return b.String(), nil
}
