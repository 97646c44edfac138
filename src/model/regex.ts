/**
 * Prometheus regular expressions (RE2 syntax, fully anchored, `.` matching newline as in
 * Prometheus 3) compiled to JavaScript RegExp.
 * @module
 */

/** Compiles an RE2 pattern into an anchored JavaScript RegExp. */
export function compileRegex(pattern: string): RegExp {
  return new RegExp(`^(?:${pattern})$`, 'su');
}
