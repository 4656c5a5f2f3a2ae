package lockfile

// Change says how a unit relates to a baseline lockfile (diff mode).
type Change string

// The changes of [Compare].
const (
	// ChangeNew: the baseline has no unit of that name.
	ChangeNew Change = "new"
	// ChangeChanged: the baseline has the name, but not this unit (another
	// version, another integrity, another source).
	ChangeChanged Change = "changed"
	// ChangeUnchanged: the baseline has exactly this unit (same
	// [Unit.Key]: name@version#integrity, and kind and source for units
	// that are not from a registry).
	ChangeUnchanged Change = "unchanged"
)

// Compare says, for every unit of lf (keyed by [Unit.Key]), how it relates
// to the units of base. Lockfiles of different formats compare by their
// units, so a project that moved from one package manager to another
// compares as well as one that did not. A nil base makes every unit new.
func Compare(base, lf *Lockfile) map[string]Change {
	keys := map[string]bool{}
	names := map[string]bool{}
	for _, u := range Units(base) {
		keys[u.Key()] = true
		names[u.Name] = true
	}
	units := Units(lf)
	out := make(map[string]Change, len(units))
	for i := range units {
		u := &units[i]
		k := u.Key()
		switch {
		case keys[k]:
			out[k] = ChangeUnchanged
		case names[u.Name]:
			out[k] = ChangeChanged
		default:
			out[k] = ChangeNew
		}
	}
	return out
}
