package fetch

import (
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/provaudit/provaudit/internal/localfile"
)

// ConfigOptions are the inputs of LoadConfig: everything npm would read
// from its command line, environment and working directory, injected so
// that tests (and callers auditing another project) control them.
type ConfigOptions struct {
	// ProjectDir is the directory of the audited lockfile: its .npmrc is
	// the project npmrc.
	ProjectDir string
	// Registry is the --registry flag ("" = not given).
	Registry string
	// Env is the environment in os.Environ() form. Only it is consulted,
	// never the process environment.
	Env []string
	// ResolvedURLs are the lockfile's resolved URLs; when no registry is
	// configured, the most common registry origin among them is used.
	ResolvedURLs []string
	// NpmRegistry, when set, asks npm's own configuration for the default
	// registry (the CLI runs `npm config get registry` outside the project).
	// It is called only when no flag, environment variable or npmrc names a
	// registry, before the lockfile's resolved URLs are looked at. It
	// returns "" when npm is not installed or names none.
	NpmRegistry func() (string, error)
}

// RegistryOrigin says where a registry URL came from and who named it.
type RegistryOrigin struct {
	// Source is where the setting that chose the registry came from:
	// "--registry", "environment variable npm_config_registry", an npmrc
	// "file:line", "npm's own configuration (npm config get registry)" or
	// "the lockfile's resolved URLs".
	Source string
	// ByUser tells whether the person running provaudit named this registry
	// anywhere in their own settings (a flag, the environment, their user
	// or global npmrc, npm's own configuration). A registry named only by
	// the audited project's own files (its .npmrc, its lockfile's resolved
	// URLs) is still fetched from, but its keys are not trusted.
	ByUser bool
}

// Sources of a registry that no setting names.
const (
	sourceNpm      = "npm's own configuration (npm config get registry)"
	sourceResolved = "the lockfile's resolved URLs"
)

// Config is the npm configuration provaudit uses: the default and scoped
// registries, credentials per host and path, TLS and proxy settings. It is
// immutable after LoadConfig and safe for concurrent use. It never prints a
// credential: String and GoString redact them.
type Config struct {
	registry       string
	registrySource string
	userNamed      map[string]bool           // registry URLs the person's own settings name
	scoped         map[string]scopedRegistry // "@scope" -> registry
	creds          []credential
	rootCAs        *x509.CertPool // nil = system roots
	caSource       string
	caCount        int
	strictSSL      bool
	strictSource   string
	httpsProxy     *url.URL
	httpProxy      *url.URL
	proxySources   [2]string // https, http
	noProxy        []string
	noProxySource  string
	files          []npmrcFile
}

type scopedRegistry struct {
	url    string
	source string
}

// npmrcFile records which npmrc files were considered, for String.
type npmrcFile struct {
	role, path string
	loaded     bool
}

// setting is one resolved configuration value and where it came from.
type setting struct {
	value  string
	values []string // key[]= lists
	array  bool
	source string // "file:line", "environment variable X" or "--registry"
}

// layer is one configuration level (command line, env, project, user,
// global); higher layers win key by key.
type layer map[string]setting

// userLayer is a layer of the person running provaudit (not the audited
// project's).
type userLayer struct {
	l    layer
	user bool
}

// LoadConfig reads npm's configuration in npm's precedence order:
//
//  1. the --registry flag (opts.Registry);
//  2. npm_config_* / NPM_CONFIG_* environment variables (npm's mapping: the
//     prefix is case-insensitive, further '_' become '-', keys starting
//     with "//" are kept as written);
//  3. the project npmrc, opts.ProjectDir/.npmrc;
//  4. the user npmrc, npm_config_userconfig, else $HOME/.npmrc (USERPROFILE
//     when HOME is unset);
//  5. the global npmrc, npm_config_globalconfig, else $PREFIX/etc/npmrc
//     where PREFIX comes from npm_config_prefix or PREFIX; with neither set
//     there is no global npmrc (provaudit cannot know where node lives);
//  6. for the default registry only: npm's own configuration
//     (opts.NpmRegistry), then the most common registry origin of the
//     lockfile's resolved URLs (with any path prefix before /<name>/-/).
//
// With no registry from any of these, it fails with ErrNoRegistry. Every
// registry URL remembers who named it ([Config.RegistryOrigin]): the
// project npmrc and the resolved URLs are the audited project's, the rest
// the person's. Relative
// cafile paths are resolved against the directory of the npmrc that names
// them ("~/" against HOME). Credentials written in a registry URL
// (https://user:pass@host/) become that registry's credential and are
// removed from the URL.
func LoadConfig(opts ConfigOptions) (*Config, error) {
	env := envMap(opts.Env)
	c := &Config{scoped: map[string]scopedRegistry{}, userNamed: map[string]bool{}, strictSSL: true}

	var layers []layer
	var owned []userLayer
	cli := layer{}
	if opts.Registry != "" {
		cli["registry"] = setting{value: opts.Registry, source: "--registry"}
	}
	layers = append(layers, cli, envLayer(opts.Env))
	owned = append(owned, userLayer{cli, true}, userLayer{layers[1], true})

	home := env["HOME"]
	if home == "" {
		home = env["USERPROFILE"]
	}
	var paths []struct{ role, path string }
	if opts.ProjectDir != "" {
		paths = append(paths, struct{ role, path string }{"project", filepath.Join(opts.ProjectDir, ".npmrc")})
	}
	if p := envFold(env, "npm_config_userconfig"); p != "" {
		paths = append(paths, struct{ role, path string }{"user", expandHome(p, home)})
	} else if home != "" {
		paths = append(paths, struct{ role, path string }{"user", filepath.Join(home, ".npmrc")})
	}
	if p := envFold(env, "npm_config_globalconfig"); p != "" {
		paths = append(paths, struct{ role, path string }{"global", expandHome(p, home)})
	} else if prefix := firstNonEmpty(envFold(env, "npm_config_prefix"), env["PREFIX"]); prefix != "" {
		paths = append(paths, struct{ role, path string }{"global", filepath.Join(prefix, "etc", "npmrc")})
	}
	seen := map[string]bool{}
	for _, p := range paths {
		abs, err := filepath.Abs(p.path)
		if err != nil {
			return nil, fmt.Errorf("%w: %s npmrc %s: %w", ErrConfig, p.role, p.path, err)
		}
		if seen[abs] {
			continue
		}
		seen[abs] = true
		l, loaded, err := readNpmrcLayer(abs, env, home)
		if err != nil {
			return nil, err
		}
		c.files = append(c.files, npmrcFile{role: p.role, path: abs, loaded: loaded})
		layers = append(layers, l)
		owned = append(owned, userLayer{l, p.role != "project"})
	}
	c.userNamed = userNamedRegistries(owned)

	get := func(key string) (setting, bool) {
		for _, l := range layers {
			if s, ok := l[key]; ok {
				return s, true
			}
		}
		return setting{}, false
	}

	// auth first: registry URLs with userinfo add credentials
	if err := c.loadCredentials(layers); err != nil {
		return nil, err
	}

	npmDefault := ""
	if s, ok := get("registry"); (!ok || s.value == "") && opts.NpmRegistry != nil {
		v, err := opts.NpmRegistry()
		if err != nil {
			return nil, fmt.Errorf("%w: asking npm for its registry: %w", ErrConfig, err)
		}
		npmDefault = strings.TrimSpace(v)
	}
	if s, ok := get("registry"); ok && s.value != "" {
		u, err := c.normalizeRegistry(s.value, s.source)
		if err != nil {
			return nil, err
		}
		c.registry, c.registrySource = u, s.source
	} else if npmDefault != "" {
		u, err := c.normalizeRegistry(npmDefault, sourceNpm)
		if err != nil {
			return nil, err
		}
		c.registry, c.registrySource = u, sourceNpm
		c.userNamed[u] = true
	} else if u := inferRegistry(opts.ResolvedURLs); u != "" {
		c.registry, c.registrySource = u, sourceResolved
	} else {
		project := "ProjectDir/.npmrc"
		if opts.ProjectDir != "" {
			project = filepath.Join(opts.ProjectDir, ".npmrc")
		}
		return nil, fmt.Errorf("%w: pass --registry URL, set npm_config_registry=URL, or add registry=URL to %s or the user npmrc (the lockfile's resolved URLs name no registry either)", ErrNoRegistry, project)
	}

	for _, l := range slices.Backward(layers) {
		for k, s := range l {
			scope, ok := strings.CutSuffix(k, ":registry")
			if !ok || !strings.HasPrefix(scope, "@") || len(scope) < 2 || strings.Contains(scope, "/") {
				continue
			}
			u, err := c.normalizeRegistry(s.value, s.source)
			if err != nil {
				return nil, err
			}
			c.scoped[scope] = scopedRegistry{url: u, source: s.source}
		}
	}

	if s, ok := get("strict-ssl"); ok {
		switch strings.ToLower(strings.TrimSpace(s.value)) {
		case "true", "":
			c.strictSSL = true
		case "false":
			c.strictSSL = false
		default:
			return nil, fmt.Errorf("%w: %s: strict-ssl must be true or false", ErrConfig, s.source)
		}
		c.strictSource = s.source
	}
	if err := c.loadCA(get, home); err != nil {
		return nil, err
	}
	if err := c.loadProxies(get, env); err != nil {
		return nil, err
	}
	return c, nil
}

// Caps of the local files LoadConfig reads: an npmrc of a megabyte is
// hundreds of times the largest seen; a cafile holds CA bundles of a few
// hundred kilobytes. Past them, and for anything but a regular file (a
// FIFO, /dev/zero), LoadConfig fails naming the file (internal/localfile).
const (
	maxNpmrc  = 1 << 20
	maxCAFile = 16 << 20
)

// readNpmrcLayer reads one npmrc file; a missing file is an empty layer.
func readNpmrcLayer(path string, env map[string]string, home string) (layer, bool, error) {
	data, err := localfile.Read(path, maxNpmrc)
	if errors.Is(err, fs.ErrNotExist) {
		return layer{}, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("%w: reading %s: %w", ErrConfig, path, err)
	}
	entries, err := parseNpmrc(data, path, env)
	if err != nil {
		return nil, false, err
	}
	l := layer{}
	dir := filepath.Dir(path)
	for _, e := range entries {
		src := path + ":" + strconv.Itoa(e.Line)
		val := e.Value
		if e.Key == "cafile" && val != "" && val != "null" {
			val = expandHome(val, home)
			if !filepath.IsAbs(val) {
				val = filepath.Join(dir, val)
			}
		}
		if e.Array {
			s := l[e.Key]
			s.array = true
			s.values = append(s.values, val)
			s.value = val
			s.source = src
			l[e.Key] = s
			continue
		}
		l[e.Key] = setting{value: val, source: src}
	}
	return l, true, nil
}

// envLayer maps npm_config_* variables to settings as npm does.
func envLayer(envList []string) layer {
	l := layer{}
	for _, kv := range envList {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || v == "" || len(k) <= len("npm_config_") || !strings.EqualFold(k[:len("npm_config_")], "npm_config_") {
			continue
		}
		key := k[len("npm_config_"):]
		if !strings.HasPrefix(key, "//") {
			key = strings.ToLower(key[:1] + strings.ReplaceAll(key[1:], "_", "-"))
		}
		if key == "cafile" {
			if abs, err := filepath.Abs(v); err == nil {
				v = abs
			}
		}
		l[key] = setting{value: v, source: "environment variable " + k}
	}
	return l
}

// userNamedRegistries collects the registry URLs (default and scoped) that
// the person's own layers name, in normalized form.
func userNamedRegistries(layers []userLayer) map[string]bool {
	named := map[string]bool{}
	for _, ul := range layers {
		if !ul.user {
			continue
		}
		for k, s := range ul.l {
			if k != "registry" && !strings.HasSuffix(k, ":registry") {
				continue
			}
			if u, ok := canonicalRegistry(s.value); ok {
				named[u] = true
			}
		}
	}
	return named
}

// canonicalRegistry is the form normalizeRegistry gives a registry URL,
// without its side effect of recording credentials: lower-case scheme and
// host, a trailing slash, no userinfo.
func canonicalRegistry(raw string) (string, bool) {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil || u.Host == "" || u.Opaque != "" || u.RawQuery != "" || u.Fragment != "" {
		return "", false
	}
	u.Scheme = strings.ToLower(u.Scheme)
	if u.Scheme != "http" && u.Scheme != "https" {
		return "", false
	}
	u.Host = strings.ToLower(u.Host)
	u.User = nil
	if !strings.HasSuffix(u.Path, "/") {
		u.Path += "/"
		if u.RawPath != "" {
			u.RawPath += "/"
		}
	}
	return u.String(), true
}

func envMap(list []string) map[string]string {
	m := make(map[string]string, len(list))
	for _, kv := range list {
		if k, v, ok := strings.Cut(kv, "="); ok && k != "" {
			m[k] = v
		}
	}
	return m
}

// envFold looks a variable up case-insensitively (npm_config_* names are).
func envFold(env map[string]string, name string) string {
	if v, ok := env[name]; ok {
		return v
	}
	keys := make([]string, 0, 2)
	for k := range env {
		if strings.EqualFold(k, name) {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	for _, k := range keys {
		if env[k] != "" {
			return env[k]
		}
	}
	return ""
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}

func expandHome(p, home string) string {
	if home != "" && (p == "~" || strings.HasPrefix(p, "~/") || strings.HasPrefix(p, `~\`)) {
		return filepath.Join(home, p[1:])
	}
	return p
}

// normalizeRegistry checks a registry URL and returns it with a trailing
// slash, lower-case scheme and host, and no credentials (userinfo becomes
// a basic-auth credential for the registry's host and path).
func (c *Config) normalizeRegistry(raw, source string) (string, error) {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil {
		return "", fmt.Errorf("%w: %s: registry is not a URL", ErrConfig, source)
	}
	u.Scheme = strings.ToLower(u.Scheme)
	if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" || u.Opaque != "" {
		return "", fmt.Errorf("%w: %s: registry %s is not an http(s) URL with a host", ErrConfig, source, u.Redacted())
	}
	if u.RawQuery != "" || u.Fragment != "" || u.ForceQuery {
		return "", fmt.Errorf("%w: %s: registry %s must not have a query or fragment", ErrConfig, source, u.Redacted())
	}
	u.Host = strings.ToLower(u.Host)
	if !strings.HasSuffix(u.Path, "/") {
		u.Path += "/"
		if u.RawPath != "" {
			u.RawPath += "/"
		}
	}
	if u.User != nil {
		user := u.User.Username()
		pass, _ := u.User.Password()
		u.User = nil
		cred, err := newCredential("//"+u.Host+u.EscapedPath(), source)
		if err != nil {
			return "", err
		}
		cred.header = secret("Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pass)))
		cred.kind = "basic auth from the registry URL"
		c.addCredential(cred)
	}
	return u.String(), nil
}

// loadCredentials collects the nerf-darted auth settings
// (//host[:port]/path/:_authToken, :_auth, :username + :_password).
func (c *Config) loadCredentials(layers []layer) error {
	type parts struct {
		token, auth, user, pass setting
	}
	merged := map[string]*parts{}
	for _, l := range slices.Backward(layers) { // lowest first, higher override
		for k, s := range l {
			switch k {
			case "_authToken", "_auth", "_password", "username":
				return fmt.Errorf("%w: %s: %s must be scoped to a registry, e.g. //host/:%s", ErrConfig, s.source, k, k)
			}
			if !strings.HasPrefix(k, "//") {
				continue
			}
			i := strings.LastIndexByte(k, ':')
			if i < 0 {
				continue
			}
			prefix, field := k[:i], k[i+1:]
			p := merged[prefix]
			if p == nil {
				p = &parts{}
				merged[prefix] = p
			}
			switch field {
			case "_authToken":
				p.token = s
			case "_auth":
				p.auth = s
			case "username":
				p.user = s
			case "_password":
				p.pass = s
			}
		}
	}
	prefixes := make([]string, 0, len(merged))
	for k := range merged {
		prefixes = append(prefixes, k)
	}
	sort.Strings(prefixes)
	for _, prefix := range prefixes {
		p := merged[prefix]
		var cred credential
		var err error
		switch {
		case p.token.value != "":
			if cred, err = newCredential(prefix, p.token.source); err != nil {
				return err
			}
			cred.header = secret("Bearer " + p.token.value)
			cred.kind = "bearer token"
		case p.auth.value != "":
			if cred, err = newCredential(prefix, p.auth.source); err != nil {
				return err
			}
			if _, err := base64.StdEncoding.DecodeString(p.auth.value); err != nil {
				return fmt.Errorf("%w: %s: _auth is not base64 of user:password", ErrConfig, p.auth.source)
			}
			cred.header = secret("Basic " + p.auth.value)
			cred.kind = "basic auth (_auth)"
		case p.user.value != "" && p.pass.value != "":
			if cred, err = newCredential(prefix, p.pass.source); err != nil {
				return err
			}
			pw, err := base64.StdEncoding.DecodeString(p.pass.value)
			if err != nil {
				return fmt.Errorf("%w: %s: _password must be base64-encoded", ErrConfig, p.pass.source)
			}
			cred.header = secret("Basic " + base64.StdEncoding.EncodeToString([]byte(p.user.value+":"+string(pw))))
			cred.kind = "basic auth (username/_password)"
		default:
			continue
		}
		c.addCredential(cred)
	}
	return nil
}

func (c *Config) addCredential(cred credential) {
	for i, old := range c.creds {
		if old.host == cred.host && old.port == cred.port && old.path == cred.path {
			c.creds[i] = cred
			return
		}
	}
	c.creds = append(c.creds, cred)
}

func (c *Config) loadCA(get func(string) (setting, bool), home string) error {
	var pems []string
	if s, ok := get("cafile"); ok && s.value != "" && s.value != "null" {
		path := expandHome(s.value, home)
		data, err := localfile.Read(path, maxCAFile)
		if err != nil {
			return fmt.Errorf("%w: %s: cafile: %w", ErrConfig, s.source, err)
		}
		pems = []string{string(data)}
		c.caSource = "cafile " + path + " (" + s.source + ")"
	} else if s, ok := get("ca"); ok && s.value != "" && s.value != "null" {
		pems = []string{s.value}
		if s.array {
			pems = s.values
		}
		c.caSource = "ca (" + s.source + ")"
	} else {
		return nil
	}
	pool := x509.NewCertPool()
	n := 0
	for _, p := range pems {
		rest := []byte(p)
		for {
			var block *pem.Block
			block, rest = pem.Decode(rest)
			if block == nil {
				break
			}
			if block.Type != "CERTIFICATE" {
				continue
			}
			cert, err := x509.ParseCertificate(block.Bytes)
			if err != nil {
				return fmt.Errorf("%w: %s: certificate %d: %w", ErrConfig, c.caSource, n+1, err)
			}
			pool.AddCert(cert)
			n++
		}
	}
	if n == 0 {
		return fmt.Errorf("%w: %s: no PEM certificate found", ErrConfig, c.caSource)
	}
	c.rootCAs, c.caCount = pool, n
	return nil
}

// loadProxies applies npm's proxy settings, falling back to the standard
// environment variables (from ConfigOptions.Env):
// https URLs use https-proxy, then proxy, then HTTPS_PROXY/https_proxy, then
// HTTP_PROXY/http_proxy; http URLs use proxy, then HTTP_PROXY/http_proxy.
// noproxy, else NO_PROXY/no_proxy, lists hosts reached directly.
func (c *Config) loadProxies(get func(string) (setting, bool), env map[string]string) error {
	fromEnv := func(names ...string) (setting, bool) {
		for _, n := range names {
			if v := env[n]; v != "" {
				return setting{value: v, source: "environment variable " + n}, true
			}
		}
		return setting{}, false
	}
	pick := func(keys []string, envNames []string) (setting, bool) {
		for _, k := range keys {
			if s, ok := get(k); ok && s.value != "" && s.value != "null" && s.value != "false" {
				return s, true
			}
		}
		return fromEnv(envNames...)
	}
	if s, ok := pick([]string{"https-proxy", "proxy"}, []string{"HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy"}); ok {
		u, err := parseProxy(s)
		if err != nil {
			return err
		}
		c.httpsProxy, c.proxySources[0] = u, s.source
	}
	if s, ok := pick([]string{"proxy"}, []string{"HTTP_PROXY", "http_proxy"}); ok {
		u, err := parseProxy(s)
		if err != nil {
			return err
		}
		c.httpProxy, c.proxySources[1] = u, s.source
	}
	s, ok := get("noproxy")
	if !ok || s.value == "" {
		s, ok = fromEnv("NO_PROXY", "no_proxy")
	}
	if ok {
		vals := []string{s.value}
		if s.array {
			vals = s.values
		}
		for _, v := range vals {
			for _, f := range strings.FieldsFunc(v, func(r rune) bool { return r == ',' || r == ' ' }) {
				c.noProxy = append(c.noProxy, strings.ToLower(f))
			}
		}
		c.noProxySource = s.source
	}
	return nil
}

func parseProxy(s setting) (*url.URL, error) {
	v := strings.TrimSpace(s.value)
	if !strings.Contains(v, "://") {
		v = "http://" + v
	}
	u, err := url.Parse(v)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: proxy is not a URL", ErrConfig, s.source)
	}
	switch u.Scheme {
	case "http", "https", "socks5", "socks5h":
	default:
		return nil, fmt.Errorf("%w: %s: proxy scheme %q is not http, https or socks5", ErrConfig, s.source, u.Scheme)
	}
	if u.Host == "" {
		return nil, fmt.Errorf("%w: %s: proxy has no host", ErrConfig, s.source)
	}
	return u, nil
}

// DefaultRegistry returns the default registry URL, normalized with a
// trailing slash.
func (c *Config) DefaultRegistry() string { return c.registry }

// RegistryFor returns the registry for a package name: the @scope:registry
// of a scoped name when one is configured, else the default registry.
func (c *Config) RegistryFor(name string) string {
	if strings.HasPrefix(name, "@") {
		if i := strings.IndexByte(name, '/'); i > 0 {
			if s, ok := c.scoped[name[:i]]; ok {
				return s.url
			}
		}
	}
	return c.registry
}

// RegistryOrigin says where registry (a URL [Config.RegistryFor] returns)
// came from and whether the person running provaudit named it. A URL the
// configuration does not use has the zero RegistryOrigin (not named by the
// user).
func (c *Config) RegistryOrigin(registry string) RegistryOrigin {
	o := RegistryOrigin{ByUser: c.userNamed[registry]}
	switch {
	case registry == c.registry:
		o.Source = c.registrySource
	default:
		var scopes []string
		for scope, s := range c.scoped {
			if s.url == registry {
				scopes = append(scopes, scope)
			}
		}
		sort.Strings(scopes)
		if len(scopes) > 0 {
			o.Source = c.scoped[scopes[0]].source
		}
	}
	return o
}

// Registries returns every registry in use: the default one first, then the
// scoped ones, sorted and without duplicates.
func (c *Config) Registries() []string {
	out := []string{c.registry}
	var rest []string
	for _, s := range c.scoped {
		if s.url != c.registry && !slices.Contains(rest, s.url) {
			rest = append(rest, s.url)
		}
	}
	sort.Strings(rest)
	return append(out, rest...)
}

// StrictSSL reports whether TLS certificates are verified (strict-ssl).
func (c *Config) StrictSSL() bool { return c.strictSSL }

// String describes the configuration for diagnostics. Credentials are never
// shown, only where they come from and what they apply to; proxy passwords
// are redacted.
func (c Config) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "registry %s (from %s%s)\n", c.registry, c.registrySource, projectNote(c.userNamed[c.registry]))
	scopes := make([]string, 0, len(c.scoped))
	for s := range c.scoped {
		scopes = append(scopes, s)
	}
	sort.Strings(scopes)
	for _, s := range scopes {
		fmt.Fprintf(&b, "%s:registry %s (from %s%s)\n", s, c.scoped[s].url, c.scoped[s].source, projectNote(c.userNamed[c.scoped[s].url]))
	}
	for _, cr := range c.creds {
		fmt.Fprintf(&b, "auth %s: %s %s (from %s)\n", cr.prefix(), cr.kind, cr.header, cr.source)
	}
	if c.caSource != "" {
		fmt.Fprintf(&b, "ca: %d certificate(s) from %s\n", c.caCount, c.caSource)
	}
	if !c.strictSSL {
		fmt.Fprintf(&b, "strict-ssl false (from %s): TLS certificates are NOT verified\n", c.strictSource)
	}
	if c.httpsProxy != nil {
		fmt.Fprintf(&b, "https proxy %s (from %s)\n", c.httpsProxy.Redacted(), c.proxySources[0])
	}
	if c.httpProxy != nil {
		fmt.Fprintf(&b, "http proxy %s (from %s)\n", c.httpProxy.Redacted(), c.proxySources[1])
	}
	if len(c.noProxy) > 0 {
		fmt.Fprintf(&b, "noproxy %s (from %s)\n", strings.Join(c.noProxy, ","), c.noProxySource)
	}
	for _, f := range c.files {
		state := "read"
		if !f.loaded {
			state = "absent"
		}
		fmt.Fprintf(&b, "%s npmrc %s (%s)\n", f.role, f.path, state)
	}
	return strings.TrimSuffix(b.String(), "\n")
}

// projectNote marks a registry that only the audited project names.
func projectNote(byUser bool) string {
	if byUser {
		return ""
	}
	return "; named only by the audited project: its keys are not trusted"
}

// GoString is String, so that %#v cannot print credentials either.
func (c Config) GoString() string { return c.String() }

// Format prints String for every verb (%v, %+v, %#v, %s, %d, ...), so that
// no fmt verb can print the credentials held in unexported fields.
func (c Config) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, c.String()) }
