/**
 * Bounds on what a spec file may make the loader do. A real spec nests about ten levels
 * deep and uses a handful of aliases; these limits are far above that and far below what
 * would exhaust the stack, the memory or the patience of an operator (docs/errors.md:
 * `too-deep`, `yaml-alias-limit`).
 */

/** Deepest nesting of collections (mappings, sequences, flow collections) a file may have. */
export const MAX_DEPTH = 256;

/** Most aliases (`*name`) one document may use. */
export const MAX_ALIASES = 1000;

/**
 * Most anchors (`&name`) a document that uses aliases may define: the yaml package looks
 * an alias up among every anchor before it.
 */
export const MAX_ANCHORS = 10_000;

/** Most nodes the aliases of one document may add when expanded (a "billion laughs" bomb). */
export const MAX_ALIAS_EXPANSION = 1_000_000;

/** Most YAML syntax errors reported for one file; one more issue counts the rest. */
export const MAX_SYNTAX_ISSUES = 20;
