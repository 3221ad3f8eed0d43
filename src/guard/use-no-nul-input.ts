/**
 * The U+0000 check grew into the client-text check (U+0000, lone surrogates, nesting depth): see use-client-text.ts
 * and client-text.ts. These names stay for the code and tests that import them from here.
 */
export { nulPath } from './client-text.ts';
export { useClientText as useNoNulInput } from './use-client-text.ts';
