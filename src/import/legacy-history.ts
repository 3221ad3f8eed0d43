/**
 * Who wrote a legacy permit's status history, and how the one row `import permits` gives a permit without history is
 * told apart from the history a status-changes file brings (which replaces it): shared by both importers and named
 * once so `audit verify` (src/audit/verify-trail.ts) and the exports agree on it.
 */

/** The actor of imported history rows: not a client id (those have no colon), so live history is never rewritten. */
export const IMPORT_ACTOR = 'import:legacy';

/**
 * The reason of the initial row `import permits` writes for a new permit: its status when imported, at its status
 * date. A public, fixed text (it is exported as the row's BLDS `Comments`) that marks the row as a stand-in for the
 * history the legacy system did not give.
 */
export const INITIAL_HISTORY_REASON = 'status at import (no history imported)';
