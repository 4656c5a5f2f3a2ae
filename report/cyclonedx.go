package report

import (
	"bytes"
	"fmt"
	"io"
	"strconv"

	cdx "github.com/CycloneDX/cyclonedx-go"

	"github.com/provaudit/provaudit/audit"
)

// CycloneDX writes r as a CycloneDX 1.6 JSON bill of materials with one
// component per package of the result, skipped ones included, in the
// result's order:
//
//   - type library, name and version, the purl of registry packages
//     (pkg:npm/%40scope/name@version), and the lockfile integrity as
//     hashes (SHA-1, SHA-256, SHA-384, SHA-512, hex);
//   - scope: excluded for dev dependencies, optional for optional ones,
//     required otherwise;
//   - the verification as properties named provaudit:* (see [PropStatus]
//     and the other Prop constants): filter on provaudit:status =
//     verified for packages with verified provenance;
//   - for a verified SLSA provenance, an external reference of type vcs
//     to git+REPOSITORY@COMMIT and one of type build-system to the CI run.
//
// The metadata holds the start time of the audit, provaudit as the tool,
// the lifecycle phase pre-build, and the lockfile, registry and summary as
// properties. The serial number is a name-based UUID of the audit result
// (see [auditUUID]): reproducible for the same result, different for any
// other.
func CycloneDX(w io.Writer, r *audit.Result) error {
	return emit(w, "cyclonedx", r, func(buf *bytes.Buffer, r *audit.Result) error {
		bom, err := buildCycloneDX(r)
		if err != nil {
			return err
		}
		return cdx.NewBOMEncoder(buf, cdx.BOMFileFormatJSON).
			SetPretty(true).
			SetEscapeHTML(false).
			EncodeVersion(bom, cdx.SpecVersion1_6)
	})
}

func buildCycloneDX(r *audit.Result) (*cdx.BOM, error) {
	id, docProps, err := sbomDocument(r)
	if err != nil {
		return nil, err
	}
	bom := cdx.NewBOM()
	bom.SerialNumber = id.URN()
	bom.Metadata = &cdx.Metadata{
		Lifecycles: &[]cdx.Lifecycle{{Phase: cdx.LifecyclePhasePreBuild}},
		Tools: &cdx.ToolsChoice{Components: &[]cdx.Component{{
			Type:    cdx.ComponentTypeApplication,
			Name:    r.Tool.Name,
			Version: r.Tool.Version,
			ExternalReferences: &[]cdx.ExternalReference{
				{Type: cdx.ERTypeWebsite, URL: informationURI},
			},
		}}},
		Properties: cdxProperties(docProps),
	}
	if !r.Summary.StartedAt.IsZero() {
		bom.Metadata.Timestamp = sbomTime(r.Summary.StartedAt)
	}
	comps := make([]cdx.Component, 0, len(r.Packages))
	refs := map[string]int{}
	for i := range r.Packages {
		c, err := cdxComponent(&r.Packages[i], i, refs)
		if err != nil {
			return nil, err
		}
		comps = append(comps, c)
	}
	bom.Components = &comps
	return bom, nil
}

// cdxComponent describes package p, the i-th of the result. refs counts
// the bom-refs used so far, to keep them unique.
func cdxComponent(p *audit.Package, i int, refs map[string]int) (cdx.Component, error) {
	if p.Name == "" {
		// CycloneDX requires a name; the contract does not promise one.
		return cdx.Component{}, fmt.Errorf("%w: package %d has no name", ErrInvalidResult, i)
	}
	c := cdx.Component{
		Type:       cdx.ComponentTypeLibrary,
		Name:       p.Name,
		Version:    p.Version,
		PackageURL: purl(p),
		Scope:      cdx.ScopeRequired,
		Properties: cdxProperties(packageProps(p)),
	}
	switch {
	case p.Dev:
		c.Scope = cdx.ScopeExcluded
	case p.Optional:
		c.Scope = cdx.ScopeOptional
	}
	// bom-ref: the purl, else a provaudit: reference naming the lockfile
	// line; "#2", "#3" set apart further packages with the same one (the
	// same name@version locked with different integrities).
	ref := c.PackageURL
	if ref == "" {
		ref = "provaudit:" + string(p.Kind) + ":" + pkgID(p) + ":" + strconv.Itoa(p.Line)
	}
	refs[ref]++
	if n := refs[ref]; n > 1 {
		ref += "#" + strconv.Itoa(n)
	}
	c.BOMRef = ref

	hs, err := integrityHashes(p)
	if err != nil {
		return cdx.Component{}, err
	}
	if len(hs) > 0 {
		hashes := make([]cdx.Hash, 0, len(hs))
		for _, h := range hs {
			hashes = append(hashes, cdx.Hash{Algorithm: cdx.HashAlgorithm(h.names.cdx), Value: h.hex})
		}
		c.Hashes = &hashes
	}

	var ext []cdx.ExternalReference
	if pv := provenanceOf(p); pv != nil {
		if loc := vcsLocation(pv); loc != "" {
			ext = append(ext, cdx.ExternalReference{Type: cdx.ERTypeVCS, URL: loc,
				Comment: "source repository and commit of the verified SLSA provenance"})
		}
		if run := referenceURL(pv.RunURL); run != "" {
			ext = append(ext, cdx.ExternalReference{Type: cdx.ERTypeBuildSystem, URL: run,
				Comment: "CI run that built the package, from the verified SLSA provenance"})
		}
	}
	if len(ext) > 0 {
		c.ExternalReferences = &ext
	}
	return c, nil
}

func cdxProperties(ps []sbomProp) *[]cdx.Property {
	if len(ps) == 0 {
		return nil
	}
	out := make([]cdx.Property, len(ps))
	for i, p := range ps {
		out[i] = cdx.Property{Name: p.name, Value: p.value}
	}
	return &out
}
