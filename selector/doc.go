// Package selector implements the Calico v3 label-selector language: parsing,
// canonical printing and evaluation against a set of labels.
//
// # Grammar
//
// In EBNF, with whitespace (space, tab, CR, LF) allowed between any two tokens:
//
//	selector   = [ or_expr ] .                       (* empty or blank means all() *)
//	or_expr    = and_expr { "||" and_expr } .
//	and_expr   = unary { "&&" unary } .
//	unary      = "!" unary | primary .
//	primary    = "(" or_expr ")"
//	           | "all" "(" ")"
//	           | "global" "(" ")"
//	           | "has" "(" key ")"
//	           | key comparison .
//	comparison = "==" string
//	           | "!=" string
//	           | "in" set
//	           | "not" "in" set
//	           | "contains" string
//	           | "starts" "with" string
//	           | "ends" "with" string .
//	set        = "{" [ string { "," string } ] "}" .
//	string     = "'" { any byte except "'" } "'"
//	           | '"' { any byte except '"' } '"' .
//	key        = [ prefix "/" ] name .
//	prefix     = DNS-1123 subdomain: lower-case [a-z0-9.-], at most 253 bytes,
//	             dot-separated parts that start and end with [a-z0-9] .
//	name       = 1 to 63 bytes of [A-Za-z0-9_.-], starting and ending with [A-Za-z0-9] .
//
// Precedence is "!" over "&&" over "||", as in Calico. String literals have no
// escapes, so a value cannot contain both quote characters. The words in, not,
// contains, starts, ends, with, has, all and global are keywords only where the
// grammar expects them: "in == 'x'" compares the label "in", and "has" is a
// function only when followed by "(".
//
// # Semantics
//
//   - k == 'v', k in {...}, contains, starts with and ends with are false when
//     the label k is absent.
//   - k != 'v' and k not in {...} are true when k is absent (they are the
//     negations of == and in).
//   - has(k) is true when k is present, whatever its value; all() is always true.
//   - global() is true only for label sets that declare themselves global, by
//     implementing [GlobalLabels] with IsGlobal returning true (see [GlobalMap]).
//     A plain map, such as a container endpoint's labels, is namespaced, so
//     global() is false for it.
//   - Parse("") returns a selector equivalent to all(). Calico treats an empty
//     rule selector as "no selector" rather than "everything"; callers that
//     need that distinction must check for the empty string themselves.
//
// # Invariants
//
//   - Parse never panics; every malformed input yields a [*ParseError] giving a
//     0-based byte column.
//   - Inputs longer than [MaxLength] bytes, or nested deeper than [MaxDepth]
//     levels, are rejected. Each "(" and each "!" is a level, except that a
//     "!" directly before "(" shares the parenthesis's level.
//   - String returns a canonical form: selectors that differ only in
//     whitespace, quote style, redundant parentheses, associativity of && and
//     ||, double negation, the order or repetition of set members, or in the
//     spelling of a negated comparison (!(k == 'v') versus k != 'v',
//     k in {'v'} versus k == 'v') print identically. The operand order of &&
//     and || is kept, so "a && b" and "b && a" stay distinct.
//   - Parse(s.String()) succeeds and prints s.String() again, and the
//     canonical form is never longer than [MaxLength].
//   - UniqueID is a stable hash of the canonical form made only of the bytes
//     [A-Za-z0-9_-], so any prefix of it is safe in an ipset or chain name.
package selector
