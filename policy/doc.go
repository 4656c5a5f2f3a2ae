// Package policy reads provaudit's policy file and identity baseline and
// applies them to an audit result.
//
// # What it owns
//
// The policy file (provaudit.yaml beside the lockfile, or --policy FILE),
// the identity baseline (provaudit-baseline.json, trust on first use), and
// their evaluation over an [audit.Result]: identity constraints,
// requireProvenance, drift against the baseline, rule settings and
// exceptions, then the summary recounted. It is pure: no network, no
// clock (the caller passes now), no I/O but reading the files it is
// given. It never verifies anything: it judges the facts the audit
// verified.
//
// # The policy file
//
// YAML (read with go.yaml.in/yaml/v3, whose nodes keep their positions),
// documented by the JSON schema provaudit-policy.schema.json beside this
// file:
//
//	requireProvenance: true            # or a list: [left-pad, "@myorg/*"]
//	identity:
//	  issuers: [https://token.actions.githubusercontent.com]
//	  hostedRunnersOnly: true
//	  packages:
//	    "@myorg/*":
//	      repository: github.com/myorg/*
//	      workflows: [.github/workflows/release.yml]
//	      refs: ["refs/tags/v*"]
//	minimumReleaseAge: 3d              # w, d, h, m, s: 72h, 1d12h
//	rules:
//	  publisher-changed: off           # or a severity: critical, high, medium, low
//	exceptions:
//	  - package: left-pad@<2.0.0       # NAME or NAME@RANGE (npm semver ranges)
//	    rule: provenance-missing       # optional: every policy rule
//	    reason: maintainers publish without provenance, tracked in #123
//	    expires: 2027-03-31            # stops applying on that day (UTC)
//
// Every problem is an error with file:line:column (YAML syntax errors
// carry the line the YAML library gives): unknown keys (with a
// suggestion), wrong types, bad ages, dates, patterns, URLs, ranges, rule
// ids that are unknown or not policy rules, missing exception fields,
// anchors and aliases, a second document.
//
// Patterns of package names are a name, or a glob in which * matches any
// run of characters but "/": "@myorg/*" is a scope. Identity constraints
// apply to every package with verified provenance; for a package, the
// most specific identity.packages entry (its exact name, else the longest
// matching pattern) overrides each field it sets, and a package such an
// entry names must have verified provenance (identity-policy otherwise).
//
// # Trust
//
// Only the policy rules ([audit.PolicyRules]) can be configured or waived;
// verification rules (tampering, untrusted keys, unbound installs) never.
// A file the person running provaudit gives with --policy is used as
// written, and the project's own provaudit.yaml is then not read. The
// project's own file is the audited project's input: it may make the gate
// stricter (require provenance, constrain identities, set a release age,
// raise severities: a severity there is a floor) and waive single findings
// with exceptions, each of which every report lists with its reason, its
// expiry and its file:line; it may not switch a rule off (an error, exit
// 2). Every exception needs a reason and an expiry date.
//
// # The identity baseline
//
// `provaudit baseline` records, per package name, the verified identities
// of the locked versions (repository and owner with their numeric ids,
// workflow path, issuer, runner environment, builder) and the weakest
// trust level of each release line, in a deterministic JSON file
// committed beside the lockfile. Later audits compare with it: an
// identity none of those recorded is identity-drift, a level below the
// recorded one for the line is provenance-regression, both "against the
// baseline", whatever the registry's history says today (versions
// unpublished since do not matter). The baseline is project input: it
// only adds findings.
package policy
