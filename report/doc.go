// Package report renders an [audit.Result] as a table, JSON, SARIF 2.1.0 or
// markdown.
//
// # What it owns
//
// The output formats and nothing else: it never decides whether an audit
// passed (that is audit's findings and cmd/provaudit's exit codes), and it is
// the only package that imports tablewriter or knows SARIF.
package report
