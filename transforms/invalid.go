package transforms

import "errors"

// ErrInvalid marks an error that the command line or the config must fix,
// found once the inputs are read: a config key that does not exist, a
// model shape that cannot be built, a checkpoint used on data of another
// catalogue. The CLI exits 2 for it, as for bad flags (the exit-code rule
// of cmd/genrec); a job that fails for other reasons exits 1.
var ErrInvalid = errors.New("invalid configuration or input")

// Invalid marks err with ErrInvalid, its message unchanged; nil stays nil.
func Invalid(err error) error {
	if err == nil {
		return nil
	}
	return invalidError{err}
}

type invalidError struct{ error }

func (e invalidError) Unwrap() error        { return e.error }
func (e invalidError) Is(target error) bool { return target == ErrInvalid }
