/**
 * Moved to media/audio/g711.ts. This path stays only because files outside media/ that this branch
 * may not edit (server/, test/support, test/integration/e2e, test/unit/ivr) still import it; the
 * names they use are also exported by media/index.ts. Delete once they import media/index.ts.
 */
export * from './audio/g711.ts';
