package registrytest

import (
	"bufio"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"hash/fnv"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// npmTime is the time format of the npm registry (RFC 3339, milliseconds, UTC).
const npmTime = "2006-01-02T15:04:05.000Z07:00"

// packumentWriter streams one packument. Padding versions are generated
// while writing, so packuments of many megabytes cost no memory.
type packumentWriter struct {
	w   *bufio.Writer
	r   *Registry
	s   *snapshot
	buf []byte
}

func (p *packumentWriter) raw(s string)   { _, _ = p.w.WriteString(s) }
func (p *packumentWriter) bytes(b []byte) { _, _ = p.w.Write(b) }
func (p *packumentWriter) str(s string) {
	p.buf = appendJSONString(p.buf[:0], s)
	_, _ = p.w.Write(p.buf)
}

// padVersions returns the padding version strings: 0.<i/10>.<i%10>, skipping
// versions the package really has.
func (p *packumentWriter) padVersions() []string {
	if p.s.padding <= 0 {
		return nil
	}
	real := make(map[string]bool, len(p.s.versions))
	for _, v := range p.s.versions {
		real[v.version] = true
	}
	out := make([]string, 0, p.s.padding)
	for i := 0; len(out) < p.s.padding; i++ {
		v := "0." + strconv.Itoa(i/10) + "." + strconv.Itoa(i%10)
		if !real[v] {
			out = append(out, v)
		}
	}
	return out
}

// times returns created, modified and the padding versions' first time.
func (p *packumentWriter) times(npad int) (created, modified time.Time) {
	for _, v := range p.s.versions {
		if v.published.IsZero() {
			continue
		}
		if created.IsZero() || v.published.Before(created) {
			created = v.published
		}
		if v.published.After(modified) {
			modified = v.published
		}
	}
	if created.IsZero() {
		created, modified = p.r.now, p.r.now
	}
	created = created.Add(-time.Duration(npad+1) * time.Hour)
	return created, modified
}

func (p *packumentWriter) tags() {
	p.raw(`"dist-tags":{`)
	first := true
	for _, k := range sortedKeys(p.s.tags) {
		if !first {
			p.raw(",")
		}
		first = false
		p.str(k)
		p.raw(":")
		p.str(p.s.tags[k])
	}
	p.raw("}")
}

func (p *packumentWriter) writeFull() {
	pads := p.padVersions()
	created, modified := p.times(len(pads))
	user := maintainerName(p.s.name)
	p.raw(`{"_id":`)
	p.str(p.s.name)
	p.raw(`,"_rev":`)
	p.str(strconv.Itoa(len(pads)+len(p.s.versions)) + "-" + revHash(p.s.name))
	p.raw(`,"name":`)
	p.str(p.s.name)
	p.raw(",")
	p.tags()
	p.raw(`,"versions":{`)
	n := 0
	for _, v := range pads {
		if n > 0 {
			p.raw(",")
		}
		n++
		p.str(v)
		p.raw(":")
		p.padVersion(v, user, false)
	}
	for _, v := range p.s.versions {
		if n > 0 {
			p.raw(",")
		}
		n++
		p.str(v.version)
		p.raw(":")
		p.bytes(v.doc)
	}
	p.raw(`},"time":{"created":`)
	p.str(created.UTC().Format(npmTime))
	p.raw(`,"modified":`)
	p.str(modified.UTC().Format(npmTime))
	for i, v := range pads {
		p.raw(",")
		p.str(v)
		p.raw(":")
		p.str(created.Add(time.Duration(i+1) * time.Hour).UTC().Format(npmTime))
	}
	for _, v := range p.s.versions {
		if v.published.IsZero() {
			continue
		}
		p.raw(",")
		p.str(v.version)
		p.raw(":")
		p.str(v.published.UTC().Format(npmTime))
	}
	p.raw(`},"maintainers":[{"name":`)
	p.str(user)
	p.raw(`,"email":`)
	p.str(user + "@example.invalid")
	p.raw(`}],"description":`)
	p.str("A package served by the provaudit fake registry.")
	p.raw(`,"license":"MIT","readme":`)
	p.raw(readmeJSON)
	p.raw(`,"readmeFilename":"README.md"}`)
}

func (p *packumentWriter) writeAbbreviated() {
	pads := p.padVersions()
	_, modified := p.times(len(pads))
	p.raw(`{"name":`)
	p.str(p.s.name)
	p.raw(`,"modified":`)
	p.str(modified.UTC().Format(npmTime))
	p.raw(",")
	p.tags()
	p.raw(`,"versions":{`)
	n := 0
	for _, v := range pads {
		if n > 0 {
			p.raw(",")
		}
		n++
		p.str(v)
		p.raw(":")
		p.padVersion(v, "", true)
	}
	p.r.mu.RLock()
	noAtt := p.r.abbrevNoAtt
	p.r.mu.RUnlock()
	for _, v := range p.s.versions {
		if n > 0 {
			p.raw(",")
		}
		n++
		p.str(v.version)
		p.raw(":")
		if noAtt {
			p.bytes(stripDist(v.abbrev, "attestations"))
		} else {
			p.bytes(v.abbrev)
		}
	}
	p.raw("}}")
}

// padVersion writes one padding version: realistic fields (dependencies,
// scripts, a readme-sized description, dist) but no registry signature, as
// nobody verifies padding versions and fake signatures would be invalid.
func (p *packumentWriter) padVersion(version, user string, abbreviated bool) {
	sum := sha512.Sum512([]byte(p.s.name + "@" + version))
	id := p.s.name + "@" + version
	p.raw(`{"name":`)
	p.str(p.s.name)
	p.raw(`,"version":`)
	p.str(version)
	if !abbreviated {
		p.raw(`,"description":`)
		p.raw(readmeJSON)
		p.raw(`,"main":"index.js","scripts":{"test":"node --test test/","lint":"eslint .","build":"tsc -p tsconfig.build.json","prepublishOnly":"npm run build && npm test"},"license":"MIT","keywords":["fake","registry","padding"]`)
	}
	p.raw(`,"dependencies":{`)
	p.raw(padDeps[int(sum[0])%len(padDeps)])
	p.raw(`},"devDependencies":{"eslint":"^8.57.0","typescript":"^5.4.5"}`)
	if !abbreviated {
		p.raw(`,"gitHead":"`)
		p.raw(hex.EncodeToString(sum[20:40]))
		p.raw(`","_id":`)
		p.str(id)
		p.raw(`,"_nodeVersion":"20.11.1","_npmVersion":"10.2.4"`)
	}
	p.raw(`,"dist":{"integrity":"sha512-`)
	p.raw(base64.StdEncoding.EncodeToString(sum[:]))
	p.raw(`","shasum":"`)
	p.raw(hex.EncodeToString(sum[:20]))
	p.raw(`","tarball":`)
	p.str(p.r.tarballURL(p.s.name, version))
	p.raw(`,"fileCount":`)
	p.raw(strconv.Itoa(5 + int(sum[1])%40))
	p.raw(`,"unpackedSize":`)
	p.raw(strconv.Itoa(4096 + int(sum[2])*512))
	p.raw("}")
	if abbreviated {
		p.raw(`,"engines":{"node":">=14"}}`)
		return
	}
	p.raw(`,"_npmUser":{"name":`)
	p.str(user)
	p.raw(`,"email":`)
	p.str(user + "@example.invalid")
	p.raw(`},"directories":{},"_hasShrinkwrap":false}`)
}

var padDeps = []string{
	`"debug":"^4.3.4","ms":"^2.1.3","semver":"^7.6.0","tslib":"^2.6.2"`,
	`"chalk":"^4.1.2","commander":"^11.1.0","minimist":"^1.2.8"`,
	`"lodash":"^4.17.21","uuid":"^9.0.1","yargs":"^17.7.2","glob":"^10.3.10","minimatch":"^9.0.3"`,
	`"readable-stream":"^3.6.2","inherits":"^2.0.4","safe-buffer":"^5.2.1"`,
}

// readmeJSON is a readme-sized JSON string (about 2.5 kB) for padding.
var readmeJSON = string(appendJSONString(nil, strings.Repeat(
	"# Usage\n\nInstall with `npm install` and require the module. It exposes a small API with "+
		"\"options\" objects, callbacks and promises; see the examples below for details.\n\n"+
		"```js\nconst m = require('module')\nm.run({ retries: 3, timeout: 1000 })\n```\n\n", 9)))

// maintainerName is the deterministic publisher name of a package.
func maintainerName(name string) string {
	name = strings.TrimPrefix(name, "@")
	name = strings.ReplaceAll(name, "/", "-")
	return name + "-maintainer"
}

func revHash(s string) string {
	h := fnv.New128a()
	_, _ = h.Write([]byte(s))
	return hex.EncodeToString(h.Sum(nil))
}

// appendJSONString appends s as a JSON string literal.
func appendJSONString(dst []byte, s string) []byte {
	const hexDigits = "0123456789abcdef"
	dst = append(dst, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				dst = append(dst, '\\', c)
			case c == '\n':
				dst = append(dst, '\\', 'n')
			case c == '\r':
				dst = append(dst, '\\', 'r')
			case c == '\t':
				dst = append(dst, '\\', 't')
			case c < 0x20:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			default:
				dst = append(dst, c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, `\ufffd`...)
		} else {
			dst = append(dst, s[i:i+size]...)
		}
		i += size
	}
	return append(dst, '"')
}
