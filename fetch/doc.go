// Package fetch talks to npm registries for provaudit.
//
// # What it owns
//
// npm configuration (the npmrc chain, npm_config_* environment, scoped
// registries, auth per host and path), the HTTP client (timeouts, retries with
// backoff, response size caps, a concurrency limit), the on-disk cache under
// os.UserCacheDir()/provaudit and the --offline mode.
//
// It never verifies anything and never prints: it hands bytes and the few
// decoded fields verification needs to its caller.
package fetch
