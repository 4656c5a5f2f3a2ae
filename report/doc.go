// Package report renders an [audit.Result] as a table, JSON, SARIF 2.1.0,
// markdown, or an SBOM (CycloneDX 1.6 or SPDX 2.3 JSON).
//
// # What it owns
//
// The output formats and nothing else: it never decides whether an audit
// passed (that is audit's findings and cmd/provaudit's exit codes), and it is
// the only package that imports tablewriter, cyclonedx-go or tools-golang, or
// knows SARIF.
//
// # Formats
//
//   - table ([Table]): a summary in the spirit of `npm audit signatures`
//     and a table of the packages that need attention; [Options].All adds
//     every package with its source repository, commit and workflow.
//   - json ([JSON]): the versioned contract of [audit.Result]
//     (schemaVersion 1); testdata/example.json is an example.
//   - sarif ([SARIF]): one rule per finding rule, one result per finding,
//     located at the package's line in the lockfile, with stable
//     fingerprints; valid against the SARIF 2.1.0 schema and fit for GitHub
//     code scanning.
//   - markdown ([Markdown]): a short report for pull request comments and
//     $GITHUB_STEP_SUMMARY.
//   - cyclonedx ([CycloneDX]) and spdx ([SPDX]): a bill of materials with
//     one component (package) per package of the result, skipped ones
//     included, with its purl, the lockfile integrity as hashes, its
//     dev/optional scope and the verification as properties (CycloneDX) or
//     annotations (SPDX) named provaudit:* ([PropStatus] and the other
//     Prop constants). Both are deterministic: the serial number and the
//     document namespace are a name-based UUID of the result, and the
//     timestamps are the audit's start time; both validate against the
//     official JSON schemas (internal/sbomschema holds them for the tests).
//
// [Render] picks one by name (see [Formats]).
//
// # Policy
//
// Every format shows what the policy issue adds to a result (policy.go):
// the policy file and identity baseline that applied, diff mode, the
// findings policy exceptions waived and every exception recorded on a
// package (applied or expired, with its reason, file:line and expiry),
// and source checks left incomplete. SARIF lists a waived finding as a
// result with a suppression (kind external, status accepted, the
// exception's reason as justification) and an incomplete source check as
// a tool execution notification.
//
// # Guarantees
//
// Every renderer writes only to the writer it is given, and writes nothing
// when it fails. A result that breaks its contract (another schemaVersion,
// a status outside its enum, a line below 1, a finding without rule, with
// a rule id that is not valid UTF-8 or with an unknown severity) is refused with [ErrInvalidResult] rather than
// rendered into a report that misleads. Text that comes from lockfiles and
// registries is treated as hostile: the table and markdown make control
// characters, terminal escapes and bidirectional overrides visible instead
// of printing them, and markdown escapes everything that could break a
// table, inject markup or mention a user.
package report
