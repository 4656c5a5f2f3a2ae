package report

import (
	"bytes"
	"fmt"
	"io"
	"strconv"

	spdxjson "github.com/spdx/tools-golang/json"
	"github.com/spdx/tools-golang/spdx/v2/common"
	spdx "github.com/spdx/tools-golang/spdx/v2/v2_3"

	"github.com/provaudit/provaudit/audit"
)

// SPDXNamespacePrefix starts the documentNamespace of every SPDX document
// provaudit writes; the audit's UUID (see [CycloneDX]) follows.
const SPDXNamespacePrefix = informationURI + "/spdx/"

// spdxNoAssertion is SPDX's "nothing is claimed" value.
const spdxNoAssertion = "NOASSERTION"

// SPDX writes r as an SPDX 2.3 JSON document that describes one package
// per package of the result, skipped ones included, in the result's order:
//
//   - name, versionInfo, downloadLocation NOASSERTION (the result does not
//     carry the tarball URL), filesAnalyzed false, licenses NOASSERTION,
//     primaryPackagePurpose LIBRARY, and the lockfile integrity as
//     checksums (SHA1, SHA256, SHA384, SHA512, hex);
//   - external references: the purl of registry packages (category
//     PACKAGE-MANAGER, type purl) and, for a verified SLSA provenance,
//     git+REPOSITORY@COMMIT (category OTHER, type vcs);
//   - the verification as annotations by "Tool: provaudit-VERSION" of type
//     OTHER whose comment is "NAME=VALUE", with the property names of the
//     CycloneDX output (see [PropStatus]): dev and optional scope are
//     provaudit:dev=true and provaudit:optional=true; filter on the
//     comment provaudit:status=verified.
//
// The document is created at the audit's start time by the tool
// provaudit-VERSION, its documentNamespace is [SPDXNamespacePrefix] and
// the audit's UUID (reproducible for the same result), SPDXRef-DOCUMENT
// DESCRIBES every package, and document annotations carry the lockfile,
// registry and summary.
func SPDX(w io.Writer, r *audit.Result) error {
	return emit(w, "spdx", r, func(buf *bytes.Buffer, r *audit.Result) error {
		doc, err := buildSPDX(r)
		if err != nil {
			return err
		}
		return spdxjson.Write(doc, buf, spdxjson.Indent("  "), spdxjson.EscapeHTML(false))
	})
}

func buildSPDX(r *audit.Result) (*spdx.Document, error) {
	id, docProps, err := sbomDocument(r)
	if err != nil {
		return nil, err
	}
	tool := r.Tool.Name + "-" + r.Tool.Version
	created := sbomTime(r.Summary.StartedAt)
	annotate := func(ps []sbomProp) []spdx.Annotation {
		out := make([]spdx.Annotation, len(ps))
		for i, p := range ps {
			out[i] = spdx.Annotation{
				Annotator:         common.Annotator{AnnotatorType: "Tool", Annotator: tool},
				AnnotationDate:    created,
				AnnotationType:    "OTHER",
				AnnotationComment: p.name + "=" + p.value,
			}
		}
		return out
	}

	doc := &spdx.Document{
		SPDXVersion:       spdx.Version,
		DataLicense:       spdx.DataLicense,
		SPDXIdentifier:    "DOCUMENT",
		DocumentName:      "provaudit audit of " + r.Lockfile.Path,
		DocumentNamespace: SPDXNamespacePrefix + id.String(),
		DocumentComment: "Package annotations by " + tool + " carry its verification of each package " +
			"as NAME=VALUE; provaudit:status=verified marks verified provenance.",
		CreationInfo: &spdx.CreationInfo{
			Creators: []common.Creator{{CreatorType: "Tool", Creator: tool}},
			Created:  created,
		},
	}
	for _, a := range annotate(docProps) {
		doc.Annotations = append(doc.Annotations, &a)
	}

	ids := map[string]int{}
	for i := range r.Packages {
		p := &r.Packages[i]
		if p.Name == "" {
			return nil, fmt.Errorf("%w: package %d has no name", ErrInvalidResult, i)
		}
		sp := &spdx.Package{
			PackageName:             p.Name,
			PackageSPDXIdentifier:   spdxID(p, ids),
			PackageVersion:          p.Version,
			PackageDownloadLocation: spdxNoAssertion,
			PackageLicenseConcluded: spdxNoAssertion,
			PackageLicenseDeclared:  spdxNoAssertion,
			PrimaryPackagePurpose:   "LIBRARY",
			Annotations:             annotate(packageProps(p)),
		}
		hs, err := integrityHashes(p)
		if err != nil {
			return nil, err
		}
		for _, h := range hs {
			sp.PackageChecksums = append(sp.PackageChecksums, common.Checksum{Algorithm: common.ChecksumAlgorithm(h.names.spdx), Value: h.hex})
		}
		if u := purl(p); u != "" {
			sp.PackageExternalReferences = append(sp.PackageExternalReferences, &spdx.PackageExternalReference{
				Category: common.CategoryPackageManager, RefType: common.TypePackageManagerPURL, Locator: u,
			})
		}
		if loc := vcsLocation(provenanceOf(p)); loc != "" {
			sp.PackageExternalReferences = append(sp.PackageExternalReferences, &spdx.PackageExternalReference{
				Category: common.CategoryOther, RefType: "vcs", Locator: loc,
				ExternalRefComment: "source repository and commit of the verified SLSA provenance",
			})
		}
		doc.Packages = append(doc.Packages, sp)
		doc.Relationships = append(doc.Relationships, &spdx.Relationship{
			RefA:         common.MakeDocElementID("", "DOCUMENT"),
			RefB:         common.MakeDocElementID("", string(sp.PackageSPDXIdentifier)),
			Relationship: common.TypeRelationshipDescribe,
		})
	}
	return doc, nil
}

// spdxID is the element id of p without "SPDXRef-": "Package-", then its
// name and version with every character SPDX ids do not allow (anything
// but letters, digits, "." and "-") replaced by "-"; "-2", "-3" set apart
// packages that would get the same id. ids counts the ids used so far.
func spdxID(p *audit.Package, ids map[string]int) common.ElementID {
	base := "Package-" + spdxIDText(p.Name)
	if p.Version != "" {
		base += "-" + spdxIDText(p.Version)
	}
	id := base
	for ids[id] > 0 {
		ids[base]++
		id = base + "-" + strconv.Itoa(ids[base])
	}
	ids[id]++
	return common.ElementID(id)
}

func spdxIDText(s string) string {
	b := []byte(s)
	for i, c := range b {
		if !('A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '.' || c == '-') {
			b[i] = '-'
		}
	}
	return string(b)
}
