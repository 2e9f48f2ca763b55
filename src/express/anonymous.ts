/**
 * The subject every front's session starts under, until a login gives it its user. A module of its
 * own, importing nothing, so the edge check (src/web/edge.ts) can use it without the store's code.
 */
export const ANONYMOUS_SUBJECT = '~anonymous';
