package main

import (
	"bytes"
	"compress/gzip"
	"encoding/json"

	"os"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/provaudit/provaudit/internal/evidence"
	"github.com/provaudit/provaudit/internal/evidence/evidencetest"
)

// cmdEvidence takes evidence bundles apart for the scripts:
//
//	evidence manifest FILE          print the bundle's manifest.json
//	evidence flip FILE MEMBER       change one byte of MEMBER and repack
//	evidence drop FILE MEMBER       remove MEMBER and repack
//	evidence repack FILE            reverse the members' order, another gzip level
//	evidence same-report A B        the two JSON reports are equal but for
//	                                summary.startedAt and summary.durationMs
func cmdEvidence(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 2 {
		ts.Fatalf("usage: evidence manifest|flip|drop|repack|same-report FILE ...")
	}
	file := ts.MkAbs(args[1])
	switch args[0] {
	case "manifest":
		data, err := os.ReadFile(file)
		ts.Check(err)
		entries, err := evidencetest.Unpack(data)
		ts.Check(err)
		i, err := evidencetest.Find(entries, evidence.ManifestName)
		ts.Check(err)
		_, err = ts.Stdout().Write(entries[i].Data)
		ts.Check(err)
	case "flip", "drop":
		if len(args) != 3 {
			ts.Fatalf("usage: evidence %s FILE MEMBER", args[0])
		}
		ts.Check(evidencetest.Edit(file, gzip.DefaultCompression, func(e []evidencetest.Entry) ([]evidencetest.Entry, error) {
			if args[0] == "flip" {
				return evidencetest.Flip(e, args[2])
			}
			return evidencetest.Drop(e, args[2])
		}))
	case "repack":
		ts.Check(evidencetest.Edit(file, gzip.BestSpeed, evidencetest.Reverse))
	case "same-report":
		if len(args) != 3 {
			ts.Fatalf("usage: evidence same-report A B")
		}
		a, b := reportSansTiming(ts, args[1]), reportSansTiming(ts, args[2])
		if !bytes.Equal(a, b) {
			ts.Fatalf("the reports differ:\n%s\n%s", a, b)
		}
	default:
		ts.Fatalf("unknown evidence subcommand %q", args[0])
	}
}

// reportSansTiming is a JSON report without its timing fields, re-encoded.
func reportSansTiming(ts *testscript.TestScript, file string) []byte {
	var v map[string]any
	ts.Check(json.Unmarshal([]byte(ts.ReadFile(file)), &v))
	return withoutTiming(v, func(format string, args ...any) { ts.Fatalf(format, args...) })
}

// withoutTiming removes summary.startedAt and summary.durationMs from a
// decoded report and encodes it again.
func withoutTiming(v map[string]any, fatalf func(string, ...any)) []byte {
	sum, ok := v["summary"].(map[string]any)
	if !ok {
		fatalf("the report has no summary")
	}
	for _, k := range []string{"startedAt", "durationMs"} {
		if _, ok := sum[k]; !ok {
			fatalf("the report has no summary.%s", k)
		}
		delete(sum, k)
	}
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		fatalf("%v", err)
	}
	return b
}
