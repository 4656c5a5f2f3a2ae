package verify

import (
	"errors"
	"fmt"
	"testing"
)

func errorsIs(err, target error) bool { return errors.Is(err, target) }

func TestJoin(t *testing.T) {
	a := fmt.Errorf("%w: a", ErrSubjectName)
	b := fmt.Errorf("%w: b", ErrSubjectDigest)
	tests := []struct {
		name string
		errs []error
		want string
		is   []error
	}{
		{"none", nil, "", nil},
		{"one", []error{a}, a.Error(), []error{ErrSubjectName}},
		{"two", []error{a, b}, a.Error() + "; " + b.Error(), []error{ErrSubjectName, ErrSubjectDigest}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := join(tt.errs)
			if tt.want == "" {
				if err != nil {
					t.Fatalf("join(nil) = %v", err)
				}
				return
			}
			if err.Error() != tt.want {
				t.Fatalf("got %q, want %q", err, tt.want)
			}
			wantErrs(t, err, tt.is...)
			if errors.Is(err, ErrBundleInvalid) {
				t.Fatal("joined error matches an unrelated sentinel")
			}
		})
	}
}
