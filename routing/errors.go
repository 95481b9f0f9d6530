package routing

// ValidationError reports a time frame, rule, destination or allow/block list
// that Decide could not honour as written. Field is the offending field as the
// admin API spells it, with a path for nested values ("weekly[0].start",
// "simring.destinations[1].to"); Rule is a machine-readable name of the check
// that failed: "required", "token", "length", "enum", "unique", "time",
// "date", "order", "reserved", "exclusive", "range", "max_items", "digits",
// "number" or "overlap". Callers branch with errors.As and map it to a 400.
type ValidationError struct {
	Field   string
	Rule    string
	Message string
}

func (e *ValidationError) Error() string {
	if e.Field == "" {
		return e.Message
	}
	return e.Field + ": " + e.Message
}

// FieldName returns the field that failed validation.
func (e *ValidationError) FieldName() string { return e.Field }

// RuleName returns the name of the check that failed.
func (e *ValidationError) RuleName() string { return e.Rule }

func invalid(field, rule, msg string) *ValidationError {
	return &ValidationError{Field: field, Rule: rule, Message: msg}
}

// under places e's field below prefix, so a nested value's validator can name
// its own fields and the container adds where it sits.
func (e *ValidationError) under(prefix string) *ValidationError {
	switch {
	case e.Field == "":
		e.Field = prefix
	case e.Field[0] == '[':
		e.Field = prefix + e.Field
	default:
		e.Field = prefix + "." + e.Field
	}
	return e
}
