package upstreamerrors

// fieldError is an invalid config value: the JSON field it is in, the map
// key or list element it is about (empty when the field as a whole is
// wrong) and what is wrong with it. Validate is the one place the value
// rules are checked; the Caddyfile adapter calls it too, and reads Field
// and Value to report the error under the sub-directive, and at the line,
// the value came from.
type fieldError struct {
	field, value string
	err          error
}

// fieldErr wraps a rule's error, if any, as the error of field's value.
func fieldErr(field, value string, err error) error {
	if err == nil {
		return nil
	}
	return &fieldError{field: field, value: value, err: err}
}

func (e *fieldError) Error() string { return e.field + ": " + e.err.Error() }

// Unwrap returns what is wrong, without the field.
func (e *fieldError) Unwrap() error { return e.err }

// Field returns the JSON field's name.
func (e *fieldError) Field() string { return e.field }

// Value returns the key or element the error is about, if any.
func (e *fieldError) Value() string { return e.value }
